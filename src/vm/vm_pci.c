/* vm_pci.c — the VM's PCI bus, virtio devices and their host backends (see vm_pci.h). */
#include "vm/vm_pci.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/random.h>

#include "backends/blk/blk_backend.h"
#include "backends/net/net_tap.h"
#include "backends/net/net_vhost.h"
#include "config.h"
#include "bus/pci.h"
#include "devices/acpi_pm.h"
#include "util/log.h"
#include "virtio/virtio_backends.h"
#include "virtio/virtio_balloon.h"
#include "virtio/virtio_blk.h"
#include "arch/x86/layout.h"
#include "virtio/virtio_class.h"
#include "virtio/virtio_console.h"
#include "virtio/virtio_mmio.h"
#include "virtio/virtio_net.h"
#include "virtio/virtio_pci.h"
#include "virtio/virtio_vsock.h"
#include "vm/vm.h"
#ifdef HAVE_API
#include "vm/vm_mmds.h"
#endif

struct vm_pci {
	struct pci_bus bus;
	struct dev_platform plat;
	struct blk_backend *blks[VM_MAX_DISKS];
	unsigned nr_blks;
	struct net_tap *taps[VM_MAX_NETS];
	unsigned nr_taps;
	struct net_vhost *vhosts[VM_MAX_NETS];
	unsigned nr_vhosts;
	struct vm_mmds *mmds[VM_MAX_NETS]; /* the metadata service's endpoints (vm_mmds.h) */
	unsigned nr_mmds;
	unsigned next_slot;
	bool mmio; /* virtio-mmio windows instead of a PCI bus */
	unsigned nr_mmio;
	bool bus_up;
	/* the models, in configuration order, for live changes (rate limiters) */
	struct virtio_dev *disks[VM_MAX_DISKS];
	unsigned nr_disks;
	struct virtio_dev *nets[VM_MAX_NETS];
	unsigned nr_nets;
	struct virtio_dev *balloon;
};

bool vm_config_has_pci(const struct vm_config *cfg)
{
	return vm_config_virtio_count(cfg) > 0;
}

/* ---- struct dev_platform on KVM ---- */

static int plat_ioeventfd(struct vm *vm, uint64_t gpa, unsigned len, int64_t match, int fd,
			  bool assign)
{
	return match < 0 ? hv_ioeventfd(vm->hv, gpa, len, false, fd, assign)
			 : hv_ioeventfd_match(vm->hv, gpa, len, false, (uint64_t)match, fd, assign);
}

static int plat_ioeventfd_add(void *opaque, uint64_t gpa, unsigned len, int64_t match, int fd)
{
	return plat_ioeventfd(opaque, gpa, len, match, fd, true);
}

static int plat_ioeventfd_del(void *opaque, uint64_t gpa, unsigned len, int64_t match, int fd)
{
	return plat_ioeventfd(opaque, gpa, len, match, fd, false);
}

static int plat_msi_send(void *opaque, uint64_t addr, uint32_t data)
{
	struct vm *vm = opaque;

	return hv_signal_msi(vm->hv, addr, data);
}

static int plat_msi_route(void *opaque, int gsi, uint64_t addr, uint32_t data)
{
	struct vm *vm = opaque;
	int rc;

	if (gsi < 0)
		return hv_msi_route_add(vm->hv, addr, data);
	rc = hv_msi_route_set(vm->hv, (uint32_t)gsi, addr, data);
	return rc ? rc : gsi;
}

static void plat_msi_route_del(void *opaque, int gsi)
{
	struct vm *vm = opaque;

	hv_msi_route_del(vm->hv, (uint32_t)gsi);
}

static int plat_irqfd(void *opaque, int fd, int gsi, bool assign)
{
	struct vm *vm = opaque;

	return hv_irqfd(vm->hv, fd, (uint32_t)gsi, assign);
}

static void plat_intx_set(void *opaque, unsigned gsi, int level)
{
	struct vm *vm = opaque;
	int ret = hv_irq_line(vm->hv, gsi, level);

	if (ret)
		log_error("KVM_IRQ_LINE %u: %s", gsi, strerror(-ret));
}

static int plat_fd_watch(void *opaque, int fd, void (*fn)(void *arg, uint32_t events), void *arg)
{
	struct vm *vm = opaque;

	return vm->el ? evloop_add(vm->el, fd, EPOLLIN, fn, arg) : -ENOTSUP;
}

