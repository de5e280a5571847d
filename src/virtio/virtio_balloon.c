/* virtio_balloon.c — virtio memory balloon (§5.5): inflate, deflate, statistics, page reporting. */
#include "virtio/virtio_balloon.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <linux/virtio_balloon.h>
#include <linux/virtio_ids.h>

#include "util/compiler.h"
#include "util/log.h"
#include "util/token_bucket.h" /* monotonic_ns */

#define PAGE 4096u
#define BALLOON_QUEUE_SIZE 256
#define STAT_BYTES 10 /* struct virtio_balloon_stat: le16 tag, le64 value, packed */

enum { Q_INFLATE, Q_DEFLATE, Q_STATS, Q_REPORT, Q_NONE };
#define STATS_QUEUE 2u /* the statistics queue is the third whenever it exists */

struct virtio_balloon {
	struct virtio_dev vdev;
	struct virtio_balloon_params p;
	struct virtio_balloon_host host;
	struct virtio_balloon_stats st;
	uint32_t interval_s;
	/* the statistics buffer the device holds until the next poll (§5.5.6.3) */
	bool held;
	uint16_t held_head;
	uint64_t due_ns;
	struct virtq_elem elem; /* scratch, under the device lock */
	struct ratelimit rl;
};

static struct virtio_balloon *to_b(struct virtio_dev *vdev)
{
	return container_of(vdev, struct virtio_balloon, vdev);
}

/* Queues are numbered by what was negotiated: inflate, deflate, [stats], [reporting]. */
static int role_of(struct virtio_dev *vdev, unsigned q)
{
	bool stats = virtio_dev_has(vdev, VIRTIO_BALLOON_F_STATS_VQ);
	bool report = virtio_dev_has(vdev, VIRTIO_BALLOON_F_REPORTING);

	if (q < 2)
		return (int)q;
	if (q == STATS_QUEUE && stats)
		return Q_STATS;
	if (report && q == STATS_QUEUE + stats)
		return Q_REPORT;
	return Q_NONE;
}

/* ---- releasing memory ---------------------------------------------------------------- */

struct run {
	uint8_t *hva;
	size_t len;
};

static void release(struct virtio_balloon *b, void *hva, size_t len)
{
	if (!len)
		return;
	b->st.discarded_bytes += len;
	if (b->host.discard && b->host.discard(b->host.opaque, hva, len))
		log_guest(&b->rl, "%s: could not release %zu bytes of guest RAM", b->vdev.name,
			  len);
}

/* Add one page to the run of contiguous host pages, releasing the run when it breaks. */
static void run_add(struct virtio_balloon *b, struct run *r, uint8_t *hva)
{
	if (r->len && r->hva + r->len == hva) {
		r->len += PAGE;
		return;
	}
	release(b, r->hva, r->len);
	r->hva = hva;
	r->len = PAGE;
}

/* An inflate or deflate buffer: le32 page frame numbers in the device-readable part. */
static void frames(struct virtio_balloon *b, struct virtq_elem *e, bool inflate)
{
	uint32_t pfn[256];
	struct run r = { 0 };
	size_t off = 0, got;

	while ((got = virtq_iov_to_buf(e->iov, e->out_num, off, pfn, sizeof(pfn))) >= 4) {
		for (size_t i = 0; i < got / 4; i++) {
			uint64_t gpa = (uint64_t)pfn[i] << VIRTIO_BALLOON_PFN_SHIFT;
			uint8_t *hva = gmem_ptr(b->vdev.gm, gpa, PAGE);

			if (!hva) {
				b->st.bad_frames++;
				log_guest(&b->rl, "%s: frame 0x%x is not guest RAM; ignored",
					  b->vdev.name, pfn[i]);
				continue;
			}
			if (!inflate) {
				b->st.deflated_pages++;
				continue;
			}
			b->st.inflated_pages++;
			run_add(b, &r, hva);
		}
		off += got - got % 4;
		if (got < sizeof(pfn))
			break;
	}
	release(b, r.hva, r.len);
}

