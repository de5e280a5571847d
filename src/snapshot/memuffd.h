/*
 * memuffd.h — guest RAM filled on demand by a page-fault handler process,
 * through userfaultfd: Firecracker's "Uffd" memory backend of PUT
 * /snapshot/load (its docs/snapshotting/handling-page-faults-on-snapshot-resume.md).
 *
 * The handler listens on a Unix socket. vmon makes a userfaultfd, registers
 * every RAM region of @gm (already mapped anonymous and empty) for missing-page
 * faults, connects to the socket and sends, in one message, the uffd (as
 * SCM_RIGHTS) and the layout as Firecracker's JSON array of
 * GuestRegionUffdMapping: {"base_host_virt_addr", "size", "offset",
 * "page_size", "page_size_kib"} per region, offset being where the region
 * starts in the memory file (regions end to end, as memfile.h lays them out).
 * Nothing more is said on the socket; vmon keeps its copy of the uffd until the
 * VM ends. From then on every first touch of a page, by the guest, by KVM or
 * by vmon, waits until the handler fills it (UFFDIO_COPY or UFFDIO_ZEROPAGE).
 */
#ifndef VMON_SNAPSHOT_MEMUFFD_H
#define VMON_SNAPSHOT_MEMUFFD_H

#include <stddef.h>

#include "mem/gmem.h"

/*
 * memuffd_attach - hand @gm's regions to the handler listening at
 * @sock_path, as above. The regions are marked lazy (memfile.h writes every
 * page of them) and @gm owns the uffd. 0, or -errno with one line in @err
 * (no userfaultfd here, a socket path too long, nobody listening, ...);
 * on failure nothing stays registered.
 */
int memuffd_attach(struct gmem *gm, const char *sock_path, char *err, size_t err_len);

/*
 * memuffd_mappings_json - the layout message for @gm into @buf (NUL-ended).
 * Returns its length, or -ENOSPC when @len is too small.
 */
int memuffd_mappings_json(const struct gmem *gm, char *buf, size_t len);

#endif
