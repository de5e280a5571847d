/*
 * virtio_echo.c — a test device, as QEMU's pci-testdev: one queue whose chains
 * come back with their readable bytes copied into their writable buffers (as
 * many as fit; the used length says how many). No driver in Linux knows it; a
 * test guest drives it to check a transport end to end, and it is the proof
 * that a device needs only its own file and one line of virtio_classes.def.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/compiler.h"
#include "virtio/virtio_class.h"

/* a device id no virtio device has (the top of the range virtio-pci can name: 0x1040 + id) */
#define VIRTIO_ECHO_DEVICE_ID 0x3f

struct virtio_echo {
	struct virtio_dev vdev;
	struct virtq_elem elem; /* scratch, used under the device lock */
};

static struct virtq_elem *echo_elem(struct virtio_dev *vdev)
{
	return &container_of(vdev, struct virtio_echo, vdev)->elem;
}

/* Copy the chain's readable segments into its writable ones, in order, until either ends. */
static enum virtio_chain echo_chain(struct virtio_dev *vdev, struct virtq_elem *e,
				    uint32_t *used_len)
{
	unsigned src = 0, dst = e->out_num, end = e->out_num + e->in_num;
	size_t src_off = 0, dst_off = 0;
	uint64_t done = 0;

	(void)vdev;
	while (src < e->out_num && dst < end) {
		size_t in_left = e->iov[src].iov_len - src_off;
		size_t n = e->iov[dst].iov_len - dst_off;

		if (in_left < n)
			n = in_left;

		/* the two may overlap when the guest points both at one buffer */
		memmove((uint8_t *)e->iov[dst].iov_base + dst_off,
			(const uint8_t *)e->iov[src].iov_base + src_off, n);
		done += n;
		src_off += n;
		dst_off += n;
		if (src_off == e->iov[src].iov_len) {
			src++;
			src_off = 0;
		}
		if (dst_off == e->iov[dst].iov_len) {
			dst++;
			dst_off = 0;
		}
	}
	*used_len = (uint32_t)done;
	return VIRTIO_CHAIN_USED;
}

static const struct virtio_drain_ops echo_drain_ops = { .elem = echo_elem, .chain = echo_chain };

static void echo_queue_notify(struct virtio_dev *vdev, unsigned q)
{
	(void)q;
	virtio_dev_drain(vdev, 0, &echo_drain_ops);
}

static void echo_destroy(struct virtio_dev *vdev)
{
	virtio_dev_fini(vdev);
	free(vdev);
}

static const struct virtio_dev_ops echo_ops = {
	.name = "virtio-echo",
	.device_id = VIRTIO_ECHO_DEVICE_ID,
	.queue_notify = echo_queue_notify,
	.destroy = echo_destroy,
};

static int echo_create(struct virtio_dev **out, const struct gmem *gm)
{
	struct virtio_echo *d = calloc(1, sizeof(*d));
	int rc;

	if (!d)
		return -ENOMEM;
	rc = virtio_dev_init(&d->vdev, &echo_ops, gm, "virtio-echo", 0, 1, 256);
	if (rc) {
		free(d);
		return rc;
	}
	*out = &d->vdev;
	return 0;
}

const struct virtio_class virtio_echo_class = {
	.name = "echo",
	.help = "virtio test device: echoes each request (device id 63)",
	.create = echo_create,
};
