/*
 * virtio_class.h — the table of virtio device classes a VM is built from by
 * name alone, in the spirit of bhyve's PCI_EMUL_SET and kvmtool's device
 * registration. A class that takes no parameters (entropy, the echo test
 * device) is one entry: the command line offers --NAME, the REST API
 * PUT /API_NAME and the config file an "API_NAME" object, GET /vm/config
 * reports it, the VM puts it on the PCI bus or in a virtio-mmio window, and a
 * snapshot or migration stream names it — all by walking this table.
 *
 * Adding such a device: its own virtio_NAME.c (the model and its
 * `const struct virtio_class`), one VIRTIO_CLASS() line in virtio_classes.def
 * and its file in meson.build. Disks, NICs, vsock, the balloon and the
 * virtio console carry parameters and host backends of their own and are
 * still wired by name (vm_pci.c).
 */
#ifndef VMON_VIRTIO_VIRTIO_CLASS_H
#define VMON_VIRTIO_VIRTIO_CLASS_H

#include <stdbool.h>
#include <stddef.h>

#include "mem/gmem.h"
#include "virtio/virtio.h"

/*
 * struct virtio_class - one kind of parameterless virtio device.
 * @name:     the command line's --NAME and the name a snapshot stores; unique,
 *            lower case, [a-z0-9-].
 * @help:     its --help line (a short phrase).
 * @api_name: Firecracker's resource for it ("entropy": PUT /entropy and the
 *            config file's "entropy" key), or NULL: the command line only.
 * @api_rate_limiter: the API body may carry a "rate_limiter", taken when it
 *            limits nothing (vmon does not limit this class).
 * @create:   a new device over guest memory @gm; 0 and *@out (a transport
 *            then owns it), or -errno.
 */
struct virtio_class {
	const char *name;
	const char *help;
	const char *api_name;
	bool api_rate_limiter;
	int (*create)(struct virtio_dev **out, const struct gmem *gm);
};

/* the classes, in virtio_classes.def's order */
#define VIRTIO_CLASS(sym) extern const struct virtio_class sym;
#include "virtio/virtio_classes.def"
#undef VIRTIO_CLASS

enum {
#define VIRTIO_CLASS(sym) VIRTIO_CLASS_INDEX_##sym,
#include "virtio/virtio_classes.def"
#undef VIRTIO_CLASS
	VIRTIO_NR_CLASSES
};

/* virtio_class_at - the @i-th class (i < VIRTIO_NR_CLASSES). */
const struct virtio_class *virtio_class_at(unsigned i);

/* virtio_class_find - the class called @name, or NULL. */
const struct virtio_class *virtio_class_find(const char *name);

/* virtio_class_find_api - the class whose API resource is @api_name, or NULL. */
const struct virtio_class *virtio_class_find_api(const char *api_name);

#endif
