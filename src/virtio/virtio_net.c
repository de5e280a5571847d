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
#include "util/token_bucket.h"

#define RXQ 0
#define TXQ 1
/* 12 bytes: with VERSION_1 the header always has num_buffers (§5.1.6) */
#define HDR_LEN sizeof(struct virtio_net_hdr_v1)
/* the largest frame a TAP gives with TSO/GSO on: 64 KiB of IP plus the Ethernet header */
#define RX_FRAME_MAX (HDR_LEN + 65536 + 14 + 4)

struct virtio_net {
	struct virtio_dev vdev;
	struct virtio_net_backend be;
	struct virtio_net_config cfg;
	bool rx_watching;
	bool dp_on; /* the in-kernel data path runs both queues */
	bool dp_warned;
	int dp_kick[2]; /* the transport's notification eventfds it holds */
	bool dp_call[2]; /* be.dp_call_fd[q] bound as queue q's interrupt */
	struct virtio_net_stats stats;
	struct virtq_elem elem; /* scratch, under the device lock */
	struct iovec slice[VIRTQ_MAX_SEGS];
	/* VIRTIO_NET_F_MRG_RXBUF receive: one frame read ahead, spread over as many chains as it
	 * needs */
	uint8_t *rx_frame; /* RX_FRAME_MAX bytes: header + frame */
	size_t rx_frame_len; /* 0: none waiting for buffers */
	uint16_t rx_heads[VIRTIO_NET_QUEUE_SIZE];
	uint32_t rx_lens[VIRTIO_NET_QUEUE_SIZE];
	uint16_t rx_skipped[VIRTIO_NET_QUEUE_SIZE]; /* unusable chains met among the frame's */
	struct iovec rx_first[VIRTQ_MAX_SEGS]; /* the first chain's writable segments */
	unsigned rx_first_n;
	unsigned rx_short; /* chains popped for the waiting frame when it last did not fit */
	/* Firecracker's rx_rate_limiter / tx_rate_limiter */
	struct rate_limiter rx_limit, tx_limit;
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

/* ---- in-kernel data path (vhost-net) ---------------------------------------------------- */

static void dp_give_back(struct virtio_net *net)
{
	struct virtio_dev *vdev = &net->vdev;

	for (unsigned q = 0; q < 2; q++) {
		if (net->dp_kick[q] >= 0 && vdev->transport.queue_fd)
			vdev->transport.queue_fd(vdev->transport.opaque, vdev, q, false);
		net->dp_kick[q] = -1;
		if (net->dp_call[q] && vdev->transport.queue_irqfd)
			vdev->transport.queue_irqfd(vdev->transport.opaque, vdev, q, -1);
		net->dp_call[q] = false;
	}
}

/* Start the backend on the rings as they are now (kick fds already held). Lock held. */
static int dp_start_rings(struct virtio_net *net)
{
	struct virtio_dev *vdev = &net->vdev;
	struct virtio_net_dp_ring vr[2];

	for (unsigned q = 0; q < 2; q++) {
		const struct virtq *vq = &vdev->vqs[q];

		if (!virtq_ready(vq))
			return -EINVAL;
		vr[q] = (struct virtio_net_dp_ring){
			.num = vq->size,
			.desc_gpa = vq->desc_gpa,
			.avail_gpa = vq->avail_gpa,
			.used_gpa = vq->used_gpa,
			.last_avail_idx = vq->last_avail_idx,
			.kick_fd = net->dp_kick[q],
		};
	}
	return net->be.dp_start(net->be.opaque, vdev->driver_features & net->be.dp_features, vr);
}

/* Hand both queues to the in-kernel data path. 0, or -errno with the queues still ours. Lock held.
 */
static int dp_begin(struct virtio_net *net)
{
	struct virtio_dev *vdev = &net->vdev;
	int rc;

	if (!net->be.dp_start || !vdev->transport.queue_fd || !vdev->transport.queue_irqfd)
		return -ENOTSUP;
	for (unsigned q = 0; q < 2; q++) {
		rc = vdev->transport.queue_fd(vdev->transport.opaque, vdev, q, true);
		if (rc >= 0) {
			net->dp_kick[q] = rc;
			rc = vdev->transport.queue_irqfd(vdev->transport.opaque, vdev, q,
							 net->be.dp_call_fd[q]);
			net->dp_call[q] = rc == 0;
		}
		if (rc < 0) {
			dp_give_back(net);
			return rc;
		}
	}
	rc = dp_start_rings(net);
	if (rc) {
		dp_give_back(net);
		return rc;
	}
	net->dp_on = true;
	return 0;
}

/*
 * Stop the in-kernel data path. With @record, copy where it stopped into the
 * queues: the next avail index it would read and the used index it published
 * (the kernel completes every chain it took before it stops). Lock held.
 */
static int dp_halt(struct virtio_net *net, bool record)
{
	struct virtio_dev *vdev = &net->vdev;
	uint16_t idx[2];
	int rc;

	if (!net->dp_on)
		return 0;
	net->dp_on = false;
	rc = net->be.dp_stop(net->be.opaque, record ? idx : NULL);
	if (rc || !record)
		return rc;
	for (unsigned q = 0; q < 2; q++) {
		struct virtq *vq = &vdev->vqs[q];
		const uint16_t *used_idx = gmem_ptr(vdev->gm, vq->used_gpa + 2, 2);

		vq->last_avail_idx = idx[q];
		if (used_idx)
			vq->used_idx = __atomic_load_n(used_idx, __ATOMIC_ACQUIRE);
		vq->signalled_used_valid = false;
	}
	return 0;
}

static void dp_warn(struct virtio_net *net, const char *what, int rc)
{
	if (net->dp_warned)
		return;
	net->dp_warned = true;
	log_warn("%s: vhost-net %s (%s); vmon moves the packets itself", net->vdev.name, what,
		 strerror(-rc));
}

/* ---- rate limiters ---------------------------------------------------------------------- */

/* Ask the transport to run queue @q again in @wait ns (the limiter's wait). */
static void limit_requeue(struct virtio_net *net, unsigned q, uint64_t wait)
{
	struct virtio_dev *vdev = &net->vdev;

	if (!vdev->transport.requeue_after ||
	    !vdev->transport.requeue_after(vdev->transport.opaque, vdev, q, wait))
		log_guest(&vdev->rl, "%s: cannot schedule the rate-limited queue", vdev->name);
}

/*
 * May the next frame be received now? A frame's size is known only once it is read, so
 * receive asks for one op and no debt on the bandwidth bucket, and rx_charge() then takes the
 * frame's bytes (a debt the refill pays before the next frame). When it may not, the TAP is
 * no longer watched and the timer runs the receive queue again. Lock held.
 */
static bool rx_limited(struct virtio_net *net)
{
	uint64_t now, wb, wo;

	if (!rate_limiter_active(&net->rx_limit))
		return false;
	now = monotonic_ns();
	wb = token_bucket_wait(&net->rx_limit.bandwidth, 0, now);
	wo = token_bucket_wait(&net->rx_limit.ops, 1, now);
	if (!wb && !wo)
		return false;
	rx_watch(net, false);
	limit_requeue(net, RXQ, wb > wo ? wb : wo);
	return true;
}

static void rx_charge(struct virtio_net *net, uint64_t frame_bytes)
{
	token_bucket_take(&net->rx_limit.bandwidth, frame_bytes);
	token_bucket_take(&net->rx_limit.ops, 1);
}

/* Read one frame from the backend into rx_frame (header first). 1, 0 (none now) or -errno. */
static int rx_read_frame(struct virtio_net *net)
{
	struct iovec iov;
	ssize_t n;

	if (net->be.vnet_hdr) {
		iov = (struct iovec){ net->rx_frame, RX_FRAME_MAX };
		n = net->be.readv(net->be.opaque, &iov, 1);
	} else {
		memset(net->rx_frame, 0, HDR_LEN);
		iov = (struct iovec){ net->rx_frame + HDR_LEN, RX_FRAME_MAX - HDR_LEN };
		n = net->be.readv(net->be.opaque, &iov, 1);
		if (n >= 0)
			n += HDR_LEN;
	}
	if (n == -EAGAIN || n == -EWOULDBLOCK)
		return 0;
	if (n < 0)
		return (int)n;
	if ((size_t)n < HDR_LEN)
		return -EIO;
	net->rx_frame_len = (size_t)n;
	return 1;
}

/*
 * The waiting frame does not fit in what is posted: give back the @taken chains popped for it
 * since its first usable one. 0, or 1 when it never will (frame dropped).
 */
static int rx_short_of_buffers(struct virtio_net *net, unsigned taken)
{
	struct virtio_dev *vdev = &net->vdev;
	struct virtq *vq = &vdev->vqs[RXQ];

	net->rx_short = taken;
	for (unsigned i = 0; i < taken; i++)
		virtq_unpop(vq);
	if (taken < vq->size)
		return 0;
	/* the whole ring cannot hold it: a driver that posts tiny buffers */
	log_guest(&vdev->rl, "%s: %zu-byte frame dropped: receive ring too small", vdev->name,
		  net->rx_frame_len);
	net->stats.rx_dropped++;
	net->rx_frame_len = 0;
	return 1;
}

/* A chain that can take no part of a frame: readable, no writable byte, or (as the first
 * chain) too short for the header. */
static bool rx_chain_unusable(struct virtio_net *net, const struct virtq_elem *e, bool first)
{
	if (!e->out_num && e->in_len && (!first || e->in_len >= HDR_LEN))
		return false;
	log_guest(&net->vdev.rl, "%s: receive buffer unusable (%u readable, %llu writable)",
		  net->vdev.name, e->out_num, (unsigned long long)e->in_len);
	return true;
}

/* Publish the frame's @k chains (and first the @nskip unusable ones met among them, with 0
 * bytes), num_buffers = @k in the first one's header. 0 or -1 (queue broken). */
static int rx_publish_merged(struct virtio_net *net, unsigned k, unsigned nskip)
{
	struct virtq *vq = &net->vdev.vqs[RXQ];
	uint16_t nbuf = (uint16_t)k;

	virtq_buf_to_iov(net->rx_first, net->rx_first_n,
			 offsetof(struct virtio_net_hdr_v1, num_buffers), &nbuf, sizeof(nbuf));
	for (unsigned i = 0; i < nskip; i++)
		if (virtq_push(vq, net->rx_skipped[i], 0))
			return -1;
	return virtq_push_many(vq, net->rx_heads, net->rx_lens, k) ? -1 : 0;
}

/*
 * Spread the waiting frame over as many receive chains as it needs
 * (§5.1.6.4.2), num_buffers in the first one's header, all published
 * together. Returns 1 (delivered, or dropped as too big for the whole ring),
 * 0 (not enough buffers yet: the chains went back and the frame waits), or -1
 * (queue broken). Sets *@pushed when it returned an unusable chain on the way.
 *
 * An unusable chain is returned with 0 bytes, as without MRG_RXBUF. Before the
 * frame's first usable chain that happens at once; after it, the chain is only
 * noted and returned together with the frame: when the frame does not fit yet,
 * every chain popped since its first usable one goes back on the avail ring
 * (virtq_unpop), so one returned already would be popped, and used, again.
 * Lock held.
 */
static int rx_deliver_merged(struct virtio_net *net, bool *pushed)
{
	struct virtio_dev *vdev = &net->vdev;
	struct virtq *vq = &vdev->vqs[RXQ];
	struct virtq_elem *e = &net->elem;
	size_t off = 0;
	unsigned k = 0, nskip = 0;

	while (off < net->rx_frame_len) {
		int rc = k + nskip < vq->size ? virtq_pop(vq, e) : 0;

		if (rc < 0) {
			virtio_dev_queue_error(vdev, RXQ);
			return -1;
		}
		if (rc == 0)
			return rx_short_of_buffers(net, k + nskip);
		if (rx_chain_unusable(net, e, k == 0)) {
			if (k) {
				net->rx_skipped[nskip++] = e->head;
				continue;
			}
			if (virtq_push(vq, e->head, 0)) {
				virtio_dev_queue_error(vdev, RXQ);
				return -1;
			}
			*pushed = true;
			continue;
		}
		if (k == 0) {
			net->rx_first_n = e->in_num;
			memcpy(net->rx_first, e->iov + e->out_num,
			       e->in_num * sizeof(struct iovec));
		}
		net->rx_heads[k] = e->head;
		net->rx_lens[k] =
			(uint32_t)virtq_buf_to_iov(e->iov + e->out_num, e->in_num, 0,
						   net->rx_frame + off, net->rx_frame_len - off);
		off += net->rx_lens[k];
		k++;
	}
	if (rx_publish_merged(net, k, nskip)) {
		virtio_dev_queue_error(vdev, RXQ);
		return -1;
	}
	net->stats.rx_packets++;
	net->rx_frame_len = 0;
	return 1;
}

/* §5.1.6.4 with VIRTIO_NET_F_MRG_RXBUF: frames through rx_frame into any number of chains. */
static void net_rx_merged(struct virtio_net *net)
{
	struct virtio_dev *vdev = &net->vdev;
	bool pushed = false;
	unsigned budget = 0;

	for (;;) {
		int rc;

		if (virtio_dev_yield(vdev, RXQ, &budget))
			break;
		if (!net->rx_frame_len) {
			if (!virtq_has_avail(&vdev->vqs[RXQ])) {
				if (virtio_dev_queue_rearm(vdev, RXQ))
					continue;
				rx_watch(net, false); /* no buffers: wait for the guest's rx kick */
				break;
			}
			if (rx_limited(net))
				break;
			rc = rx_read_frame(net);
			if (rc < 0)
				net->stats.rx_dropped++;
			if (rc <= 0)
				break;
			rx_charge(net, net->rx_frame_len - HDR_LEN);
		}
		rc = rx_deliver_merged(net, &pushed);
		if (rc < 0)
			break;
		if (rc == 0) {
			/* ask for a notification past the chains already there (EVENT_IDX), and
			 * go on only if more arrived meanwhile */
			struct virtq *vq = &vdev->vqs[RXQ];
			bool more;

			vq->last_avail_idx = (uint16_t)(vq->last_avail_idx + net->rx_short);
			more = virtio_dev_queue_rearm(vdev, RXQ);
			vq->last_avail_idx = (uint16_t)(vq->last_avail_idx - net->rx_short);
			if (more)
				continue;
			rx_watch(net, false);
			break;
		}
		/* each frame as soon as the driver asked for it (EVENT_IDX), as QEMU does: the
		 * guest starts on it while the next one is read */
		virtio_dev_used(vdev, RXQ);
		pushed = false;
	}
	if (pushed)
		virtio_dev_used(vdev, RXQ);
}

static struct virtq_elem *net_elem(struct virtio_dev *vdev)
{
	return &to_net(vdev)->elem;
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
	if (rx_limited(net)) {
		virtq_unpop(&vdev->vqs[RXQ]);
		return VIRTIO_CHAIN_STOP;
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
	rx_charge(net, (uint64_t)n - HDR_LEN);
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
	if (rate_limiter_active(&net->tx_limit)) {
		uint64_t wait =
			rate_limiter_consume(&net->tx_limit, e->out_len - HDR_LEN, monotonic_ns());

		if (wait) {
			virtq_unpop(&vdev->vqs[TXQ]);
			limit_requeue(net, TXQ, wait);
			return VIRTIO_CHAIN_STOP;
		}
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

static const struct virtio_drain_ops net_rx_ops = { .elem = net_elem,
						    .chain = net_rx_chain,
						    .notify_each = true };
static const struct virtio_drain_ops net_tx_ops = { .elem = net_elem,
						    .chain = net_tx_chain,
						    .notify_each = true };

/* Fill receive buffers with packets from the backend. Lock held. */
static void net_rx(struct virtio_net *net)
{
	/* Packets also arrive (virtio_net_rx_ready) when the device may not run. */
	if (!virtio_dev_running(&net->vdev))
		return;
	if (virtio_dev_has(&net->vdev, VIRTIO_NET_F_MRG_RXBUF)) {
		net_rx_merged(net);
		return;
	}
	if (virtio_dev_drain(&net->vdev, RXQ, &net_rx_ops) == VIRTIO_DRAIN_EMPTY)
		rx_watch(net, false); /* no buffers: wait for the guest's rx kick */
}

static void net_queue_notify(struct virtio_dev *vdev, unsigned q)
{
	struct virtio_net *net = to_net(vdev);

	if (net->dp_on)
		return; /* the kernel reads the queues */
	if (q == TXQ) {
		virtio_dev_drain(vdev, TXQ, &net_tx_ops);
		/* what the host answered to those frames (a TCP ACK is sent while the frame is
		 * written) goes to the guest now, without another pass of the event loop */
		if (net->rx_watching)
			net_rx(net);
	} else if (q == RXQ) {
		rx_watch(net, true); /* new buffers: take packets again */
		net_rx(net);
	}
}

void virtio_net_rx_ready(struct virtio_dev *vdev)
{
	virtio_dev_lock(vdev);
	if (!to_net(vdev)->dp_on)
		net_rx(to_net(vdev));
	virtio_dev_unlock(vdev);
}

int virtio_net_set_rate_limit(struct virtio_dev *vdev, const struct rate_limit_config *rx,
			      const struct rate_limit_config *tx)
{
	struct virtio_net *net = to_net(vdev);
	uint64_t now = monotonic_ns();

	virtio_dev_lock(vdev);
	/* vhost-net moves the packets in the kernel, past any limiter of vmon's */
	if ((net->dp_on || net->be.dp_start) &&
	    (rate_limit_config_active(rx) || rate_limit_config_active(tx))) {
		virtio_dev_unlock(vdev);
		return -EOPNOTSUPP;
	}
	rate_limiter_init(&net->rx_limit, rx, now);
	rate_limiter_init(&net->tx_limit, tx, now);
	virtio_dev_unlock(vdev);
	/* What the old limits held back may go now. */
	if (vdev->transport.requeue) {
		vdev->transport.requeue(vdev->transport.opaque, vdev, RXQ);
		vdev->transport.requeue(vdev->transport.opaque, vdev, TXQ);
	}
	return 0;
}

bool virtio_net_dp_active(struct virtio_dev *vdev)
{
	bool on;

	virtio_dev_lock(vdev);
	on = to_net(vdev)->dp_on;
	virtio_dev_unlock(vdev);
	return on;
}

/* After DRIVER_OK or a load: the kernel's data path if there is one, else watch the backend. */
static void net_go(struct virtio_net *net)
{
	int rc;

	if (net->be.dp_start) {
		rc = dp_begin(net);
		if (!rc)
			return;
		dp_warn(net, "could not start", rc);
	}
	rx_watch(net, true);
}

/* The TAP offloads the negotiated features let the guest take (after DRIVER_OK or a load). */
static void net_set_offloads(struct virtio_net *net)
{
	struct virtio_dev *vdev = &net->vdev;
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
}

static void net_driver_ok(struct virtio_dev *vdev)
{
	struct virtio_net *net = to_net(vdev);

	net_set_offloads(net);
	net_go(net);
}

static void net_reset(struct virtio_dev *vdev)
{
	struct virtio_net *net = to_net(vdev);
	int rc = dp_halt(net, false);

	if (rc)
		log_warn("%s: stopping vhost-net: %s", vdev->name, strerror(-rc));
	dp_give_back(net);
	rx_watch(net, false);
	net->rx_frame_len = 0;
}

/* Before a save: read the kernel's ring indexes into the queues, then let it go on. */
static void net_sync(struct virtio_dev *vdev)
{
	struct virtio_net *net = to_net(vdev);
	int rc;

	if (!net->dp_on)
		return;
	rc = dp_halt(net, true);
	if (!rc)
		rc = dp_start_rings(net);
	if (!rc) {
		net->dp_on = true;
		return;
	}
	dp_warn(net, "could not be restarted after reading its state", rc);
	dp_give_back(net);
	rx_watch(net, true);
}

static void net_loaded(struct virtio_dev *vdev)
{
	struct virtio_net *net = to_net(vdev);

	dp_halt(net, false);
	dp_give_back(net);
	rx_watch(net, false);
	if (virtio_dev_running(vdev)) {
		net_set_offloads(net);
		net_go(net);
		/* frames the guest queued before the snapshot (a rate limiter's, say) go now */
		if (!net->dp_on && vdev->transport.requeue)
			vdev->transport.requeue(vdev->transport.opaque, vdev, TXQ);
	}
}

static void net_config_read(struct virtio_dev *vdev, uint32_t offset, void *buf, uint32_t len)
{
	memcpy(buf, (uint8_t *)&to_net(vdev)->cfg + offset, len);
}

static void net_destroy(struct virtio_dev *vdev)
{
	struct virtio_net *net = to_net(vdev);

	dp_halt(net, false);
	dp_give_back(net);
	if (net->be.release)
		net->be.release(net->be.opaque);
	virtio_dev_fini(vdev);
	free(net->rx_frame);
	free(net);
}

void virtio_net_get_mac(struct virtio_dev *vdev, uint8_t mac[6])
{
	struct virtio_net *net = to_net(vdev);

	virtio_dev_lock(vdev);
	memcpy(mac, net->cfg.mac, 6);
	virtio_dev_unlock(vdev);
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
	.sync = net_sync,
	.loaded = net_loaded,
	.destroy = net_destroy,
};

int virtio_net_create(struct virtio_dev **out, const struct gmem *gm,
		      const struct virtio_net_backend *be, const uint8_t mac[6])
{
	uint64_t features = (1ull << VIRTIO_NET_F_MAC) | (1ull << VIRTIO_NET_F_STATUS) |
			    (1ull << VIRTIO_NET_F_MTU) | (1ull << VIRTIO_NET_F_MRG_RXBUF);
	struct virtio_net *net;
	int rc;

	if (!be || !be->readv || !be->writev || (be->dp_start && !be->dp_stop))
		return -EINVAL;
	if (be->vnet_hdr && be->set_offload)
		features |= (1ull << VIRTIO_NET_F_CSUM) | (1ull << VIRTIO_NET_F_GUEST_CSUM) |
			    (1ull << VIRTIO_NET_F_HOST_TSO4) | (1ull << VIRTIO_NET_F_HOST_TSO6) |
			    (1ull << VIRTIO_NET_F_GUEST_TSO4) | (1ull << VIRTIO_NET_F_GUEST_TSO6);
	net = calloc(1, sizeof(*net));
	if (!net)
		return -ENOMEM;
	net->rx_frame = malloc(RX_FRAME_MAX);
	if (!net->rx_frame) {
		free(net);
		return -ENOMEM;
	}
	rc = virtio_dev_init(&net->vdev, &net_ops, gm, "virtio-net", features, 2,
			     VIRTIO_NET_QUEUE_SIZE);
	if (rc) {
		free(net->rx_frame);
		free(net);
		return rc;
	}
	net->be = *be;
	net->dp_kick[0] = net->dp_kick[1] = -1;
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
