/* kernel_unpack.c — a bzImage's compressed payload, unpacked by vmon (see kernel_unpack.h). */
#include <errno.h>
#include <string.h>

#define ZLIB_CONST /* zlib: next_in is const */
#include <lz4.h>
#include <zlib.h>
#include <zstd.h>

#include "arch/x86/arch_err.h"
#include "arch/x86/boot_bzimage.h"
#include "arch/x86/kernel_unpack.h"

/* Setup header fields (Documentation/arch/x86/boot.rst). */
#define HDR_SETUP_SECTS 0x1F1
#define HDR_VERSION 0x206
#define HDR_PAYLOAD_OFFSET 0x248
#define HDR_PAYLOAD_LENGTH 0x24C
#define HDR_END 0x250

/* The kernel's LZ4 frame: this magic, then blocks of (32-bit size, data), each unpacking to <= 8
 * MiB. */
#define LZ4_LEGACY_MAGIC 0x184C2102u
#define LZ4_LEGACY_BLOCK (8u << 20)

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static const struct {
	uint8_t magic[6];
	size_t magic_len;
	const char *name;
	int supported;
} formats[] = {
	{ { 0x02, 0x21, 0x4C, 0x18 }, 4, "LZ4", 1 },
	{ { 0x28, 0xB5, 0x2F, 0xFD }, 4, "zstd", 1 },
	{ { 0x1F, 0x8B }, 2, "gzip", 1 },
	{ { 0xFD, '7', 'z', 'X', 'Z', 0x00 }, 6, "xz", 0 },
	{ { 0x5D, 0x00, 0x00 }, 3, "lzma", 0 },
	{ { 0x89, 'L', 'Z', 'O' }, 4, "lzo", 0 },
	{ { 'B', 'Z', 'h' }, 3, "bzip2", 0 },
};

int kernel_payload_find(const uint8_t *k, size_t len, struct kernel_payload *p, char *err,
			size_t err_len)
{
	uint64_t off, plen;

	memset(p, 0, sizeof(*p));
	if (len < HDR_END)
		return arch_err(err, err_len, -ENOEXEC,
				"unpack: image shorter than its setup header");
	if ((k[HDR_VERSION] | k[HDR_VERSION + 1] << 8) < 0x0208)
		return arch_err(err, err_len, -ENOEXEC,
				"unpack: boot protocol before 2.08 describes no payload");
	off = bzimage_setup_bytes(k[HDR_SETUP_SECTS]) + le32(k + HDR_PAYLOAD_OFFSET);
	plen = le32(k + HDR_PAYLOAD_LENGTH);
	if (plen < 8 || off > len || plen > len - off)
		return arch_err(
			err, err_len, -ENOEXEC,
			"unpack: payload (offset %llu, %llu bytes) is not inside the %zu-byte "
			"image",
			(unsigned long long)off, (unsigned long long)plen, len);
	p->data = k + off;
	p->len = (size_t)plen;
	p->unpacked_len = le32(p->data + p->len - 4);
	for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
		if (p->len >= formats[i].magic_len &&
		    !memcmp(p->data, formats[i].magic, formats[i].magic_len)) {
			p->format = formats[i].name;
			p->supported = formats[i].supported;
			break;
		}
	}
	if (!p->format)
		return arch_err(err, err_len, -ENOEXEC, "unpack: unknown payload compression");
	if (p->unpacked_len == 0 || p->unpacked_len > KERNEL_UNPACK_MAX_BYTES)
		return arch_err(err, err_len, -E2BIG,
				"unpack: stated unpacked size %zu is out of range",
				p->unpacked_len);
	return 0;
}

static int unpack_lz4(const struct kernel_payload *p, uint8_t *out, char *err, size_t err_len)
{
	const uint8_t *in = p->data + 4, *end = p->data + p->len - 4; /* magic, trailer */
	size_t done = 0;

	while (in < end) {
		uint32_t n;
		int got;

		if ((size_t)(end - in) < 4)
			return arch_err(err, err_len, -EINVAL,
					"unpack: LZ4 block header truncated");
		n = le32(in);
		in += 4;
		if (n == LZ4_LEGACY_MAGIC) /* frames may follow one another */
			continue;
		if (n == 0 || n > (size_t)(end - in) ||
		    n > (uint32_t)LZ4_compressBound(LZ4_LEGACY_BLOCK))
			return arch_err(err, err_len, -EINVAL,
					"unpack: LZ4 block of %u bytes does not fit the payload",
					n);
		if (done == p->unpacked_len)
			return arch_err(err, err_len, -EINVAL,
					"unpack: LZ4 data beyond the stated %zu bytes",
					p->unpacked_len);
		{
			size_t room = p->unpacked_len - done;

			got = LZ4_decompress_safe(
				(const char *)in, (char *)out + done, (int)n,
				(int)(room < LZ4_LEGACY_BLOCK ? room : LZ4_LEGACY_BLOCK));
		}
		if (got <= 0)
			return arch_err(err, err_len, -EINVAL, "unpack: corrupt LZ4 block at %zu",
					(size_t)(in - p->data));
		done += (size_t)got;
		in += n;
	}
	if (done != p->unpacked_len)
		return arch_err(err, err_len, -EINVAL,
				"unpack: LZ4 gave %zu bytes, the trailer says %zu", done,
				p->unpacked_len);
	return 0;
}

