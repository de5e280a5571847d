/* net_vhost.c — vhost-net set-up for one virtio-net queue pair over a TAP. */
#include "backends/net/net_vhost.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/vhost.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "backends/net/net_tap.h"
#include "mem/gmem.h"
#include "util/log.h"

#define NET_VHOST_QUEUES 2
#define NET_VHOST_MAX_QUEUE_SIZE 32768

struct net_vhost {
	int fd;
	uint64_t features; /* what vhost offers */
	bool started;
};

bool net_vhost_available(void)
{
	return access("/dev/vhost-net", R_OK | W_OK) == 0;
}

int net_vhost_open(struct net_vhost **out, char *err, size_t err_len)
{
	struct net_vhost *v;
	int ret;

	*out = NULL;
	v = calloc(1, sizeof(*v));
	if (!v) {
		snprintf(err, err_len, "out of memory opening vhost-net");
		return -ENOMEM;
	}
	v->fd = open("/dev/vhost-net", O_RDWR | O_CLOEXEC);
	if (v->fd < 0) {
		ret = -errno;
		if (ret == -ENOENT)
			snprintf(err, err_len,
				 "/dev/vhost-net does not exist (load the vhost_net module)");
		else
			snprintf(err, err_len, "cannot open /dev/vhost-net: %s", strerror(-ret));
		free(v);
		return ret;
	}
	if (ioctl(v->fd, VHOST_SET_OWNER) < 0 ||
	    ioctl(v->fd, VHOST_GET_FEATURES, &v->features) < 0) {
		ret = -errno;
		snprintf(err, err_len, "cannot set up vhost-net: %s", strerror(-ret));
		close(v->fd);
		free(v);
		return ret;
	}
	*out = v;
	return 0;
}

uint64_t net_vhost_features(struct net_vhost *v)
{
	return v->features;
}

/* Describe guest RAM to vhost (VHOST_SET_MEM_TABLE). */
static int set_mem_table(struct net_vhost *v, const struct gmem *gm)
{
	struct vhost_memory *mem;
	int ret = 0;

	mem = calloc(1, sizeof(*mem) + gm->nr_regions * sizeof(mem->regions[0]));
	if (!mem)
		return -ENOMEM;
	mem->nregions = gm->nr_regions;
	for (unsigned i = 0; i < gm->nr_regions; i++) {
		mem->regions[i].guest_phys_addr = gm->regions[i].gpa;
		mem->regions[i].memory_size = gm->regions[i].len_bytes;
		mem->regions[i].userspace_addr = (uint64_t)(uintptr_t)gm->regions[i].hva;
	}
	if (ioctl(v->fd, VHOST_SET_MEM_TABLE, mem) < 0)
		ret = -errno;
	free(mem);
	return ret;
}

/* Host address of [gpa, gpa + len) inside guest RAM, or 0. */
static uint64_t ring_hva(const struct gmem *gm, uint64_t gpa, uint64_t len)
{
	return (uint64_t)(uintptr_t)gmem_ptr(gm, gpa, len);
}

/* Configure one ring (virtio 1.2 §2.7: alignments 16/2/4, sizes from num). */
static int setup_vring(struct net_vhost *v, unsigned index, const struct gmem *gm,
		       const struct net_vhost_vring *vr, int tap_fd)
{
	struct vhost_vring_state num = { .index = index, .num = vr->num };
	struct vhost_vring_state base = { .index = index, .num = vr->last_avail_idx };
	struct vhost_vring_file kick = { .index = index, .fd = vr->kick_fd };
	struct vhost_vring_file call = { .index = index, .fd = vr->call_fd };
	struct vhost_vring_file backend = { .index = index, .fd = tap_fd };
	struct vhost_vring_addr addr = { .index = index };

	if (vr->num == 0 || vr->num > NET_VHOST_MAX_QUEUE_SIZE || (vr->num & (vr->num - 1)))
		return -EINVAL;
	if ((vr->desc_gpa & 15) || (vr->avail_gpa & 1) || (vr->used_gpa & 3))
		return -EINVAL;
	addr.desc_user_addr = ring_hva(gm, vr->desc_gpa, 16ull * vr->num);
	addr.avail_user_addr = ring_hva(gm, vr->avail_gpa, 6 + 2ull * vr->num);
	addr.used_user_addr = ring_hva(gm, vr->used_gpa, 6 + 8ull * vr->num);
	if (!addr.desc_user_addr || !addr.avail_user_addr || !addr.used_user_addr)
		return -EINVAL;
	if (ioctl(v->fd, VHOST_SET_VRING_NUM, &num) < 0 ||
	    ioctl(v->fd, VHOST_SET_VRING_BASE, &base) < 0 ||
	    ioctl(v->fd, VHOST_SET_VRING_ADDR, &addr) < 0 ||
	    ioctl(v->fd, VHOST_SET_VRING_KICK, &kick) < 0 ||
	    ioctl(v->fd, VHOST_SET_VRING_CALL, &call) < 0 ||
	    ioctl(v->fd, VHOST_NET_SET_BACKEND, &backend) < 0)
		return -errno;
	return 0;
}

int net_vhost_start(struct net_vhost *v, uint64_t features, const struct gmem *gm,
		    const struct net_vhost_vring vr[2], struct net_tap *tap)
{
	int ret;

	if (v->started)
		return -EBUSY;
	if (features & ~v->features)
		return -EOPNOTSUPP;
	if (!net_tap_has_vnet_hdr(tap))
		return -EINVAL;
	if (ioctl(v->fd, VHOST_SET_FEATURES, &features) < 0)
		return -errno;
	ret = set_mem_table(v, gm);
	if (ret < 0)
		return ret;
	v->started = true; /* so that stop() below undoes a partial start */
	for (unsigned i = 0; i < NET_VHOST_QUEUES; i++) {
		ret = setup_vring(v, i, gm, &vr[i], net_tap_fd(tap));
		if (ret < 0) {
			net_vhost_stop(v, NULL);
			return ret;
		}
	}
	return 0;
}

int net_vhost_stop(struct net_vhost *v, uint16_t last_avail_idx[2])
{
	int ret = 0;

	if (!v->started)
		return 0;
	for (unsigned i = 0; i < NET_VHOST_QUEUES; i++) {
		struct vhost_vring_file backend = { .index = i, .fd = -1 };
		struct vhost_vring_state base = { .index = i };

		if (ioctl(v->fd, VHOST_NET_SET_BACKEND, &backend) < 0 && !ret)
			ret = -errno;
		/* GET_VRING_BASE also stops the ring; it fails on a never-configured ring. */
		if (ioctl(v->fd, VHOST_GET_VRING_BASE, &base) < 0) {
			if (last_avail_idx && !ret)
				ret = -errno;
		} else if (last_avail_idx) {
			last_avail_idx[i] = (uint16_t)base.num;
		}
	}
	v->started = false;
	return ret;
}

void net_vhost_close(struct net_vhost *v)
{
	int ret;

	if (!v)
		return;
	ret = net_vhost_stop(v, NULL);
	if (ret < 0)
		log_warn("net: stopping vhost-net failed: %s", strerror(-ret));
	close(v->fd);
	free(v);
}
