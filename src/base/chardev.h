/*
 * chardev.h — a host character backend (stdio, memory buffer, ...) seen by a
 * character frontend (the 8250 UART, virtio-console): a small vtable to send
 * bytes and to pull input, and a notification the backend raises when input
 * it had none of becomes available.
 *
 * Flow control is pull-based: the frontend takes input only when it has room
 * (chardev_read), so a backend buffers at most a small fixed amount and stops
 * reading its host source while that buffer is full. When a read returned
 * fewer bytes than asked, the backend calls the frontend's notify callback as
 * soon as more input arrives (from its own thread, e.g. the event loop) — the
 * frontend then pulls again. No byte is dropped on the input side.
 *
 * Locking: a backend locks its own state; a frontend may call write/read with
 * its own lock held, and the backend calls notify with no backend lock held,
 * so the order is always frontend lock -> backend lock.
 */
#ifndef VMON_BACKENDS_CHARDEV_H
#define VMON_BACKENDS_CHARDEV_H

#include <stddef.h>
#include <stdint.h>

struct chardev;

struct chardev_ops {
	/*
	 * write - send @len bytes to the host. Returns the number of bytes
	 * taken; a backend that cannot make progress (host output closed or
	 * stuck) may drop bytes rather than block a vCPU forever.
	 */
	size_t (*write)(struct chardev *cd, const uint8_t *buf, size_t len);
	/*
	 * read - take up to @len bytes of pending input without blocking.
	 * Returns the count (0 when none is pending now). After a short read
	 * the backend calls the notify callback when more input arrives.
	 */
	size_t (*read)(struct chardev *cd, uint8_t *buf, size_t len);
	/* destroy - stop and free the backend (the frontend must be gone). */
	void (*destroy)(struct chardev *cd);
};

/* struct chardev - embedded first in each backend's own state. */
struct chardev {
	const struct chardev_ops *ops;
	void (*notify)(void *opaque); /* set with chardev_attach */
	void *notify_opaque;
};

/*
 * chardev_attach - make @notify(@opaque) the callback the backend raises when
 * input becomes available; NULL detaches. Call before the backend is started
 * (or after it is stopped): the notify fields are not locked.
 */
static inline void chardev_attach(struct chardev *cd, void (*notify)(void *), void *opaque)
{
	cd->notify = notify;
	cd->notify_opaque = opaque;
}

/* chardev_write - send bytes through @cd; a NULL @cd discards them. Returns bytes taken. */
static inline size_t chardev_write(struct chardev *cd, const uint8_t *buf, size_t len)
{
	return cd ? cd->ops->write(cd, buf, len) : len;
}

/* chardev_read - pull up to @len pending input bytes; a NULL @cd has none. */
static inline size_t chardev_read(struct chardev *cd, uint8_t *buf, size_t len)
{
	return cd ? cd->ops->read(cd, buf, len) : 0;
}

/* chardev_notify - for backends: tell the frontend that input is available. */
static inline void chardev_notify(struct chardev *cd)
{
	if (cd->notify)
		cd->notify(cd->notify_opaque);
}

/* chardev_destroy - free @cd (NULL is a no-op). */
static inline void chardev_destroy(struct chardev *cd)
{
	if (cd)
		cd->ops->destroy(cd);
}

#endif
