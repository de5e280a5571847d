/* virtqueue.c — the device side of a split virtqueue: checked chain walk, used ring, event
 * suppression. */
#include "virtio/virtqueue.h"

#include <errno.h>
#include <string.h>

#include <linux/virtio_ring.h>

/*
 * How a chain is walked, and why it is safe whatever the guest writes.
 *
 * The rings live in guest RAM, and the driver (or a hostile guest on another
 * vCPU) may change them at any moment, including while we read them. So the
 * walk obeys four rules:
 *
 * 1. Every guest value is read exactly once, with gmem_read() into a local,
 *    and only the local is checked and used. A descriptor is copied whole
 *    (addr, len, flags, next) before any field is looked at; nothing is
 *    re-read after it was validated, so there is no window in which a checked
 *    value can change under us (no double fetch).
 *
 * 2. Every index is checked against the bound it indexes: the head taken from
 *    the avail ring and each `next` against the queue size (or, inside an
 *    indirect table, against the table's entry count). The avail idx may run
 *    ahead of last_avail_idx by at most the queue size: a larger jump means
 *    the driver claims more chains than the ring holds, which is an error.
 *
 * 3. Every buffer is turned into host pointers only by gmem_ptr(), which
 *    checks each piece [addr, addr + len) against one RAM region with
 *    overflow-checked arithmetic, so an address near 2^64 or past RAM is
 *    refused, not wrapped (addr + len is checked for wrap-around first). A
 *    buffer that crosses from one RAM region into an adjacent one becomes one
 *    segment per region; one that runs into a hole is an error. The indirect table itself is
 * checked the same way, and its entries are read through gmem_read() at addresses computed with
 * overflow checks.
 *
 * 4. The walk is bounded. A direct chain may visit at most `size`
 *    descriptors, an indirect table at most its entry count, and the whole
 *    request at most VIRTQ_MAX_SEGS segments: a descriptor loop (a->b->a)
 *    therefore ends with an error after a bounded number of steps instead of
 *    spinning a host thread. Each direction's byte total is capped below 2^32
 *    (used.len is 32 bits) and summed with overflow checks.
 *
 * The structural rules of §2.7.5.3 are enforced too: an indirect descriptor
 * only when VIRTIO_F_RING_INDIRECT_DESC was negotiated, never with NEXT set,
 * never inside an indirect table, its length a non-zero multiple of 16; and
 * all device-readable segments come before all device-writable ones (§2.7.4.2),
 * so a readable segment after a writable one is an error.
 *
 * On any violation the queue is marked broken, the reason is logged once per
 * rate-limit window, and virtq_pop() returns -EINVAL; the device then sets
 * NEEDS_RESET (§2.1.2) and stops using this queue until the driver resets the
 * device. Nothing a guest writes can make the walk touch host memory outside
 * guest RAM, loop forever, or abort vmon.
 *
 * Memory ordering (§2.7.13): the avail idx is read before the ring entries it
 * covers (acquire fence after reading it); on the used side the element is
 * written before the idx is published (release fence), and the used idx is
 * published before we read used_event/flags to decide on an interrupt (full
 * fence), pairing with the driver's barriers.
 */

#define DESC_BYTES 16u

struct desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

static const char *vq_name(const struct virtq *vq)
{
	return vq->name ? vq->name : "virtq";
}

#define vq_fail(vq, ...)                                                                           \
	({                                                                                         \
		(vq)->broken = true;                                                               \
		log_guest(&(vq)->rl, __VA_ARGS__);                                                 \
		-EINVAL;                                                                           \
	})

void virtq_init(struct virtq *vq, const struct gmem *gm, uint16_t max_size)
{
	const char *name = vq->name;

	memset(vq, 0, sizeof(*vq));
	vq->gm = gm;
	vq->name = name;
	vq->max_size = max_size;
	virtq_reset(vq);
}

void virtq_reset(struct virtq *vq)
{
	vq->size = vq->max_size;
	vq->enabled = false;
	vq->desc_gpa = vq->avail_gpa = vq->used_gpa = 0;
	vq->msix_vector = 0xffff; /* VIRTIO_MSI_NO_VECTOR */
	vq->event_idx = vq->indirect = false;
	vq->last_avail_idx = vq->used_idx = vq->signalled_used = 0;
	vq->signalled_used_valid = false;
	vq->broken = false;
}

static bool range_in_ram(const struct virtq *vq, uint64_t gpa, uint64_t len)
{
	return gmem_range_ok(gpa, len) && gmem_ptr(vq->gm, gpa, len) != NULL;
}

