/*
 * chardev_stdio.h — the console backend on the monitor's own stdin/stdout.
 *
 * Input: stdin is watched on the VM's event loop (base/evloop.h). A terminal is
 * put in raw mode (no echo, no line editing, no signals from ^C: every key goes
 * to the guest; output post-processing is kept) and restored on every exit
 * path: chardev_stdio_stop/destroy, atexit, and SIGINT/SIGTERM/SIGHUP/SIGQUIT
 * (the handler restores the terminal, then runs the handler that was installed
 * before, or the default action). At most CHARDEV_STDIO_BUF bytes are buffered:
 * while that buffer is full stdin is not watched (the frontend's pull re-arms
 * it), so input is never dropped and never piles up. EOF or a read error stops
 * input and nothing else (the VM keeps running, no busy loop). A stdin that
 * epoll cannot watch (a regular file, /dev/null) is read directly when the
 * frontend pulls. When vmon is a background job of the terminal on stdin, it
 * leaves the terminal alone and takes no input (reading would stop it).
 *
 * Escapes (when enabled, the default): Ctrl-A x calls the quit callback,
 * Ctrl-A Ctrl-A sends one Ctrl-A, Ctrl-A followed by any other byte sends both.
 *
 * Output: written to stdout in full, retrying short writes and EINTR; on
 * EAGAIN (a non-blocking stdout) it waits up to 1 s for room, then drops the
 * rest and counts it. SIGPIPE is set to SIG_IGN at start if it was SIG_DFL, so
 * a closed stdout drops output instead of killing vmon.
 */
#ifndef VMON_BACKENDS_CHARDEV_STDIO_H
#define VMON_BACKENDS_CHARDEV_STDIO_H

#include <stdbool.h>

#include "base/chardev.h"
#include "base/evloop.h"

#define CHARDEV_STDIO_BUF 256
#define CHARDEV_STDIO_ESCAPE 0x01 /* Ctrl-A */

struct chardev_stdio;

/*
 * chardev_stdio_create - a backend reading @in_fd (normally 0; -1: no input)
 * and writing @out_fd (normally 1). The fds stay owned by the caller. Nothing
 * happens to them until chardev_stdio_start. Returns NULL with errno set.
 */
struct chardev_stdio *chardev_stdio_create(int in_fd, int out_fd);

/* chardev_stdio_chardev - the generic handle to give the frontend (serial8250_create). */
struct chardev *chardev_stdio_chardev(struct chardev_stdio *s);

/*
 * chardev_stdio_set_quit - call @quit(@opaque), with no backend lock held,
 * when the user types Ctrl-A x. It runs on the event-loop thread; for a
 * stdin epoll cannot watch (a file) it runs in the frontend's pull, i.e. on a
 * vCPU thread with the frontend's lock held — so @quit must only ask the VM
 * to stop (set a flag, evloop_stop, kick the vCPUs), never wait for it.
 * Call before start.
 */
void chardev_stdio_set_quit(struct chardev_stdio *s, void (*quit)(void *opaque), void *opaque);

/* chardev_stdio_set_escape - turn Ctrl-A escape processing on (default) or off. Before start. */
void chardev_stdio_set_escape(struct chardev_stdio *s, bool on);

/*
 * chardev_stdio_start - put a terminal stdin in raw mode (installing the
 * restore hooks) and watch stdin on @el. Call once, after the frontend is
 * attached. @el's handlers must run with no evloop lock held that
 * evloop_add/evloop_del also take (the frontend's pull re-arms the watch from
 * a vCPU thread). Returns 0 or -errno (then the terminal is restored).
 */
int chardev_stdio_start(struct chardev_stdio *s, struct evloop *el);

/*
 * chardev_stdio_stop - stop watching stdin and restore the terminal. Call
 * on the event-loop thread or with the loop stopped. Idempotent.
 */
void chardev_stdio_stop(struct chardev_stdio *s);

/*
 * chardev_stdio_restore_terminal - put a terminal vmon made raw back as it
 * was. Async-signal-safe: a signal handler of the VM may call it.
 */
void chardev_stdio_restore_terminal(void);

/* chardev_stdio_dropped - output bytes dropped because stdout was stuck or closed. */
unsigned long long chardev_stdio_dropped(struct chardev_stdio *s);

#endif