static int plat_fd_unwatch(void *opaque, int fd)
{
	struct vm *vm = opaque;

	return vm->el ? evloop_del(vm->el, fd) : -ENOTSUP;
}

/* Put @vdev in the next virtio-mmio window (vm_boot.c described it in the DSDT); on failure @vdev
 * is freed. */
static int attach_mmio(struct vm *vm, struct vm_pci *p, struct virtio_dev *vdev, const char *what,
		       char *err, size_t err_len)
{
	unsigned i = p->nr_mmio;
	struct virtio_mmio *m;
	int ret;

	if (i >= LAYOUT_VIRTIO_MMIO_MAX) {
		snprintf(err, err_len, "%s: no virtio-mmio window left (%u in all)", what,
			 LAYOUT_VIRTIO_MMIO_MAX);
		vdev->ops->destroy(vdev);
		return -ENOSPC;
	}
	ret = virtio_mmio_create(&m, &vm->mmio, &p->plat, i,
				 LAYOUT_VIRTIO_MMIO_GPA + i * LAYOUT_VIRTIO_MMIO_STRIDE,
				 layout_virtio_mmio_gsi(i), vdev);
	if (ret) {
		snprintf(err, err_len, "%s: virtio-mmio: %s", what, strerror(-ret));
		vdev->ops->destroy(vdev);
		return ret;
	}
	p->nr_mmio++;
	ret = vm_add_device(vm, &virtio_mmio_device_ops, m);
	if (ret) {
		virtio_mmio_destroy(m);
		snprintf(err, err_len, "out of memory");
	}
	return ret;
}

/* Put @vdev on the next slot (or window); on failure @vdev is freed. */
static int attach(struct vm *vm, struct vm_pci *p, struct virtio_dev *vdev, const char *what,
		  char *err, size_t err_len)
{
	struct virtio_pci *vp;
	int ret;

	if (p->mmio)
		return attach_mmio(vm, p, vdev, what, err, err_len);

	if (p->next_slot >= PCI_MAX_SLOTS) {
		snprintf(err, err_len, "%s: no PCI slot left", what);
		vdev->ops->destroy(vdev);
		return -ENOSPC;
	}
	ret = virtio_pci_create(&vp, &p->bus, p->next_slot, vdev);
	if (ret) {
		snprintf(err, err_len, "%s: virtio-pci: %s", what, strerror(-ret));
		vdev->ops->destroy(vdev);
		return ret;
	}
	p->next_slot++;
	ret = vm_add_device(vm, &virtio_pci_device_ops, vp);
	if (ret) {
		virtio_pci_destroy(vp);
		snprintf(err, err_len, "out of memory");
	}
	return ret;
}

static int add_disk(struct vm *vm, struct vm_pci *p, const struct vm_disk_config *d,
		    bool *user_error, char *err, size_t err_len)
{
	struct virtio_dev *vdev;
	struct blk_backend *b;
	char why[256] = "";
	int ret;

	ret = vm->defer_disk_locks
		      ? blk_backend_open_unlocked(&b, d->path, d->read_only, vm->el, why,
						  sizeof(why))
		      : blk_backend_open(&b, d->path, d->read_only, vm->el, why, sizeof(why));
	if (ret) {
		*user_error = true;
		snprintf(err, err_len, "disk '%s': %s", d->id, why);
		return ret;
	}
	p->blks[p->nr_blks++] = b;
	ret = virtio_blk_create_on(&vdev, &vm->gmem, b, d->id);
	if (ret) {
		snprintf(err, err_len, "disk '%s': %s", d->id, strerror(-ret));
		return ret;
	}
	if (rate_limit_config_active(&d->limit))
		virtio_blk_set_rate_limit(vdev, &d->limit);
	p->disks[p->nr_disks++] = vdev;
	return attach(vm, p, vdev, d->id, err, err_len);
}