/*
 * A page-reporting buffer: each segment is a free range of guest RAM (checked
 * by the queue walk); its whole pages go back to the host.
 */
static void reported(struct virtio_balloon *b, struct virtq_elem *e)
{
	for (unsigned i = 0; i < e->out_num + e->in_num; i++) {
		uintptr_t start = (uintptr_t)e->iov[i].iov_base;
		uintptr_t a = (start + PAGE - 1) & ~(uintptr_t)(PAGE - 1);
		uintptr_t z = (start + e->iov[i].iov_len) & ~(uintptr_t)(PAGE - 1);

		b->st.reported_bytes += e->iov[i].iov_len;
		if (z > a)
			release(b, (void *)a, z - a);
	}
}

/* ---- statistics ------------------------------------------------------------------------ */

static void stats_read(struct virtio_balloon *b, struct virtq_elem *e)
{
	uint8_t rec[STAT_BYTES];

	for (size_t off = 0;
	     virtq_iov_to_buf(e->iov, e->out_num, off, rec, sizeof(rec)) == sizeof(rec);
	     off += sizeof(rec)) {
		uint16_t tag = (uint16_t)(rec[0] | rec[1] << 8);
		uint64_t v = 0;

		for (int i = 7; i >= 0; i--)
			v = v << 8 | rec[2 + i];
		if (tag < VIRTIO_BALLOON_NR_STATS) {
			b->st.value[tag] = v;
			b->st.valid |= 1u << tag;
		}
	}
}

/* Give the held statistics buffer back: the driver refills it and sends it again. Lock held. */
static void stats_return(struct virtio_balloon *b, unsigned q)
{
	if (!b->held)
		return;
	b->held = false;
	if (virtq_push(&b->vdev.vqs[q], b->held_head, 0))
		virtio_dev_queue_error(&b->vdev, q);
	else
		virtio_dev_used(&b->vdev, q);
}

static void stats_arm(struct virtio_balloon *b, unsigned q)
{
	uint64_t ns = (uint64_t)b->interval_s * 1000000000ull;

	b->due_ns = monotonic_ns() + ns;
	if (!b->vdev.transport.requeue_after ||
	    !b->vdev.transport.requeue_after(b->vdev.transport.opaque, &b->vdev, q, ns))
		log_guest(&b->rl, "%s: no timer: statistics are not polled", b->vdev.name);
}

/* ---- queues ------------------------------------------------------------------------------ */

static struct virtq_elem *b_elem(struct virtio_dev *vdev)
{
	return &to_b(vdev)->elem;
}

static struct virtq_elem *stats_elem(struct virtio_dev *vdev)
{
	struct virtio_balloon *b = to_b(vdev);

	return b->held ? NULL : &b->elem; /* one buffer at a time */
}

static enum virtio_chain inflate_chain(struct virtio_dev *vdev, struct virtq_elem *e,
				       uint32_t *used_len)
{
	frames(to_b(vdev), e, true);
	*used_len = 0;
	return VIRTIO_CHAIN_USED;
}

static enum virtio_chain deflate_chain(struct virtio_dev *vdev, struct virtq_elem *e,
				       uint32_t *used_len)
{
	frames(to_b(vdev), e, false);
	*used_len = 0;
	return VIRTIO_CHAIN_USED;
}

static enum virtio_chain report_chain(struct virtio_dev *vdev, struct virtq_elem *e,
				      uint32_t *used_len)
{
	reported(to_b(vdev), e);
	*used_len = 0;
	return VIRTIO_CHAIN_USED;
}

static enum virtio_chain stats_chain(struct virtio_dev *vdev, struct virtq_elem *e,
				     uint32_t *used_len)
{
	struct virtio_balloon *b = to_b(vdev);

	stats_read(b, e);
	b->held = true;
	b->held_head = e->head;
	stats_arm(b, STATS_QUEUE);
	*used_len = 0;
	return VIRTIO_CHAIN_KEPT;
}

