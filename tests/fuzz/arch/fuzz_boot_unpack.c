/*
 * fuzz_boot_unpack.c — vmon's bzImage payload unpacker (kernel_unpack.c) over
 * arbitrary payload bytes: the input becomes the payload of a minimal bzImage
 * header (protocol 2.15), so the LZ4 block walk, zstd, zlib and the size
 * trailer checks all see hostile data; then boot_load() unpacks it straight
 * into a small guest (the ELF headers read first, the segments slid into
 * place, or the fallback to the kernel's decompressor). Outputs stated above
 * 8 MiB are only located, not unpacked, to keep each run short.
 */
#include <stdlib.h>
#include <string.h>

#include "arch/x86/boot.h"
#include "arch/x86/kernel_unpack.h"

#include "boot_fuzz.h"

#define SETUP_BYTES (5 * 512) /* setup_sects 4 */
#define OUT_MAX (8u << 20)

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t *out;
	struct kernel_payload p;
	uint8_t *k = malloc(SETUP_BYTES + size + 1); /* exact size: ASan sees any overread */
	char err[160];

	if (!out)
		out = malloc(OUT_MAX);
	if (!k || !out)
		abort();
	memset(k, 0, SETUP_BYTES);
	k[0x1F1] = 4; /* setup_sects */
	k[0x206] = 0x0F; /* protocol 2.15 */
	k[0x207] = 0x02;
	put32(k + 0x248, 0); /* payload_offset */
	put32(k + 0x24C, (uint32_t)size); /* payload_length */
	memcpy(k + SETUP_BYTES, data, size);
	if (!kernel_payload_find(k, SETUP_BYTES + size, &p, err, sizeof(err)) &&
	    p.unpacked_len <= OUT_MAX) {
		struct boot_fuzz f;
		struct x86_cpu_state st;
		enum boot_format bf;
		char note[160];
		struct boot_request req = {
			.nr_vcpus = 1, .unpack = true, .note = note, .note_len = sizeof(note)
		};

		kernel_unpack(&p, out, err, sizeof(err));
		kernel_unpack_head(&p, out, p.unpacked_len < 8192 ? p.unpacked_len : 8192, err,
				   sizeof(err));
		boot_fuzz_begin(&f, BOOT_FUZZ_SMALL_MEM, k, SETUP_BYTES + size);
		req.kernel = f.image;
		req.kernel_len = f.image_len;
		boot_load(&f.gm, &f.lo, &req, &st, &bf, NULL, err, sizeof(err));
		boot_fuzz_end(&f);
	}
	free(k);
	return 0;
}
