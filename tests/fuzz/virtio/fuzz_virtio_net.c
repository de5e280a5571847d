/*
 * fuzz_virtio_net.c — virtio-net receive and transmit processing against
 * arbitrary rings, with and without VIRTIO_NET_F_MRG_RXBUF. Input: a 32-byte
 * header, then the contents of guest RAM (64 KiB at RAM_GPA): both queues'
 * descriptor tables and avail rings at the offsets in `rings`, indirect
 * tables and buffers anywhere.
 *   [0]       flags F_*: backend with vnet header, the driver's features
 *             (MRG_RXBUF, EVENT_IDX, INDIRECT_DESC, offloads), a transport
 *             that can requeue, avail ring heads taken from RAM, backend errors
 *   [1]       queue sizes: rx 1 << (low nibble % 6), tx 1 << (high nibble % 6)
 *   [2..3]    the avail idx of rx and tx at DRIVER_OK
 *   [4..5]    unless F_FREE_HEADS, avail slot i holds head (i + [4 + q]) % size
 *   [6..13]   operations, op & 7 with argument op >> 3 (enum op)
 *   [14..31]  six host frames of 3 bytes: 17-bit length, then seed (bits 1-6), error (bit 7)
 * The backend is in memory: readv hands out the frames, writev records what it sends.
 *
 * Beyond ASan and UBSan, the target checks what the device tells the guest
 * whenever nothing the device may write (receive buffers, used rings) overlaps
 * a ring, a table, a transmit buffer or another such range, and no receive
 * descriptor is part of two chains (so what it writes cannot change the chains):
 * only receive buffers and the used rings change; the used idx is the device's;
 * a head is used no more often than it was posted; a used length fits its
 * chain. With heads from the permutation and at most one lap of the ring: without
 * MRG_RXBUF every frame read is returned whole (as cut to its chain) with
 * num_buffers 1; with it, a frame is num_buffers chains in a row, all but the
 * last used completely, their lengths adding up to a frame the backend gave;
 * every transmitted frame is exactly the readable bytes of a well-formed chain.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/virtio_config.h>
#include <linux/virtio_net.h>
#include <linux/virtio_ring.h>

#include "mem/gmem.h"
#include "util/log.h"
#include "virtio/virtio_net.h"

#define RAM_GPA 0x10000ull
#define RAM_LEN 0x10000ull
#define SCRATCH_GPA 0x40000000ull /* the checker's own avail ring, not guest RAM */
#define HDR_BYTES 32
#define NR_OPS 8
#define NR_FRAMES 6
#define QMAX 32
#define VHDR sizeof(struct virtio_net_hdr_v1)
#define TX_MAX (VHDR + 65550) /* the largest frame the device sends */
#define LOG_MAX 1024
#define RANGES_MAX 256

enum {
	F_VNET = 1,
	F_MRG = 2,
	F_EVENT_IDX = 4,
	F_INDIRECT = 8,
	F_OFFLOADS = 16,
	F_REQUEUE = 32,
	F_FREE_HEADS = 64,
	F_BE_ERRORS = 128,
};

enum op {
	OP_KICK_RX,
	OP_KICK_TX,
	OP_RX_READY, /* the backend is readable */
	OP_POST_RX, /* the driver makes argument + 1 more receive chains available */
	OP_POST_TX,
	OP_REQUEUED, /* the event loop runs the queues the device requeued */
	OP_RESET, /* the driver resets the device and sets it up again on fresh rings */
	OP_FRAMES_AGAIN, /* the backend has the same frames once more */
};

/* Ring offsets in RAM; the descriptor tables and avail rings come from the input. */
static const struct {
	uint64_t desc, avail, used;
} rings[2] = { { 0x000, 0x200, 0xe000 }, { 0x280, 0x480, 0xe200 } };

struct frame {
	uint32_t len;
	uint8_t seed;
	bool fail;
};

struct range {
	uint64_t start, end; /* offsets in RAM */
	bool written; /* a used ring or a writable receive buffer (else read only) */
};

