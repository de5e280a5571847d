/* fuzz_driver.h — the driver's side of a device bring-up, shared by the virtio model targets. */
#ifndef VMON_TESTS_FUZZ_DRIVER_H
#define VMON_TESTS_FUZZ_DRIVER_H

#include <stdint.h>

#include <linux/virtio_config.h>

#include "virtio/virtio.h"

/*
 * fuzz_driver_start - act as the driver (virtio 1.2 §3.1.1): accept @features, set every queue
 * of @vdev up with 16 entries, queue q's rings at @ram_gpa + q * 0x400 (descriptors, then the
 * avail ring at +0x100 and the used ring at +0x200: the input's bytes there), then DRIVER_OK.
 */
static inline void fuzz_driver_start(struct virtio_dev *vdev, uint64_t features, uint64_t ram_gpa)
{
	const unsigned acked = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;

	virtio_dev_set_status(vdev, acked);
	vdev->driver_features = features;
	virtio_dev_set_status(vdev, acked | VIRTIO_CONFIG_S_FEATURES_OK);
	for (unsigned q = 0; q < vdev->nr_queues; q++) {
		struct virtq *vq = &vdev->vqs[q];

		vq->size = 16;
		vq->desc_gpa = ram_gpa + q * 0x400;
		vq->avail_gpa = ram_gpa + q * 0x400 + 0x100;
		vq->used_gpa = ram_gpa + q * 0x400 + 0x200;
		vq->enabled = true;
	}
	virtio_dev_set_status(vdev,
			      acked | VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK);
}

#endif
