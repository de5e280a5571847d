/* test_kernel_unpack.c — bzImage payloads unpacked by vmon, and boot_load()'s PVH path with them.
 */
#include <errno.h>
#include <stdlib.h>

#include <asm/bootparam.h>
#include <lz4.h>
#include <zlib.h>
#include <zstd.h>

#include "arch/x86/boot.h"
#include "arch/x86/kernel_unpack.h"
#include "arch_test_util.h"
#include "harness.h"

#define MEM (64ull << 20)
#define PAYLOAD_OFF 0x100 /* payload_offset in the test images */

enum fmt { FMT_LZ4, FMT_ZSTD, FMT_GZIP };

static char err[256];

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* @in compressed as the kernel's build does for @f (with the size trailer). Caller frees. */
static uint8_t *pack(enum fmt f, const uint8_t *in, size_t in_len, size_t *out_len)
{
	size_t cap = in_len + 4096, n = 0;
	uint8_t *out = calloc(1, cap);

	if (!out)
		abort();
	if (f == FMT_LZ4) { /* legacy frame: magic, then (size, block) per 8 MiB */
		put32(out, 0x184C2102u);
		n = 4;
		for (size_t off = 0; off < in_len; off += 8u << 20) {
			size_t chunk = in_len - off < (8u << 20) ? in_len - off : (8u << 20);
			int c = LZ4_compress_default((const char *)in + off, (char *)out + n + 4,
						     (int)chunk, (int)(cap - n - 8));

			if (c <= 0)
				abort();
			put32(out + n, (uint32_t)c);
			n += 4 + (size_t)c;
		}
		put32(out + n, (uint32_t)in_len);
		n += 4;
	} else if (f == FMT_ZSTD) {
		n = ZSTD_compress(out, cap, in, in_len, 3);
		if (ZSTD_isError(n))
			abort();
		put32(out + n, (uint32_t)in_len);
		n += 4;
	} else { /* gzip's own trailer ends with ISIZE */
		z_stream zs = { 0 };

		if (deflateInit2(&zs, 9, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
			abort();
		zs.next_in = (Bytef *)in;
		zs.avail_in = (uInt)in_len;
		zs.next_out = out;
		zs.avail_out = (uInt)cap;
		if (deflate(&zs, Z_FINISH) != Z_STREAM_END)
			abort();
		n = zs.total_out;
		deflateEnd(&zs);
	}
	*out_len = n;
	return out;
}

/* A test bzImage whose payload (at PAYLOAD_OFF) is @payload. Caller frees. */
static uint8_t *bz_with_payload(const uint8_t *payload, size_t plen, size_t *len)
{
	uint8_t *k = test_bzimage(PAYLOAD_OFF + plen + 0x10, len);
	struct setup_header h = test_bz_hdr(k);

	h.payload_offset = PAYLOAD_OFF;
	h.payload_length = (uint32_t)plen;
	test_bz_set_hdr(k, &h);
	memcpy(k + TEST_BZ_SETUP_BYTES + PAYLOAD_OFF, payload, plen);
	return k;
}

/* The test PVH vmlinux, packed as @f into a bzImage. Caller frees. */
static uint8_t *packed_pvh(enum fmt f, size_t *len)
{
	size_t elen, plen;
	uint8_t *elf = test_pvh_elf(8, &elen), *p = pack(f, elf, elen, &plen);
	uint8_t *k = bz_with_payload(p, plen, len);

	free(elf);
	free(p);
	return k;
}

TEST(kernel_unpack_round_trips_lz4_zstd_and_gzip)
{
	static const char *names[] = { "LZ4", "zstd", "gzip" };
	size_t n = (9u << 20) + 12345; /* two LZ4 blocks */
	uint8_t *elf = malloc(n), *out = malloc(n);

	REQUIRE(elf && out);
	for (size_t i = 0; i < n; i++)
		elf[i] = (uint8_t)((i * 7) ^ (i >> 11));
	for (enum fmt f = FMT_LZ4; f <= FMT_GZIP; f++) {
		struct kernel_payload p;
		size_t plen, len;
		uint8_t *pl = pack(f, elf, n, &plen), *k = bz_with_payload(pl, plen, &len);

		CHECK_EQ(kernel_payload_find(k, len, &p, err, sizeof(err)), 0);
		CHECK(strcmp(p.format, names[f]) == 0);
		CHECK_EQ(p.supported, 1);
		CHECK_EQ(p.unpacked_len, n);
		memset(out, 0xAA, n);
		CHECK_EQ(kernel_unpack(&p, out, err, sizeof(err)), 0);
		CHECK(memcmp(out, elf, n) == 0);
		free(pl);
		free(k);
	}
	free(elf);
	free(out);
}

/* One way of breaking a good LZ4 image (payload at @p, @plen bytes). */
struct corruption {
	const char *what;
	int find_ret; /* kernel_payload_find() */
	int unpack_ret; /* kernel_unpack(), when found */
	void (*edit)(uint8_t *k, uint8_t *p, size_t plen);
};

static void hdr_edit(uint8_t *k, uint16_t version, uint32_t off, uint32_t len)
{
	struct setup_header h = test_bz_hdr(k);

	if (version)
		h.version = version;
	if (off)
		h.payload_offset = off;
	if (len)
		h.payload_length = len;
	test_bz_set_hdr(k, &h);
}
static void old_protocol(uint8_t *k, uint8_t *p, size_t plen)
{
	(void)p, (void)plen;
	hdr_edit(k, 0x0207, 0, 0);
}
static void offset_past_end(uint8_t *k, uint8_t *p, size_t plen)
{
	(void)p, (void)plen;
	hdr_edit(k, 0, 0x7fffffff, 0);
}
static void length_past_end(uint8_t *k, uint8_t *p, size_t plen)
{
	(void)p;
	hdr_edit(k, 0, 0, (uint32_t)plen + 0x1000);
}
static void unknown_magic(uint8_t *k, uint8_t *p, size_t plen)
{
	(void)k, (void)plen;
	memset(p, 0x77, 4);
}
static void xz_magic(uint8_t *k, uint8_t *p, size_t plen)
{
	(void)k, (void)plen;
	memcpy(p,
	       "\xFD"
	       "7zXZ\0",
	       6);
}
static void size_zero(uint8_t *k, uint8_t *p, size_t plen)
{
	(void)k;
	put32(p + plen - 4, 0);
}
static void size_huge(uint8_t *k, uint8_t *p, size_t plen)
{
	(void)k;
	put32(p + plen - 4, KERNEL_UNPACK_MAX_BYTES + 1);
}
static void size_short(uint8_t *k, uint8_t *p, size_t plen)
{
	(void)k;
	put32(p + plen - 4, 100);
}
static void size_long(uint8_t *k, uint8_t *p, size_t plen)
{
	(void)k;
	put32(p + plen - 4, 1u << 20);
}
static void block_past_end(uint8_t *k, uint8_t *p, size_t plen)
{
	(void)k;
	put32(p + 4, (uint32_t)plen);
}
static void block_zero(uint8_t *k, uint8_t *p, size_t plen)
{
	(void)k, (void)plen;
	put32(p + 4, 0);
}
static void garbage_block(uint8_t *k, uint8_t *p, size_t plen)
{
	(void)k;
	memset(p + 8, 0xFF, plen - 12);
}
static void cut_short(uint8_t *k, uint8_t *p, size_t plen)
{
	/* the payload ends in the middle of the block; its last 4 bytes read as the size */
	hdr_edit(k, 0, 0, (uint32_t)(plen / 2));
	put32(p + plen / 2 - 4, 0x3000);
}

TEST(kernel_unpack_refuses_broken_images)
{
	static const struct corruption cases[] = {
		{ "protocol 2.07", -ENOEXEC, 0, old_protocol },
		{ "payload offset past the end", -ENOEXEC, 0, offset_past_end },
		{ "payload length past the end", -ENOEXEC, 0, length_past_end },
		{ "unknown compression", -ENOEXEC, 0, unknown_magic },
		{ "xz (left to the guest)", 0, -ENOTSUP, xz_magic },
		{ "stated size 0", -E2BIG, 0, size_zero },
		{ "stated size above the maximum", -E2BIG, 0, size_huge },
		{ "stated size shorter than the data", 0, -EINVAL, size_short },
		{ "stated size longer than the data", 0, -EINVAL, size_long },
		{ "LZ4 block longer than the payload", 0, -EINVAL, block_past_end },
		{ "LZ4 block of 0 bytes", 0, -EINVAL, block_zero },
		{ "LZ4 block of garbage", 0, -EINVAL, garbage_block },
		{ "payload cut in a block", 0, -EINVAL, cut_short },
	};
	uint8_t elf[0x3000];

	for (size_t i = 0; i < sizeof(elf); i++)
		elf[i] = (uint8_t)(i % 251);
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		struct kernel_payload p;
		size_t plen, len;
		uint8_t *pl = pack(FMT_LZ4, elf, sizeof(elf), &plen);
		uint8_t *k = bz_with_payload(pl, plen, &len);
		uint8_t *out = calloc(1, 1u << 20);
		int ret;

		REQUIRE(out);
		cases[c].edit(k, k + TEST_BZ_SETUP_BYTES + PAYLOAD_OFF, plen);
		ret = kernel_payload_find(k, len, &p, err, sizeof(err));
		if (ret != cases[c].find_ret)
			printf("# case '%s': find %d (%s)\n", cases[c].what, ret, err);
		CHECK_EQ(ret, cases[c].find_ret);
		if (!ret) {
			REQUIRE(p.unpacked_len <= (1u << 20));
			ret = kernel_unpack(&p, out, err, sizeof(err));
			if (ret != cases[c].unpack_ret)
				printf("# case '%s': unpack %d (%s)\n", cases[c].what, ret, err);
			CHECK_EQ(ret, cases[c].unpack_ret);
		}
		free(out);
		free(pl);
		free(k);
	}
}

TEST(boot_unpacks_a_bzimage_and_enters_its_vmlinux_through_pvh)
{
	for (enum fmt f = FMT_LZ4; f <= FMT_GZIP; f++) {
		struct gmem gm;
		struct layout lo;
		struct x86_cpu_state st;
		enum boot_format bf;
		char note[128] = "";
		size_t len, elen;
		uint8_t *k = packed_pvh(f, &len), *elf = test_pvh_elf(8, &elen), initrd[5000];
		struct boot_request req = { .kernel = k,
					    .kernel_len = len,
					    .initrd = initrd,
					    .initrd_len = sizeof(initrd),
					    .nr_vcpus = 1,
					    .unpack = true,
					    .note = note,
					    .note_len = sizeof(note) };
		const uint8_t *s;

		memset(initrd, 0x5A, sizeof(initrd));
		REQUIRE(test_guest(&gm, &lo, MEM) == 0);
		REQUIRE(boot_load(&gm, &lo, &req, &st, &bf, NULL, err, sizeof(err)) == 0);
		CHECK_EQ(bf, BOOT_FORMAT_BZIMAGE_UNPACKED);
		CHECK_EQ(note[0], 0);
		CHECK_EQ(st.rip, TEST_PVH_ENTRY); /* the vmlinux's PVH entry, not startup_64 */
		CHECK(memcmp(gmem_ptr(&gm, 0x200000, 0x100), elf + 0x200, 0x100) == 0);
		/* the initrd is where pvh_load puts it, and the scratch space is zero again */
		CHECK(memcmp(gmem_ptr(&gm, (lo.low_ram_end - sizeof(initrd)) & ~0xfffull, 16),
			     initrd, 16) == 0);
		/* the ELF headers unpacked below the segment are gone again */
		s = gmem_ptr(&gm, 0x200000 - 0x200, 0x200);
		REQUIRE(s);
		for (size_t i = 0; i < 0x200; i++)
			if (s[i]) {
				CHECK(!"unpacked header byte left in guest RAM");
				break;
			}
		free(k);
		free(elf);
		gmem_destroy(&gm);
	}
}

TEST(boot_takes_the_usual_bzimage_path_when_unpacking_cannot_serve)
{
	struct gmem gm;
	struct layout lo;
	struct x86_cpu_state st;
	enum boot_format bf;
	char note[128];
	size_t len, plen;
	uint8_t junk[0x2000], *pl, *k;
	struct boot_request req = {
		.nr_vcpus = 1, .unpack = true, .note = note, .note_len = sizeof(note)
	};

	REQUIRE(test_guest(&gm, &lo, MEM) == 0);
	/* an unpacked kernel without a PVH entry note */
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (uint8_t)i;
	pl = pack(FMT_ZSTD, junk, sizeof(junk), &plen);
	k = bz_with_payload(pl, plen, &len);
	req.kernel = k;
	req.kernel_len = len;
	note[0] = 0;
	REQUIRE(boot_load(&gm, &lo, &req, &st, &bf, NULL, err, sizeof(err)) == 0);
	CHECK_EQ(bf, BOOT_FORMAT_BZIMAGE);
	CHECK(strstr(note, "not an ELF64 vmlinux") != NULL);
	/* a compression vmon leaves to the guest */
	memcpy(k + TEST_BZ_SETUP_BYTES + PAYLOAD_OFF,
	       "\xFD"
	       "7zXZ\0",
	       6);
	note[0] = 0;
	REQUIRE(boot_load(&gm, &lo, &req, &st, &bf, NULL, err, sizeof(err)) == 0);
	CHECK_EQ(bf, BOOT_FORMAT_BZIMAGE);
	CHECK(strstr(note, "xz") != NULL);
	free(k);
	free(pl);
	/* without --unpack-kernel: a good packed vmlinux, but not unpacked */
	k = packed_pvh(FMT_LZ4, &len);
	req.kernel = k;
	req.kernel_len = len;
	req.unpack = false;
	note[0] = 0;
	REQUIRE(boot_load(&gm, &lo, &req, &st, &bf, NULL, err, sizeof(err)) == 0);
	CHECK_EQ(bf, BOOT_FORMAT_BZIMAGE);
	CHECK_EQ(note[0], 0);
	free(k);
	gmem_destroy(&gm);
}

/*
 * A vmlinux laid out as Linux's: segments in file order, the later ones packed
 * closer in memory than in the file (.data..percpu), a bss, the PVH note inside
 * the first segment, relocations after the last one. Junk (0xEE) fills the
 * file's gaps. @swap puts the second segment below the first in memory.
 */
#define LIN_LEN 0x8000
static uint8_t *linux_like_elf(bool swap)
{
	static const struct {
		uint64_t off, paddr, filesz, memsz;
	} seg[3] = { { 0x1000, 0x400000, 0x1800, 0x1800 },
		     { 0x3000, 0x402000, 0x1000, 0x1000 },
		     { 0x5000, 0x403000, 0x2000, 0x3000 } };
	uint8_t *k = malloc(LIN_LEN);
	Elf64_Ehdr eh;
	Elf64_Phdr ph[4] = { { 0 } };
	uint32_t note[3] = { 4, 4, 18 }, entry = 0x400010;

	REQUIRE(k);
	memset(k, 0xEE, LIN_LEN);
	test_elf64_ehdr(&eh, 0xffffffff80400000ull, 4);
	for (unsigned i = 0; i < 3; i++) {
		ph[i].p_type = PT_LOAD;
		ph[i].p_offset = seg[i].off;
		ph[i].p_paddr = seg[i].paddr;
		ph[i].p_vaddr = 0xffffffff80000000ull + seg[i].paddr;
		ph[i].p_filesz = seg[i].filesz;
		ph[i].p_memsz = seg[i].memsz;
		for (uint64_t j = 0; j < seg[i].filesz; j++)
			k[seg[i].off + j] = (uint8_t)(i * 0x40 + j % 61 + 1);
	}
	if (swap) { /* the second segment below the first */
		ph[1].p_paddr = 0x300000;
		ph[1].p_vaddr = 0xffffffff80300000ull;
	}
	ph[3].p_type = PT_NOTE;
	ph[3].p_offset = 0x1100;
	ph[3].p_filesz = 20;
	memcpy(k, &eh, sizeof(eh));
	memcpy(k + sizeof(eh), ph, sizeof(ph));
	memcpy(k + 0x1100, note, sizeof(note));
	memcpy(k + 0x110C, "Xen", 4);
	memcpy(k + 0x1110, &entry, 4);
	return k;
}

static bool guest_zero(struct gmem *gm, uint64_t from, uint64_t to)
{
	const uint8_t *g = gmem_ptr(gm, from, to - from);

	for (uint64_t i = 0; g && i < to - from; i++)
		if (g[i])
			return false;
	return g != NULL;
}

/* boot_load() with unpacking of linux_like_elf(@swap) packed as @f into a fresh 64 MiB guest. */
static enum boot_format boot_linux_like(enum fmt f, bool swap, struct gmem *gm,
					struct x86_cpu_state *st, char *note, size_t note_len)
{
	struct layout lo;
	enum boot_format bf;
	size_t plen, len;
	uint8_t *elf = linux_like_elf(swap), *pl = pack(f, elf, LIN_LEN, &plen),
		*k = bz_with_payload(pl, plen, &len);
	struct boot_request req = { .kernel = k,
				    .kernel_len = len,
				    .nr_vcpus = 1,
				    .unpack = true,
				    .note = note,
				    .note_len = note_len };

	note[0] = 0;
	REQUIRE(test_guest(gm, &lo, MEM) == 0);
	REQUIRE(boot_load(gm, &lo, &req, st, &bf, NULL, err, sizeof(err)) == 0);
	free(elf);
	free(pl);
	free(k);
	return bf;
}

TEST(boot_unpack_slides_linux_segments_into_place_and_clears_the_rest)
{
	uint8_t *elf = linux_like_elf(false);

	for (enum fmt f = FMT_LZ4; f <= FMT_GZIP; f++) {
		struct gmem gm;
		struct x86_cpu_state st;
		char note[128];

		CHECK_EQ(boot_linux_like(f, false, &gm, &st, note, sizeof(note)),
			 BOOT_FORMAT_BZIMAGE_UNPACKED);
		CHECK_EQ(st.rip, 0x400010);
		/* unpacked at 0x3ff000: the first two segments stay, the third slides 4 KiB */
		CHECK(memcmp(gmem_ptr(&gm, 0x400000, 0x1800), elf + 0x1000, 0x1800) == 0);
		CHECK(memcmp(gmem_ptr(&gm, 0x402000, 0x1000), elf + 0x3000, 0x1000) == 0);
		CHECK(memcmp(gmem_ptr(&gm, 0x403000, 0x2000), elf + 0x5000, 0x2000) == 0);
		CHECK(guest_zero(&gm, 0x405000, 0x406000)); /* bss */
		/* headers, the gap after the first segment, the relocations: zero again */
		CHECK(guest_zero(&gm, 0x3ff000, 0x400000));
		CHECK(guest_zero(&gm, 0x401800, 0x402000));
		CHECK(guest_zero(&gm, 0x406000, 0x3ff000 + LIN_LEN));
		gmem_destroy(&gm);
	}
	free(elf);
}

TEST(boot_unpack_refuses_segments_it_cannot_slide_in_place)
{
	struct gmem gm;
	struct x86_cpu_state st;
	char note[128];

	/* the kernel's own decompressor instead */
	CHECK_EQ(boot_linux_like(FMT_LZ4, true, &gm, &st, note, sizeof(note)), BOOT_FORMAT_BZIMAGE);
	CHECK(strstr(note, "cannot be moved in place") != NULL);
	/* nothing of the attempt is left where it was unpacked (0x3ff000 + file) */
	CHECK(guest_zero(&gm, 0x3ff000 + 0x1000, 0x3ff000 + LIN_LEN));
	gmem_destroy(&gm);
}

// clang-format off
HARNESS_MAIN(
	HARNESS_T(kernel_unpack_round_trips_lz4_zstd_and_gzip)
	HARNESS_T(kernel_unpack_refuses_broken_images)
	HARNESS_T(boot_unpacks_a_bzimage_and_enters_its_vmlinux_through_pvh)
	HARNESS_T(boot_takes_the_usual_bzimage_path_when_unpacking_cannot_serve)
	HARNESS_T(boot_unpack_slides_linux_segments_into_place_and_clears_the_rest)
	HARNESS_T(boot_unpack_refuses_segments_it_cannot_slide_in_place)
)
// clang-format on
