/*
 * virtio_net.h — virtio network device (virtio 1.2 §5.1): one receive and
 * one transmit queue (no control queue), struct virtio_net_hdr_v1 in front
 * of every packet, MAC, STATUS (link up) and MTU in the config; checksum and
 * TSO offloads (CSUM, GUEST_CSUM, HOST_TSO4/6, GUEST_TSO4/6) are offered only
 * when the backend passes the vnet header through.
 *
 * The host side is a struct virtio_net_backend (mirrors src/backends/
 * net_tap.h; the VM adapts a struct net_tap to it). Receive runs on the
 * event-loop thread: the VM calls virtio_net_rx_ready() when the TAP fd is
 * readable. While the guest has posted no receive buffers the model asks the
 * VM to stop watching the fd (@rx_watch(false)), and asks again when the
 * guest posts some, so a level-triggered loop does not spin.
 *
 * In-kernel data path (vhost-net): a backend with @dp_start hands both
 * queues to the kernel when the driver sets DRIVER_OK (features, ring
 * addresses, where to resume, and the transport's notification eventfds);
 * the model then moves no packets itself, and the backend's two "used
 * buffers" eventfds (@dp_call_fd) are bound as the queues' interrupts
 * through the transport (a KVM irqfd on the MSI-X route where it can). Reset,
 * save (the kernel's ring indexes are read back first) and load stop and
 * restart it; when the kernel refuses a start, the model falls back to
 * moving packets itself and says so once. Note: after a save the kernel runs
 * again and may still fill receive buffers; a VM snapshot must keep the
 * device reset or the VM from resuming until guest memory is saved too
 * (no VM-level snapshot exists yet to wire that).
 */
#ifndef VMON_VIRTIO_VIRTIO_NET_H
#define VMON_VIRTIO_VIRTIO_NET_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "mem/gmem.h"
#include "util/token_bucket.h"
#include "virtio/virtio.h"

#define VIRTIO_NET_QUEUE_SIZE 256
#define VIRTIO_NET_MTU 1500

/* struct virtio_net_dp_ring - one queue as the driver configured it, for @dp_start. */
struct virtio_net_dp_ring {
	unsigned num;
	uint64_t desc_gpa, avail_gpa, used_gpa;
	uint16_t last_avail_idx; /* where to resume */
	int kick_fd; /* the queue's notification eventfd (signalled by driver notifications) */
};

/*
 * struct virtio_net_backend - the host link.
 * @vnet_hdr:    readv/writev carry a 12-byte struct virtio_net_hdr_v1 first.
 * @set_offload: TUN_F_* flags the guest can take (may be NULL; then none offered).
 * @readv:       one packet into @iov, bytes read, or -errno (-EAGAIN: none now).
 * @writev:      one packet from @iov, bytes written or -errno.
 * @rx_watch:    the model wants (true) or does not want (false)
 *               virtio_net_rx_ready() calls; may be NULL (then the VM must
 *               watch the fd edge-triggered).
 * @release:     called once when the device is destroyed (may be NULL).
 * @dp_features: virtio feature bits the in-kernel data path handles
 *               (ring and transport bits; the device bits are the TAP's).
 * @dp_start:    hand queue 0 (rx) and 1 (tx) to the in-kernel data path with
 *               the negotiated @features masked by @dp_features; 0 or -errno
 *               (nothing left running). NULL: no in-kernel data path.
 * @dp_stop:     take them back; the kernel's next avail index per queue in
 *               @last_avail_idx (may be NULL). 0 or -errno.
 * @dp_call_fd:  the eventfds the data path signals to interrupt the driver,
 *               rx and tx.
 */
struct virtio_net_backend {
	void *opaque;
	bool vnet_hdr;
	int (*set_offload)(void *opaque, unsigned tun_flags);
	ssize_t (*readv)(void *opaque, const struct iovec *iov, int n);
	ssize_t (*writev)(void *opaque, const struct iovec *iov, int n);
	void (*rx_watch)(void *opaque, bool on);
	void (*release)(void *opaque);
	uint64_t dp_features;
	int (*dp_start)(void *opaque, uint64_t features, const struct virtio_net_dp_ring vr[2]);
	int (*dp_stop)(void *opaque, uint16_t last_avail_idx[2]);
	int dp_call_fd[2];
};

/*
 * virtio_net_create - a network device over @gm and @be (copied) with MAC
 * @mac. Returns 0 and *@out (give it to virtio_pci_create()), or -errno.
 */
int virtio_net_create(struct virtio_dev **out, const struct gmem *gm,
		      const struct virtio_net_backend *be, const uint8_t mac[6]);

/*
 * virtio_net_rx_ready - the backend has packets: move as many as the guest
 * has buffers for into the receive queue. Event-loop thread; takes the lock.
 */
void virtio_net_rx_ready(struct virtio_dev *vdev);

/*
 * virtio_net_set_rate_limit - Firecracker's rx_rate_limiter and
 * tx_rate_limiter: bytes and frames each way (inactive configs lift them).
 * Buckets start full; any time, any thread. Receive charges a frame's bytes
 * once it is read (it waits while the bandwidth bucket is in debt), transmit
 * before it is sent. -EOPNOTSUPP with vhost-net (the kernel moves the
 * packets), else 0.
 */
int virtio_net_set_rate_limit(struct virtio_dev *vdev, const struct rate_limit_config *rx,
			      const struct rate_limit_config *tx);

/* virtio_net_get_mac - the MAC address the device shows the guest. Any thread. */
void virtio_net_get_mac(struct virtio_dev *vdev, uint8_t mac[6]);

/* virtio_net_dp_active - true while the in-kernel data path runs the queues. */
bool virtio_net_dp_active(struct virtio_dev *vdev);

/* struct virtio_net_stats - counters for --stats and tests. */
struct virtio_net_stats {
	uint64_t rx_packets, tx_packets, rx_dropped, tx_dropped;
};
void virtio_net_get_stats(struct virtio_dev *vdev, struct virtio_net_stats *st);

#endif