static int add_net(struct vm *vm, struct vm_pci *p, const struct vm_net_config *n, bool *user_error,
		   char *err, size_t err_len)
{
	struct virtio_dev *vdev;
	struct virtio_net_filter filter = { 0 };
	struct net_vhost *vh = NULL;
	struct net_tap *t;
	uint8_t mac[6];
	char why[256] = "";
	int ret;

	ret = net_tap_open(&t, n->tap, why, sizeof(why));
	if (ret) {
		*user_error = true;
		snprintf(err, err_len, "net '%s': %s", n->id, why);
		return ret;
	}
	p->taps[p->nr_taps++] = t;
	if (n->vhost) {
		if (!net_tap_has_vnet_hdr(t)) {
			*user_error = true;
			snprintf(err, err_len,
				 "net '%s': vhost=on needs a TAP with the vnet header", n->id);
			return -EOPNOTSUPP;
		}
		ret = net_vhost_open(&vh, why, sizeof(why));
		if (ret) {
			*user_error = true;
			snprintf(err, err_len, "net '%s': vhost=on: %s", n->id, why);
			return ret;
		}
		p->vhosts[p->nr_vhosts++] = vh;
	}
	if (n->has_mac) {
		memcpy(mac, n->mac, 6);
	} else {
		/* a random, locally administered unicast address */
		if (getrandom(mac, sizeof(mac), 0) != sizeof(mac))
			memset(mac, 0x42, sizeof(mac));
		mac[0] = (uint8_t)((mac[0] & 0xfe) | 0x02);
	}
	if (vm->cfg.mmds.on && n->mmds && vm->cfg.mmds.store) {
#ifdef HAVE_API
		if (vh) {
			*user_error = true;
			snprintf(err, err_len,
				 "net '%s': the metadata service needs vmon's own data path, not "
				 "vhost=on",
				 n->id);
			return -EOPNOTSUPP;
		}
		ret = vm_mmds_create(&p->mmds[p->nr_mmds], &vm->cfg, &filter);
		if (ret) {
			snprintf(err, err_len, "net '%s': metadata service: %s", n->id,
				 strerror(-ret));
			return ret;
		}
		p->nr_mmds++;
#endif
	}
	ret = virtio_net_create_on(&vdev, &vm->gmem, t, vh, &filter, mac, vm->el);
	if (ret) {
		snprintf(err, err_len, "net '%s': %s", n->id, strerror(-ret));
		return ret;
	}
	if ((rate_limit_config_active(&n->rx_limit) || rate_limit_config_active(&n->tx_limit)) &&
	    virtio_net_set_rate_limit(vdev, &n->rx_limit, &n->tx_limit)) {
		*user_error = true;
		snprintf(err, err_len, "net '%s': rate limiters do not apply with vhost=on", n->id);
		vdev->ops->destroy(vdev);
		return -EOPNOTSUPP;
	}
	p->nets[p->nr_nets++] = vdev;
	return attach(vm, p, vdev, n->id, err, err_len);
}

/* The balloon's memory goes back to the host: the pages are dropped (re-read as zeros, or
 * from a snapshot's memory file, if the guest touches them again). */
static int balloon_discard(void *opaque, void *hva, size_t len)
{
	(void)opaque;
	return madvise(hva, len, MADV_DONTNEED) ? -errno : 0;
}

static int add_balloon(struct vm *vm, struct vm_pci *p, char *err, size_t err_len)
{
	const struct vm_balloon_config *c = &vm->cfg.balloon;
	struct virtio_balloon_params bp = { .target_pages =
						    c->amount_mib * VIRTIO_BALLOON_PAGES_PER_MIB,
					    .deflate_on_oom = c->deflate_on_oom,
					    .stats_interval_s = c->stats_interval_s,
					    .reporting = c->free_page_reporting };
	struct virtio_balloon_host host = { .discard = balloon_discard };
	struct virtio_dev *vdev;
	int ret = virtio_balloon_create(&vdev, &vm->gmem, &bp, &host);

	if (ret) {
		snprintf(err, err_len, "virtio-balloon: %s", strerror(-ret));
		return ret;
	}
	p->balloon = vdev;
	return attach(vm, p, vdev, "balloon", err, err_len);
}

int vm_pci_create(struct vm *vm, const struct bus_region_ops *cf9_ops, void *cf9,
		  struct chardev *console, bool *user_error, char *err, size_t err_len)
{
	struct vm_pci *p = calloc(1, sizeof(*p));
	struct virtio_dev *vdev;
	int ret;

