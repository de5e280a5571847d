/* virtio_rng.c — virtio entropy device (§5.4): fills writable buffers from getrandom(). */
#include "virtio/virtio_rng.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/random.h>

#include <linux/virtio_ids.h>

#include "util/compiler.h"

struct virtio_rng {
	struct virtio_dev vdev;
	struct virtq_elem elem; /* scratch, used under the device lock */
};

static void rng_queue_notify(struct virtio_dev *vdev, unsigned q)
{
	struct virtio_rng *r = container_of(vdev, struct virtio_rng, vdev);
	struct virtq_elem *elem = &r->elem;
	struct virtq *vq = &vdev->vqs[0];
	bool pushed = false, yielded = false;
	unsigned budget = 0;

	(void)q;
	do {
		for (;;) {
			uint64_t done = 0;
			int rc;

			if (virtio_dev_yield(vdev, 0, &budget)) {
				yielded = true;
				break;
			}
			rc = virtq_pop(vq, elem);

			if (rc < 0) {
				virtio_dev_queue_error(vdev, 0);
				return;
			}
			if (rc == 0)
				break;
			for (unsigned i = elem->out_num; i < elem->out_num + elem->in_num; i++) {
				size_t off = 0, len = elem->iov[i].iov_len;

				while (off < len) {
					ssize_t n =
						getrandom((uint8_t *)elem->iov[i].iov_base + off,
							  len - off, 0);

					if (n <= 0) {
						if (n < 0 && errno == EINTR)
							continue;
						break;
					}
					off += (size_t)n;
				}
				done += off;
				if (off < len)
					break;
			}
			virtq_push(vq, elem->head, (uint32_t)done);
			pushed = true;
		}
	} while (!yielded && virtio_dev_queue_rearm(vdev, 0));
	if (pushed)
		virtio_dev_used(vdev, 0);
}

static void rng_destroy(struct virtio_dev *vdev)
{
	virtio_dev_fini(vdev);
	free(vdev);
}

static const struct virtio_dev_ops rng_ops = {
	.name = "virtio-rng",
	.device_id = VIRTIO_ID_RNG,
	.queue_notify = rng_queue_notify,
	.destroy = rng_destroy,
};

int virtio_rng_create(struct virtio_dev **out, const struct gmem *gm)
{
	struct virtio_rng *r = calloc(1, sizeof(*r));
	int rc;

	if (!r)
		return -ENOMEM;
	rc = virtio_dev_init(&r->vdev, &rng_ops, gm, "virtio-rng", 0, 1, 256);
	if (rc) {
		free(r);
		return rc;
	}
	*out = &r->vdev;
	return 0;
}