struct fz {
	const uint8_t *data;
	size_t size;
	uint8_t flags;
	uint16_t qsize[2];
	struct frame frames[NR_FRAMES];
	unsigned next_frame;
	bool requeued[2];
	struct virtio_dev *vdev;
	struct gmem gm, shadow_gm;
	struct virtq shadow; /* walks a used chain again, for the checks */
	/* the checks */
	bool clean; /* no writable buffer overlaps anything: the chains stay as they are */
	uint32_t avail_total[2]; /* chains the driver made available since DRIVER_OK */
	uint32_t posts_max[2]; /* what it will have made available after every OP_POST */
	uint16_t seen_used[2];
	uint32_t uses[2][QMAX];
	uint32_t rx_log[LOG_MAX]; /* lengths of the frames the device read, header included */
	unsigned rx_logged, rx_checked;
	struct {
		uint32_t len;
		uint64_t hash;
	} tx_log[LOG_MAX];
	unsigned tx_logged, tx_checked;
};

static uint8_t ram[RAM_LEN] __attribute__((aligned(4096)));
static uint8_t scratch[0x1000] __attribute__((aligned(4096)));
static uint8_t before[RAM_LEN];
static uint8_t may_change[RAM_LEN]; /* receive buffers and used rings */
static struct virtq_elem elem;
static struct fz fz;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A check failed: the device told the guest something wrong. */
#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond);   \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

static bool has(const struct fz *f, unsigned flag)
{
	return f->flags & flag;
}

static uint64_t fnv(uint64_t h, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return h;
}

/* ---- the in-memory backend -------------------------------------------------------------- */

static ssize_t be_readv(void *o, const struct iovec *iov, int n)
{
	struct fz *f = o;
	const struct frame *fr;
	size_t done = 0;

	if (f->next_frame >= NR_FRAMES)
		return -EAGAIN;
	fr = &f->frames[f->next_frame++];
	if (fr->fail)
		return -EIO;
	for (int i = 0; i < n && done < fr->len; i++) {
		uint8_t *p = iov[i].iov_base;
		size_t l = iov[i].iov_len < fr->len - done ? iov[i].iov_len : fr->len - done;

		for (size_t j = 0; j < l; j++)
			p[j] = (uint8_t)(fr->seed + done + j);
		done += l;
	}
	if (f->rx_logged < LOG_MAX)
		f->rx_log[f->rx_logged++] = (uint32_t)(done + (has(f, F_VNET) ? 0 : VHDR));
	return (ssize_t)done;
}

static ssize_t be_writev(void *o, const struct iovec *iov, int n)
{
	struct fz *f = o;
	uint64_t h = 0xcbf29ce484222325ull;
	size_t len = 0;

	for (int i = 0; i < n; i++) {
		h = fnv(h, iov[i].iov_base, iov[i].iov_len);
		len += iov[i].iov_len;
	}
	if (f->tx_logged < LOG_MAX) {
		f->tx_log[f->tx_logged].len = (uint32_t)len;
		f->tx_log[f->tx_logged].hash = h;
	}
	f->tx_logged++;
	if (has(f, F_BE_ERRORS) && (f->tx_logged & 1))
		return -EIO;
	return (ssize_t)len;
}

static int be_offload(void *o, unsigned flags)
{
	(void)o;
	(void)flags;
	return 0;
}

static void be_watch(void *o, bool on)
{
	(void)o;
	(void)on;
}

static void tr_interrupt(void *o, struct virtio_dev *vdev, int q)
{
	(void)o;
	(void)vdev;
	(void)q;
}

static bool tr_requeue(void *o, struct virtio_dev *vdev, unsigned q)
{
	struct fz *f = o;

	(void)vdev;
	if (q < 2)
		f->requeued[q] = true;
	return true;
}

/* ---- guest RAM and the driver ------------------------------------------------------------ */

static uint16_t *avail_ring(unsigned q)
{
	return (uint16_t *)(ram + rings[q].avail);
}

static uint16_t used_idx_in_ram(unsigned q)
{
	uint16_t v;

	memcpy(&v, ram + rings[q].used + 2, 2);
	return v;
}

static struct vring_used_elem used_elem(const struct fz *f, unsigned q, uint16_t i)
{
	struct vring_used_elem u;

	memcpy(&u, ram + rings[q].used + 4 + 8 * (i & (f->qsize[q] - 1)), sizeof(u));
	return u;
}

/* RAM from the input, the avail rings' heads and indexes from the header, used rings zeroed. */
static void load_ram(struct fz *f)
{
	size_t n = f->size - HDR_BYTES;

	memset(ram, 0, RAM_LEN);
	memcpy(ram, f->data + HDR_BYTES, n < RAM_LEN ? n : RAM_LEN);
	for (unsigned q = 0; q < 2; q++) {
		uint16_t *r = avail_ring(q);
		unsigned sz = f->qsize[q];

		memset(ram + rings[q].used, 0, 6 + 8 * QMAX);
		if (!has(f, F_FREE_HEADS))
			for (unsigned i = 0; i < sz; i++)
				r[2 + i] = (uint16_t)((i + f->data[4 + q]) % sz);
		r[1] = has(f, F_FREE_HEADS) ? f->data[2 + q]
					    : (uint16_t)(f->data[2 + q] % (sz + 2));
		f->avail_total[q] = r[1];
	}
}