bool virtq_ready(const struct virtq *vq)
{
	uint64_t n = vq->size;

	if (!vq->enabled || vq->broken || n == 0 || (n & (n - 1)) || n > vq->max_size)
		return false;
	if ((vq->desc_gpa & 15) || (vq->avail_gpa & 1) || (vq->used_gpa & 3))
		return false;
	return range_in_ram(vq, vq->desc_gpa, DESC_BYTES * n) &&
	       range_in_ram(vq, vq->avail_gpa, 6 + 2 * n) &&
	       range_in_ram(vq, vq->used_gpa, 6 + 8 * n);
}

/* Read one 16-byte descriptor at @gpa into @d (rule 1). */
static int read_desc(const struct virtq *vq, uint64_t gpa, struct desc *d)
{
	struct vring_desc raw;

	if (gmem_read(vq->gm, gpa, &raw, sizeof(raw)))
		return -EFAULT;
	d->addr = raw.addr;
	d->len = raw.len;
	d->flags = raw.flags;
	d->next = raw.next;
	return 0;
}

static int read_u16(const struct virtq *vq, uint64_t gpa, uint16_t *v)
{
	return gmem_read(vq->gm, gpa, v, sizeof(*v));
}

/*
 * The longest piece of [gpa, gpa + len) that lies in one RAM region, as a
 * host pointer and length; NULL when gpa is not in RAM. A buffer that spans
 * two adjacent regions becomes two segments.
 */
static void *ram_piece(const struct gmem *gm, uint64_t gpa, uint64_t len, uint64_t *piece)
{
	for (unsigned i = 0; i < gm->nr_regions; i++) {
		const struct gmem_region *r = &gm->regions[i];
		uint64_t off = gpa - r->gpa;

		if (gpa >= r->gpa && off < r->len_bytes) {
			*piece = len < r->len_bytes - off ? len : r->len_bytes - off;
			return gmem_ptr(gm, gpa, *piece);
		}
	}
	return NULL;
}

/* Add one buffer to @elem, enforcing order, the segment cap and the byte caps. */
static int add_seg(struct virtq *vq, struct virtq_elem *elem, const struct desc *d)
{
	bool writable = d->flags & VRING_DESC_F_WRITE;
	uint64_t *total = writable ? &elem->in_len : &elem->out_len;
	uint64_t gpa = d->addr, left = d->len;

	if (!writable && elem->in_num)
		return vq_fail(vq, "%s: readable descriptor after a writable one", vq_name(vq));
	if (__builtin_add_overflow(*total, (uint64_t)d->len, total) ||
	    *total > VIRTQ_MAX_CHAIN_BYTES)
		return vq_fail(vq, "%s: chain longer than 4 GiB", vq_name(vq));
	if (!gmem_range_ok(d->addr, d->len))
		return vq_fail(vq, "%s: buffer 0x%llx+%u wraps around 2^64", vq_name(vq),
			       (unsigned long long)d->addr, d->len);
	while (left) { /* a zero-length buffer maps nothing but keeps the order check above */
		unsigned n = elem->out_num + elem->in_num;
		uint64_t piece = 0;
		void *hva;

		if (n >= VIRTQ_MAX_SEGS)
			return vq_fail(vq, "%s: more than %u segments in one chain", vq_name(vq),
				       VIRTQ_MAX_SEGS);
		hva = ram_piece(vq->gm, gpa, left, &piece);
		if (!hva || !piece)
			return vq_fail(vq, "%s: buffer 0x%llx+%u outside guest RAM", vq_name(vq),
				       (unsigned long long)d->addr, d->len);
		elem->iov[n].iov_base = hva;
		elem->iov[n].iov_len = piece;
		if (writable)
			elem->in_num++;
		else
			elem->out_num++;
		gpa += piece;
		left -= piece;
	}
	/*
	 * The device may write all of a writable buffer through the pointers
	 * just made, which gmem does not see: count it dirty now, for Diff
	 * snapshots and migration (a no-op unless tracking is on).
	 */
	if (writable)
		gmem_mark_dirty(vq->gm, d->addr, d->len);
	return 0;
}

