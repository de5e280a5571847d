/*
 * fuzz_virtio_class.c — the queues of every device of the class table
 * (virtio/virtio_class.h: entropy, the echo test device). Input: 1 byte
 * naming the class, 1 byte of features the driver leaves out, then guest RAM
 * holding queue 0's rings (16 entries) and the buffers. Each device is kicked
 * twice, saved, and destroyed.
 */
#include <stdint.h>
#include <string.h>

#include "base/state.h"
#include "fuzz_driver.h"
#include "mem/gmem.h"
#include "util/log.h"
#include "virtio/virtio_class.h"

#define RAM_GPA 0x10000ull
#define RAM_LEN 0x10000ull

static uint8_t ram[RAM_LEN] __attribute__((aligned(4096)));

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct virtio_class *cls;
	struct virtio_dev *vdev;
	struct state_writer w;
	struct gmem gm;

	log_set_level(LOG_ERROR); /* guest-mistake warnings would flood the fuzzer's output */
	if (size < 2)
		return 0;
	cls = virtio_class_at(data[0] % VIRTIO_NR_CLASSES);
	memset(ram, 0, sizeof(ram));
	memcpy(ram, data + 2, size - 2 < sizeof(ram) ? size - 2 : sizeof(ram));
	gmem_init(&gm);
	gmem_add_hva(&gm, RAM_GPA, RAM_LEN, ram);
	if (cls->create(&vdev, &gm)) {
		gmem_destroy(&gm);
		return 0;
	}
	fuzz_driver_start(vdev, vdev->host_features & ~((uint64_t)data[1] << 28), RAM_GPA);
	virtio_dev_kick(vdev, 0);
	virtio_dev_kick(vdev, 0);
	state_writer_init(&w);
	virtio_dev_save(vdev, &w);
	state_writer_free(&w);
	vdev->ops->destroy(vdev);
	gmem_destroy(&gm);
	return 0;
}
