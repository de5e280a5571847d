/* virtio_net.c — virtio network device (§5.1): rx/tx queues between the guest and a TAP-like
 * backend. */
#include "virtio/virtio_net.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <linux/if_tun.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_net.h>

#include "util/compiler.h"

#define RXQ 0
#define TXQ 1
/* 12 bytes: with VERSION_1 the header always has num_buffers (§5.1.6) */
#define HDR_LEN sizeof(struct virtio_net_hdr_v1)

struct virtio_net {
	struct virtio_dev vdev;
	struct virtio_net_backend be;
	struct virtio_net_config cfg;
	bool rx_watching;
	struct virtio_net_stats stats;
	struct virtq_elem elem; /* scratch, under the device lock */
	struct iovec slice[VIRTQ_MAX_SEGS];
};

static struct virtio_net *to_net(struct virtio_dev *vdev)
{
	return container_of(vdev, struct virtio_net, vdev);
}

static void rx_watch(struct virtio_net *net, bool on)
{
	if (net->rx_watching == on || !net->be.rx_watch)
		return;
	net->rx_watching = on;
	net->be.rx_watch(net->be.opaque, on);
}

static struct virtq_elem *net_elem(struct virtio_dev *vdev)
{
	return &to_net(vdev)->elem;
}

/* Packets also arrive from the backend (virtio_net_rx_ready), when the device may not run. */
static struct virtq_elem *net_rx_elem(struct virtio_dev *vdev)
{
	return virtio_dev_running(vdev) ? net_elem(vdev) : NULL;
}

/* §5.1.6.4: one packet per chain (no MRG_RXBUF), header first. */
static enum virtio_chain net_rx_chain(struct virtio_dev *vdev, struct virtq_elem *e,
				      uint32_t *used_len)
{
	struct virtio_net *net = to_net(vdev);
	struct iovec *in = e->iov + e->out_num;
	uint16_t one = 1;
	ssize_t n;

	if (e->out_num || e->in_len < HDR_LEN) {
		log_guest(&vdev->rl,
			  "%s: receive buffer unusable (%u readable, %llu writable bytes)",
			  vdev->name, e->out_num, (unsigned long long)e->in_len);
		return VIRTIO_CHAIN_USED; /* with 0 bytes */
	}
	if (net->be.vnet_hdr) {
		n = net->be.readv(net->be.opaque, in, (int)e->in_num);
	} else {
		unsigned k = virtq_iov_slice(in, e->in_num, HDR_LEN, e->in_len - HDR_LEN,
					     net->slice, VIRTQ_MAX_SEGS);

		n = net->be.readv(net->be.opaque, net->slice, (int)k);
		if (n >= 0) {
			struct virtio_net_hdr_v1 h = { 0 };

			virtq_buf_to_iov(in, e->in_num, 0, &h, HDR_LEN);
			n += HDR_LEN;
		}
	}
	if (n < 0) {
		virtq_unpop(&vdev->vqs[RXQ]);
		if (n != -EAGAIN && n != -EWOULDBLOCK)
			net->stats.rx_dropped++;
		return VIRTIO_CHAIN_STOP;
	}
	/* num_buffers is 1 without MRG_RXBUF; the TAP does not write it. */
	virtq_buf_to_iov(in, e->in_num, offsetof(struct virtio_net_hdr_v1, num_buffers), &one,
			 sizeof(one));
	*used_len = (uint32_t)n;
	net->stats.rx_packets++;
	return VIRTIO_CHAIN_USED;
}

/* One packet per chain, header first; a malformed chain is dropped (and used). */
static enum virtio_chain net_tx_chain(struct virtio_dev *vdev, struct virtq_elem *e,
				      uint32_t *used_len)
{
	struct virtio_net *net = to_net(vdev);
	ssize_t n;

	(void)used_len;
	if (e->in_num || e->out_len < HDR_LEN || e->out_len > HDR_LEN + 65550) {
		log_guest(&vdev->rl, "%s: transmit chain malformed (%llu bytes)", vdev->name,
			  (unsigned long long)e->out_len);
		net->stats.tx_dropped++;
		return VIRTIO_CHAIN_USED;
	}
	if (net->be.vnet_hdr) {
		n = net->be.writev(net->be.opaque, e->iov, (int)e->out_num);
	} else {
		unsigned k = virtq_iov_slice(e->iov, e->out_num, HDR_LEN, e->out_len - HDR_LEN,
					     net->slice, VIRTQ_MAX_SEGS);

		n = net->be.writev(net->be.opaque, net->slice, (int)k);
	}
	if (n < 0)
		net->stats.tx_dropped++;
	else
		net->stats.tx_packets++;
	return VIRTIO_CHAIN_USED;
}

static const struct virtio_drain_ops net_rx_ops = { .elem = net_rx_elem, .chain = net_rx_chain };
static const struct virtio_drain_ops net_tx_ops = { .elem = net_elem, .chain = net_tx_chain };

