/* snapfile.c — the snapshot state file: header, sections, CRCs; written atomically, parsed
 * strictly. */
#include "snapshot/snapfile.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/crc32c.h"
#include "util/log.h"

#define MAGIC_LEN 8
#define PAGE_MASK 0xfffull
#define RAM_ENTRY_LEN 16
#define CPUID_ENTRY_LEN 28
/* magic, header_version, header_length, then the fixed fields up to nr_ram */
#define HDR_FIXED_LEN (MAGIC_LEN + 4 + 4 + 4 + 32 + 16 + 4 + 4 + 4 + 8 + 4)

/* A tag as it may be printed: a corrupted file can hold any bytes there. */
static void printable_tag(char out[STATE_TAG_LEN + 1], const char *tag)
{
	size_t i;

	for (i = 0; i < STATE_TAG_LEN && tag[i]; i++)
		out[i] = (tag[i] >= 0x20 && tag[i] < 0x7f && tag[i] != '\'') ? tag[i] : '?';
	out[i] = '\0';
}

static bool has_nul(const char *s, size_t n)
{
	return memchr(s, '\0', n) != NULL;
}

int snapfile_header_check(const struct snapfile_header *h, char *err, size_t err_len)
{
	uint64_t sum = 0;

	if (h->format_version < 1 || h->format_version > SNAPFILE_FORMAT_VERSION) {
		if (h->format_version > SNAPFILE_FORMAT_VERSION)
			errbuf_set(
				err, err_len,
				"snapshot made by a newer vmon (format %u, this vmon reads up to "
				"%u)",
				h->format_version, SNAPFILE_FORMAT_VERSION);
		else
			errbuf_set(err, err_len, "snapshot has bad format version 0");
		return -EINVAL;
	}
	if (!has_nul(h->vmon_version, sizeof(h->vmon_version)) ||
	    !has_nul(h->cpu_vendor, sizeof(h->cpu_vendor))) {
		errbuf_set(err, err_len, "snapshot header: %s is not NUL-terminated",
			   has_nul(h->vmon_version, sizeof(h->vmon_version)) ? "cpu_vendor"
									     : "vmon_version");
		return -EINVAL;
	}
	if (h->nr_vcpus < 1 || h->nr_vcpus > SNAPFILE_MAX_VCPUS) {
		errbuf_set(err, err_len, "snapshot header: %u vCPUs (must be 1..%u)", h->nr_vcpus,
			   SNAPFILE_MAX_VCPUS);
		return -EINVAL;
	}
	if (h->nr_ram < 1 || h->nr_ram > SNAPFILE_MAX_RAM) {
		errbuf_set(err, err_len, "snapshot header: %u RAM regions (must be 1..%u)",
			   h->nr_ram, SNAPFILE_MAX_RAM);
		return -EINVAL;
	}
	if (h->nr_cpuid > SNAPFILE_MAX_CPUID) {
		errbuf_set(err, err_len, "snapshot header: %u CPUID entries (at most %u)",
			   h->nr_cpuid, SNAPFILE_MAX_CPUID);
		return -EINVAL;
	}
	for (uint32_t i = 0; i < h->nr_ram; i++) {
		const struct snapfile_ram *r = &h->ram[i];
		uint64_t end;

		if (((r->gpa | r->len_bytes) & PAGE_MASK) || r->len_bytes == 0) {
			errbuf_set(err, err_len,
				   "snapshot header: RAM region %u (0x%llx, 0x%llx bytes) is not "
				   "page-aligned",
				   i, (unsigned long long)r->gpa, (unsigned long long)r->len_bytes);
			return -EINVAL;
		}
		if (__builtin_add_overflow(r->gpa, r->len_bytes, &end) ||
		    __builtin_add_overflow(sum, r->len_bytes, &sum)) {
			errbuf_set(err, err_len, "snapshot header: RAM region %u wraps around", i);
			return -EINVAL;
		}
		for (uint32_t j = 0; j < i; j++) {
			const struct snapfile_ram *o = &h->ram[j];

			if (r->gpa < o->gpa + o->len_bytes && o->gpa < end) {
				errbuf_set(err, err_len,
					   "snapshot header: RAM regions %u and %u overlap", j, i);
				return -EINVAL;
			}
		}
	}
	if (sum != h->mem_bytes) {
		errbuf_set(err, err_len,
			   "snapshot header: RAM regions sum to %llu bytes, mem_bytes says %llu",
			   (unsigned long long)sum, (unsigned long long)h->mem_bytes);
		return -EINVAL;
	}
	return 0;
}

/*
 * Walk every section of @r once (each CRC checked by state_next_section);
 * 0 at a clean end, else -EINVAL with the section named in @err.
 */