static int unpack_zstd(const struct kernel_payload *p, uint8_t *out, char *err, size_t err_len)
{
	size_t got = ZSTD_decompress(out, p->unpacked_len, p->data, p->len - 4);

	if (ZSTD_isError(got))
		return arch_err(err, err_len, -EINVAL, "unpack: zstd: %s", ZSTD_getErrorName(got));
	if (got != p->unpacked_len)
		return arch_err(err, err_len, -EINVAL,
				"unpack: zstd gave %zu bytes, the trailer says %zu", got,
				p->unpacked_len);
	return 0;
}

static int unpack_gzip(const struct kernel_payload *p, uint8_t *out, char *err, size_t err_len)
{
	z_stream zs;
	int rc;

	memset(&zs, 0, sizeof(zs));
	if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK)
		return arch_err(err, err_len, -ENOMEM, "unpack: zlib init failed");
	zs.next_in = p->data;
	zs.avail_in = (uInt)p->len;
	zs.next_out = out;
	zs.avail_out = (uInt)p->unpacked_len;
	rc = inflate(&zs, Z_FINISH);
	inflateEnd(&zs);
	if (rc != Z_STREAM_END)
		return arch_err(err, err_len, -EINVAL, "unpack: gzip: %s",
				rc == Z_BUF_ERROR ? "more data than the stated size, or truncated"
						  : (zs.msg ? zs.msg : "corrupt stream"));
	if (zs.total_out != p->unpacked_len)
		return arch_err(err, err_len, -EINVAL,
				"unpack: gzip gave %lu bytes, the trailer says %zu", zs.total_out,
				p->unpacked_len);
	return 0;
}

/* The first @n bytes of the first LZ4 block (every block starts a fresh dictionary). */
static int head_lz4(const struct kernel_payload *p, uint8_t *out, size_t n)
{
	const uint8_t *in = p->data + 4, *end = p->data + p->len - 4;
	uint32_t blk;

	if (p->len < 12)
		return -EINVAL;
	blk = le32(in);
	in += 4;
	if (blk == 0 || blk > (size_t)(end - in))
		return -EINVAL;
	return LZ4_decompress_safe_partial((const char *)in, (char *)out, (int)blk, (int)n,
					   (int)n) == (int)n
		       ? 0
		       : -EINVAL;
}

static int head_zstd(const struct kernel_payload *p, uint8_t *out, size_t n)
{
	ZSTD_DStream *ds = ZSTD_createDStream();
	ZSTD_inBuffer in = { p->data, p->len - 4, 0 };
	ZSTD_outBuffer ob = { out, n, 0 };
	int ret = -EINVAL;

	if (!ds)
		return -ENOMEM;
	while (ob.pos < n) {
		size_t in_was = in.pos, out_was = ob.pos;
		size_t rc = ZSTD_decompressStream(ds, &ob, &in);

		if (ZSTD_isError(rc) || rc == 0 || (in.pos == in_was && ob.pos == out_was))
			break; /* corrupt, the frame ended, or no progress */
	}
	if (ob.pos == n)
		ret = 0;
	ZSTD_freeDStream(ds);
	return ret;
}

static int head_gzip(const struct kernel_payload *p, uint8_t *out, size_t n)
{
	z_stream zs;
	int rc;

	memset(&zs, 0, sizeof(zs));
	if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK)
		return -ENOMEM;
	zs.next_in = p->data;
	zs.avail_in = (uInt)p->len;
	zs.next_out = out;
	zs.avail_out = (uInt)n;
	rc = inflate(&zs, Z_SYNC_FLUSH);
	inflateEnd(&zs);
	return (rc == Z_OK || rc == Z_STREAM_END || rc == Z_BUF_ERROR) && zs.total_out == n
		       ? 0
		       : -EINVAL;
}

int kernel_unpack_head(const struct kernel_payload *p, uint8_t *out, size_t n, char *err,
		       size_t err_len)
{
	int ret;

	if (!p->supported)
		return arch_err(err, err_len, -ENOTSUP, "unpack: %s payloads are left to the guest",
				p->format ? p->format : "unknown");
	if (n > p->unpacked_len || n > LZ4_LEGACY_BLOCK)
		return arch_err(err, err_len, -EINVAL, "unpack: %zu head bytes asked of %zu", n,
				p->unpacked_len);
	if (!strcmp(p->format, "LZ4"))
		ret = head_lz4(p, out, n);
	else if (!strcmp(p->format, "zstd"))
		ret = head_zstd(p, out, n);
	else
		ret = head_gzip(p, out, n);
	if (ret)
		return arch_err(err, err_len, ret,
				"unpack: the first %zu bytes of the %s payload "
				"do not unpack",
				n, p->format);
	return 0;
}

int kernel_unpack(const struct kernel_payload *p, uint8_t *out, char *err, size_t err_len)
{
	if (!p->supported)
		return arch_err(err, err_len, -ENOTSUP, "unpack: %s payloads are left to the guest",
				p->format ? p->format : "unknown");
	if (!strcmp(p->format, "LZ4"))
		return unpack_lz4(p, out, err, err_len);
	if (!strcmp(p->format, "zstd"))
		return unpack_zstd(p, out, err, err_len);
	return unpack_gzip(p, out, err, err_len);
}
