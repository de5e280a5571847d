/* virtio_vsock.c — virtio-vsock (§5.10) over the hybrid Unix-socket mux (see virtio_vsock.h). */
#include "virtio/virtio_vsock.h"

#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <linux/virtio_ids.h>
#include <linux/virtio_vsock.h>

#include "util/compiler.h"

#define RXQ 0
#define TXQ 1
#define EVQ 2
#define QUEUE_SIZE 256

struct virtio_vsock {
	struct virtio_dev vdev;
	struct vsock_mux *mux;
	uint64_t cid;
	bool reset_event; /* a TRANSPORT_RESET for the guest, when it posts an event buffer */
	struct virtq_elem elem; /* scratch, under the device lock */
	struct iovec part[VIRTQ_MAX_SEGS];
};

static struct virtio_vsock *to_vs(struct virtio_dev *vdev)
{
	return container_of(vdev, struct virtio_vsock, vdev);
}

static struct virtq_elem *vs_elem(struct virtio_dev *vdev)
{
	return virtio_dev_running(vdev) ? &to_vs(vdev)->elem : NULL;
}

/* One receive chain: the mux's next packet, header then payload, or give it back. */
static enum virtio_chain vs_rx_chain(struct virtio_dev *vdev, struct virtq_elem *e,
				     uint32_t *used_len)
{
	struct virtio_vsock *vs = to_vs(vdev);
	const struct iovec *in = e->iov + e->out_num;
	uint8_t raw[VSOCK_HDR_LEN];
	struct vsock_hdr h;
	unsigned np;

	if (e->in_len < VSOCK_HDR_LEN) {
		log_guest(&vdev->rl, "vsock: a receive buffer of %llu bytes",
			  (unsigned long long)e->in_len);
		return VIRTIO_CHAIN_USED; /* returned empty: it can hold no packet */
	}
	np = virtq_iov_slice(in, e->in_num, VSOCK_HDR_LEN, e->in_len - VSOCK_HDR_LEN, vs->part,
			     VIRTQ_MAX_SEGS);
	if (!vsock_mux_host_pkt(vs->mux, &h, vs->part, np, e->in_len - VSOCK_HDR_LEN)) {
		virtq_unpop(&vdev->vqs[RXQ]);
		return VIRTIO_CHAIN_STOP;
	}
	vsock_hdr_encode(raw, &h);
	virtq_buf_to_iov(in, e->in_num, 0, raw, sizeof(raw));
	*used_len = VSOCK_HDR_LEN + h.len;
	return VIRTIO_CHAIN_USED;
}

/* One transmit chain: a header, its payload after it, to the mux. */
static enum virtio_chain vs_tx_chain(struct virtio_dev *vdev, struct virtq_elem *e,
				     uint32_t *used_len)
{
	struct virtio_vsock *vs = to_vs(vdev);
	uint8_t raw[VSOCK_HDR_LEN];
	struct vsock_hdr h;
	uint64_t avail;
	unsigned np;

	(void)used_len;
	if (virtq_iov_to_buf(e->iov, e->out_num, 0, raw, sizeof(raw)) != sizeof(raw)) {
		log_guest(&vdev->rl, "vsock: a transmit chain of %llu bytes",
			  (unsigned long long)e->out_len);
		return VIRTIO_CHAIN_USED;
	}
	vsock_hdr_decode(&h, raw);
	avail = e->out_len - VSOCK_HDR_LEN;
	avail = avail < h.len ? avail : h.len; /* the mux resets the connection when short */
	np = virtq_iov_slice(e->iov, e->out_num, VSOCK_HDR_LEN, avail, vs->part, VIRTQ_MAX_SEGS);
	vsock_mux_guest_pkt(vs->mux, &h, vs->part, np, avail);
	return VIRTIO_CHAIN_USED;
}

/* The event queue: a TRANSPORT_RESET into the first buffer, when one is owed. */
static enum virtio_chain vs_ev_chain(struct virtio_dev *vdev, struct virtq_elem *e,
				     uint32_t *used_len)
{
	struct virtio_vsock_event ev = { .id = htole32(VIRTIO_VSOCK_EVENT_TRANSPORT_RESET) };

	if (!to_vs(vdev)->reset_event) {
		virtq_unpop(&vdev->vqs[EVQ]);
		return VIRTIO_CHAIN_STOP;
	}
	if (virtq_buf_to_iov(e->iov + e->out_num, e->in_num, 0, &ev, sizeof(ev)) != sizeof(ev))
		return VIRTIO_CHAIN_USED; /* too small for an event: returned empty */
	to_vs(vdev)->reset_event = false;
	*used_len = sizeof(ev);
	return VIRTIO_CHAIN_USED;
}