/* Walk the indirect table described by @ind (already a local copy). */
static int walk_indirect(struct virtq *vq, struct virtq_elem *elem, const struct desc *ind)
{
	uint32_t count, i = 0, steps = 0;

	if (!vq->indirect)
		return vq_fail(vq, "%s: indirect descriptor without VIRTIO_F_RING_INDIRECT_DESC",
			       vq_name(vq));
	if (ind->flags & VRING_DESC_F_NEXT)
		return vq_fail(vq, "%s: indirect descriptor with NEXT set", vq_name(vq));
	if (ind->len == 0 || ind->len % DESC_BYTES)
		return vq_fail(vq, "%s: indirect table length %u not a multiple of 16", vq_name(vq),
			       ind->len);
	count = ind->len / DESC_BYTES;
	if (count > VIRTQ_MAX_SEGS)
		return vq_fail(vq, "%s: indirect table of %u entries", vq_name(vq), count);
	if (!range_in_ram(vq, ind->addr, ind->len))
		return vq_fail(vq, "%s: indirect table 0x%llx+%u outside guest RAM", vq_name(vq),
			       (unsigned long long)ind->addr, ind->len);
	for (;;) {
		struct desc d;
		int rc;

		if (++steps > count)
			return vq_fail(vq, "%s: loop in indirect table", vq_name(vq));
		/* i < count and the table is in RAM: addr + 16*i cannot overflow. */
		if (read_desc(vq, ind->addr + (uint64_t)i * DESC_BYTES, &d))
			return vq_fail(vq, "%s: indirect table unreadable", vq_name(vq));
		if (d.flags & VRING_DESC_F_INDIRECT)
			return vq_fail(vq, "%s: indirect descriptor inside an indirect table",
				       vq_name(vq));
		rc = add_seg(vq, elem, &d);
		if (rc)
			return rc;
		if (!(d.flags & VRING_DESC_F_NEXT))
			return 0;
		if (d.next >= count)
			return vq_fail(vq, "%s: indirect next %u beyond table of %u", vq_name(vq),
				       d.next, count);
		i = d.next;
	}
}

bool virtq_has_avail(struct virtq *vq)
{
	uint16_t avail_idx;

	if (!virtq_ready(vq) || read_u16(vq, vq->avail_gpa + 2, &avail_idx))
		return false;
	return avail_idx != vq->last_avail_idx;
}

int virtq_pop(struct virtq *vq, struct virtq_elem *elem)
{
	uint16_t avail_idx, head, pending, i;
	unsigned steps = 0;

	if (vq->broken)
		return -EINVAL;
	if (!virtq_ready(vq))
		return 0;
	if (read_u16(vq, vq->avail_gpa + 2, &avail_idx))
		return vq_fail(vq, "%s: avail ring unreadable", vq_name(vq));
	pending = (uint16_t)(avail_idx - vq->last_avail_idx);
	if (pending == 0)
		return 0;
	if (pending > vq->size)
		return vq_fail(vq, "%s: avail idx %u jumped %u past %u (queue size %u)",
			       vq_name(vq), avail_idx, pending, vq->last_avail_idx, vq->size);
	__atomic_thread_fence(__ATOMIC_ACQUIRE);

	if (read_u16(vq, vq->avail_gpa + 4 + 2ull * (vq->last_avail_idx & (vq->size - 1)), &head))
		return vq_fail(vq, "%s: avail ring unreadable", vq_name(vq));
	if (head >= vq->size)
		return vq_fail(vq, "%s: head %u beyond queue size %u", vq_name(vq), head, vq->size);

	elem->head = head;
	elem->out_num = elem->in_num = 0;
	elem->out_len = elem->in_len = 0;
	i = head;
	for (;;) {
		struct desc d;
		int rc;

		if (++steps > vq->size)
			return vq_fail(vq, "%s: chain from head %u longer than the queue (loop?)",
				       vq_name(vq), head);
		if (read_desc(vq, vq->desc_gpa + (uint64_t)i * DESC_BYTES, &d))
			return vq_fail(vq, "%s: descriptor table unreadable", vq_name(vq));
		if (d.flags & VRING_DESC_F_INDIRECT) {
			rc = walk_indirect(vq, elem, &d);
			if (rc)
				return rc;
			break; /* NEXT is forbidden on it: the indirect table ends the chain */
		}
		rc = add_seg(vq, elem, &d);
		if (rc)
			return rc;
		if (!(d.flags & VRING_DESC_F_NEXT))
			break;
		if (d.next >= vq->size)
			return vq_fail(vq, "%s: next %u beyond queue size %u", vq_name(vq), d.next,
				       vq->size);
		i = d.next;
	}
	vq->last_avail_idx++;
	return 1;
}

void virtq_unpop(struct virtq *vq)
{
	vq->last_avail_idx--;
}