/* Fill receive buffers with packets from the backend. Lock held. */
static void net_rx(struct virtio_net *net)
{
	if (virtio_dev_drain(&net->vdev, RXQ, &net_rx_ops) == VIRTIO_DRAIN_EMPTY)
		rx_watch(net, false); /* no buffers: wait for the guest's rx kick */
}

static void net_queue_notify(struct virtio_dev *vdev, unsigned q)
{
	struct virtio_net *net = to_net(vdev);

	if (q == TXQ) {
		virtio_dev_drain(vdev, TXQ, &net_tx_ops);
	} else if (q == RXQ) {
		rx_watch(net, true); /* new buffers: take packets again */
		net_rx(net);
	}
}

void virtio_net_rx_ready(struct virtio_dev *vdev)
{
	virtio_dev_lock(vdev);
	net_rx(to_net(vdev));
	virtio_dev_unlock(vdev);
}

static void net_driver_ok(struct virtio_dev *vdev)
{
	struct virtio_net *net = to_net(vdev);
	unsigned flags = 0;

	if (net->be.set_offload && net->be.vnet_hdr) {
		if (virtio_dev_has(vdev, VIRTIO_NET_F_GUEST_CSUM)) {
			flags |= TUN_F_CSUM;
			if (virtio_dev_has(vdev, VIRTIO_NET_F_GUEST_TSO4))
				flags |= TUN_F_TSO4;
			if (virtio_dev_has(vdev, VIRTIO_NET_F_GUEST_TSO6))
				flags |= TUN_F_TSO6;
		}
		if (net->be.set_offload(net->be.opaque, flags))
			log_warn("%s: could not set TAP offloads 0x%x", vdev->name, flags);
	}
	rx_watch(net, true);
}

static void net_reset(struct virtio_dev *vdev)
{
	rx_watch(to_net(vdev), false);
}

static void net_config_read(struct virtio_dev *vdev, uint32_t offset, void *buf, uint32_t len)
{
	memcpy(buf, (uint8_t *)&to_net(vdev)->cfg + offset, len);
}

static void net_destroy(struct virtio_dev *vdev)
{
	struct virtio_net *net = to_net(vdev);

	if (net->be.release)
		net->be.release(net->be.opaque);
	virtio_dev_fini(vdev);
	free(to_net(vdev));
}

static void net_save(struct virtio_dev *vdev, struct state_writer *w)
{
	state_put_bytes(w, to_net(vdev)->cfg.mac, 6);
}

static int net_load(struct virtio_dev *vdev, struct state_reader *r)
{
	uint8_t mac[6];

	state_get_bytes(r, mac, sizeof(mac));
	if (state_error(r))
		return -EINVAL;
	memcpy(to_net(vdev)->cfg.mac, mac, sizeof(mac));
	return 0;
}

static const struct virtio_dev_ops net_ops = {
	.name = "virtio-net",
	.device_id = VIRTIO_ID_NET,
	.config_len = sizeof(struct virtio_net_config),
	.config_read = net_config_read,
	.queue_notify = net_queue_notify,
	.driver_ok = net_driver_ok,
	.reset = net_reset,
	.save = net_save,
	.load = net_load,
	.destroy = net_destroy,
};

int virtio_net_create(struct virtio_dev **out, const struct gmem *gm,
		      const struct virtio_net_backend *be, const uint8_t mac[6])
{
	uint64_t features = (1ull << VIRTIO_NET_F_MAC) | (1ull << VIRTIO_NET_F_STATUS) |
			    (1ull << VIRTIO_NET_F_MTU);
	struct virtio_net *net;
	int rc;

	if (!be || !be->readv || !be->writev)
		return -EINVAL;
	if (be->vnet_hdr && be->set_offload)
		features |= (1ull << VIRTIO_NET_F_CSUM) | (1ull << VIRTIO_NET_F_GUEST_CSUM) |
			    (1ull << VIRTIO_NET_F_HOST_TSO4) | (1ull << VIRTIO_NET_F_HOST_TSO6) |
			    (1ull << VIRTIO_NET_F_GUEST_TSO4) | (1ull << VIRTIO_NET_F_GUEST_TSO6);
	net = calloc(1, sizeof(*net));
	if (!net)
		return -ENOMEM;
	rc = virtio_dev_init(&net->vdev, &net_ops, gm, "virtio-net", features, 2,
			     VIRTIO_NET_QUEUE_SIZE);
	if (rc) {
		free(net);
		return rc;
	}
	net->be = *be;
	memcpy(net->cfg.mac, mac, 6);
	net->cfg.status = VIRTIO_NET_S_LINK_UP;
	net->cfg.max_virtqueue_pairs = 1;
	net->cfg.mtu = VIRTIO_NET_MTU;
	net->cfg.speed = 0xffffffffu; /* unknown */
	net->cfg.duplex = 0xff;
	*out = &net->vdev;
	return 0;
}

void virtio_net_get_stats(struct virtio_dev *vdev, struct virtio_net_stats *st)
{
	virtio_dev_lock(vdev);
	*st = to_net(vdev)->stats;
	virtio_dev_unlock(vdev);
}