static uint64_t driver_features(const struct fz *f)
{
	uint64_t want = (1ull << VIRTIO_F_VERSION_1) | (1ull << VIRTIO_NET_F_MAC) |
			(1ull << VIRTIO_NET_F_STATUS) | (1ull << VIRTIO_NET_F_MTU);

	if (has(f, F_MRG))
		want |= 1ull << VIRTIO_NET_F_MRG_RXBUF;
	if (has(f, F_EVENT_IDX))
		want |= 1ull << VIRTIO_RING_F_EVENT_IDX;
	if (has(f, F_INDIRECT))
		want |= 1ull << VIRTIO_RING_F_INDIRECT_DESC;
	if (has(f, F_OFFLOADS))
		want |= (1ull << VIRTIO_NET_F_CSUM) | (1ull << VIRTIO_NET_F_GUEST_CSUM) |
			(1ull << VIRTIO_NET_F_GUEST_TSO4) | (1ull << VIRTIO_NET_F_HOST_TSO4);
	return want & f->vdev->host_features;
}

/* The driver's initialisation (§3.1.1); buffers already posted are processed at DRIVER_OK. */
static void driver_start(struct fz *f)
{
	struct virtio_dev *vdev = f->vdev;
	uint8_t s = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;

	virtio_dev_lock(vdev);
	virtio_dev_set_status(vdev, s);
	vdev->driver_features = driver_features(f);
	virtio_dev_set_status(vdev, s | VIRTIO_CONFIG_S_FEATURES_OK);
	for (unsigned q = 0; q < 2; q++) {
		struct virtq *vq = &vdev->vqs[q];

		vq->size = f->qsize[q];
		vq->desc_gpa = RAM_GPA + rings[q].desc;
		vq->avail_gpa = RAM_GPA + rings[q].avail;
		vq->used_gpa = RAM_GPA + rings[q].used;
		vq->enabled = true;
	}
	virtio_dev_set_status(vdev, s | VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK);
	virtio_dev_unlock(vdev);
}

/* ---- what may change: the layout of the buffers ------------------------------------------ */

/* Add [gpa, gpa + len) when it lies wholly in RAM (else the device refuses it). */
static int add_range(struct range *r, int n, uint64_t gpa, uint64_t len, bool written)
{
	if (n < 0 || !len || gpa < RAM_GPA || gpa >= RAM_GPA + RAM_LEN ||
	    len > RAM_GPA + RAM_LEN - gpa)
		return n;
	if (n >= RANGES_MAX)
		return -1;
	r[n] = (struct range){ gpa - RAM_GPA, gpa - RAM_GPA + len, written };
	return n + 1;
}

/* A buffer of queue @q: written (a writable receive buffer), read (a transmit buffer) or neither.
 */
static int add_buffer(struct range *r, int n, const struct vring_desc *d, unsigned q)
{
	if (q == 1)
		return add_range(r, n, d->addr, d->len, false);
	if (d->flags & VRING_DESC_F_WRITE)
		return add_range(r, n, d->addr, d->len, true);
	return n;
}

static int add_indirect(const struct fz *f, struct range *r, int n, const struct vring_desc *d,
			unsigned q)
{
	uint64_t off = d->addr - RAM_GPA;

	if (!has(f, F_INDIRECT) || d->len % 16 || d->addr < RAM_GPA || off >= RAM_LEN ||
	    d->len > RAM_LEN - off)
		return n; /* refused by the device */
	n = add_range(r, n, d->addr, d->len, false);
	for (uint32_t i = 0; i < d->len / 16; i++) {
		struct vring_desc e;

		memcpy(&e, ram + off + 16 * i, sizeof(e));
		if (!(e.flags & VRING_DESC_F_INDIRECT))
			n = add_buffer(r, n, &e, q);
	}
	return n;
}

