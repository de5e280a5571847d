/*
 * fuzz_virtq.c — the split-ring walk against arbitrary rings. Input: 4 bytes
 * of settings (queue size log2, feature bits, starting last_avail_idx), then
 * the contents of guest RAM (two adjacent regions, then a hole) holding the
 * descriptor table, avail and used rings and buffers. Both ends of every
 * popped segment are read and written so that ASan sees any pointer outside RAM.
 */
#include <stdint.h>
#include <string.h>

#include "util/log.h"

#include "mem/gmem.h"
#include "virtio/virtqueue.h"

#define RAM0_GPA 0x10000ull
#define RAM0_LEN 0x10000ull
#define RAM1_GPA 0x20000ull /* adjacent to RAM0: buffers may span both */
#define RAM1_LEN 0x1000ull

static uint8_t ram0[RAM0_LEN] __attribute__((aligned(4096)));
static uint8_t ram1[RAM1_LEN] __attribute__((aligned(4096)));
static struct virtq_elem elem;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gmem gm;
	struct virtq vq = { 0 };
	size_t n;

	log_set_level(LOG_ERROR); /* guest-mistake warnings would flood the fuzzer's output */
	if (size < 4)
		return 0;
	memset(ram0, 0, sizeof(ram0));
	memset(ram1, 0, sizeof(ram1));
	n = size - 4 < sizeof(ram0) ? size - 4 : sizeof(ram0);
	memcpy(ram0, data + 4, n);
	if (size - 4 > sizeof(ram0))
		memcpy(ram1, data + 4 + sizeof(ram0),
		       size - 4 - sizeof(ram0) < sizeof(ram1) ? size - 4 - sizeof(ram0)
							      : sizeof(ram1));
	gmem_init(&gm);
	gmem_add_hva(&gm, RAM0_GPA, RAM0_LEN, ram0);
	gmem_add_hva(&gm, RAM1_GPA, RAM1_LEN, ram1);
	vq.name = "fuzz";
	virtq_init(&vq, &gm, 256);
	vq.size = (uint16_t)(1u << (data[0] % 9));
	vq.indirect = data[1] & 1;
	vq.event_idx = data[1] & 2;
	vq.desc_gpa = RAM0_GPA;
	vq.avail_gpa = RAM0_GPA + 0x1000;
	vq.used_gpa = RAM0_GPA + 0x2000;
	if (data[1] & 4)
		vq.used_gpa = RAM1_GPA + 0x800; /* partly outside for big queues */
	vq.enabled = true;
	vq.last_avail_idx = (uint16_t)(data[2] | data[3] << 8);
	vq.used_idx = vq.last_avail_idx;
	for (unsigned i = 0; i < 300; i++) {
		int rc = virtq_pop(&vq, &elem);
		uint32_t sum = 0;

		if (rc <= 0)
			break;
		/* A segment is one contiguous host range: touching both ends lets ASan
		 * see any pointer outside RAM without copying gigabytes per input. */
		for (unsigned s = 0; s < elem.out_num; s++) {
			const volatile uint8_t *p = elem.iov[s].iov_base;

			sum += p[0] + p[elem.iov[s].iov_len - 1];
		}
		for (unsigned s = elem.out_num; s < elem.out_num + elem.in_num; s++) {
			volatile uint8_t *p = elem.iov[s].iov_base;

			p[0] = (uint8_t)sum;
			p[elem.iov[s].iov_len - 1] = (uint8_t)sum;
		}
		if (virtq_push(&vq, elem.head, (uint32_t)elem.in_len))
			break;
		(void)virtq_should_notify(&vq);
		virtq_publish_avail_event(&vq);
	}
	gmem_destroy(&gm);
	return 0;
}