	if (!p) {
		snprintf(err, err_len, "out of memory");
		return -ENOMEM;
	}
	vm->pci = p;
	p->next_slot = 1; /* slot 0 is the host bridge */
	p->plat = (struct dev_platform){
		.opaque = vm,
		.ioeventfd_add = plat_ioeventfd_add,
		.ioeventfd_del = plat_ioeventfd_del,
		.msi_send = plat_msi_send,
		.intx_set = plat_intx_set,
		.fd_watch = plat_fd_watch,
		.fd_unwatch = plat_fd_unwatch,
		.msi_route = plat_msi_route,
		.msi_route_del = plat_msi_route_del,
		.irqfd = plat_irqfd,
	};
	p->mmio = vm_config_transport(&vm->cfg) == VM_TRANSPORT_MMIO;
	if (p->mmio) {
		/* no host bridge: the reset byte is served on its own */
		ret = bus_register(&vm->pio, ACPI_PM_RESET_PORT, ACPI_PM_RESET_LEN, cf9_ops, cf9,
				   "acpi_reset");
	} else {
		ret = pci_bus_init(&p->bus, &vm->pio, &vm->mmio, &p->plat, cf9_ops, cf9);
		p->bus_up = !ret;
	}
	if (ret) {
		snprintf(err, err_len, "%s: %s", p->mmio ? "reset port" : "PCI host bridge",
			 strerror(-ret));
		return ret;
	}
	for (unsigned i = 0; i < vm->cfg.nr_disks; i++) {
		ret = add_disk(vm, p, &vm->cfg.disks[i], user_error, err, err_len);
		if (ret)
			return ret;
	}
	for (unsigned i = 0; i < vm->cfg.nr_nets; i++) {
		ret = add_net(vm, p, &vm->cfg.nets[i], user_error, err, err_len);
		if (ret)
			return ret;
	}
	for (unsigned i = 0; i < VIRTIO_NR_CLASSES; i++) {
		const struct virtio_class *cls = virtio_class_at(i);

		if (!vm->cfg.classes[i])
			continue;
		ret = cls->create(&vdev, &vm->gmem);
		if (ret) {
			snprintf(err, err_len, "%s: %s", cls->name, strerror(-ret));
			return ret;
		}
		ret = attach(vm, p, vdev, cls->name, err, err_len); /* writes @err itself */
		if (ret)
			return ret;
	}
	if (vm->cfg.console == VM_CONSOLE_VIRTIO) {
		ret = virtio_console_create(&vdev, &vm->gmem, console);
		if (ret) {
			snprintf(err, err_len, "virtio-console: %s", strerror(-ret));
			return ret;
		}
		ret = attach(vm, p, vdev, "console", err, err_len); /* writes @err itself */
		if (ret)
			return ret;
	}
	if (vm->cfg.vsock.uds_path) {
		ret = virtio_vsock_create(&vdev, &vm->gmem, vm->cfg.vsock.cid,
					  vm->cfg.vsock.uds_path, vm->el, err, err_len);
		if (ret) {
			*user_error = ret != -ENOMEM;
			return ret;
		}
		ret = attach(vm, p, vdev, "vsock", err, err_len); /* writes @err itself */
		if (ret)
			return ret;
	}
	if (vm->cfg.balloon.on)
		return add_balloon(vm, p, err, err_len);
	return 0;
}

struct virtio_dev *vm_pci_balloon(struct vm *vm)
{
	return vm->pci ? vm->pci->balloon : NULL;
}

void vm_pci_drain(struct vm *vm)
{
	struct vm_pci *p = vm->pci;

	for (unsigned i = 0; p && i < p->nr_blks; i++)
		blk_backend_drain(p->blks[i]);
}

int vm_pci_flush(struct vm *vm, char *err, size_t err_len)
{
	struct vm_pci *p = vm->pci;

	for (unsigned i = 0; p && i < p->nr_blks; i++) {
		int ret = blk_backend_sync(p->blks[i]);

		if (ret) {
			snprintf(err, err_len, "disk '%s': cannot flush: %s", vm->cfg.disks[i].id,
				 strerror(-ret));
			return ret;
		}
	}
	return 0;
}

int vm_pci_lock_disks(struct vm *vm, char *err, size_t err_len)
{
	struct vm_pci *p = vm->pci;

	for (unsigned i = 0; p && i < p->nr_blks; i++) {
		char why[256];
		int ret = blk_backend_lock(p->blks[i], vm->cfg.disks[i].path, why, sizeof(why));

		if (ret) {
			snprintf(err, err_len, "disk '%s': %s", vm->cfg.disks[i].id, why);
			return ret;
		}
	}
	return 0;
}

