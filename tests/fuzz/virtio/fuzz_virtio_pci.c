/*
 * fuzz_virtio_pci.c — PCI config space (CF8/CFC, ECAM) and virtio-pci BAR
 * register access sequences against a console and an rng device, with guest
 * RAM the queues may point into. Input: a list of 12-byte operations
 * {kind, size, offset u16, value u64}, then the fake platform's event loop
 * runs after each one.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"

#include "bus/bus.h"
#include "bus/pci.h"
#include "unit/virtio/fake_platform.h"
#include "backends/chardev_buffer.h"
#include "virtio/virtio_console.h"
#include "virtio/virtio_pci.h"
#include "virtio/virtio_rng.h"

#define RAM_GPA 0x0ull
#define RAM_LEN 0x10000ull

static uint8_t ram[RAM_LEN] __attribute__((aligned(4096)));

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct chardev_buffer *cb = chardev_buffer_create(256, 256);
	static struct fake_platform fp;
	struct bus pio, mmio;
	struct pci_bus pb;
	struct gmem gm;
	struct virtio_dev *con, *rng;
	struct virtio_pci *vp_con, *vp_rng;
	uint64_t bars[2];

	log_set_level(LOG_ERROR); /* guest-mistake warnings would flood the fuzzer's output */
	memset(ram, 0, sizeof(ram));
	fp_init(&fp);
	if (size && (data[0] & 0x80))
		fp.plat.fd_watch = NULL; /* notifications handled inline */
	gmem_init(&gm);
	gmem_add_hva(&gm, RAM_GPA, RAM_LEN, ram);
	bus_init(&pio, "pio");
	bus_init(&mmio, "mmio");
	if (pci_bus_init(&pb, &pio, &mmio, &fp.plat, NULL, NULL))
		abort();
	if (virtio_console_create(&con, &gm, chardev_buffer_chardev(cb)) ||
	    virtio_pci_create(&vp_con, &pb, 1, con))
		abort();
	if (virtio_rng_create(&rng, &gm) || virtio_pci_create(&vp_rng, &pb, 2, rng))
		abort();
	bars[0] = pci_config_read(&vp_con->pdev, 0x10, 4) & ~0xfull;
	bars[1] = pci_config_read(&vp_rng->pdev, 0x10, 4) & ~0xfull;
	pci_config_write(&vp_con->pdev, 4, 2, 2);
	pci_config_write(&vp_rng->pdev, 4, 2, 2);
	for (size_t i = 1; i + 12 <= size; i += 12) {
		const uint8_t *op = data + i;
		unsigned size_b = 1u << (op[1] & 3);
		uint64_t off = op[2] | (uint64_t)op[3] << 8;
		uint64_t val, out;

		memcpy(&val, op + 4, 8);
		switch (op[0] % 8) {
		case 0:
			bus_write(&mmio, PCI_ECAM_BASE + (((op[1] >> 2) & 3) << 15) + (off & 0xfff),
				  &val, size_b);
			break;
		case 1:
			bus_read(&mmio, PCI_ECAM_BASE + (((op[1] >> 2) & 3) << 15) + (off & 0xfff),
				 &out, size_b);
			break;
		case 2:
			bus_write(&pio, 0xcf8 + (off & 7), &val, size_b);
			break;
		case 3:
			bus_read(&pio, 0xcf8 + (off & 7), &out, size_b);
			break;
		case 4:
		case 5:
			bus_write(&mmio, bars[(op[1] >> 2) & 1] + (off % VIRTIO_PCI_BAR_SIZE), &val,
				  size_b);
			break;
		case 6:
			bus_read(&mmio, bars[(op[1] >> 2) & 1] + (off % VIRTIO_PCI_BAR_SIZE), &out,
				 size_b);
			break;
		default:
			/* guest memory write: queues and buffers change under the device */
			memcpy(ram + (off & (RAM_LEN - 8)), &val, 8);
			if (op[1] & 4)
				chardev_buffer_push(cb, op + 4, 8);
			break;
		}
		fp_run(&fp);
	}
	virtio_pci_destroy(vp_con);
	virtio_pci_destroy(vp_rng);
	pci_bus_destroy(&pb);
	bus_destroy(&pio);
	bus_destroy(&mmio);
	gmem_destroy(&gm);
	chardev_destroy(chardev_buffer_chardev(cb));
	return 0;
}
