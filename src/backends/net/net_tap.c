/* net_tap.c — TAP network backend over /dev/net/tun. */
#include "backends/net/net_tap.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "util/log.h"

struct net_tap {
	int fd;
	bool vnet_hdr;
	char ifname[IFNAMSIZ];
};

/* TUNSETIFF with @flags; 0 or -errno. */
static int set_iff(int fd, const char *ifname, short flags, char *name_out)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = flags;
	memcpy(ifr.ifr_name, ifname, strlen(ifname)); /* length checked by the caller */
	if (ioctl(fd, TUNSETIFF, &ifr) < 0)
		return -errno;
	memcpy(name_out, ifr.ifr_name, IFNAMSIZ);
	name_out[IFNAMSIZ - 1] = '\0';
	return 0;
}

static void describe_iff_error(int e, const char *ifname, char *err, size_t err_len)
{
	switch (e) {
	case EPERM:
	case EACCES:
		snprintf(err, err_len,
			 "not permitted to attach TAP '%s' (needs CAP_NET_ADMIN, or a TAP created "
			 "for this user: ip tuntap add dev %s mode tap user <you>)",
			 ifname, ifname);
		break;
	case EBUSY:
		snprintf(err, err_len, "TAP '%s' is already attached to another process", ifname);
		break;
	case EINVAL:
		snprintf(err, err_len,
			 "'%s' is not a single-queue TAP interface (a TUN, multi-queue TAP or "
			 "other device)",
			 ifname);
		break;
	default:
		snprintf(err, err_len, "cannot attach TAP '%s': %s", ifname, strerror(e));
		break;
	}
}

int net_tap_open(struct net_tap **out, const char *ifname, char *err, size_t err_len)
{
	struct net_tap *t;
	int hdr_len = (int)sizeof(struct virtio_net_hdr_v1);
	int sndbuf = INT_MAX;
	int ret;

	*out = NULL;
	if (!ifname || !ifname[0] || strlen(ifname) >= IFNAMSIZ) {
		snprintf(err, err_len, "invalid TAP name '%s' (1 to %d characters)",
			 ifname ? ifname : "", IFNAMSIZ - 1);
		return -EINVAL;
	}
	/*
	 * TUNSETIFF would silently create a missing interface when we hold
	 * CAP_NET_ADMIN; a VMM should attach to what the host set up instead.
	 */
	if (if_nametoindex(ifname) == 0) {
		snprintf(err, err_len,
			 "TAP interface '%s' does not exist (create it: ip tuntap add dev %s mode "
			 "tap)",
			 ifname, ifname);
		return -ENODEV;
	}
	t = calloc(1, sizeof(*t));
	if (!t) {
		snprintf(err, err_len, "out of memory opening TAP '%s'", ifname);
		return -ENOMEM;
	}
	t->fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (t->fd < 0) {
		ret = -errno;
		if (ret == -ENOENT)
			ret = -ENODEV;
		if (ret == -EACCES || ret == -EPERM) {
			/* Some hosts keep /dev/net/tun at mode 0600: that is a permission too. */
			snprintf(err, err_len,
				 "not permitted to open /dev/net/tun for TAP '%s' (%s; needs root "
				 "or a /dev/net/tun this user may open)",
				 ifname, strerror(-ret));
			ret = -EPERM;
		} else {
			snprintf(err, err_len, "cannot open /dev/net/tun for TAP '%s': %s", ifname,
				 strerror(-ret));
		}
		goto fail;
	}
	ret = set_iff(t->fd, ifname, IFF_TAP | IFF_NO_PI | IFF_VNET_HDR, t->ifname);
	if (ret == 0) {
		t->vnet_hdr = true;
	} else if (ret == -EINVAL) {
		/* Not a TAP at all, or a kernel without vnet headers: the second try tells. */
		ret = set_iff(t->fd, ifname, IFF_TAP | IFF_NO_PI, t->ifname);
	}
	if (ret < 0) {
		describe_iff_error(-ret, ifname, err, err_len);
		goto fail;
	}
	if (t->vnet_hdr && ioctl(t->fd, TUNSETVNETHDRSZ, &hdr_len) < 0) {
		ret = -errno;
		snprintf(err, err_len, "cannot set the vnet header size on TAP '%s': %s", ifname,
			 strerror(-ret));
		goto fail;
	}
	/*
	 * The socket's default send buffer (net.core.wmem_default, ~208 KiB) holds
	 * only three 64 KiB TSO frames in flight: frames written to the TAP stay
	 * charged to it until the host's stack frees them, and a full buffer makes
	 * writes (and vhost-net's transmit) wait. No limit, as QEMU sets too.
	 */
	if (ioctl(t->fd, TUNSETSNDBUF, &sndbuf) < 0)
		log_debug("TAP '%s': TUNSETSNDBUF: %s", ifname, strerror(errno));
	*out = t;
	return 0;
fail:
	if (t->fd >= 0)
		close(t->fd);
	free(t);
	return ret;
}

bool net_tap_has_vnet_hdr(struct net_tap *t)
{
	return t->vnet_hdr;
}

int net_tap_set_offload(struct net_tap *t, unsigned tun_offload_flags)
{
	if (!t->vnet_hdr && tun_offload_flags)
		return -EINVAL;
	if (ioctl(t->fd, TUNSETOFFLOAD, (unsigned long)tun_offload_flags) < 0)
		return -errno;
	return 0;
}

int net_tap_fd(struct net_tap *t)
{
	return t->fd;
}

const char *net_tap_ifname(struct net_tap *t)
{
	return t->ifname;
}

ssize_t net_tap_readv(struct net_tap *t, const struct iovec *iov, int n)
{
	ssize_t ret;

	do {
		ret = readv(t->fd, iov, n);
	} while (ret < 0 && errno == EINTR);
	if (ret < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	return ret;
}

ssize_t net_tap_writev(struct net_tap *t, const struct iovec *iov, int n)
{
	ssize_t ret;

	do {
		ret = writev(t->fd, iov, n);
	} while (ret < 0 && errno == EINTR);
	if (ret < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	return ret;
}

void net_tap_close(struct net_tap *t)
{
	if (!t)
		return;
	close(t->fd);
	free(t);
}