static const struct virtio_drain_ops inflate_ops = { .elem = b_elem, .chain = inflate_chain };
static const struct virtio_drain_ops deflate_ops = { .elem = b_elem, .chain = deflate_chain };
static const struct virtio_drain_ops report_ops = { .elem = b_elem, .chain = report_chain };
static const struct virtio_drain_ops stats_ops = { .elem = stats_elem, .chain = stats_chain };

static void b_queue_notify(struct virtio_dev *vdev, unsigned q)
{
	struct virtio_balloon *b = to_b(vdev);

	switch (role_of(vdev, q)) {
	case Q_INFLATE:
		virtio_dev_drain(vdev, q, &inflate_ops);
		return;
	case Q_DEFLATE:
		virtio_dev_drain(vdev, q, &deflate_ops);
		return;
	case Q_REPORT:
		virtio_dev_drain(vdev, q, &report_ops);
		return;
	case Q_STATS:
		/* the poll timer (requeue_after) or the driver's kick with a new buffer */
		if (b->held && monotonic_ns() >= b->due_ns)
			stats_return(b, q);
		virtio_dev_drain(vdev, q, &stats_ops);
		return;
	default:
		return;
	}
}

/* ---- configuration (§5.5.4): le32 num_pages, le32 actual ---------------------------------- */

static void b_config_read(struct virtio_dev *vdev, uint32_t offset, void *buf, uint32_t len)
{
	struct virtio_balloon *b = to_b(vdev);
	uint8_t img[8];

	for (int i = 0; i < 4; i++) {
		img[i] = (uint8_t)(b->st.target_pages >> (8 * i));
		img[4 + i] = (uint8_t)(b->st.actual_pages >> (8 * i));
	}
	memcpy(buf, img + offset, len);
}

static void b_config_write(struct virtio_dev *vdev, uint32_t offset, const void *buf, uint32_t len)
{
	struct virtio_balloon *b = to_b(vdev);
	uint8_t img[8];

	for (int i = 0; i < 4; i++)
		img[4 + i] = (uint8_t)(b->st.actual_pages >> (8 * i));
	if (offset + len <= 4)
		return; /* num_pages is the device's */
	for (uint32_t i = 0; i < len; i++)
		if (offset + i >= 4)
			img[offset + i] = ((const uint8_t *)buf)[i];
	b->st.actual_pages = (uint32_t)img[4] | (uint32_t)img[5] << 8 | (uint32_t)img[6] << 16 |
			     (uint32_t)img[7] << 24;
}

/* ---- lifecycle --------------------------------------------------------------------------- */

static void b_reset(struct virtio_dev *vdev)
{
	struct virtio_balloon *b = to_b(vdev);

	b->held = false;
	b->st.actual_pages = 0;
	b->st.valid = 0;
}

/* Before the state is taken: the held statistics buffer goes back (nothing is kept outside the
 * rings). */
static void b_sync(struct virtio_dev *vdev)
{
	struct virtio_balloon *b = to_b(vdev);

	if (b->held && virtio_dev_running(vdev))
		stats_return(b, STATS_QUEUE);
}

static void b_save(struct virtio_dev *vdev, struct state_writer *w)
{
	struct virtio_balloon *b = to_b(vdev);

	state_put_u8(w, b->p.deflate_on_oom);
	state_put_u8(w, b->p.stats_interval_s > 0);
	state_put_u8(w, b->p.reporting);
	state_put_u32(w, b->interval_s);
	state_put_u32(w, b->st.target_pages);
	state_put_u32(w, b->st.actual_pages);
	state_put_u32(w, b->st.valid);
	for (unsigned i = 0; i < VIRTIO_BALLOON_NR_STATS; i++)
		state_put_u64(w, b->st.value[i]);
}