/* Every ring, table and buffer the descriptors name; -1 when too many to check. */
static int collect_ranges(const struct fz *f, struct range *r)
{
	int n = 0;

	for (unsigned q = 0; q < 2; q++) {
		unsigned sz = f->qsize[q];

		n = add_range(r, n, RAM_GPA + rings[q].desc, 16 * sz, false);
		n = add_range(r, n, RAM_GPA + rings[q].avail, 6 + 2 * sz, false);
		n = add_range(r, n, RAM_GPA + rings[q].used, 6 + 8 * sz, true);
		for (unsigned i = 0; i < sz; i++) {
			struct vring_desc d;

			memcpy(&d, ram + rings[q].desc + 16 * i, sizeof(d));
			if (d.flags & VRING_DESC_F_INDIRECT)
				n = add_indirect(f, r, n, &d, q);
			else
				n = add_buffer(r, n, &d, q);
		}
	}
	return n;
}

/* Is a writable (or indirect) receive descriptor part of two chains the driver posts, or of a
 * loop? */
static bool rx_descriptors_shared(const struct fz *f)
{
	unsigned sz = f->qsize[0], chains[QMAX] = { 0 };
	unsigned slots = f->posts_max[0] < sz ? f->posts_max[0] : sz;

	for (unsigned slot = 0; slot < slots; slot++) {
		unsigned i = avail_ring(0)[2 + slot];

		if (i >= sz)
			continue;
		for (unsigned steps = 0; steps < sz; steps++) {
			struct vring_desc d;

			memcpy(&d, ram + rings[0].desc + 16 * i, sizeof(d));
			if ((d.flags & (VRING_DESC_F_WRITE | VRING_DESC_F_INDIRECT)) &&
			    ++chains[i] > 1)
				return true;
			if (!(d.flags & VRING_DESC_F_NEXT) || d.next >= sz)
				break;
			i = d.next;
		}
	}
	return false;
}

/* Work out whether the checks can run, and where the device may write. */
static void plan_checks(struct fz *f)
{
	static struct range r[RANGES_MAX];
	int n = collect_ranges(f, r);

	f->clean = n >= 0 && !rx_descriptors_shared(f);
	for (int i = 0; f->clean && i < n; i++)
		for (int j = i + 1; j < n; j++)
			if ((r[i].written || r[j].written) && r[i].start < r[j].end &&
			    r[j].start < r[i].end)
				f->clean = false;
	if (!f->clean)
		return;
	memset(may_change, 0, RAM_LEN);
	for (int i = 0; i < n; i++)
		if (r[i].written)
			memset(may_change + r[i].start, 1, r[i].end - r[i].start);
}

/* ---- the checks -------------------------------------------------------------------------- */

/* Walk chain @head of queue @q again, as the device did, into `elem`. */
static void shadow_pop(struct fz *f, unsigned q, uint16_t head)
{
	struct virtq *s = &f->shadow;
	uint16_t avail[3] = { 0, 1, head };

	memcpy(scratch, avail, sizeof(avail));
	virtq_init(s, &f->shadow_gm, 256);
	s->size = f->qsize[q];
	s->desc_gpa = RAM_GPA + rings[q].desc;
	s->avail_gpa = SCRATCH_GPA;
	s->used_gpa = SCRATCH_GPA + 0x100;
	s->indirect = has(f, F_INDIRECT);
	s->enabled = true;
	CHECK(virtq_pop(s, &elem) == 1); /* the device took it, so it was well-formed */
}

/* A head the device used: in range, and not used more often than the driver posted it. */
static void check_head(struct fz *f, unsigned q, uint16_t id)
{
	unsigned sz = f->qsize[q];
	uint32_t slot, posts;

	CHECK(id < sz);
	f->uses[q][id]++;
	if (has(f, F_FREE_HEADS))
		return;
	slot = (id + sz - f->data[4 + q] % sz) % sz;
	posts = f->avail_total[q] / sz + (slot < f->avail_total[q] % sz);
	CHECK(f->uses[q][id] <= posts);
}

/* The frames can be followed: each head posted once (a permutation, at most one lap). */
static bool frames_followed(const struct fz *f)
{
	return !has(f, F_FREE_HEADS) && f->avail_total[0] <= f->qsize[0];
}

/* num_buffers in the header at the start of the chain last walked */
static uint16_t num_buffers(void)
{
	uint16_t nb = 0;

	virtq_iov_to_buf(elem.iov + elem.out_num, elem.in_num,
			 offsetof(struct virtio_net_hdr_v1, num_buffers), &nb, sizeof(nb));
	return nb;
}

