/*
 * virtio_console.h — virtio console (virtio 1.2 §5.3) with one port (hvc0
 * in Linux), no MULTIPORT: receiveq0 carries host input to the guest,
 * transmitq0 guest output to a chardev. VIRTIO_CONSOLE_F_EMERG_WRITE lets
 * early code write single characters through the config space.
 *
 * Input from the chardev is buffered (VIRTIO_CONSOLE_INBUF_BYTES) until the
 * guest posts receive buffers; what does not fit is dropped and counted.
 */
#ifndef VMON_VIRTIO_VIRTIO_CONSOLE_H
#define VMON_VIRTIO_VIRTIO_CONSOLE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "mem/gmem.h"
#include "virtio/virtio.h"

#define VIRTIO_CONSOLE_INBUF_BYTES 4096

/* struct virtio_console_backend - where guest output goes: @write returns bytes taken or -errno. */
struct virtio_console_backend {
	void *opaque;
	ssize_t (*write)(void *opaque, const void *buf, size_t len);
};

/*
 * virtio_console_create - a console over @gm writing to @be (copied).
 * Returns 0 and *@out (give it to virtio_pci_create()), or -errno.
 */
int virtio_console_create(struct virtio_dev **out, const struct gmem *gm,
			  const struct virtio_console_backend *be);

/*
 * virtio_console_input - host input for the guest (event-loop thread; takes
 * the lock). Returns the bytes accepted into the buffer (the rest is dropped).
 */
size_t virtio_console_input(struct virtio_dev *vdev, const void *buf, size_t len);

#endif