static int b_load(struct virtio_dev *vdev, struct state_reader *r)
{
	struct virtio_balloon *b = to_b(vdev);
	uint8_t oom = state_get_u8(r), stats = state_get_u8(r), report = state_get_u8(r);
	uint32_t interval = state_get_u32(r), target = state_get_u32(r), actual = state_get_u32(r);
	uint32_t valid = state_get_u32(r);
	uint64_t value[VIRTIO_BALLOON_NR_STATS];

	for (unsigned i = 0; i < VIRTIO_BALLOON_NR_STATS; i++)
		value[i] = state_get_u64(r);
	if (state_error(r) || oom != b->p.deflate_on_oom || stats != (b->p.stats_interval_s > 0) ||
	    report != b->p.reporting || (stats && !interval) || (!stats && interval) ||
	    valid >> VIRTIO_BALLOON_NR_STATS)
		return -EINVAL;
	b->interval_s = interval;
	b->st.target_pages = target;
	b->st.actual_pages = actual;
	b->st.valid = valid;
	memcpy(b->st.value, value, sizeof(value));
	b->held = false;
	return 0;
}

static void b_destroy(struct virtio_dev *vdev)
{
	virtio_dev_fini(vdev);
	free(to_b(vdev));
}

static const struct virtio_dev_ops balloon_ops = {
	.name = "virtio-balloon",
	.device_id = VIRTIO_ID_BALLOON,
	.config_len = 8,
	.config_read = b_config_read,
	.config_write = b_config_write,
	.queue_notify = b_queue_notify,
	.reset = b_reset,
	.sync = b_sync,
	.save = b_save,
	.load = b_load,
	.destroy = b_destroy,
};

int virtio_balloon_create(struct virtio_dev **out, const struct gmem *gm,
			  const struct virtio_balloon_params *p,
			  const struct virtio_balloon_host *host)
{
	struct virtio_balloon *b = calloc(1, sizeof(*b));
	uint64_t features = 0;
	unsigned nq = 2;
	int rc;

	if (!b)
		return -ENOMEM;
	if (p->deflate_on_oom)
		features |= 1ull << VIRTIO_BALLOON_F_DEFLATE_ON_OOM;
	if (p->stats_interval_s) {
		features |= 1ull << VIRTIO_BALLOON_F_STATS_VQ;
		nq++;
	}
	if (p->reporting) {
		features |= 1ull << VIRTIO_BALLOON_F_REPORTING;
		nq++;
	}
	rc = virtio_dev_init(&b->vdev, &balloon_ops, gm, "virtio-balloon", features, nq,
			     BALLOON_QUEUE_SIZE);
	if (rc) {
		free(b);
		return rc;
	}
	b->p = *p;
	if (host)
		b->host = *host;
	b->interval_s = p->stats_interval_s;
	b->st.target_pages = p->target_pages;
	*out = &b->vdev;
	return 0;
}

void virtio_balloon_set_target(struct virtio_dev *vdev, uint32_t pages)
{
	virtio_dev_lock(vdev);
	to_b(vdev)->st.target_pages = pages;
	virtio_dev_config_changed(vdev);
	virtio_dev_unlock(vdev);
}

int virtio_balloon_set_interval(struct virtio_dev *vdev, uint32_t seconds)
{
	struct virtio_balloon *b = to_b(vdev);
	int rc = 0;

	virtio_dev_lock(vdev);
	if (!b->p.stats_interval_s || !seconds) {
		rc = -EINVAL; /* the queue exists or not from the start (Firecracker's rule) */
	} else {
		b->interval_s = seconds;
		if (b->held)
			stats_arm(b, STATS_QUEUE);
	}
	virtio_dev_unlock(vdev);
	return rc;
}

void virtio_balloon_get_stats(struct virtio_dev *vdev, struct virtio_balloon_stats *out)
{
	virtio_dev_lock(vdev);
	*out = to_b(vdev)->st;
	virtio_dev_unlock(vdev);
}
