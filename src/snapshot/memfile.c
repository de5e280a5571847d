/* memfile.c — guest RAM to and from a sparse memory file: full and diff writes, lazy restore,
 * merge. */
#include "snapshot/memfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "snapshot/snapfile.h"
#include "util/filelock.h"
#include "util/log.h"

#define PAGE GMEM_PAGE_SIZE
#define PAGEMAP_BATCH_PAGES 1024 /* pagemap entries per pread: 8 KiB covering 4 MiB of RAM */
#define MAX_WRITE_BYTES (8ull << 20) /* one pwrite at most */
#define COPY_CHUNK_BYTES (1ull << 20) /* memfile_merge's bounce buffer */
#define PM_PRESENT (1ull << 63)
#define PM_SWAPPED (1ull << 62)

/*
 * Open @path for one of the operations here, refuse anything but a regular
 * file and take the OFD lock @lock. @flags: O_RDONLY, O_RDWR or O_RDWR|O_CREAT.
 * Returns the fd or -errno, with one line in @err.
 */
static int open_locked(const char *path, int flags, short lock, const char *what, char *err,
		       size_t err_len)
{
	struct stat st;
	int fd, ret;

	/* O_NONBLOCK: opening a FIFO must not wait for its other end before fstat refuses it. */
	fd = open(path, flags | O_CLOEXEC | O_NOCTTY | O_NONBLOCK, 0600);
	if (fd < 0) {
		ret = -errno;
		errbuf_set(err, err_len, "cannot open %s %s: %s", what, path, strerror(-ret));
		return ret;
	}
	if (fstat(fd, &st) < 0) {
		ret = -errno;
		errbuf_set(err, err_len, "cannot stat %s %s: %s", what, path, strerror(-ret));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		ret = -EINVAL;
		errbuf_set(err, err_len, "%s %s is not a regular file", what, path);
		goto fail;
	}
	/* Back to blocking I/O for the regular file. */
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	ret = file_lock(fd, lock == F_WRLCK);
	if (ret == -EAGAIN) {
		ret = -EBUSY;
		if (lock == F_WRLCK)
			errbuf_set(err, err_len,
				   "%s %s is in use by a running VM restored from it (or being "
				   "written)",
				   what, path);
		else
			errbuf_set(err, err_len, "%s %s is being written by another vmon", what,
				   path);
		goto fail;
	}
	if (ret) {
		errbuf_set(err, err_len, "cannot lock %s %s: %s", what, path, strerror(-ret));
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return ret;
}

static int pwrite_all(int fd, const uint8_t *p, size_t len, uint64_t off)
{
	while (len) {
		ssize_t n = pwrite(fd, p, len, (off_t)off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

static bool page_is_zero(const uint8_t *p)
{
	const uint64_t *w = (const uint64_t *)(const void *)p;

	for (size_t i = 0; i < PAGE / 8; i += 4)
		if (w[i] | w[i + 1] | w[i + 2] | w[i + 3])
			return false;
	return true;
}

static bool test_bit(const uint64_t *map, uint64_t bit)
{
	return map[bit / 64] >> (bit % 64) & 1;
}

static void set_bit(uint64_t *map, uint64_t bit)
{
	map[bit / 64] |= 1ull << (bit % 64);
}

/* A writer of runs of pages: coalesces adjacent pages into one pwrite. */
struct run_writer {
	int fd;
	const uint8_t *start; /* host address of the pending run, or NULL */
	uint64_t off; /* its file offset */
	uint64_t len;
	uint64_t written;
};

static int run_flush(struct run_writer *w)
{
	int ret = 0;

	if (w->start && w->len)
		ret = pwrite_all(w->fd, w->start, (size_t)w->len, w->off);
	if (!ret)
		w->written += w->len;
	w->start = NULL;
	w->len = 0;
	return ret;
}

static int run_add(struct run_writer *w, const uint8_t *hva, uint64_t off, uint64_t len)
{
	if (w->start && w->start + w->len == hva && w->off + w->len == off &&
	    w->len + len <= MAX_WRITE_BYTES) {
		w->len += len;
		return 0;
	}
	int ret = run_flush(w);

	if (ret)
		return ret;
	w->start = hva;
	w->off = off;
	w->len = len;
	return 0;
}

/* Open @path for writing, locked, emptied and sized to the total RAM of @gm. */
static int open_for_write(const char *path, const struct gmem *gm, char *err, size_t err_len)
{
	int fd, ret;

	fd = open_locked(path, O_RDWR | O_CREAT, F_WRLCK, "memory file", err, err_len);
	if (fd < 0)
		return fd;
	if (ftruncate(fd, 0) < 0 || ftruncate(fd, (off_t)gmem_ram_bytes(gm)) < 0) {
		ret = -errno;
		errbuf_set(err, err_len, "cannot size memory file %s: %s", path, strerror(-ret));
		close(fd);
		return ret;
	}
	return fd;
}

static int finish_write(int fd, const char *path, int ret, char *err, size_t err_len)
{
	if (!ret && fsync(fd) < 0) {
		ret = -errno;
		errbuf_set(err, err_len, "cannot write memory file %s: %s", path, strerror(-ret));
	}
	if (close(fd) < 0 && !ret) {
		ret = -errno;
		errbuf_set(err, err_len, "cannot write memory file %s: %s", path, strerror(-ret));
	}
	return ret;
}

/*
 * Mark in @map the pages of @r present or swapped out in this process;
 * every page when /proc/self/pagemap (@pm_fd < 0) cannot be read.
 */
static void pages_resident(int pm_fd, const struct gmem_region *r, uint64_t *map)
{
	uint64_t pages = gmem_region_pages(r), base = (uintptr_t)r->hva / PAGE;
	uint64_t ent[PAGEMAP_BATCH_PAGES];

	for (uint64_t p = 0; p < pages; p += PAGEMAP_BATCH_PAGES) {
		uint64_t n = pages - p < PAGEMAP_BATCH_PAGES ? pages - p : PAGEMAP_BATCH_PAGES;
		ssize_t got = -1;

		if (pm_fd >= 0)
			got = pread(pm_fd, ent, n * 8, (off_t)((base + p) * 8));
		if (got != (ssize_t)(n * 8)) {
			for (uint64_t i = 0; i < n; i++)
				set_bit(map, p + i);
			continue;
		}
		for (uint64_t i = 0; i < n; i++)
			if (ent[i] & (PM_PRESENT | PM_SWAPPED))
				set_bit(map, p + i);
	}
}

/* Mark in @map the pages of file-backed region @r that lie in its file's data extents. */
static void pages_in_file(const struct gmem_region *r, uint64_t *map)
{
	uint64_t start = r->file_offset, end = r->file_offset + r->len_bytes;
	off_t pos = (off_t)start;

	while ((uint64_t)pos < end) {
		off_t data = lseek(r->fd, pos, SEEK_DATA), hole;

		if (data < 0 || (uint64_t)data >= end)
			break; /* ENXIO: no data after pos */
		hole = lseek(r->fd, data, SEEK_HOLE);
		if (hole < 0 || (uint64_t)hole > end)
			hole = (off_t)end;
		for (uint64_t p = ((uint64_t)data - start) / PAGE;
		     p < ((uint64_t)hole - start + PAGE - 1) / PAGE; p++)
			set_bit(map, p);
		pos = hole;
	}
}

bool memfile_page_is_zero(const void *page)
{
	return page_is_zero(page);
}

void memfile_pages_with_data(int pm_fd, const struct gmem_region *r, uint64_t *map)
{
	if (r->lazy) { /* pages not yet faulted in are still the handler's: every page */
		pages_resident(-1, r, map);
		return;
	}
	pages_resident(pm_fd, r, map);
	if (r->fd >= 0)
		pages_in_file(r, map);
}

int memfile_write_full(const char *path, const struct gmem *gm, uint64_t *bytes_written, char *err,
		       size_t err_len)
{
	struct run_writer w = { .fd = -1 };
	uint64_t file_off = 0, *map = NULL;
	int pm_fd, ret = 0;

	if (bytes_written)
		*bytes_written = 0;
	w.fd = open_for_write(path, gm, err, err_len);
	if (w.fd < 0)
		return w.fd;
	pm_fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	for (unsigned i = 0; i < gm->nr_regions && !ret; i++) {
		const struct gmem_region *r = &gm->regions[i];
		uint64_t pages = gmem_region_pages(r);

		map = calloc((size_t)((pages + 63) / 64), sizeof(uint64_t));
		if (!map) {
			ret = -ENOMEM;
			errbuf_set(err, err_len, "memory file %s: out of memory", path);
			break;
		}
		memfile_pages_with_data(pm_fd, r, map);
		for (uint64_t p = 0; p < pages && !ret; p++) {
			uint64_t len =
				(p + 1) * PAGE <= r->len_bytes ? PAGE : r->len_bytes - p * PAGE;
			const uint8_t *hva = r->hva + p * PAGE;

			if (!test_bit(map, p) || (len == PAGE && page_is_zero(hva)))
				continue;
			ret = run_add(&w, hva, file_off + p * PAGE, len);
		}
		if (!ret)
			ret = run_flush(&w);
		free(map);
		map = NULL;
		file_off += r->len_bytes;
		if (ret && ret != -ENOMEM)
			errbuf_set(err, err_len, "cannot write memory file %s: %s", path,
				   strerror(-ret));
	}
	if (pm_fd >= 0)
		close(pm_fd);
	ret = finish_write(w.fd, path, ret, err, err_len);
	if (!ret && bytes_written)
		*bytes_written = w.written;
	return ret;
}

int memfile_write_diff(const char *path, const struct gmem *gm, const uint64_t *const *dirty,
		       uint64_t *bytes_written, char *err, size_t err_len)
{
	struct run_writer w = { .fd = -1 };
	uint64_t file_off = 0;
	int ret = 0;

	if (bytes_written)
		*bytes_written = 0;
	w.fd = open_for_write(path, gm, err, err_len);
	if (w.fd < 0)
		return w.fd;
	for (unsigned i = 0; i < gm->nr_regions && !ret; i++) {
		const struct gmem_region *r = &gm->regions[i];
		const uint64_t *map = dirty ? dirty[i] : NULL;
		uint64_t pages = gmem_region_pages(r);

		for (uint64_t p = 0; map && p < pages && !ret; p++) {
			uint64_t len =
				(p + 1) * PAGE <= r->len_bytes ? PAGE : r->len_bytes - p * PAGE;

			if (!map[p / 64]) {
				p |= 63; /* skip the clean word */
				continue;
			}
			if (test_bit(map, p))
				ret = run_add(&w, r->hva + p * PAGE, file_off + p * PAGE, len);
		}
		if (!ret)
			ret = run_flush(&w);
		if (ret)
			errbuf_set(err, err_len, "cannot write memory file %s: %s", path,
				   strerror(-ret));
		file_off += r->len_bytes;
	}
	ret = finish_write(w.fd, path, ret, err, err_len);
	if (!ret && bytes_written)
		*bytes_written = w.written;
	return ret;
}

int memfile_map(const char *path, struct gmem *gm, const struct snapfile_header *h, char *err,
		size_t err_len)
{
	unsigned first = gm->nr_regions;
	uint64_t total = 0, off = 0;
	struct stat st;
	int fd, ret;

	if (h->nr_ram < 1 || h->nr_ram > SNAPFILE_MAX_RAM) {
		errbuf_set(err, err_len,
			   "memory file %s: the snapshot has %u RAM regions (must be 1..%u)", path,
			   h->nr_ram, SNAPFILE_MAX_RAM);
		return -EINVAL;
	}
	for (uint32_t i = 0; i < h->nr_ram; i++)
		if (__builtin_add_overflow(total, h->ram[i].len_bytes, &total)) {
			errbuf_set(err, err_len,
				   "memory file %s: the snapshot's RAM size overflows", path);
			return -EINVAL;
		}
	fd = open_locked(path, O_RDONLY, F_RDLCK, "memory file", err, err_len);
	if (fd < 0)
		return fd;
	if (fstat(fd, &st) < 0) {
		ret = -errno;
		errbuf_set(err, err_len, "cannot stat memory file %s: %s", path, strerror(-ret));
		goto fail;
	}
	if ((uint64_t)st.st_size != total) {
		ret = -EINVAL;
		errbuf_set(err, err_len,
			   "memory file %s is %llu bytes, but the snapshot's RAM is %llu bytes",
			   path, (unsigned long long)st.st_size, (unsigned long long)total);
		goto fail;
	}
	for (uint32_t i = 0; i < h->nr_ram; i++) {
		ret = gmem_add_file(gm, h->ram[i].gpa, h->ram[i].len_bytes, fd, off);
		if (ret) {
			errbuf_set(err, err_len,
				   "cannot map RAM region %u (0x%llx, %llu bytes) of %s: %s", i,
				   (unsigned long long)h->ram[i].gpa,
				   (unsigned long long)h->ram[i].len_bytes, path, strerror(-ret));
			goto unmap;
		}
		off += h->ram[i].len_bytes;
	}
	ret = gmem_own_fd(gm, fd);
	if (ret) {
		errbuf_set(err, err_len, "memory file %s: too many files mapped", path);
		goto unmap;
	}
	return 0;
unmap:
	gmem_remove_regions_from(gm, first);
fail:
	close(fd);
	return ret;
}

int memfile_merge(const char *base, const char *diff, char *err, size_t err_len)
{
	struct stat bst, dst;
	uint8_t *buf = NULL;
	int bfd, dfd, ret = 0;
	off_t pos = 0;

	dfd = open_locked(diff, O_RDONLY, F_RDLCK, "diff memory file", err, err_len);
	if (dfd < 0)
		return dfd;
	bfd = open_locked(base, O_RDWR, F_WRLCK, "memory file", err, err_len);
	if (bfd < 0) {
		close(dfd);
		return bfd;
	}
	if (fstat(bfd, &bst) < 0 || fstat(dfd, &dst) < 0) {
		ret = -errno;
		errbuf_set(err, err_len, "cannot stat %s or %s: %s", base, diff, strerror(-ret));
		goto out;
	}
	if (bst.st_size != dst.st_size) {
		ret = -EINVAL;
		errbuf_set(err, err_len, "diff %s is %lld bytes, but memory file %s is %lld bytes",
			   diff, (long long)dst.st_size, base, (long long)bst.st_size);
		goto out;
	}
	buf = malloc(COPY_CHUNK_BYTES);
	if (!buf) {
		ret = -ENOMEM;
		errbuf_set(err, err_len, "merging %s: out of memory", diff);
		goto out;
	}
	while (pos < dst.st_size) {
		off_t data = lseek(dfd, pos, SEEK_DATA), hole;

		if (data < 0) {
			if (errno == ENXIO)
				break; /* no data after pos */
			ret = -errno;
			errbuf_set(err, err_len, "cannot find the data in %s: %s", diff,
				   strerror(-ret));
			goto out;
		}
		hole = lseek(dfd, data, SEEK_HOLE);
		if (hole < 0) {
			ret = -errno;
			errbuf_set(err, err_len, "cannot find the data in %s: %s", diff,
				   strerror(-ret));
			goto out;
		}
		for (pos = data; pos < hole;) {
			size_t want = (uint64_t)(hole - pos) < COPY_CHUNK_BYTES
					      ? (size_t)(hole - pos)
					      : COPY_CHUNK_BYTES;
			ssize_t n = pread(dfd, buf, want, pos);

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				ret = n < 0 ? -errno : -EIO;
				errbuf_set(err, err_len, "cannot read %s: %s", diff,
					   strerror(-ret));
				goto out;
			}
			ret = pwrite_all(bfd, buf, (size_t)n, (uint64_t)pos);
			if (ret) {
				errbuf_set(err, err_len, "cannot write %s: %s", base,
					   strerror(-ret));
				goto out;
			}
			pos += n;
		}
	}
	if (fsync(bfd) < 0) {
		ret = -errno;
		errbuf_set(err, err_len, "cannot write %s: %s", base, strerror(-ret));
	}
out:
	free(buf);
	close(bfd);
	close(dfd);
	return ret;
}
