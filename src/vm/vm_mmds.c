/* vm_mmds.c — the metadata service's endpoint in front of a NIC's TAP (see vm_mmds.h). */
#include "vm/vm_mmds.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <linux/if_ether.h>
#include <linux/virtio_net.h>

#include "mmds/mmds.h"
#include "mmds/mmds_stack.h"
#include "util/be.h"
#include "virtio/virtqueue.h"

#define FRAME_MAX (65550 + 14) /* the largest frame a guest may hand virtio-net */

struct vm_mmds {
	struct mmds_guest_ctx ctx;
	struct mmds_stack *stack;
	uint32_t ipv4;
	uint8_t *frame; /* FRAME_MAX: a frame the endpoint takes, made contiguous */
};

/* @len bytes at @off of the chain @iov (@n) into @out; false when the chain is shorter. */
static bool peek(const struct iovec *iov, int n, size_t off, void *out, size_t len)
{
	return virtq_iov_to_buf(iov, (unsigned)n, off, out, len) == len;
}

/* Is the frame at @off for the endpoint's address (ARP asking for it, or IPv4 to it)? */
static bool for_mmds(const struct vm_mmds *v, const struct iovec *iov, int n, size_t off)
{
	uint8_t h[14 + 28];

	if (!peek(iov, n, off, h, 14 + 20))
		return false;
	if (be16_get(h + 12) == ETH_P_IP) /* IPv4: the destination */
		return be32_get(h + 30) == v->ipv4;
	if (be16_get(h + 12) == ETH_P_ARP && peek(iov, n, off, h, sizeof(h))) /* ARP: the target */
		return be32_get(h + 38) == v->ipv4;
	return false;
}

static bool mmds_tx(void *opaque, const struct iovec *iov, int n, size_t hdr_len)
{
	struct vm_mmds *v = opaque;
	struct virtio_net_hdr_v1 hdr = { 0 };
	size_t len = 0;

	if (!for_mmds(v, iov, n, hdr_len))
		return false;
	if (hdr_len && !peek(iov, n, 0, &hdr, sizeof(hdr)))
		return false;
	for (int i = 0; i < n; i++)
		len += iov[i].iov_len;
	len -= hdr_len;
	if (len > FRAME_MAX || !peek(iov, n, hdr_len, v->frame, len))
		return true; /* for MMDS, but no frame it could be: dropped */
	return mmds_stack_tx(v->stack, v->frame, len, hdr.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM);
}

static bool mmds_has_rx(void *opaque)
{
	return mmds_stack_has_rx(((struct vm_mmds *)opaque)->stack);
}

static size_t mmds_rx(void *opaque, uint8_t *buf, size_t cap)
{
	return mmds_stack_rx(((struct vm_mmds *)opaque)->stack, buf, cap);
}

int vm_mmds_create(struct vm_mmds **out, const struct vm_config *cfg,
		   struct virtio_net_filter *filter)
{
	struct vm_mmds *v = calloc(1, sizeof(*v));
	int rc;

	if (!v)
		return -ENOMEM;
	v->ctx = (struct mmds_guest_ctx){
		.m = cfg->mmds.store,
		.opts = { .version = cfg->mmds.version, .imds_compat = cfg->mmds.imds_compat },
	};
	v->ipv4 = cfg->mmds.ipv4;
	v->frame = malloc(FRAME_MAX);
	rc = v->frame ? mmds_stack_create(&v->stack, v->ipv4, mmds_answer, &v->ctx) : -ENOMEM;
	if (rc) {
		free(v->frame);
		free(v);
		return rc;
	}
	*filter = (struct virtio_net_filter){
		.opaque = v, .tx = mmds_tx, .has_rx = mmds_has_rx, .rx = mmds_rx
	};
	*out = v;
	return 0;
}

void vm_mmds_destroy(struct vm_mmds *v)
{
	if (!v)
		return;
	mmds_stack_destroy(v->stack);
	free(v->frame);
	free(v);
}
