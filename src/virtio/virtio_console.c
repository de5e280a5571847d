/* virtio_console.c — virtio console (§5.3), single port: a chardev through receiveq0/transmitq0. */
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
	struct chardev *cd;
	struct virtio_console_config cfg;
	struct virtq_elem elem; /* scratch, under the device lock */
};

static struct virtio_console *to_con(struct virtio_dev *vdev)
{
	return container_of(vdev, struct virtio_console, vdev);
}

static struct virtq_elem *con_elem(struct virtio_dev *vdev)
{
	return &to_con(vdev)->elem;
}

/* Input also arrives from the backend's thread, when the device may not run. */
static struct virtq_elem *con_rx_elem(struct virtio_dev *vdev)
{
	return virtio_dev_running(vdev) ? con_elem(vdev) : NULL;
}

/* One receive chain: fill its writable part with pending input, if there is any. */
static enum virtio_chain con_rx_chain(struct virtio_dev *vdev, struct virtq_elem *e,
				      uint32_t *used_len)
{
	struct virtio_console *con = to_con(vdev);
	size_t done = 0;

	for (unsigned i = e->out_num; i < e->out_num + e->in_num; i++) {
		size_t n = chardev_read(con->cd, e->iov[i].iov_base, e->iov[i].iov_len);

		done += n;
		if (n < e->iov[i].iov_len)
			break;
	}
	if (done == 0) {
		/* Nothing pending: the backend notifies us when there is. */
		virtq_unpop(&vdev->vqs[RXQ]);
		return VIRTIO_CHAIN_STOP;
	}
	*used_len = (uint32_t)done;
	return VIRTIO_CHAIN_USED;
}

/* One transmit chain: its readable part goes to the chardev. */
static enum virtio_chain con_tx_chain(struct virtio_dev *vdev, struct virtq_elem *e,
				      uint32_t *used_len)
{
	(void)used_len;
	for (unsigned i = 0; i < e->out_num; i++)
		chardev_write(to_con(vdev)->cd, e->iov[i].iov_base, e->iov[i].iov_len);
	return VIRTIO_CHAIN_USED;
}

static const struct virtio_drain_ops con_rx_ops = { .elem = con_rx_elem, .chain = con_rx_chain };
static const struct virtio_drain_ops con_tx_ops = { .elem = con_elem, .chain = con_tx_chain };

/* Pull pending input into receive buffers, one chain at a time. Lock held. */
static void con_rx(struct virtio_console *con)
{
	virtio_dev_drain(&con->vdev, RXQ, &con_rx_ops);
}

static void con_queue_notify(struct virtio_dev *vdev, unsigned q)
{
	if (q == TXQ)
		virtio_dev_drain(vdev, TXQ, &con_tx_ops);
	else
		con_rx(to_con(vdev));
}

/* The backend has input (its thread, no backend lock held). */
static void con_input_ready(void *opaque)
{
	struct virtio_console *con = opaque;

	virtio_dev_lock(&con->vdev);
	con_rx(con);
	virtio_dev_unlock(&con->vdev);
}

static void con_config_read(struct virtio_dev *vdev, uint32_t offset, void *buf, uint32_t len)
{
	memcpy(buf, (uint8_t *)&to_con(vdev)->cfg + offset, len);
}

static void con_config_write(struct virtio_dev *vdev, uint32_t offset, const void *buf,
			     uint32_t len)
{
	/* §5.3.4: emerg_wr takes one character, written in the low byte. */
	if (offset == offsetof(struct virtio_console_config, emerg_wr) && len == 4 &&
	    virtio_dev_has(vdev, VIRTIO_CONSOLE_F_EMERG_WRITE))
		chardev_write(to_con(vdev)->cd, buf, 1);
}

static void con_destroy(struct virtio_dev *vdev)
{
	struct virtio_console *con = to_con(vdev);

	chardev_attach(con->cd, NULL, NULL);
	virtio_dev_fini(vdev);
	free(con);
}

static const struct virtio_dev_ops con_ops = {
	.name = "virtio-console",
	.device_id = VIRTIO_ID_CONSOLE,
	.config_len = sizeof(struct virtio_console_config),
	.config_read = con_config_read,
	.config_write = con_config_write,
	.queue_notify = con_queue_notify,
	.destroy = con_destroy,
};

int virtio_console_create(struct virtio_dev **out, const struct gmem *gm, struct chardev *cd)
{
	struct virtio_console *con;
	int rc;

	if (!cd)
		return -EINVAL;
	con = calloc(1, sizeof(*con));
	if (!con)
		return -ENOMEM;
	rc = virtio_dev_init(&con->vdev, &con_ops, gm, "virtio-console",
			     1ull << VIRTIO_CONSOLE_F_EMERG_WRITE, 2, 128);
	if (rc) {
		free(con);
		return rc;
	}
	con->cd = cd;
	con->cfg.max_nr_ports = 1;
	chardev_attach(cd, con_input_ready, con);
	*out = &con->vdev;
	return 0;
}
