/* virtio_rng.c — virtio entropy device (§5.4): fills writable buffers from getrandom(). */
#include "virtio/virtio_rng.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/random.h>

#include <linux/virtio_ids.h>

#include "util/compiler.h"
#include "virtio/virtio_class.h"

struct virtio_rng {
	struct virtio_dev vdev;
	struct virtq_elem elem; /* scratch, used under the device lock */
};

static struct virtq_elem *rng_elem(struct virtio_dev *vdev)
{
	return &container_of(vdev, struct virtio_rng, vdev)->elem;
}

/* Fill the chain's writable part from getrandom(); a short read returns what was filled. */
static enum virtio_chain rng_chain(struct virtio_dev *vdev, struct virtq_elem *e,
				   uint32_t *used_len)
{
	uint64_t done = 0;

	(void)vdev;
	for (unsigned i = e->out_num; i < e->out_num + e->in_num; i++) {
		size_t off = 0, len = e->iov[i].iov_len;

		while (off < len) {
			ssize_t n = getrandom((uint8_t *)e->iov[i].iov_base + off, len - off, 0);

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
	*used_len = (uint32_t)done;
	return VIRTIO_CHAIN_USED;
}

static const struct virtio_drain_ops rng_drain_ops = { .elem = rng_elem, .chain = rng_chain };

static void rng_queue_notify(struct virtio_dev *vdev, unsigned q)
{
	(void)q;
	virtio_dev_drain(vdev, 0, &rng_drain_ops);
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

static int rng_class_create(struct virtio_dev **out, const struct gmem *gm)
{
	return virtio_rng_create(out, gm);
}

const struct virtio_class virtio_rng_class = {
	.name = "rng",
	.help = "virtio-rng device",
	.api_name = "entropy",
	.api_rate_limiter = true,
	.create = rng_class_create,
};