int virtq_push(struct virtq *vq, uint16_t head, uint32_t len)
{
	struct vring_used_elem ue = { .id = head, .len = len };
	uint64_t slot = vq->used_gpa + 4 + 8ull * (vq->used_idx & (vq->size - 1));
	uint16_t idx;

	if (vq->broken || !vq->size)
		return -EINVAL;
	if (gmem_write(vq->gm, slot, &ue, sizeof(ue)))
		return vq_fail(vq, "%s: used ring outside guest RAM", vq_name(vq));
	__atomic_thread_fence(__ATOMIC_RELEASE);
	idx = (uint16_t)(vq->used_idx + 1);
	if (gmem_write(vq->gm, vq->used_gpa + 2, &idx, sizeof(idx)))
		return vq_fail(vq, "%s: used ring outside guest RAM", vq_name(vq));
	vq->used_idx = idx;
	return 0;
}

int virtq_push_many(struct virtq *vq, const uint16_t *heads, const uint32_t *lens, unsigned n)
{
	uint16_t idx;

	if (vq->broken || !vq->size)
		return -EINVAL;
	for (unsigned i = 0; i < n; i++) {
		struct vring_used_elem ue = { .id = heads[i], .len = lens[i] };
		uint64_t slot = vq->used_gpa + 4 + 8ull * ((vq->used_idx + i) & (vq->size - 1));

		if (gmem_write(vq->gm, slot, &ue, sizeof(ue)))
			return vq_fail(vq, "%s: used ring outside guest RAM", vq_name(vq));
	}
	__atomic_thread_fence(__ATOMIC_RELEASE);
	idx = (uint16_t)(vq->used_idx + n);
	if (gmem_write(vq->gm, vq->used_gpa + 2, &idx, sizeof(idx)))
		return vq_fail(vq, "%s: used ring outside guest RAM", vq_name(vq));
	vq->used_idx = idx;
	return 0;
}

bool virtq_should_notify(struct virtq *vq)
{
	uint16_t flags, used_event, old, new = vq->used_idx;
	bool valid;

	if (vq->broken || !vq->size)
		return false;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!vq->event_idx) {
		if (read_u16(vq, vq->avail_gpa, &flags))
			return true;
		return !(flags & VRING_AVAIL_F_NO_INTERRUPT);
	}
	old = vq->signalled_used;
	valid = vq->signalled_used_valid;
	vq->signalled_used = new;
	vq->signalled_used_valid = true;
	if (!valid)
		return true;
	if (read_u16(vq, vq->avail_gpa + 4 + 2ull * vq->size, &used_event))
		return true;
	return vring_need_event(used_event, new, old);
}

void virtq_publish_avail_event(struct virtq *vq)
{
	uint16_t v = vq->last_avail_idx;

	if (!vq->event_idx || !virtq_ready(vq))
		return;
	(void)gmem_write(vq->gm, vq->used_gpa + 4 + 8ull * vq->size, &v, sizeof(v));
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

/* Copy @len bytes between @buf and the segments @iov/@n from @skip bytes in, either way. */
static size_t iov_copy(const struct iovec *iov, unsigned n, size_t skip, uint8_t *buf, size_t len,
		       bool to_iov)
{
	size_t done = 0;

	for (unsigned i = 0; i < n && done < len; i++) {
		size_t l = iov[i].iov_len;
		uint8_t *seg = iov[i].iov_base;

		if (skip >= l) {
			skip -= l;
			continue;
		}
		l -= skip;
		if (l > len - done)
			l = len - done;
		if (to_iov)
			memcpy(seg + skip, buf + done, l);
		else
			memcpy(buf + done, seg + skip, l);
		done += l;
		skip = 0;
	}
	return done;
}

size_t virtq_iov_to_buf(const struct iovec *iov, unsigned n, size_t skip, void *buf, size_t len)
{
	return iov_copy(iov, n, skip, buf, len, false);
}

size_t virtq_buf_to_iov(const struct iovec *iov, unsigned n, size_t skip, const void *buf,
			size_t len)
{
	return iov_copy(iov, n, skip, (uint8_t *)buf, len, true); /* only read through */
}

unsigned virtq_iov_slice(const struct iovec *iov, unsigned n, size_t skip, size_t len,
			 struct iovec *out, unsigned max)
{
	unsigned k = 0;

	for (unsigned i = 0; i < n && len && k < max; i++) {
		size_t l = iov[i].iov_len;

		if (skip >= l) {
			skip -= l;
			continue;
		}
		l -= skip;
		if (l > len)
			l = len;
		out[k].iov_base = (uint8_t *)iov[i].iov_base + skip;
		out[k].iov_len = l;
		k++;
		len -= l;
		skip = 0;
	}
	return k;
}
