/*
 * kernel_unpack.h — unpacking a bzImage's compressed kernel in vmon itself.
 *
 * A bzImage carries the kernel (an ELF vmlinux, plus its relocations) as a
 * compressed payload that the kernel's own decompressor unpacks inside the
 * guest before Linux starts. By default (`vmon run --no-unpack-kernel` turns
 * it off) vmon does that work itself and enters the ELF through PVH (boot.c),
 * as Firecracker and Cloud Hypervisor boot a vmlinux: the payload is unpacked
 * straight into guest RAM where the segments slide into place, so the guest
 * skips its decompressor, its copies and its relocation pass — about 0.3 s of
 * a 3 s boot in the sandbox (docs/performance.md) — and loses the
 * decompressor's KASLR (the kernel runs at its link address).
 * Formats: LZ4 (the kernel's "legacy" frame; Debian), zstd and gzip, through
 * liblz4, libzstd and zlib. Others (xz, lzma, lzo, bzip2) are left to the
 * guest's decompressor. Every Linux payload ends with its unpacked size as a
 * 32-bit little-endian number (gzip's ISIZE, or the trailer the kernel's
 * build appends for the other formats).
 *
 * The image is untrusted: every length and offset is checked, the output
 * never exceeds the caller's buffer, and a payload that does not unpack to
 * exactly its stated size is refused.
 */
#ifndef VMON_ARCH_X86_KERNEL_UNPACK_H
#define VMON_ARCH_X86_KERNEL_UNPACK_H

#include <stddef.h>
#include <stdint.h>

/* Largest unpacked kernel vmon accepts (a distribution vmlinux is ~50 MiB). */
#define KERNEL_UNPACK_MAX_BYTES (512u << 20)

/* struct kernel_payload - a bzImage's compressed payload (points into the image). */
struct kernel_payload {
	const uint8_t *data;
	size_t len;
	size_t unpacked_len; /* from the trailer */
	const char *format; /* "LZ4", "zstd", "gzip", or the name of an unsupported one */
	int supported; /* 1 when kernel_unpack() can unpack it */
};

/*
 * kernel_payload_find - locate the payload of bzImage @k (setup header
 * payload_offset and payload_length, boot protocol >= 2.08) and identify its
 * format. Returns 0; -ENOEXEC when @k has no usable payload description
 * (older protocol, fields out of the file, unknown compression: reason in
 * @err); -E2BIG when the stated unpacked size is 0 or above
 * KERNEL_UNPACK_MAX_BYTES.
 */
int kernel_payload_find(const uint8_t *k, size_t len, struct kernel_payload *p, char *err,
			size_t err_len);

/*
 * kernel_unpack - unpack @p (supported) into @out, exactly p->unpacked_len
 * bytes long. Returns 0; -ENOTSUP for an unsupported format; -EINVAL when the
 * payload is corrupt, truncated or unpacks to another size (reason in @err).
 * @out may be partly written on failure.
 */
int kernel_unpack(const struct kernel_payload *p, uint8_t *out, char *err, size_t err_len);

/*
 * kernel_unpack_head - unpack only the first @n bytes of @p (supported; @n at
 * most the unpacked size and 8 MiB) into @out: enough to read the vmlinux's
 * ELF and program headers before deciding where the whole goes. Returns 0;
 * -ENOTSUP, -EINVAL (corrupt, or shorter than @n), -ENOMEM, reason in @err.
 */
int kernel_unpack_head(const struct kernel_payload *p, uint8_t *out, size_t n, char *err,
		       size_t err_len);

#endif
