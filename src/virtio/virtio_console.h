/*
 * virtio_console.h — virtio console (virtio 1.2 §5.3) with one port (hvc0
 * in Linux), no MULTIPORT: receiveq0 carries host input to the guest,
 * transmitq0 guest output to a character backend (base/chardev.h).
 * VIRTIO_CONSOLE_F_EMERG_WRITE lets early code write single characters
 * through the config space.
 *
 * Input is pulled (chardev_read) straight into the guest's receive buffers,
 * only while it has some posted, so no byte is dropped; the backend's notify
 * callback (any thread; the model takes its lock) starts a new pull.
 */
#ifndef VMON_VIRTIO_VIRTIO_CONSOLE_H
#define VMON_VIRTIO_VIRTIO_CONSOLE_H

#include "base/chardev.h"
#include "mem/gmem.h"
#include "virtio/virtio.h"

/*
 * virtio_console_create - a console over @gm on character backend @cd (the
 * caller's; it must outlive the device, whose destroy detaches from it).
 * Attaches the model as @cd's frontend (chardev_attach), so call it before
 * the backend is started. Returns 0 and *@out (give it to
 * virtio_pci_create()), or -errno.
 */
int virtio_console_create(struct virtio_dev **out, const struct gmem *gm, struct chardev *cd);

#endif