static int walk_sections(struct state_reader r, char *err, size_t err_len)
{
	char last[STATE_TAG_LEN + 1] = "";
	uint32_t last_instance = 0;
	struct state_section s;
	bool any = false;
	int rc;

	while ((rc = state_next_section(&r, &s)) == 1) {
		printable_tag(last, s.tag);
		last_instance = s.instance;
		any = true;
	}
	if (rc == 0)
		return 0;
	if (rc == -EBADMSG) {
		char tag[STATE_TAG_LEN + 1];

		printable_tag(tag, s.tag);
		errbuf_set(err, err_len, "section '%s' #%u: checksum mismatch", tag, s.instance);
	} else if (s.tag[0]) {
		char tag[STATE_TAG_LEN + 1];

		printable_tag(tag, s.tag);
		errbuf_set(err, err_len, "snapshot truncated in section '%s' #%u", tag, s.instance);
	} else if (any) {
		errbuf_set(err, err_len,
			   "snapshot truncated in the section header after section '%s' #%u", last,
			   last_instance);
	} else {
		errbuf_set(err, err_len, "snapshot truncated in the first section header");
	}
	return -EINVAL;
}

int snapfile_encode(const struct snapfile_header *h, const struct state_writer *sections,
		    struct state_writer *out, char *err, size_t err_len)
{
	struct snapfile_header hc = *h;
	size_t start = out->len, hdr_len;
	struct state_reader r;
	int ret;

	if (hc.format_version == 0)
		hc.format_version = SNAPFILE_FORMAT_VERSION;
	if (hc.format_version != SNAPFILE_FORMAT_VERSION) {
		errbuf_set(err, err_len, "snapshot writer: format version %u, this vmon writes %u",
			   hc.format_version, SNAPFILE_FORMAT_VERSION);
		return -EINVAL;
	}
	ret = snapfile_header_check(&hc, err, err_len);
	if (ret)
		return ret;
	if (sections->error || sections->section_start != SIZE_MAX) {
		errbuf_set(err, err_len, "snapshot writer: device state %s",
			   sections->error ? strerror(-sections->error) : "has an open section");
		return sections->error ? sections->error : -EINVAL;
	}
	state_reader_init(&r, sections->buf, sections->len);
	ret = walk_sections(r, err, err_len);
	if (ret)
		return ret;
	if (out->error || out->section_start != SIZE_MAX) {
		errbuf_set(err, err_len, "snapshot writer: bad output buffer");
		return -EINVAL;
	}

	hdr_len = HDR_FIXED_LEN + RAM_ENTRY_LEN * hc.nr_ram + 4 + CPUID_ENTRY_LEN * hc.nr_cpuid + 4;
	state_put_bytes(out, SNAPFILE_MAGIC, MAGIC_LEN);
	state_put_u32(out, SNAPFILE_HEADER_VERSION);
	state_put_u32(out, (uint32_t)hdr_len);
	state_put_u32(out, hc.format_version);
	state_put_bytes(out, hc.vmon_version, sizeof(hc.vmon_version));
	state_put_bytes(out, hc.cpu_vendor, sizeof(hc.cpu_vendor));
	state_put_u32(out, hc.cpu_signature);
	state_put_u32(out, hc.tsc_khz);
	state_put_u32(out, hc.nr_vcpus);
	state_put_u64(out, hc.mem_bytes);
	state_put_u32(out, hc.nr_ram);
	for (uint32_t i = 0; i < hc.nr_ram; i++) {
		state_put_u64(out, hc.ram[i].gpa);
		state_put_u64(out, hc.ram[i].len_bytes);
	}
	state_put_u32(out, hc.nr_cpuid);
	for (uint32_t i = 0; i < hc.nr_cpuid; i++) {
		const struct cpuid_entry *e = &hc.cpuid[i];

		state_put_u32(out, e->function);
		state_put_u32(out, e->index);
		state_put_u32(out, e->flags);
		state_put_u32(out, e->eax);
		state_put_u32(out, e->ebx);
		state_put_u32(out, e->ecx);
		state_put_u32(out, e->edx);
	}
	if (out->error)
		goto nomem;
	state_put_u32(out, crc32c(0, out->buf + start, out->len - start));
	state_put_bytes(out, sections->buf, sections->len);
	if (out->error)
		goto nomem;
	state_put_u32(out, crc32c(0, out->buf + start, out->len - start));
	if (out->error)
		goto nomem;
	return 0;
nomem:
	errbuf_set(err, err_len, "snapshot writer: %s", strerror(-out->error));
	return out->error;
}

