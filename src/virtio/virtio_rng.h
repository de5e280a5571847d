/*
 * virtio_rng.h — virtio entropy device (virtio 1.2 §5.4): one request queue
 * whose writable buffers are filled from the host's getrandom().
 */
#ifndef VMON_VIRTIO_VIRTIO_RNG_H
#define VMON_VIRTIO_VIRTIO_RNG_H

#include "mem/gmem.h"
#include "virtio/virtio.h"

/*
 * virtio_rng_create - a new entropy device over guest memory @gm. Returns 0
 * and *@out (hand it to virtio_pci_create(), which then owns it), or -ENOMEM.
 */
int virtio_rng_create(struct virtio_dev **out, const struct gmem *gm);

#endif
