/*
 * net_vhost.h — optional in-kernel virtio-net data path: hands one queue pair
 * (receive queue 0, transmit queue 1) of a virtio-net device to /dev/vhost-net,
 * which then moves frames between the guest's rings and a TAP without exits to
 * vmon. The virtio-net device keeps the control plane (feature negotiation,
 * config space, reset) and calls these functions when the driver sets
 * DRIVER_OK or resets. The TAP must have been opened with a vnet header
 * (net_tap_has_vnet_hdr()), whose size matches what the negotiated features
 * imply (12 bytes with VIRTIO_F_VERSION_1 or VIRTIO_NET_F_MRG_RXBUF).
 */
#ifndef VMON_BACKENDS_NET_NET_VHOST_H
#define VMON_BACKENDS_NET_NET_VHOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct gmem;
struct net_tap;
struct net_vhost;

/* One virtqueue as the driver configured it (virtio 1.2 §2.7, split ring). */
struct net_vhost_vring {
	unsigned num; /* queue size, a power of two up to 32768 */
	uint64_t desc_gpa; /* descriptor table, 16 * num bytes */
	uint64_t avail_gpa; /* driver area, 6 + 2 * num bytes */
	uint64_t used_gpa; /* device area, 6 + 8 * num bytes */
	uint16_t last_avail_idx; /* where to resume: 0 after reset, saved value after restore */
	int kick_fd; /* eventfd signalled on a driver notification (an ioeventfd) */
	int call_fd; /* eventfd vhost signals to interrupt the guest (an irqfd) */
};

/* net_vhost_available - true when /dev/vhost-net exists and can be opened. */
bool net_vhost_available(void);

/*
 * net_vhost_open - open /dev/vhost-net and become its owner. Returns 0 and
 * sets *@out, or -errno with a one-line reason in @err (-ENOENT when the
 * kernel has no vhost-net: load the vhost_net module). Any thread.
 */
int net_vhost_open(struct net_vhost **out, char *err, size_t err_len);

/* net_vhost_features - the virtio feature bits vhost-net can handle (VHOST_GET_FEATURES). */
uint64_t net_vhost_features(struct net_vhost *v);

/*
 * net_vhost_start - hand queues 0 (rx) and 1 (tx) to vhost-net: set the
 * negotiated @features (must be a subset of net_vhost_features()), the guest
 * memory table from @gm, each ring's size, base, addresses and eventfds, then
 * attach @tap as the backend. Returns 0, -EINVAL when a ring lies outside
 * guest RAM or a size is invalid (a driver mistake: the device should set
 * NEEDS_RESET), -EOPNOTSUPP for features vhost cannot do, or -errno from the
 * kernel. On failure nothing is left attached. Call from the thread that owns
 * the device; the @gm map must not change while started.
 */
int net_vhost_start(struct net_vhost *v, uint64_t features, const struct gmem *gm,
		    const struct net_vhost_vring vr[2], struct net_tap *tap);

/*
 * net_vhost_stop - detach the TAP from both queues and read back where vhost
 * stopped in each (@last_avail_idx[0..1], may be NULL), for a later restart or
 * a snapshot. Returns 0 or -errno. Safe when not started.
 */
int net_vhost_stop(struct net_vhost *v, uint16_t last_avail_idx[2]);

/* net_vhost_close - stop if needed and close. NULL is a no-op. */
void net_vhost_close(struct net_vhost *v);

#endif