void vm_pci_unlock_disks(struct vm *vm)
{
	struct vm_pci *p = vm->pci;

	for (unsigned i = 0; p && i < p->nr_blks; i++)
		blk_backend_unlock(p->blks[i]);
}

/*
 * A RARP frame from @mac, as QEMU's announce sends: switches and bridges on
 * the new port learn the guest's address at once, whatever the guest runs.
 */
static void announce_one(struct net_tap *t, const uint8_t mac[6])
{
	uint8_t hdr[12] = { 0 }, f[60] = { 0 }; /* hdr: a virtio_net_hdr_v1, 12 bytes */
	struct iovec iov[2] = { { hdr, sizeof(hdr) }, { f, sizeof(f) } };
	bool vnet = net_tap_has_vnet_hdr(t);

	memset(f, 0xff, 6); /* broadcast */
	memcpy(f + 6, mac, 6);
	f[12] = 0x80, f[13] = 0x35; /* RARP */
	f[14] = 0, f[15] = 1; /* Ethernet */
	f[16] = 0x08, f[17] = 0x00; /* IPv4 */
	f[18] = 6, f[19] = 4;
	f[20] = 0, f[21] = 3; /* reverse request */
	memcpy(f + 22, mac, 6);
	memcpy(f + 32, mac, 6);
	if (net_tap_writev(t, vnet ? iov : iov + 1, vnet ? 2 : 1) < 0)
		log_info("announce on %s: %s", net_tap_ifname(t), strerror(errno));
}

void vm_pci_announce(struct vm *vm)
{
	struct vm_pci *p = vm->pci;

	for (unsigned i = 0; p && i < p->nr_nets && i < p->nr_taps; i++) {
		uint8_t mac[6];

		virtio_net_get_mac(p->nets[i], mac);
		announce_one(p->taps[i], mac);
	}
}

void vm_pci_quiesce(struct vm *vm)
{
	struct vm_pci *p = vm->pci;

	if (!p)
		return;
	for (unsigned i = 0; i < p->nr_blks; i++)
		blk_backend_close(p->blks[i]);
	p->nr_blks = 0;
}

void vm_pci_destroy(struct vm *vm)
{
	struct vm_pci *p = vm->pci;

	if (!p)
		return;
	vm_pci_quiesce(vm);
	for (unsigned i = 0; i < p->nr_vhosts; i++)
		net_vhost_close(p->vhosts[i]);
	for (unsigned i = 0; i < p->nr_taps; i++)
		net_tap_close(p->taps[i]);
#ifdef HAVE_API
	for (unsigned i = 0; i < p->nr_mmds; i++)
		vm_mmds_destroy(p->mmds[i]);
#endif
	if (p->bus_up)
		pci_bus_destroy(&p->bus);
	free(p);
	vm->pci = NULL;
}

int vm_pci_set_disk_limit(struct vm *vm, unsigned idx, const struct rate_limit_config *c)
{
	struct vm_pci *p = vm->pci;

	if (!p || idx >= p->nr_disks)
		return -ENOENT;
	return virtio_blk_set_rate_limit(p->disks[idx], c);
}

int vm_pci_set_disk_path(struct vm *vm, unsigned idx, const char *path, char *err, size_t err_len)
{
	struct vm_pci *p = vm->pci;
	struct blk_backend *b;
	char why[256] = "";
	int ret;

	if (!p || idx >= p->nr_disks || idx >= p->nr_blks) {
		snprintf(err, err_len, "no such disk");
		return -ENOENT;
	}
	ret = blk_backend_open(&b, path, vm->cfg.disks[idx].read_only, vm->el, why, sizeof(why));
	if (ret) {
		snprintf(err, err_len, "%s", why);
		return ret;
	}
	ret = virtio_blk_replace_on(p->disks[idx], b);
	if (ret) {
		blk_backend_close(b);
		snprintf(err, err_len, "the device cannot change its disk now: %s", strerror(-ret));
		return ret;
	}
	blk_backend_close(p->blks[idx]); /* drained by the replace: nothing is in flight on it */
	p->blks[idx] = b;
	return 0;
}

int vm_pci_set_net_limit(struct vm *vm, unsigned idx, const struct rate_limit_config *rx,
			 const struct rate_limit_config *tx)
{
	struct vm_pci *p = vm->pci;

	if (!p || idx >= p->nr_nets)
		return -ENOENT;
	return virtio_net_set_rate_limit(p->nets[idx], rx, tx);
}
