/*
 * virtio_vsock.h — virtio socket device (virtio 1.2 §5.10): stream sockets
 * between the guest (its CID) and the host (CID 2), on the hybrid Unix-socket
 * host end of backends/vsock/vsock_mux.h. Three queues: rx (host to guest),
 * tx (guest to host), event (TRANSPORT_RESET after a restore, when the host
 * ends of every connection are gone).
 *
 * Every header and length in a tx chain is the guest's and is checked: a chain
 * shorter than a header is returned unread, a packet whose length disagrees
 * with its chain resets that connection only.
 */
#ifndef VMON_VIRTIO_VIRTIO_VSOCK_H
#define VMON_VIRTIO_VIRTIO_VSOCK_H

#include <stdint.h>

#include "backends/vsock/vsock_mux.h"
#include "mem/gmem.h"
#include "virtio/virtio.h"

/*
 * virtio_vsock_create - a vsock device for guest CID @cid whose host end is a
 * new mux listening at @uds_path on @el. Returns 0 and *@out, or -errno with
 * one line in @err.
 */
int virtio_vsock_create(struct virtio_dev **out, const struct gmem *gm, uint64_t cid,
			const char *uds_path, struct evloop *el, char *err, size_t err_len);

/* virtio_vsock_mux - the device's host end (for tests). */
struct vsock_mux *virtio_vsock_mux(struct virtio_dev *vdev);

#endif
