/*
 * fuzz_virtio_mmio.c — virtio-mmio register access sequences against a
 * console and an rng device side by side on one MMIO bus, with guest RAM the
 * queues may point into. Input: a first byte of flags (0x80: no event loop,
 * notifications run inline), then 12-byte operations {kind, size, offset u16,
 * value u64}; the fake platform's event loop runs after each one.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"

#include "backends/chardev_buffer.h"
#include "bus/bus.h"
#include "unit/virtio/fake_platform.h"
#include "virtio/virtio_console.h"
#include "virtio/virtio_mmio.h"
#include "virtio/virtio_rng.h"

#define RAM_GPA 0x0ull
#define RAM_LEN 0x10000ull
#define WIN_GPA 0xf0000000ull

static uint8_t ram[RAM_LEN] __attribute__((aligned(4096)));

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct chardev_buffer *cb = chardev_buffer_create(256, 256);
	static struct fake_platform fp;
	struct virtio_mmio *vm_con, *vm_rng;
	struct virtio_dev *con, *rng;
	struct bus mmio;
	struct gmem gm;

	log_set_level(LOG_ERROR); /* guest-mistake warnings would flood the fuzzer's output */
	memset(ram, 0, sizeof(ram));
	fp_init(&fp);
	if (size && (data[0] & 0x80))
		fp.plat.fd_watch = NULL;
	gmem_init(&gm);
	gmem_add_hva(&gm, RAM_GPA, RAM_LEN, ram);
	bus_init(&mmio, "mmio");
	if (virtio_console_create(&con, &gm, chardev_buffer_chardev(cb)) ||
	    virtio_mmio_create(&vm_con, &mmio, &fp.plat, 0, WIN_GPA, 16, con))
		abort();
	if (virtio_rng_create(&rng, &gm) ||
	    virtio_mmio_create(&vm_rng, &mmio, &fp.plat, 1, WIN_GPA + VIRTIO_MMIO_WINDOW, 17, rng))
		abort();
	for (size_t i = 1; i + 12 <= size; i += 12) {
		const uint8_t *op = data + i;
		unsigned size_b = 1u << (op[1] & 3);
		uint64_t off = (op[2] | (uint64_t)op[3] << 8) % (2 * VIRTIO_MMIO_WINDOW + 8);
		uint64_t val, out;

		memcpy(&val, op + 4, 8);
		switch (op[0] % 4) {
		case 0:
			/* mostly the aligned 32-bit accesses a driver makes */
			bus_write(&mmio, WIN_GPA + (off & ~3ull), &val, 4);
			break;
		case 1:
			bus_write(&mmio, WIN_GPA + off, &val, size_b);
			break;
		case 2:
			bus_read(&mmio, WIN_GPA + off, &out, size_b);
			break;
		default:
			/* guest memory write: queues and buffers change under the device */
			memcpy(ram + (off & (RAM_LEN - 8)), &val, 8);
			if (op[1] & 4)
				chardev_buffer_push(cb, op + 4, 8);
			if (op[1] & 8) /* a kick that an ioeventfd caught */
				fp_ioeventfd_hit_value(
					&fp, WIN_GPA + (op[1] & 16 ? VIRTIO_MMIO_WINDOW : 0) + 0x50,
					4, op[4] & 1);
			break;
		}
		fp_run(&fp);
	}
	virtio_mmio_destroy(vm_con);
	virtio_mmio_destroy(vm_rng);
	bus_destroy(&mmio);
	gmem_destroy(&gm);
	chardev_destroy(chardev_buffer_chardev(cb));
	return 0;
}
