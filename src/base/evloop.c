/*
 * evloop.c — epoll-based event loop for host file descriptors. Handlers are
 * looked up by fd at dispatch time, so a handler removed while its event is
 * pending is simply not called.
 */
#include "base/evloop.h"

#include <errno.h>
#include <stdbool.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

struct evloop_entry {
	evloop_handler fn;
	void *opaque;
};

struct evloop {
	int epfd;
	int stopfd;
	pthread_mutex_t lock;
	struct evloop_entry *entries; /* indexed by fd */
	int nr_entries;
	int stop; /* atomic: set by evloop_stop from any thread or a signal handler */
	/* evloop_call: one job at a time, under @lock */
	int callfd;
	pthread_cond_t call_done;
	void (*call_fn)(void *opaque);
	void *call_opaque;
	bool call_pending;
	unsigned long calls_done; /* jobs run so far */
	bool running; /* evloop_run is dispatching */
	pthread_t thread; /* the loop's, while @running */
};

struct evloop *evloop_create(void)
{
	struct evloop *el = calloc(1, sizeof(*el));
	struct epoll_event ev = { .events = EPOLLIN };

	if (!el)
		return NULL;
	pthread_mutex_init(&el->lock, NULL);
	pthread_cond_init(&el->call_done, NULL);
	el->epfd = epoll_create1(EPOLL_CLOEXEC);
	el->stopfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	el->callfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (el->epfd < 0 || el->stopfd < 0 || el->callfd < 0)
		goto fail;
	ev.data.fd = el->stopfd;
	if (epoll_ctl(el->epfd, EPOLL_CTL_ADD, el->stopfd, &ev) < 0)
		goto fail;
	ev.data.fd = el->callfd;
	if (epoll_ctl(el->epfd, EPOLL_CTL_ADD, el->callfd, &ev) < 0)
		goto fail;
	return el;
fail:
	evloop_destroy(el);
	return NULL;
}

void evloop_destroy(struct evloop *el)
{
	if (!el)
		return;
	if (el->epfd >= 0)
		close(el->epfd);
	if (el->stopfd >= 0)
		close(el->stopfd);
	if (el->callfd >= 0)
		close(el->callfd);
	pthread_cond_destroy(&el->call_done);
	pthread_mutex_destroy(&el->lock);
	free(el->entries);
	free(el);
}

int evloop_add(struct evloop *el, int fd, uint32_t events, evloop_handler fn, void *opaque)
{
	struct epoll_event ev = { .events = events, .data.fd = fd };
	int ret = 0;

	if (fd < 0 || !fn)
		return -EINVAL;
	pthread_mutex_lock(&el->lock);
	if (fd >= el->nr_entries) {
		int n = fd + 16;
		struct evloop_entry *e = realloc(el->entries, n * sizeof(*e));

		if (!e) {
			ret = -ENOMEM;
			goto out;
		}
		memset(e + el->nr_entries, 0, (n - el->nr_entries) * sizeof(*e));
		el->entries = e;
		el->nr_entries = n;
	}
	if (epoll_ctl(el->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		ret = -errno;
		goto out;
	}
	el->entries[fd] = (struct evloop_entry){ fn, opaque };
out:
	pthread_mutex_unlock(&el->lock);
	return ret;
}

int evloop_mod(struct evloop *el, int fd, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.fd = fd };

	return epoll_ctl(el->epfd, EPOLL_CTL_MOD, fd, &ev) < 0 ? -errno : 0;
}

int evloop_del(struct evloop *el, int fd)
{
	int ret = 0;

	pthread_mutex_lock(&el->lock);
	if (fd < 0 || fd >= el->nr_entries || !el->entries[fd].fn)
		ret = -ENOENT;
	else if (epoll_ctl(el->epfd, EPOLL_CTL_DEL, fd, NULL) < 0)
		ret = -errno;
	if (fd >= 0 && fd < el->nr_entries)
		el->entries[fd].fn = NULL;
	pthread_mutex_unlock(&el->lock);
	return ret;
}

/* Run the pending evloop_call job, if any, and wake its caller. On the loop thread. */
static void run_call(struct evloop *el)
{
	uint64_t v;

	if (read(el->callfd, &v, sizeof(v)) < 0) {
		/* EAGAIN: nothing was signalled; a job may still be pending below */
	}
	pthread_mutex_lock(&el->lock);
	if (el->call_pending) {
		void (*fn)(void *) = el->call_fn;
		void *opaque = el->call_opaque;

		pthread_mutex_unlock(&el->lock);
		fn(opaque);
		pthread_mutex_lock(&el->lock);
		el->call_pending = false;
		el->calls_done++;
		pthread_cond_broadcast(&el->call_done);
	}
	pthread_mutex_unlock(&el->lock);
}

/* Leave the running state; a job queued before that still runs, a later one runs inline. */
static int loop_leave(struct evloop *el, int ret)
{
	pthread_mutex_lock(&el->lock);
	el->running = false;
	pthread_mutex_unlock(&el->lock);
	run_call(el);
	return ret;
}

void evloop_call(struct evloop *el, void (*fn)(void *opaque), void *opaque)
{
	uint64_t one = 1;
	unsigned long mine;

	pthread_mutex_lock(&el->lock);
	if (!el->running || pthread_equal(el->thread, pthread_self())) {
		pthread_mutex_unlock(&el->lock);
		fn(opaque);
		return;
	}
	while (el->call_pending) /* another caller's job */
		pthread_cond_wait(&el->call_done, &el->lock);
	if (!el->running) {
		pthread_mutex_unlock(&el->lock);
		fn(opaque);
		return;
	}
	el->call_fn = fn;
	el->call_opaque = opaque;
	el->call_pending = true;
	mine = el->calls_done + 1;
	if (write(el->callfd, &one, sizeof(one)) < 0) {
		/* a full counter still wakes the loop */
	}
	while ((long)(el->calls_done - mine) < 0)
		pthread_cond_wait(&el->call_done, &el->lock);
	pthread_mutex_unlock(&el->lock);
}

int evloop_run(struct evloop *el)
{
	struct epoll_event evs[16];

	pthread_mutex_lock(&el->lock);
	el->running = true;
	el->thread = pthread_self();
	pthread_mutex_unlock(&el->lock);
	while (!__atomic_load_n(&el->stop, __ATOMIC_ACQUIRE)) {
		int n = epoll_wait(el->epfd, evs, 16, -1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return loop_leave(el, -errno);
		}
		for (int i = 0; i < n && !__atomic_load_n(&el->stop, __ATOMIC_ACQUIRE); i++) {
			int fd = evs[i].data.fd;
			struct evloop_entry e = { 0 };

			if (fd == el->stopfd)
				continue;
			if (fd == el->callfd) {
				run_call(el);
				continue;
			}
			pthread_mutex_lock(&el->lock);
			if (fd < el->nr_entries)
				e = el->entries[fd];
			pthread_mutex_unlock(&el->lock);
			if (e.fn)
				e.fn(e.opaque, evs[i].events);
		}
	}
	return loop_leave(el, 0);
}

void evloop_stop(struct evloop *el)
{
	uint64_t one = 1;

	__atomic_store_n(&el->stop, 1, __ATOMIC_RELEASE);
	/* write(2) is async-signal-safe; a full counter (EAGAIN) still wakes the loop. */
	if (write(el->stopfd, &one, sizeof(one)) < 0) {
		/* nothing more to do: the flag is set */
	}
}
