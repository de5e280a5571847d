/*
 * fuzz_virtio_balloon.c — the balloon's queues: inflate and deflate frame
 * lists, the statistics buffer, free page reports, and its configuration
 * space. Input: 1 byte of features (deflate-on-oom, statistics, reporting),
 * 1 byte naming the order of the kicks, 8 bytes written to the
 * configuration space, then guest RAM holding each queue's rings (16
 * entries) and the buffers. The host's discard checks that every range the
 * model releases lies inside guest RAM, page aligned.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"

#include <linux/virtio_config.h>

#include "base/state.h"
#include "mem/gmem.h"
#include "fuzz_driver.h"
#include "virtio/virtio_balloon.h"

#define RAM_GPA 0x10000ull
#define RAM_LEN 0x10000ull

static uint8_t ram[RAM_LEN] __attribute__((aligned(4096)));

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int discard(void *opaque, void *hva, size_t len)
{
	uint8_t *p = hva;

	(void)opaque;
	if (p < ram || len > RAM_LEN || p + len > ram + RAM_LEN || (uintptr_t)p % 4096 ||
	    len % 4096 || !len)
		abort(); /* the model released memory that is not a whole page of guest RAM */
	return 0;
}

static bool requeue(void *opaque, struct virtio_dev *vdev, unsigned q, uint64_t ns)
{
	(void)opaque, (void)vdev, (void)q, (void)ns;
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct virtio_balloon_host host = { .discard = discard };
	struct virtio_balloon_params p = { .target_pages = 8 };
	struct virtio_transport t = { .requeue_after = requeue };
	struct virtio_balloon_stats st;
	struct virtio_dev *vdev;
	struct state_writer w;
	struct gmem gm;
	uint8_t cfg[8];

	log_set_level(LOG_ERROR); /* guest-mistake warnings would flood the fuzzer's output */
	if (size < 10)
		return 0;
	memset(ram, 0, sizeof(ram));
	memcpy(ram, data + 10, size - 10 < sizeof(ram) ? size - 10 : sizeof(ram));
	p.deflate_on_oom = data[0] & 1;
	p.stats_interval_s = (data[0] >> 1) & 1;
	p.reporting = (data[0] >> 2) & 1;
	gmem_init(&gm);
	gmem_add_hva(&gm, RAM_GPA, RAM_LEN, ram);
	if (virtio_balloon_create(&vdev, &gm, &p, &host))
		return 0;
	vdev->transport = t;
	/* the driver may leave features out: the queues are then numbered differently */
	fuzz_driver_start(vdev, vdev->host_features & ~((uint64_t)(data[0] >> 3) & 0x1f), RAM_GPA);
	vdev->ops->config_write(vdev, data[2] & 7, data + 2,
				1 + (data[2] >> 5) % (8 - (data[2] & 7)));
	/* kicks in an order the input names, twice round, with the held buffer returned between */
	for (unsigned i = 0; i < 8; i++)
		virtio_dev_kick(vdev, (data[1] >> (i % 4 * 2)) & 3);
	vdev->ops->sync(vdev);
	for (unsigned q = 0; q < 4; q++)
		virtio_dev_kick(vdev, q);
	vdev->ops->config_read(vdev, 0, cfg, sizeof(cfg));
	virtio_balloon_get_stats(vdev, &st);
	state_writer_init(&w);
	virtio_dev_save(vdev, &w);
	state_writer_free(&w);
	vdev->ops->destroy(vdev);
	gmem_destroy(&gm);
	return 0;
}
