/*
 * virtio_balloon.h — the memory balloon (virtio 1.2 §5.5), Firecracker's
 * device: the host sets a target (num_pages, 4 KiB pages); the guest driver
 * inflates towards it, sending the frame numbers of pages it gave up on the
 * inflate queue, which the device hands back to the host (discard); it
 * deflates by sending frames on the deflate queue (nothing to do: a page
 * comes back when the guest touches it again). Optional:
 *   - VIRTIO_BALLOON_F_STATS_VQ (stats_interval_s > 0): the driver's buffer of
 *     {le16 tag, le64 value} records is read when it arrives and returned
 *     every interval, so the driver refills it (the statistics queue's
 *     protocol, §5.5.6.3);
 *   - VIRTIO_BALLOON_F_DEFLATE_ON_OOM: the guest may take pages back from the
 *     balloon rather than kill a process;
 *   - VIRTIO_BALLOON_F_REPORTING: the driver reports free page ranges (their
 *     buffers are the free pages themselves), which the device discards.
 * Queues, in order: inflate, deflate, [stats], [reporting] — numbered by what
 * was negotiated, as drivers number them.
 *
 * Every frame number and range is checked to lie in guest RAM (gmem); one
 * that does not is ignored and counted (logged, rate-limited).
 */
#ifndef VMON_VIRTIO_VIRTIO_BALLOON_H
#define VMON_VIRTIO_VIRTIO_BALLOON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mem/gmem.h"
#include "virtio/virtio.h"

#define VIRTIO_BALLOON_NR_STATS 10 /* the tags vmon keeps: SWAP_IN .. HTLB_PGFAIL */
#define VIRTIO_BALLOON_PAGES_PER_MIB 256 /* the balloon counts 4 KiB pages */

/*
 * struct virtio_balloon_host - what the VM does with memory the guest gave
 * back: @discard(@opaque, @hva, @len) releases [@hva, @hva + @len) of guest
 * RAM (madvise MADV_DONTNEED; @hva and @len are 4 KiB multiples). Returns 0
 * or -errno. NULL: nothing is released (tests count instead).
 */
struct virtio_balloon_host {
	void *opaque;
	int (*discard)(void *opaque, void *hva, size_t len);
};

struct virtio_balloon_params {
	uint32_t target_pages; /* num_pages at start */
	bool deflate_on_oom;
	uint32_t stats_interval_s; /* 0: no statistics queue */
	bool reporting; /* free page reporting */
};

/* What GET /balloon/statistics reports. @valid bit t: the driver sent tag t. */
struct virtio_balloon_stats {
	uint32_t target_pages, actual_pages;
	uint32_t valid;
	uint64_t value[VIRTIO_BALLOON_NR_STATS];
	/* the device's own counters */
	uint64_t inflated_pages, deflated_pages, reported_bytes, discarded_bytes, bad_frames;
};

/*
 * virtio_balloon_create - a balloon over @gm with @p's features, releasing
 * memory through @host (copied; may be NULL). Returns 0 and *@out, or -errno.
 */
int virtio_balloon_create(struct virtio_dev **out, const struct gmem *gm,
			  const struct virtio_balloon_params *p,
			  const struct virtio_balloon_host *host);

/* virtio_balloon_set_target - a new num_pages; the driver hears of it by a configuration change. */
void virtio_balloon_set_target(struct virtio_dev *vdev, uint32_t pages);

/*
 * virtio_balloon_set_interval - the statistics polling interval (only when the
 * device has a statistics queue: -EINVAL to turn it off or on, as Firecracker).
 */
int virtio_balloon_set_interval(struct virtio_dev *vdev, uint32_t seconds);

/* virtio_balloon_get_stats - a copy of the latest statistics and counters. */
void virtio_balloon_get_stats(struct virtio_dev *vdev, struct virtio_balloon_stats *out);

#endif