static const struct virtio_drain_ops rx_ops = { .elem = vs_elem, .chain = vs_rx_chain };
static const struct virtio_drain_ops tx_ops = { .elem = vs_elem, .chain = vs_tx_chain };
static const struct virtio_drain_ops ev_ops = { .elem = vs_elem, .chain = vs_ev_chain };

static void vs_queue_notify(struct virtio_dev *vdev, unsigned q)
{
	if (q == TXQ)
		virtio_dev_drain(vdev, TXQ, &tx_ops);
	else if (q == EVQ)
		virtio_dev_drain(vdev, EVQ, &ev_ops);
	/* what the guest sent may have an answer (RESPONSE, RST, credit) */
	if (q == TXQ || q == RXQ)
		virtio_dev_drain(vdev, RXQ, &rx_ops);
}

/* The mux has packets for the guest (event-loop thread, no lock held). */
static void vs_host_ready(void *opaque)
{
	struct virtio_vsock *vs = opaque;

	virtio_dev_lock(&vs->vdev);
	if (virtio_dev_running(&vs->vdev) && vs->vdev.vqs[RXQ].enabled)
		virtio_dev_drain(&vs->vdev, RXQ, &rx_ops);
	virtio_dev_unlock(&vs->vdev);
}

static void vs_config_read(struct virtio_dev *vdev, uint32_t offset, void *buf, uint32_t len)
{
	struct virtio_vsock_config cfg = { .guest_cid = htole64(to_vs(vdev)->cid) };

	memcpy(buf, (uint8_t *)&cfg + offset, len);
}

static void vs_reset(struct virtio_dev *vdev)
{
	vsock_mux_reset(to_vs(vdev)->mux);
	to_vs(vdev)->reset_event = false;
}

static void vs_save(struct virtio_dev *vdev, struct state_writer *w)
{
	state_put_u64(w, to_vs(vdev)->cid);
}

static int vs_load(struct virtio_dev *vdev, struct state_reader *r)
{
	uint64_t cid = state_get_u64(r);

	if (state_error(r) || cid != to_vs(vdev)->cid)
		return -EINVAL;
	return 0;
}

/*
 * After a restore the host ends of the guest's connections are gone (Firecracker's behaviour):
 * tell the guest with TRANSPORT_RESET, so that it resets them, and run the queues again for
 * what it queued before the snapshot.
 */
static void vs_loaded(struct virtio_dev *vdev)
{
	struct virtio_vsock *vs = to_vs(vdev);

	vsock_mux_reset(vs->mux);
	if (!virtio_dev_running(vdev))
		return;
	vs->reset_event = true;
	if (vdev->vqs[EVQ].enabled)
		virtio_dev_drain(vdev, EVQ, &ev_ops);
	if (vdev->vqs[TXQ].enabled)
		virtio_dev_drain(vdev, TXQ, &tx_ops);
	if (vdev->vqs[RXQ].enabled)
		virtio_dev_drain(vdev, RXQ, &rx_ops);
}

static void vs_destroy(struct virtio_dev *vdev)
{
	struct virtio_vsock *vs = to_vs(vdev);

	vsock_mux_destroy(vs->mux);
	virtio_dev_fini(vdev);
	free(vs);
}

static const struct virtio_dev_ops vs_ops = {
	.name = "virtio-vsock",
	.device_id = VIRTIO_ID_VSOCK,
	.config_len = sizeof(struct virtio_vsock_config),
	.config_read = vs_config_read,
	.queue_notify = vs_queue_notify,
	.reset = vs_reset,
	.save = vs_save,
	.load = vs_load,
	.loaded = vs_loaded,
	.destroy = vs_destroy,
};

int virtio_vsock_create(struct virtio_dev **out, const struct gmem *gm, uint64_t cid,
			const char *uds_path, struct evloop *el, char *err, size_t err_len)
{
	struct virtio_vsock *vs = calloc(1, sizeof(*vs));
	int rc;

	if (!vs) {
		errbuf_set(err, err_len, "out of memory");
		return -ENOMEM;
	}
	rc = virtio_dev_init(&vs->vdev, &vs_ops, gm, "virtio-vsock", 0, 3, QUEUE_SIZE);
	if (rc) {
		errbuf_set(err, err_len, "virtio-vsock: %s", strerror(-rc));
		free(vs);
		return rc;
	}
	vs->cid = cid;
	rc = vsock_mux_create(&vs->mux, cid, uds_path, el, vs_host_ready, vs, err, err_len);
	if (rc) {
		virtio_dev_fini(&vs->vdev);
		free(vs);
		return rc;
	}
	*out = &vs->vdev;
	return 0;
}

struct vsock_mux *virtio_vsock_mux(struct virtio_dev *vdev)
{
	return to_vs(vdev)->mux;
}