/* The receive chain of used entry @u: posted, well-formed, long enough for what it got. */
static void check_rx_chain(struct fz *f, struct vring_used_elem u)
{
	check_head(f, 0, (uint16_t)u.id);
	shadow_pop(f, 0, (uint16_t)u.id);
	CHECK(u.len <= elem.in_len);
	CHECK(!u.len || !elem.out_num); /* a chain with readable buffers takes no frame */
}

/* A frame of @len bytes (header included) reached the guest: one the backend gave, in order. */
static void check_rx_frame(struct fz *f, uint32_t len)
{
	while (f->rx_checked < f->rx_logged && f->rx_log[f->rx_checked] != len)
		f->rx_checked++; /* dropped (larger than the ring) */
	CHECK(f->rx_checked < f->rx_logged);
	f->rx_checked++;
}

/* Used entries of the receive queue from *@i: one returned chain or one whole frame. */
static void check_rx_used(struct fz *f, uint16_t *i, uint16_t end)
{
	struct vring_used_elem u = used_elem(f, 0, *i);
	bool merged = has(f, F_MRG);
	uint32_t total = 0;
	uint16_t nb;

	check_rx_chain(f, u);
	(*i)++;
	if (!u.len || !frames_followed(f))
		return;
	nb = num_buffers();
	CHECK(u.len >= VHDR);
	if (!merged) {
		CHECK(nb == 1);
		CHECK(f->rx_checked < f->rx_logged && f->rx_log[f->rx_checked++] == u.len);
		return;
	}
	CHECK(nb >= 1 && nb <= (uint16_t)(end - *i) + 1); /* published together */
	total = u.len;
	for (uint16_t k = 1; k < nb; k++) {
		CHECK(u.len == elem.in_len); /* all but the last used completely */
		u = used_elem(f, 0, (*i)++);
		check_rx_chain(f, u);
		CHECK(u.len > 0);
		total += u.len;
	}
	check_rx_frame(f, total);
}

/* One transmit chain: used with 0 bytes, and sent (exactly its bytes) iff well-formed. */
static void check_tx_used(struct fz *f, struct vring_used_elem u)
{
	size_t skip = has(f, F_VNET) ? 0 : VHDR;
	uint64_t h = 0xcbf29ce484222325ull;

	check_head(f, 1, (uint16_t)u.id);
	shadow_pop(f, 1, (uint16_t)u.id);
	CHECK(u.len == 0);
	if (elem.in_num || elem.out_len < VHDR || elem.out_len > TX_MAX)
		return;
	CHECK(f->tx_checked < f->tx_logged);
	if (f->tx_checked >= LOG_MAX)
		return;
	for (unsigned s = 0; s < elem.out_num; s++) {
		size_t l = elem.iov[s].iov_len;

		if (skip >= l) {
			skip -= l;
			continue;
		}
		h = fnv(h, (const uint8_t *)elem.iov[s].iov_base + skip, l - skip);
		skip = 0;
	}
	CHECK(f->tx_log[f->tx_checked].len == elem.out_len - (has(f, F_VNET) ? 0 : VHDR));
	CHECK(f->tx_log[f->tx_checked].hash == h);
	f->tx_checked++;
}

/* After each operation: what changed in guest RAM, and what the used rings say. */
static void check_after(struct fz *f)
{
	for (unsigned q = 0; q < 2; q++) {
		uint16_t end = used_idx_in_ram(q);

		CHECK(end == f->vdev->vqs[q].used_idx);
		CHECK(end <= f->avail_total[q]); /* used since DRIVER_OK, never more than posted */
		for (uint16_t i = f->seen_used[q]; i != end;) {
			if (q == 0)
				check_rx_used(f, &i, end);
			else
				check_tx_used(f, used_elem(f, 1, i++));
		}
		f->seen_used[q] = end;
	}
	if (!has(f, F_MRG) && frames_followed(f))
		CHECK(f->rx_checked == f->rx_logged); /* every frame read went to the guest */
	CHECK(f->tx_checked == f->tx_logged || f->tx_logged > LOG_MAX);
	if (memcmp(before, ram, RAM_LEN))
		for (size_t i = 0; i < RAM_LEN; i++)
			CHECK(before[i] == ram[i] || may_change[i]);
}

/* ---- driving it -------------------------------------------------------------------------- */

static void fresh_start(struct fz *f)
{
	load_ram(f);
	memset(f->uses, 0, sizeof(f->uses));
	f->seen_used[0] = f->seen_used[1] = 0;
	f->rx_logged = f->rx_checked = f->tx_logged = f->tx_checked = 0;
	plan_checks(f);
	memcpy(before, ram, RAM_LEN);
	driver_start(f);
	if (f->clean)
		check_after(f);
}