static int write_all(int fd, const uint8_t *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int snapfile_write(const char *path, const struct snapfile_header *h,
		   const struct state_writer *sections, char *err, size_t err_len)
{
	struct state_writer out;
	char *tmp = NULL, *dir_copy = NULL;
	int fd = -1, dfd, ret;

	state_writer_init(&out);
	ret = snapfile_encode(h, sections, &out, err, err_len);
	if (ret)
		goto out;
	if (asprintf(&tmp, "%s.tmp.XXXXXX", path) < 0) {
		tmp = NULL;
		ret = -ENOMEM;
		errbuf_set(err, err_len, "%s: out of memory", path);
		goto out;
	}
	fd = mkostemp(tmp, O_CLOEXEC); /* mode 0600 */
	if (fd < 0) {
		ret = -errno;
		errbuf_set(err, err_len, "cannot create a temporary file beside %s: %s", path,
			   strerror(-ret));
		free(tmp);
		tmp = NULL;
		goto out;
	}
	ret = write_all(fd, out.buf, out.len);
	if (!ret && fsync(fd) < 0)
		ret = -errno;
	if (ret) {
		errbuf_set(err, err_len, "cannot write %s: %s", tmp, strerror(-ret));
		goto out;
	}
	if (close(fd) < 0) {
		fd = -1;
		ret = -errno;
		errbuf_set(err, err_len, "cannot write %s: %s", tmp, strerror(-ret));
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) < 0) {
		ret = -errno;
		errbuf_set(err, err_len, "cannot rename %s to %s: %s", tmp, path, strerror(-ret));
		goto out;
	}
	free(tmp);
	tmp = NULL;
	/* Make the rename itself durable. */
	dir_copy = strdup(path);
	if (dir_copy) {
		dfd = open(dirname(dir_copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd >= 0) {
			fsync(dfd);
			close(dfd);
		}
	}
out:
	if (fd >= 0)
		close(fd);
	if (tmp) {
		unlink(tmp);
		free(tmp);
	}
	free(dir_copy);
	state_writer_free(&out);
	return ret;
}

int snapfile_parse(const void *buf, size_t len, struct snapfile *f, char *err, size_t err_len)
{
	struct snapfile_header *h;
	struct state_reader r;
	uint32_t header_version, hdr_len, crc;
	size_t min_len;
	int ret;

	memset(f, 0, sizeof(*f));
	h = &f->hdr;
	if (len < MAGIC_LEN && (len == 0 || memcmp(buf, SNAPFILE_MAGIC, len) == 0)) {
		errbuf_set(err, err_len, "snapshot truncated in the header (%zu bytes)", len);
		return -EINVAL;
	}
	if (len < MAGIC_LEN || memcmp(buf, SNAPFILE_MAGIC, MAGIC_LEN) != 0) {
		errbuf_set(err, err_len, "not a vmon snapshot (bad magic)");
		return -EINVAL;
	}
	state_reader_init(&r, buf, len);
	r.pos = MAGIC_LEN;
	header_version = state_get_u32(&r);
	hdr_len = state_get_u32(&r);
	if (state_error(&r)) {
		errbuf_set(err, err_len, "snapshot truncated in the header");
		return -EINVAL;
	}
	if (header_version == 0) {
		errbuf_set(err, err_len, "snapshot has bad header version 0");
		return -EINVAL;
	}
	if (hdr_len < HDR_FIXED_LEN + 4 + 4) {
		errbuf_set(err, err_len, "snapshot header length %u is too short (at least %u)",
			   hdr_len, HDR_FIXED_LEN + 4 + 4);
		return -EINVAL;
	}
	if (hdr_len > len) {
		errbuf_set(err, err_len, "snapshot truncated in the header (%zu of %u bytes)", len,
			   hdr_len);
		return -EINVAL;
	}
	crc = state_get_u32(&(struct state_reader){ .buf = buf, .len = len, .pos = hdr_len - 4 });
	if (crc != crc32c(0, buf, hdr_len - 4)) {
		errbuf_set(err, err_len, "snapshot header: checksum mismatch");
		return -EINVAL;
	}

	/* The header is whole and intact; read the version-1 fields within it. */
	r.len = hdr_len - 4;
	h->format_version = state_get_u32(&r);
	state_get_bytes(&r, h->vmon_version, sizeof(h->vmon_version));
	state_get_bytes(&r, h->cpu_vendor, sizeof(h->cpu_vendor));
	h->cpu_signature = state_get_u32(&r);
	h->tsc_khz = state_get_u32(&r);
	h->nr_vcpus = state_get_u32(&r);
	h->mem_bytes = state_get_u64(&r);
	h->nr_ram = state_get_u32(&r);
	if (h->format_version > SNAPFILE_FORMAT_VERSION) {
		/* Say this before anything else a newer vmon may have changed. */
		errbuf_set(err, err_len,
			   "snapshot made by a newer vmon (format %u, this vmon reads up to %u)",
			   h->format_version, SNAPFILE_FORMAT_VERSION);
		return -EINVAL;
	}
	if (h->nr_ram < 1 || h->nr_ram > SNAPFILE_MAX_RAM) {
		errbuf_set(err, err_len, "snapshot header: %u RAM regions (must be 1..%u)",
			   h->nr_ram, SNAPFILE_MAX_RAM);
		return -EINVAL;
	}
	for (uint32_t i = 0; i < h->nr_ram; i++) {
		h->ram[i].gpa = state_get_u64(&r);
		h->ram[i].len_bytes = state_get_u64(&r);
	}
	h->nr_cpuid = state_get_u32(&r);
	if (!state_error(&r) && h->nr_cpuid > SNAPFILE_MAX_CPUID) {
		errbuf_set(err, err_len, "snapshot header: %u CPUID entries (at most %u)",
			   h->nr_cpuid, SNAPFILE_MAX_CPUID);
		return -EINVAL;
	}
	for (uint32_t i = 0; i < h->nr_cpuid && !state_error(&r); i++) {
		struct cpuid_entry *e = &h->cpuid[i];

		e->function = state_get_u32(&r);
		e->index = state_get_u32(&r);
		e->flags = state_get_u32(&r);
		e->eax = state_get_u32(&r);
		e->ebx = state_get_u32(&r);
		e->ecx = state_get_u32(&r);
		e->edx = state_get_u32(&r);
	}
	min_len = HDR_FIXED_LEN + RAM_ENTRY_LEN * h->nr_ram + 4 + CPUID_ENTRY_LEN * h->nr_cpuid + 4;
	if (state_error(&r) || (header_version == SNAPFILE_HEADER_VERSION && hdr_len != min_len)) {
		errbuf_set(err, err_len,
			   "snapshot header length %u does not fit its %u RAM regions and %u CPUID "
			   "entries",
			   hdr_len, h->nr_ram, h->nr_cpuid);
		return -EINVAL;
	}
	/* header_version > 1: the fields a later vmon appended are skipped. */
	ret = snapfile_header_check(h, err, err_len);
	if (ret)
		return ret;

	if (len - hdr_len < 4) {
		errbuf_set(err, err_len, "snapshot truncated after the header");
		return -EINVAL;
	}
	state_reader_init(&f->sections, (const uint8_t *)buf + hdr_len, len - hdr_len - 4);
	ret = walk_sections(f->sections, err, err_len);
	if (ret)
		return ret;
	crc = state_get_u32(&(struct state_reader){ .buf = buf, .len = len, .pos = len - 4 });
	if (crc != crc32c(0, buf, len - 4)) {
		errbuf_set(err, err_len,
			   "snapshot file checksum mismatch (a corrupt or truncated trailer)");
		return -EINVAL;
	}
	return 0;
}

int snapfile_read(const char *path, struct snapfile *f, char *err, size_t err_len)
{
	char msg[256] = "";
	struct stat st;
	uint8_t *buf = NULL;
	size_t got = 0;
	int fd, ret;

	memset(f, 0, sizeof(*f));
	/* O_NONBLOCK: opening a FIFO must not wait for a writer before fstat refuses it. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		ret = -errno;
		errbuf_set(err, err_len, "cannot open snapshot %s: %s", path, strerror(-ret));
		return ret;
	}
	if (fstat(fd, &st) < 0) {
		ret = -errno;
		errbuf_set(err, err_len, "cannot stat snapshot %s: %s", path, strerror(-ret));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		ret = -EINVAL;
		errbuf_set(err, err_len, "snapshot %s is not a regular file", path);
		goto out;
	}
	if ((uint64_t)st.st_size > SNAPFILE_MAX_FILE_BYTES) {
		ret = -EFBIG;
		errbuf_set(err, err_len,
			   "snapshot %s is %lld bytes, more than the %llu a state file may have",
			   path, (long long)st.st_size, SNAPFILE_MAX_FILE_BYTES);
		goto out;
	}
	buf = malloc(st.st_size ? (size_t)st.st_size : 1);
	if (!buf) {
		ret = -ENOMEM;
		errbuf_set(err, err_len, "snapshot %s: out of memory", path);
		goto out;
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = pread(fd, buf + got, (size_t)st.st_size - got, (off_t)got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = -errno;
			errbuf_set(err, err_len, "cannot read snapshot %s: %s", path,
				   strerror(-ret));
			goto out;
		}
		if (n == 0)
			break; /* shrank under us: parse what is there, it will say truncated */
		got += (size_t)n;
	}
	ret = snapfile_parse(buf, got, f, msg, sizeof(msg));
	if (ret) {
		errbuf_set(err, err_len, "%s: %s", path, msg);
		goto out;
	}
	f->buf = buf;
	f->len = got;
	buf = NULL;
out:
	free(buf);
	close(fd);
	return ret;
}

void snapfile_free(struct snapfile *f)
{
	free(f->buf);
	memset(f, 0, sizeof(*f));
}
