/*
 * memfile.h — the snapshot MEMORY file: guest RAM as a sparse file, the
 * regions of the state file's header laid end to end (region i at file
 * offset = the sum of the lengths of regions 0..i-1; file size = total RAM;
 * pages never written are holes and read as zero).
 *
 * Locking: a VM restored from a memory file maps it MAP_PRIVATE and holds an
 * OFD read lock (F_OFD_SETLK, F_RDLCK) on it for as long as it runs; every
 * writer here takes an OFD write lock first and refuses, leaving the file
 * untouched, when it cannot. OFD locks conflict between open file
 * descriptions even within one process, so this also stops a VM from
 * overwriting the file its own RAM is mapped from (which would change the
 * guest's memory under it).
 *
 * Filesystems: diff files and merges rely on SEEK_DATA/SEEK_HOLE reporting
 * real holes (ext4, xfs, btrfs, tmpfs do); on a filesystem that reports the
 * whole file as data, or that turns written zero blocks into holes (ZFS with
 * compression), a diff file does not say which pages it holds.
 */
#ifndef VMON_SNAPSHOT_MEMFILE_H
#define VMON_SNAPSHOT_MEMFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mem/gmem.h"

struct snapfile_header;

/*
 * memfile_write_full - write every page of @gm that holds guest data to a
 * fresh sparse file at @path: pages present or swapped out in this process
 * (/proc/self/pagemap; every page when pagemap cannot be read) and, for
 * regions mapped from a file (a VM restored from a snapshot), every page in
 * that file's data extents. All-zero pages are skipped (left as holes).
 * Opens @path O_CREAT (mode 0600) without O_TRUNC, takes the OFD write lock,
 * then truncates to 0 and to the total RAM size, writes (coalesced pwrites)
 * and fsyncs. The vCPUs must be paused. @bytes_written (may be NULL) gets
 * the bytes of data written. 0, or -EBUSY when the file is in use by a VM
 * restored from it (the file untouched), or -errno; one line in @err.
 */
int memfile_write_full(const char *path, const struct gmem *gm, uint64_t *bytes_written, char *err,
		       size_t err_len);

/*
 * memfile_pages_with_data - set in @map (one bit per page, zeroed by the
 * caller) the pages of @r that may hold data: present or swapped out in this
 * process by /proc/self/pagemap open at @pm_fd (every page when @pm_fd < 0
 * or it cannot be read), and pages in the data extents of the file a
 * restored region is mapped from. Never-touched pages are left out.
 */
void memfile_pages_with_data(int pm_fd, const struct gmem_region *r, uint64_t *map);

/* memfile_page_is_zero - is the 4 KiB page at @page all zero bytes? */
bool memfile_page_is_zero(const void *page);

/*
 * memfile_write_diff - like memfile_write_full(), but write exactly the pages
 * whose bit is set in @dirty — zero pages too, as data — and nothing else.
 * @dirty[i] is region i's bitmap (bit p of word p / 64 = page p of
 * gm->regions[i]), as gmem_dirty_bitmap() gives; a NULL @dirty[i] means no
 * page of region i. Bits past a region's end are ignored. Same returns.
 */
int memfile_write_diff(const char *path, const struct gmem *gm, const uint64_t *const *dirty,
		       uint64_t *bytes_written, char *err, size_t err_len);

/*
 * memfile_map - restore guest RAM: open @path read-only (a regular file
 * whose size equals the sum of @h's ram[] lengths, else one line giving both
 * sizes), take the OFD read lock (refused while a writer holds the file) and
 * add each of @h's regions to @gm, mapped MAP_PRIVATE|MAP_NORESERVE from the
 * file at its offset: pages are read lazily when the guest touches them and
 * the guest's writes stay private to this process. @h must have passed
 * snapfile_header_check() (snapfile_parse does that). From then on @gm owns
 * the fd (gmem_own_fd) and gmem_destroy() closes it, releasing the lock.
 * 0 or -errno (-EBUSY while being written) with one line in @err; on failure
 * @gm is as it was.
 */
int memfile_map(const char *path, struct gmem *gm, const struct snapfile_header *h, char *err,
		size_t err_len);

/*
 * memfile_merge - lay the diff file @diff onto the memory file @base in
 * place (for `vmon snapshot-merge BASE DIFF`): copy every data extent of
 * @diff to the same offset in @base, then fsync @base. Both must be regular
 * files of the same size; @base is write-locked like a writer (refused
 * while a VM restored from it runs), @diff read-locked. 0 or -errno with one
 * line in @err.
 */
int memfile_merge(const char *base, const char *diff, char *err, size_t err_len);

#endif