/* The driver makes @n more chains available (in the snapshot too: not a device write). */
static void post(struct fz *f, unsigned q, unsigned n)
{
	f->avail_total[q] += n;
	avail_ring(q)[1] = (uint16_t)(avail_ring(q)[1] + n);
	memcpy(before + rings[q].avail + 2, ram + rings[q].avail + 2, 2);
}

static void run_op(struct fz *f, uint8_t op)
{
	unsigned arg = op >> 3;

	switch ((enum op)(op & 7)) {
	case OP_KICK_RX:
	case OP_KICK_TX:
		virtio_dev_kick(f->vdev, op & 1);
		break;
	case OP_RX_READY:
		virtio_net_rx_ready(f->vdev);
		break;
	case OP_POST_RX:
	case OP_POST_TX:
		post(f, (op & 7) == OP_POST_TX, arg + 1);
		virtio_dev_kick(f->vdev, (op & 7) == OP_POST_TX);
		break;
	case OP_REQUEUED:
		for (unsigned q = 0; q < 2; q++)
			if (f->requeued[q]) {
				f->requeued[q] = false;
				virtio_dev_kick(f->vdev, q);
			}
		break;
	case OP_RESET:
		virtio_dev_lock(f->vdev);
		virtio_dev_set_status(f->vdev, 0);
		virtio_dev_unlock(f->vdev);
		fresh_start(f);
		return;
	case OP_FRAMES_AGAIN:
		f->next_frame = 0;
		break;
	}
	if (f->clean)
		check_after(f);
}

static void parse_header(struct fz *f)
{
	const uint8_t *d = f->data;

	f->flags = d[0];
	f->qsize[0] = (uint16_t)(1u << ((d[1] & 15) % 6));
	f->qsize[1] = (uint16_t)(1u << ((d[1] >> 4) % 6));
	for (unsigned i = 0; i < NR_FRAMES; i++) {
		const uint8_t *p = d + 14 + 3 * i;
		uint32_t len = p[0] | p[1] << 8 | (p[2] & 1u) << 16;

		/* a TAP with vnet header gives at least the header */
		f->frames[i].len = has(f, F_VNET) && len < VHDR ? VHDR : len;
		f->frames[i].seed = (p[2] >> 1) & 63;
		f->frames[i].fail = has(f, F_BE_ERRORS) && (p[2] & 0x80);
	}
	for (unsigned q = 0; q < 2; q++) {
		f->posts_max[q] = has(f, F_FREE_HEADS) ? d[2 + q] : d[2 + q] % (f->qsize[q] + 2u);
		for (unsigned i = 0; i < NR_OPS; i++)
			if ((d[6 + i] & 7) == (q ? OP_POST_TX : OP_POST_RX))
				f->posts_max[q] += (d[6 + i] >> 3) + 1u;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t mac[6] = { 0x52, 0x54, 0, 0, 0, 1 };
	struct fz *f = &fz;
	struct virtio_net_backend be = { .opaque = f,
					 .set_offload = be_offload,
					 .readv = be_readv,
					 .writev = be_writev,
					 .rx_watch = be_watch };

	log_set_level(LOG_ERROR); /* guest-mistake warnings would flood the fuzzer's output */
	if (size < HDR_BYTES)
		return 0;
	memset(f, 0, sizeof(*f));
	f->data = data;
	f->size = size;
	parse_header(f);
	be.vnet_hdr = has(f, F_VNET);
	gmem_init(&f->gm);
	gmem_add_hva(&f->gm, RAM_GPA, RAM_LEN, ram);
	gmem_init(&f->shadow_gm);
	gmem_add_hva(&f->shadow_gm, RAM_GPA, RAM_LEN, ram);
	gmem_add_hva(&f->shadow_gm, SCRATCH_GPA, sizeof(scratch), scratch);
	if (virtio_net_create(&f->vdev, &f->gm, &be, mac))
		abort();
	f->vdev->transport.interrupt = tr_interrupt;
	f->vdev->transport.requeue = has(f, F_REQUEUE) ? tr_requeue : NULL;
	f->vdev->transport.opaque = f;
	fresh_start(f);
	for (unsigned i = 0; i < NR_OPS; i++) {
		memcpy(before, ram, RAM_LEN);
		run_op(f, data[6 + i]);
	}
	f->vdev->ops->destroy(f->vdev);
	gmem_destroy(&f->shadow_gm);
	gmem_destroy(&f->gm);
	return 0;
}
