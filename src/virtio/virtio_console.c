/* virtio_console.c — virtio console (§5.3), single port: chardev in/out through receiveq0/transmitq0. */
#include "virtio/virtio_console.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <linux/virtio_console.h>
#include <linux/virtio_ids.h>

#include "util/compiler.h"

#define RXQ 0
#define TXQ 1

struct virtio_console {
	struct virtio_dev vdev;
	struct virtio_console_backend be;
	struct virtio_console_config cfg;
	uint8_t inbuf[VIRTIO_CONSOLE_INBUF_BYTES];
	size_t in_head, in_len; /* ring buffer */
	uint64_t dropped;
	struct virtq_elem elem;
};

static struct virtio_console *to_con(struct virtio_dev *vdev)
{
	return container_of(vdev, struct virtio_console, vdev);
}

static void out_all(struct virtio_console *con, const void *buf, size_t len)
{
	size_t off = 0;

	while (off < len) {
		ssize_t n = con->be.write(con->be.opaque, (const uint8_t *)buf + off, len - off);

		if (n <= 0) {
			con->dropped += len - off;
			return;
		}
		off += (size_t)n;
	}
}

/* Move buffered input into receive buffers. Lock held. */
static void con_rx(struct virtio_console *con)
{
	struct virtio_dev *vdev = &con->vdev;
	struct virtq *vq = &vdev->vqs[RXQ];
	struct virtq_elem *e = &con->elem;
	bool pushed = false;

	while (con->in_len && virtio_dev_running(vdev)) {
		size_t done = 0;
		int rc = virtq_pop(vq, e);

		if (rc < 0) {
			virtio_dev_queue_error(vdev, RXQ);
			break;
		}
		if (rc == 0) {
			if (virtio_dev_queue_rearm(vdev, RXQ))
				continue;
			break;
		}
		while (con->in_len && done < e->in_len) {
			size_t chunk = VIRTIO_CONSOLE_INBUF_BYTES - con->in_head;
			size_t n;

			if (chunk > con->in_len)
				chunk = con->in_len;
			n = virtq_buf_to_iov(e->iov + e->out_num, e->in_num, done, con->inbuf + con->in_head, chunk);
			if (n == 0)
				break;
			done += n;
			con->in_head = (con->in_head + n) % VIRTIO_CONSOLE_INBUF_BYTES;
			con->in_len -= n;
		}
		virtq_push(vq, e->head, (uint32_t)done);
		pushed = true;
	}
	if (pushed)
		virtio_dev_used(vdev, RXQ);
}

static void con_tx(struct virtio_console *con)
{
	struct virtio_dev *vdev = &con->vdev;
	struct virtq *vq = &vdev->vqs[TXQ];
	struct virtq_elem *e = &con->elem;
	bool pushed = false;

	do {
		for (;;) {
			int rc = virtq_pop(vq, e);

			if (rc < 0) {
				virtio_dev_queue_error(vdev, TXQ);
				return;
			}
			if (rc == 0)
				break;
			for (unsigned i = 0; i < e->out_num; i++)
				out_all(con, e->iov[i].iov_base, e->iov[i].iov_len);
			virtq_push(vq, e->head, 0);
			pushed = true;
		}
	} while (virtio_dev_queue_rearm(vdev, TXQ));
	if (pushed)
		virtio_dev_used(vdev, TXQ);
}

static void con_queue_notify(struct virtio_dev *vdev, unsigned q)
{
	if (q == TXQ)
		con_tx(to_con(vdev));
	else
		con_rx(to_con(vdev));
}

size_t virtio_console_input(struct virtio_dev *vdev, const void *buf, size_t len)
{
	struct virtio_console *con = to_con(vdev);
	size_t taken = 0;

	virtio_dev_lock(vdev);
	while (taken < len && con->in_len < VIRTIO_CONSOLE_INBUF_BYTES) {
		con->inbuf[(con->in_head + con->in_len) % VIRTIO_CONSOLE_INBUF_BYTES] = ((const uint8_t *)buf)[taken];
		con->in_len++;
		taken++;
	}
	con->dropped += len - taken;
	con_rx(con);
	virtio_dev_unlock(vdev);
	return taken;
}

static void con_config_read(struct virtio_dev *vdev, uint32_t offset, void *buf, uint32_t len)
{
	memcpy(buf, (uint8_t *)&to_con(vdev)->cfg + offset, len);
}

static void con_config_write(struct virtio_dev *vdev, uint32_t offset, const void *buf, uint32_t len)
{
	/* §5.3.4: emerg_wr takes one character, written in the low byte. */
	if (offset == offsetof(struct virtio_console_config, emerg_wr) && len == 4 &&
	    virtio_dev_has(vdev, VIRTIO_CONSOLE_F_EMERG_WRITE))
		out_all(to_con(vdev), buf, 1);
}

static void con_reset(struct virtio_dev *vdev)
{
	(void)vdev; /* buffered input is kept for the next driver */
}

static void con_destroy(struct virtio_dev *vdev)
{
	virtio_dev_fini(vdev);
	free(to_con(vdev));
}

static const struct virtio_dev_ops con_ops = {
	.name = "virtio-console",
	.device_id = VIRTIO_ID_CONSOLE,
	.config_len = sizeof(struct virtio_console_config),
	.config_read = con_config_read,
	.config_write = con_config_write,
	.queue_notify = con_queue_notify,
	.reset = con_reset,
	.destroy = con_destroy,
};

int virtio_console_create(struct virtio_dev **out, const struct gmem *gm,
			  const struct virtio_console_backend *be)
{
	struct virtio_console *con;
	int rc;

	if (!be || !be->write)
		return -EINVAL;
	con = calloc(1, sizeof(*con));
	if (!con)
		return -ENOMEM;
	rc = virtio_dev_init(&con->vdev, &con_ops, gm, "virtio-console", 1ull << VIRTIO_CONSOLE_F_EMERG_WRITE, 2,
			     128);
	if (rc) {
		free(con);
		return rc;
	}
	con->be = *be;
	con->cfg.max_nr_ports = 1;
	*out = &con->vdev;
	return 0;
}
