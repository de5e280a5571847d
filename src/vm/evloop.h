/*
 * evloop.h — the VM's event loop: one thread waits on host file descriptors
 * (console input, API socket, TAP, block completions, timers) with epoll and
 * calls each one's handler. Handlers run on the loop thread only.
 */
#ifndef VMON_VM_EVLOOP_H
#define VMON_VM_EVLOOP_H

#include <stdbool.h>
#include <stdint.h>

struct evloop;

/* evloop_handler - called on the loop thread with the epoll events that fired. */
typedef void (*evloop_handler)(void *opaque, uint32_t events);

/* evloop_create - a loop, or NULL with errno set. */
struct evloop *evloop_create(void);
void evloop_destroy(struct evloop *el);

/*
 * evloop_add - watch @fd for @events (EPOLLIN, ...). Returns 0 or -errno.
 * Any thread may call it.
 */
int evloop_add(struct evloop *el, int fd, uint32_t events, evloop_handler fn, void *opaque);

/* evloop_del - stop watching @fd. Returns 0 or -errno. */
int evloop_del(struct evloop *el, int fd);

/*
 * evloop_run - dispatch events until evloop_stop(). Returns 0, or -errno if
 * epoll itself fails.
 */
int evloop_run(struct evloop *el);

/* evloop_stop - make evloop_run() return soon; safe from any thread and from signal context. */
void evloop_stop(struct evloop *el);

#endif
