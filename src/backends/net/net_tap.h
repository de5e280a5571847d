/*
 * net_tap.h — the host side of a virtio-net device: an existing TAP interface
 * opened through /dev/net/tun, non-blocking, carrying a 12-byte
 * struct virtio_net_hdr_v1 in front of every frame when the kernel allows it.
 */
#ifndef VMON_BACKENDS_NET_NET_TAP_H
#define VMON_BACKENDS_NET_NET_TAP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <sys/uio.h>

struct net_tap;

/*
 * net_tap_open - attach to the TAP interface @ifname, which must already exist
 * (e.g. `ip tuntap add dev tap0 mode tap`). Sets IFF_TAP | IFF_NO_PI |
 * IFF_VNET_HDR (retried without IFF_VNET_HDR if the kernel refuses it), the
 * vnet header size to sizeof(struct virtio_net_hdr_v1), and O_NONBLOCK.
 * Returns 0 and sets *@out, or -errno with a one-line reason in @err:
 *   -ENODEV  no such interface / /dev/net/tun missing,
 *   -EPERM   not permitted (needs CAP_NET_ADMIN or a TAP owned by this user),
 *   -EBUSY   the TAP is already attached to another process,
 *   -EINVAL  bad name, or the interface is not a single-queue TAP.
 * Any thread.
 */
int net_tap_open(struct net_tap **out, const char *ifname, char *err, size_t err_len);

/* net_tap_has_vnet_hdr - true when each frame is preceded by a 12-byte virtio_net_hdr_v1. */
bool net_tap_has_vnet_hdr(struct net_tap *t);

/*
 * net_tap_set_offload - TUNSETOFFLOAD with @tun_offload_flags (TUN_F_CSUM,
 * TUN_F_TSO4, TUN_F_TSO6, TUN_F_TSO_ECN, TUN_F_UFO, ...): the offloads the
 * guest can accept on frames read from the TAP. Returns 0, -EINVAL for flags
 * other than 0 without a vnet header or flags the kernel rejects, or -errno.
 */
int net_tap_set_offload(struct net_tap *t, unsigned tun_offload_flags);

/* net_tap_fd - the non-blocking TAP descriptor, to watch for EPOLLIN/EPOLLOUT. */
int net_tap_fd(struct net_tap *t);

/* net_tap_ifname - the interface name as the kernel reports it. */
const char *net_tap_ifname(struct net_tap *t);

/*
 * net_tap_readv - read one frame (with its vnet header when enabled) into
 * @iov[0..n). Returns its length, -EAGAIN when none is waiting, or -errno.
 * A frame longer than the buffers is truncated by the kernel.
 */
ssize_t net_tap_readv(struct net_tap *t, const struct iovec *iov, int n);

/*
 * net_tap_writev - send one frame (with its vnet header when enabled) made of
 * @iov[0..n). Returns the bytes written, -EAGAIN when it would block, or
 * -errno (-EINVAL for a malformed header or frame).
 */
ssize_t net_tap_writev(struct net_tap *t, const struct iovec *iov, int n);

/* net_tap_close - detach and free @t (a persistent TAP stays). NULL is a no-op. */
void net_tap_close(struct net_tap *t);

#endif
