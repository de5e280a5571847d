/*
 * evloop_double.c — a minimal epoll event loop implementing src/vm/evloop.h
 * for the backend unit tests, so they do not depend on the VM's loop. Remove
 * it from tests/unit/backends/meson.build once src/vm/evloop.c is in libvmon.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "vm/evloop.h"

#define MAX_WATCHES 16

struct watch {
	int fd;
	evloop_handler fn;
	void *opaque;
};

struct evloop {
	int epfd;
	volatile int stop;
	struct watch w[MAX_WATCHES];
};

struct evloop *evloop_create(void)
{
	struct evloop *el = calloc(1, sizeof(*el));

	if (!el)
		return NULL;
	el->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (el->epfd < 0) {
		free(el);
		return NULL;
	}
	for (int i = 0; i < MAX_WATCHES; i++)
		el->w[i].fd = -1;
	return el;
}

void evloop_destroy(struct evloop *el)
{
	if (!el)
		return;
	close(el->epfd);
	free(el);
}

int evloop_add(struct evloop *el, int fd, uint32_t events, evloop_handler fn, void *opaque)
{
	for (int i = 0; i < MAX_WATCHES; i++) {
		if (el->w[i].fd >= 0)
			continue;
		struct epoll_event ev = {.events = events, .data.ptr = &el->w[i]};

		if (epoll_ctl(el->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
			return -errno;
		el->w[i] = (struct watch){fd, fn, opaque};
		return 0;
	}
	return -ENOSPC;
}

int evloop_del(struct evloop *el, int fd)
{
	for (int i = 0; i < MAX_WATCHES; i++) {
		if (el->w[i].fd != fd)
			continue;
		el->w[i].fd = -1;
		return epoll_ctl(el->epfd, EPOLL_CTL_DEL, fd, NULL) < 0 ? -errno : 0;
	}
	return -ENOENT;
}

int evloop_run(struct evloop *el)
{
	el->stop = 0;
	while (!el->stop) {
		struct epoll_event ev[8];
		int n = epoll_wait(el->epfd, ev, 8, 100);

		if (n < 0 && errno != EINTR)
			return -errno;
		for (int i = 0; i < n; i++) {
			struct watch *w = ev[i].data.ptr;

			if (w->fd >= 0)
				w->fn(w->opaque, ev[i].events);
		}
	}
	return 0;
}

void evloop_stop(struct evloop *el)
{
	el->stop = 1;
}
