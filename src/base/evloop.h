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

/* evloop_mod - watch @fd (added before) for @events instead, with the same handler. 0 or -errno. */
int evloop_mod(struct evloop *el, int fd, uint32_t events);

/* evloop_del - stop watching @fd. Returns 0 or -errno. */
int evloop_del(struct evloop *el, int fd);

/*
 * evloop_run - dispatch events until evloop_stop(). Returns 0, or -errno if
 * epoll itself fails.
 */
int evloop_run(struct evloop *el);

/*
 * evloop_call - run @fn(@opaque) on the loop thread, between two handlers,
 * and wait until it has returned: while it runs no handler does (the VM's
 * device I/O stands still, as a snapshot needs). Called on the loop thread,
 * or while the loop is not running, it runs @fn at once (a loop that stops
 * with a job queued runs it on the way out). Any thread; calls from several
 * threads run one after another.
 */
void evloop_call(struct evloop *el, void (*fn)(void *opaque), void *opaque);

/* evloop_stop - make evloop_run() return soon; safe from any thread and from signal context. */
void evloop_stop(struct evloop *el);

#endif
