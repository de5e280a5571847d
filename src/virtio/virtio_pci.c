/* virtio_pci.c — virtio 1.2 §4.1 PCI transport: capabilities, common config, ISR, notify,
 * MSI-X/INTx. */
#include "virtio/virtio_pci.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/pci_regs.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_pci.h>

#include "util/compiler.h"

#define VIRTIO_PCI_VENDOR 0x1af4
#define VIRTIO_PCI_DEVICE_BASE 0x1040
#define VIRTIO_PCI_SUBSYS_ID 0x1100 /* >= 0x40 for non-transitional devices (§4.1.2.1) */
#define VIRTIO_PCI_COMMON_LEN 0x40u /* up to queue_reset */

static uint32_t class_for(uint16_t id)
{
	switch (id) {
	case VIRTIO_ID_NET:
		return 0x020000; /* network controller, ethernet */
	case VIRTIO_ID_BLOCK:
		return 0x018000; /* mass storage, other */
	case VIRTIO_ID_CONSOLE:
		return 0x078000; /* communication, other */
	default:
		return 0x00ff00; /* unclassified */
	}
}

/* ---- interrupts (§4.1.5.4) -------------------------------------------------------------- */

static void vp_interrupt(void *opaque, struct virtio_dev *vdev, int q)
{
	struct virtio_pci *vp = opaque;

	if (pci_msix_enabled(&vp->pdev)) {
		uint16_t vec = q < 0 ? vdev->config_vector : vdev->vqs[q].msix_vector;

		/* §4.1.5.4: no vector, no interrupt. -EINVAL: MSI-X was just turned off; use INTx.
		 */
		if (vec == VIRTIO_NO_VECTOR || pci_msix_notify(&vp->pdev, vec) != -EINVAL)
			return;
	}
	vp->isr |= q < 0 ? VIRTIO_PCI_ISR_CONFIG : 1;
	pci_intx_set(&vp->pdev, 1);
}

static bool vp_requeue(void *opaque, struct virtio_dev *vdev, unsigned q)
{
	(void)vdev;
	return virtio_kicks_requeue(&((struct virtio_pci *)opaque)->kicks, q);
}

static bool vp_requeue_after(void *opaque, struct virtio_dev *vdev, unsigned q, uint64_t ns)
{
	(void)vdev;
	return virtio_kicks_requeue_after(&((struct virtio_pci *)opaque)->kicks, q, ns);
}

static int vp_queue_fd(void *opaque, struct virtio_dev *vdev, unsigned q, bool take)
{
	(void)vdev;
	return virtio_kicks_queue_fd(&((struct virtio_pci *)opaque)->kicks, q, take);
}

/*
 * Interrupt eventfds (queue_irqfd). While the queue's MSI-X vector is live the
 * eventfd is a KVM irqfd on an MSI route carrying the vector's message (so
 * vhost-net interrupts the guest with no exit); otherwise (MSI-X off or the
 * vector masked) the event loop reads it and raises the interrupt the usual
 * way. Re-evaluated whenever the MSI-X state changes. pdev.lock held.
 */
static void vp_call_handler(void *arg, uint32_t events);
static void *call_ctx_of(struct virtio_pci *vp, unsigned q);

static void vp_call_apply(struct virtio_pci *vp, unsigned q)
{
	const struct dev_platform *plat = vp->plat;
	bool kvm = false;
	uint64_t addr;
	uint32_t data;
	int fd = vp->call_fd[q], gsi;

	if (fd < 0 || !plat)
		return;
	if (plat->irqfd && plat->msi_route &&
	    pci_msix_vector_live(&vp->pdev, vp->call_vec[q], &addr, &data)) {
		gsi = plat->msi_route(plat->opaque, vp->call_gsi[q], addr, data);
		if (gsi >= 0) {
			vp->call_gsi[q] = gsi;
			kvm = vp->call_kvm[q] || plat->irqfd(plat->opaque, fd, gsi, true) == 0;
		}
	}
	if (kvm != vp->call_kvm[q] || (!kvm && !vp->call_watched[q]))
		log_debug("%s: queue %u interrupts %s (GSI %d)", vp->vdev->name, q,
			  kvm ? "through a KVM irqfd" : "through the event loop", vp->call_gsi[q]);
	if (kvm) {
		vp->call_kvm[q] = true;
		if (vp->call_watched[q] && plat->fd_unwatch)
			plat->fd_unwatch(plat->opaque, fd);
		vp->call_watched[q] = false;
		return;
	}
	if (vp->call_kvm[q])
		plat->irqfd(plat->opaque, fd, vp->call_gsi[q], false);
	vp->call_kvm[q] = false;
	if (!vp->call_watched[q] && plat->fd_watch &&
	    plat->fd_watch(plat->opaque, fd, vp_call_handler, call_ctx_of(vp, q)) == 0)
		vp->call_watched[q] = true;
}

static void vp_call_release(struct virtio_pci *vp, unsigned q)
{
	const struct dev_platform *plat = vp->plat;

	if (vp->call_fd[q] >= 0 && plat) {
		if (vp->call_kvm[q])
			plat->irqfd(plat->opaque, vp->call_fd[q], vp->call_gsi[q], false);
		if (vp->call_watched[q] && plat->fd_unwatch)
			plat->fd_unwatch(plat->opaque, vp->call_fd[q]);
	}
	if (vp->call_gsi[q] >= 0 && plat && plat->msi_route_del)
		plat->msi_route_del(plat->opaque, vp->call_gsi[q]);
	vp->call_fd[q] = -1;
	vp->call_gsi[q] = -1;
	vp->call_kvm[q] = vp->call_watched[q] = false;
}

static void vp_msix_changed(struct pci_device *pdev)
{
	struct virtio_pci *vp = container_of(pdev, struct virtio_pci, pdev);

	for (unsigned q = 0; q < VIRTIO_MAX_QUEUES; q++)
		vp_call_apply(vp, q);
}

static int vp_queue_irqfd(void *opaque, struct virtio_dev *vdev, unsigned q, int fd)
{
	struct virtio_pci *vp = opaque;
	int rc = 0;

	if (q >= vdev->nr_queues)
		return -EINVAL;
	pthread_mutex_lock(&vp->pdev.lock);
	vp_call_release(vp, q);
	if (fd >= 0) {
		vp->call_fd[q] = fd;
		vp->call_vec[q] = vdev->vqs[q].msix_vector;
		vp_call_apply(vp, q);
		if (!vp->call_kvm[q] && !vp->call_watched[q]) {
			vp_call_release(vp, q);
			rc = -EIO;
		}
	}
	pthread_mutex_unlock(&vp->pdev.lock);
	return rc;
}

/* ---- common configuration (§4.1.4.3) ------------------------------------------------------ */

static struct virtq *sel_vq(struct virtio_pci *vp)
{
	return vp->queue_select < vp->vdev->nr_queues ? &vp->vdev->vqs[vp->queue_select] : NULL;
}

/* The whole structure as the driver would see it, for reads of any width. */
static void common_image(struct virtio_pci *vp, uint8_t img[VIRTIO_PCI_COMMON_LEN])
{
	struct virtio_dev *vdev = vp->vdev;
	struct virtq *vq = sel_vq(vp);
	uint64_t df = vp->device_feature_select < 2
			      ? vdev->host_features >> (32 * vp->device_feature_select)
			      : 0;
	uint64_t gf = vp->driver_feature_select < 2
			      ? vdev->driver_features >> (32 * vp->driver_feature_select)
			      : 0;
	uint8_t *b = img;

#define P16(off, v)                                                                                \
	do {                                                                                       \
		b[off] = (uint8_t)(v);                                                             \
		b[(off) + 1] = (uint8_t)((v) >> 8);                                                \
	} while (0)
#define P32(off, v)                                                                                \
	do {                                                                                       \
		P16(off, (uint32_t)(v));                                                           \
		P16((off) + 2, (uint32_t)(v) >> 16);                                               \
	} while (0)
	memset(img, 0, VIRTIO_PCI_COMMON_LEN);
	P32(VIRTIO_PCI_COMMON_DFSELECT, vp->device_feature_select);
	P32(VIRTIO_PCI_COMMON_DF, (uint32_t)df);
	P32(VIRTIO_PCI_COMMON_GFSELECT, vp->driver_feature_select);
	P32(VIRTIO_PCI_COMMON_GF, (uint32_t)gf);
	P16(VIRTIO_PCI_COMMON_MSIX, vdev->config_vector);
	P16(VIRTIO_PCI_COMMON_NUMQ, vdev->nr_queues);
	b[VIRTIO_PCI_COMMON_STATUS] = virtio_dev_status_read(vdev);
	b[VIRTIO_PCI_COMMON_CFGGENERATION] = vdev->config_generation;
	P16(VIRTIO_PCI_COMMON_Q_SELECT, vp->queue_select);
	if (vq) {
		P16(VIRTIO_PCI_COMMON_Q_SIZE, vq->size);
		P16(VIRTIO_PCI_COMMON_Q_MSIX, vq->msix_vector);
		P16(VIRTIO_PCI_COMMON_Q_ENABLE, vq->enabled);
		P16(VIRTIO_PCI_COMMON_Q_NOFF, vp->queue_select);
		P32(VIRTIO_PCI_COMMON_Q_DESCLO, vq->desc_gpa);
		P32(VIRTIO_PCI_COMMON_Q_DESCHI, vq->desc_gpa >> 32);
		P32(VIRTIO_PCI_COMMON_Q_AVAILLO, vq->avail_gpa);
		P32(VIRTIO_PCI_COMMON_Q_AVAILHI, vq->avail_gpa >> 32);
		P32(VIRTIO_PCI_COMMON_Q_USEDLO, vq->used_gpa);
		P32(VIRTIO_PCI_COMMON_Q_USEDHI, vq->used_gpa >> 32);
	} else {
		P16(VIRTIO_PCI_COMMON_Q_MSIX, VIRTIO_NO_VECTOR);
	}
#undef P16
#undef P32
}

static uint16_t checked_vector(struct virtio_pci *vp, uint64_t v)
{
	return v < vp->pdev.msix_nr ? (uint16_t)v : VIRTIO_NO_VECTOR;
}

static void set_addr_half(uint64_t *gpa, bool hi, uint32_t v)
{
	if (hi)
		*gpa = (*gpa & 0xffffffffull) | (uint64_t)v << 32;
	else
		*gpa = (*gpa & ~0xffffffffull) | v;
}

static void common_write(struct virtio_pci *vp, uint64_t off, uint64_t val, unsigned size)
{
	struct virtio_dev *vdev = vp->vdev;
	struct virtq *vq = sel_vq(vp);
	uint32_t v = (uint32_t)val;

	switch (off) {
	case VIRTIO_PCI_COMMON_DFSELECT:
		if (size == 4)
			vp->device_feature_select = v;
		return;
	case VIRTIO_PCI_COMMON_GFSELECT:
		if (size == 4)
			vp->driver_feature_select = v;
		return;
	case VIRTIO_PCI_COMMON_GF:
		if (size != 4 || vp->driver_feature_select > 1 ||
		    (vdev->status & VIRTIO_CONFIG_S_FEATURES_OK))
			return;
		set_addr_half(&vdev->driver_features, vp->driver_feature_select == 1, v);
		return;
	case VIRTIO_PCI_COMMON_MSIX:
		if (size == 2)
			vdev->config_vector = checked_vector(vp, v);
		return;
	case VIRTIO_PCI_COMMON_STATUS:
		if (size != 1)
			return;
		virtio_dev_set_status(vdev, (uint8_t)v);
		if (v == 0) {
			vp->isr = 0;
			pci_intx_set(&vp->pdev, 0);
		}
		return;
	case VIRTIO_PCI_COMMON_Q_SELECT:
		if (size == 2)
			vp->queue_select = (uint16_t)v;
		return;
	default:
		break;
	}
	if (!vq)
		return;
	if (off == VIRTIO_PCI_COMMON_Q_MSIX && size == 2) {
		vq->msix_vector = checked_vector(vp, v);
		return;
	}
	if (vq->enabled) {
		/* §4.1.4.3.2: the rest of the queue is read-only once enabled. */
		log_guest(&vp->rl, "%s: queue %u register 0x%llx written while enabled", vdev->name,
			  vp->queue_select, (unsigned long long)off);
		return;
	}
	switch (off) {
	case VIRTIO_PCI_COMMON_Q_SIZE:
		if (size == 2 && v && !(v & (v - 1)) && v <= vq->max_size)
			vq->size = (uint16_t)v;
		else
			log_guest(&vp->rl, "%s: bad queue size %u", vdev->name, v);
		return;
	case VIRTIO_PCI_COMMON_Q_ENABLE:
		if (size == 2 && v == 1)
			vq->enabled = true;
		return;
	case VIRTIO_PCI_COMMON_Q_DESCLO:
	case VIRTIO_PCI_COMMON_Q_DESCHI:
		if (size == 4)
			set_addr_half(&vq->desc_gpa, off == VIRTIO_PCI_COMMON_Q_DESCHI, v);
		return;
	case VIRTIO_PCI_COMMON_Q_AVAILLO:
	case VIRTIO_PCI_COMMON_Q_AVAILHI:
		if (size == 4)
			set_addr_half(&vq->avail_gpa, off == VIRTIO_PCI_COMMON_Q_AVAILHI, v);
		return;
	case VIRTIO_PCI_COMMON_Q_USEDLO:
	case VIRTIO_PCI_COMMON_Q_USEDHI:
		if (size == 4)
			set_addr_half(&vq->used_gpa, off == VIRTIO_PCI_COMMON_Q_USEDHI, v);
		return;
	default:
		return; /* read-only or reserved */
	}
}

/* ---- BAR 0 ---------------------------------------------------------------------------- */

static uint64_t ones(unsigned size)
{
	return size >= 8 ? ~0ull : (1ull << (8 * size)) - 1;
}

static uint64_t vp_bar_read(void *opaque, uint64_t off, unsigned size)
{
	struct virtio_pci *vp = opaque;
	struct virtio_dev *vdev = vp->vdev;
	uint64_t v = ones(size);

	if (off >= VIRTIO_PCI_MSIX_TABLE_OFF && off < VIRTIO_PCI_BAR_SIZE)
		return pci_msix_read(&vp->pdev, off, size);
	virtio_dev_lock(vdev);
	if (off + size <= VIRTIO_PCI_COMMON_LEN) {
		uint8_t img[VIRTIO_PCI_COMMON_LEN];

		common_image(vp, img);
		v = 0;
		for (unsigned i = 0; i < size; i++)
			v |= (uint64_t)img[off + i] << (8 * i);
	} else if (off == VIRTIO_PCI_ISR_OFF && size == 1) {
		/* §4.1.4.5: reading the ISR clears it and de-asserts INTx. */
		v = vp->isr;
		vp->isr = 0;
		pci_intx_set(&vp->pdev, 0);
	} else if (off >= VIRTIO_PCI_DEVICE_OFF &&
		   off - VIRTIO_PCI_DEVICE_OFF + size <= vdev->ops->config_len &&
		   vdev->ops->config_read) {
		uint8_t buf[8] = { 0 };

		vdev->ops->config_read(vdev, (uint32_t)(off - VIRTIO_PCI_DEVICE_OFF), buf, size);
		v = 0;
		for (unsigned i = 0; i < size; i++)
			v |= (uint64_t)buf[i] << (8 * i);
	} else if (off >= VIRTIO_PCI_NOTIFY_OFF && off < VIRTIO_PCI_NOTIFY_OFF + 0x1000) {
		v = 0;
	}
	virtio_dev_unlock(vdev);
	return v;
}

static void vp_bar_write(void *opaque, uint64_t off, uint64_t value, unsigned size)
{
	struct virtio_pci *vp = opaque;
	struct virtio_dev *vdev = vp->vdev;

	if (off >= VIRTIO_PCI_MSIX_TABLE_OFF && off < VIRTIO_PCI_BAR_SIZE) {
		pci_msix_write(&vp->pdev, off, value, size);
		return;
	}
	if (off >= VIRTIO_PCI_NOTIFY_OFF && off < VIRTIO_PCI_NOTIFY_OFF + 0x1000) {
		/* A notify that did not go through an ioeventfd (§4.1.5.2). */
		if ((off - VIRTIO_PCI_NOTIFY_OFF) % VIRTIO_PCI_NOTIFY_MULT == 0)
			virtio_kicks_notify(&vp->kicks, (unsigned)((off - VIRTIO_PCI_NOTIFY_OFF) /
								   VIRTIO_PCI_NOTIFY_MULT));
		return;
	}
	virtio_dev_lock(vdev);
	if (off + size <= VIRTIO_PCI_COMMON_LEN) {
		common_write(vp, off, value, size);
	} else if (off >= VIRTIO_PCI_DEVICE_OFF &&
		   off - VIRTIO_PCI_DEVICE_OFF + size <= vdev->ops->config_len &&
		   vdev->ops->config_write) {
		uint8_t buf[8];

		for (unsigned i = 0; i < size; i++)
			buf[i] = (uint8_t)(value >> (8 * i));
		vdev->ops->config_write(vdev, (uint32_t)(off - VIRTIO_PCI_DEVICE_OFF), buf, size);
	}
	virtio_dev_unlock(vdev);
}

const struct bus_region_ops virtio_pci_bar_ops = { .read = vp_bar_read, .write = vp_bar_write };

/* ---- ioeventfds ------------------------------------------------------------------------- */

static void vp_ioeventfds(struct virtio_pci *vp, bool on, uint64_t bar_gpa)
{
	const struct dev_platform *plat = vp->plat;

	if (!plat || !plat->ioeventfd_add || !plat->ioeventfd_del || on == vp->ioeventfd_on)
		return;
	for (unsigned q = 0; q < vp->vdev->nr_queues; q++) {
		uint64_t gpa = (on ? bar_gpa : vp->ioeventfd_bar_gpa) + VIRTIO_PCI_NOTIFY_OFF +
			       (uint64_t)q * VIRTIO_PCI_NOTIFY_MULT;

		if (!vp->kicks.watched[q])
			continue;
		if (on) {
			int rc = plat->ioeventfd_add(plat->opaque, gpa, 2, -1, vp->kicks.fd[q]);

			if (rc)
				log_warn("%s: ioeventfd for queue %u: %d (kicks will exit)",
					 vp->vdev->name, q, rc);
		} else {
			plat->ioeventfd_del(plat->opaque, gpa, 2, -1, vp->kicks.fd[q]);
		}
	}
	vp->ioeventfd_on = on;
	vp->ioeventfd_bar_gpa = bar_gpa;
}

static void vp_bar_changed(struct pci_device *pdev, unsigned bar, bool mapped, uint64_t gpa)
{
	struct virtio_pci *vp = container_of(pdev, struct virtio_pci, pdev);

	if (bar == 0)
		vp_ioeventfds(vp, mapped, gpa);
}

struct vp_call_ctx {
	struct virtio_pci *vp;
	unsigned q;
};

/* An interrupt eventfd read on the event loop (MSI-X off or the vector masked). */
static void vp_call_handler(void *arg, uint32_t events)
{
	struct vp_call_ctx *c = arg;
	struct virtio_pci *vp = c->vp;
	uint64_t cnt;
	int fd;

	(void)events;
	virtio_dev_lock(vp->vdev);
	pthread_mutex_lock(&vp->pdev.lock);
	fd = vp->call_watched[c->q] ? vp->call_fd[c->q] : -1;
	pthread_mutex_unlock(&vp->pdev.lock);
	if (fd >= 0 && read(fd, &cnt, sizeof(cnt)) == sizeof(cnt))
		vp_interrupt(vp, vp->vdev, (int)c->q);
	virtio_dev_unlock(vp->vdev);
}

/* ---- create / destroy ------------------------------------------------------------------- */

struct virtio_pci_full {
	struct virtio_pci vp;
	struct vp_call_ctx call[VIRTIO_MAX_QUEUES];
};

static void *call_ctx_of(struct virtio_pci *vp, unsigned q)
{
	return &container_of(vp, struct virtio_pci_full, vp)->call[q];
}

static void add_vendor_cap(struct pci_device *pdev, uint8_t type, uint32_t off, uint32_t len,
			   bool notify)
{
	struct virtio_pci_notify_cap c;

	memset(&c, 0, sizeof(c));
	c.cap.cap_vndr = PCI_CAP_ID_VNDR;
	c.cap.cap_len = notify ? sizeof(c) : sizeof(c.cap);
	c.cap.cfg_type = type;
	c.cap.bar = 0;
	c.cap.offset = off;
	c.cap.length = len;
	c.notify_off_multiplier = VIRTIO_PCI_NOTIFY_MULT;
	pci_device_add_cap(pdev, &c, c.cap.cap_len, NULL);
}

/*
 * VIRTIO_PCI_CAP_PCI_CFG (§4.1.4.9): a window in config space through which
 * the driver reaches BAR registers: it programs cap.bar, cap.offset and
 * cap.length, then reads or writes pci_cfg_data. Only BAR 0 exists; other
 * bars, lengths other than 1/2/4 and misaligned offsets read 0 / do nothing.
 */
static bool pcicfg_target(struct virtio_pci *vp, uint32_t *off, unsigned *len)
{
	unsigned c = vp->pcicfg_cap;
	uint8_t bar = (uint8_t)pci_config_read(&vp->pdev, c + VIRTIO_PCI_CAP_BAR, 1);

	*off = pci_config_read(&vp->pdev, c + VIRTIO_PCI_CAP_OFFSET, 4);
	*len = pci_config_read(&vp->pdev, c + VIRTIO_PCI_CAP_LENGTH, 4);
	return bar == 0 && (*len == 1 || *len == 2 || *len == 4) && !(*off & (*len - 1)) &&
	       *off < VIRTIO_PCI_BAR_SIZE;
}

static uint32_t pcicfg_read(struct pci_device *pdev, unsigned offset, unsigned size)
{
	struct virtio_pci *vp = container_of(pdev, struct virtio_pci, pdev);
	uint32_t off, v;
	unsigned len;

	if (!pcicfg_target(vp, &off, &len))
		return 0;
	v = (uint32_t)vp_bar_read(vp, off, len);
	return (uint32_t)((uint64_t)v >> (8 * offset)) &
	       (size == 4 ? 0xffffffffu : (1u << (8 * size)) - 1);
}

static void pcicfg_write(struct pci_device *pdev, unsigned offset, uint32_t value, unsigned size)
{
	struct virtio_pci *vp = container_of(pdev, struct virtio_pci, pdev);
	uint32_t off;
	unsigned len;

	if (offset != 0 || size < 1 || !pcicfg_target(vp, &off, &len) || size < len)
		return;
	vp_bar_write(vp, off, value, len);
}

static void add_pcicfg_cap(struct virtio_pci *vp)
{
	struct virtio_pci_cfg_cap c;
	uint8_t wm[sizeof(c)];
	int off;

	memset(&c, 0, sizeof(c));
	memset(wm, 0, sizeof(wm));
	c.cap.cap_vndr = PCI_CAP_ID_VNDR;
	c.cap.cap_len = sizeof(c);
	c.cap.cfg_type = VIRTIO_PCI_CAP_PCI_CFG;
	wm[VIRTIO_PCI_CAP_BAR] = 0xff;
	memset(wm + VIRTIO_PCI_CAP_OFFSET, 0xff, 8); /* offset and length */
	off = pci_device_add_cap(&vp->pdev, &c, sizeof(c), wm);
	if (off < 0)
		return;
	vp->pcicfg_cap = (uint8_t)off;
	vp->pdev.hook_off = (unsigned)off + offsetof(struct virtio_pci_cfg_cap, pci_cfg_data);
	vp->pdev.hook_len = 4;
	vp->pdev.hook_read = pcicfg_read;
	vp->pdev.hook_write = pcicfg_write;
}

static void vp_release_fds(struct virtio_pci *vp)
{
	pthread_mutex_lock(&vp->pdev.lock);
	for (unsigned q = 0; q < VIRTIO_MAX_QUEUES; q++)
		vp_call_release(vp, q);
	pthread_mutex_unlock(&vp->pdev.lock);
	virtio_kicks_fini(&vp->kicks);
}

int virtio_pci_create(struct virtio_pci **out, struct pci_bus *pb, unsigned slot,
		      struct virtio_dev *vdev)
{
	struct virtio_pci_full *full;
	struct virtio_pci *vp;
	uint16_t id = vdev->ops->device_id;
	int rc;

	full = calloc(1, sizeof(*full));
	if (!full)
		return -ENOMEM;
	vp = &full->vp;
	vp->vdev = vdev;
	vp->plat = pb->plat;
	for (unsigned q = 0; q < VIRTIO_MAX_QUEUES; q++) {
		vp->call_fd[q] = vp->call_gsi[q] = -1;
		full->call[q].vp = vp;
		full->call[q].q = q;
	}
	rc = virtio_kicks_init(&vp->kicks, vdev, vp->plat);
	if (rc) {
		free(full);
		return rc;
	}
	pci_device_init(&vp->pdev, vdev->name, VIRTIO_PCI_VENDOR,
			(uint16_t)(VIRTIO_PCI_DEVICE_BASE + id), class_for(id), VIRTIO_PCI_VENDOR,
			VIRTIO_PCI_SUBSYS_ID, 1);
	vp->pdev.bar_changed = vp_bar_changed;
	vp->pdev.msix_changed = vp_msix_changed;
	rc = pci_device_add_bar(&vp->pdev, 0, VIRTIO_PCI_BAR_SIZE, &virtio_pci_bar_ops, vp);
	if (rc)
		goto fail;
	add_vendor_cap(&vp->pdev, VIRTIO_PCI_CAP_COMMON_CFG, VIRTIO_PCI_COMMON_OFF,
		       VIRTIO_PCI_COMMON_LEN, false);
	add_vendor_cap(&vp->pdev, VIRTIO_PCI_CAP_NOTIFY_CFG, VIRTIO_PCI_NOTIFY_OFF,
		       vdev->nr_queues * VIRTIO_PCI_NOTIFY_MULT, true);
	add_vendor_cap(&vp->pdev, VIRTIO_PCI_CAP_ISR_CFG, VIRTIO_PCI_ISR_OFF, 1, false);
	if (vdev->ops->config_len)
		add_vendor_cap(&vp->pdev, VIRTIO_PCI_CAP_DEVICE_CFG, VIRTIO_PCI_DEVICE_OFF,
			       vdev->ops->config_len, false);
	add_pcicfg_cap(vp);
	rc = pci_device_add_msix(&vp->pdev, vdev->nr_queues + 1, 0, VIRTIO_PCI_MSIX_TABLE_OFF,
				 VIRTIO_PCI_MSIX_PBA_OFF);
	if (rc)
		goto fail;
	vdev->transport.interrupt = vp_interrupt;
	vdev->transport.requeue = vp_requeue;
	vdev->transport.requeue_after = vp_requeue_after;
	if (vp->plat && vp->plat->fd_unwatch)
		vdev->transport.queue_fd = vp_queue_fd;
	if (vp->plat && vp->plat->fd_watch && vp->plat->fd_unwatch)
		vdev->transport.queue_irqfd = vp_queue_irqfd;
	vdev->transport.opaque = vp;
	rc = pci_bus_attach(pb, &vp->pdev, slot);
	if (rc)
		goto fail;
	*out = vp;
	return 0;
fail:
	vdev->transport.interrupt = NULL;
	vdev->transport.requeue = NULL;
	vdev->transport.requeue_after = NULL;
	vdev->transport.queue_fd = NULL;
	vdev->transport.queue_irqfd = NULL;
	vdev->transport.opaque = NULL;
	vp_release_fds(vp);
	pci_device_fini(&vp->pdev);
	free(full);
	return rc;
}

void virtio_pci_destroy(struct virtio_pci *vp)
{
	struct virtio_dev *vdev = vp->vdev;

	if (vp->pdev.bus)
		pci_bus_detach(vp->pdev.bus, &vp->pdev);
	vp_release_fds(vp);
	pci_device_fini(&vp->pdev);
	if (vdev->ops->destroy)
		vdev->ops->destroy(vdev);
	free(container_of(vp, struct virtio_pci_full, vp));
}

int virtio_pci_kick_fd(struct virtio_pci *vp, unsigned q)
{
	return q < VIRTIO_MAX_QUEUES ? vp->kicks.fd[q] : -1;
}

/* ---- lifecycle -------------------------------------------------------------------------- */

static void vp_reset(void *dev)
{
	struct virtio_pci *vp = dev;

	virtio_dev_lock(vp->vdev);
	virtio_dev_reset(vp->vdev);
	vp->isr = 0;
	vp->device_feature_select = vp->driver_feature_select = 0;
	vp->queue_select = 0;
	pci_intx_set(&vp->pdev, 0);
	/* Decoding off (BARs keep their firmware-style addresses), MSI-X off, all vectors masked.
	 */
	pci_config_write(&vp->pdev, PCI_COMMAND, 0, 2);
	pci_config_write(&vp->pdev, vp->pdev.msix_cap + PCI_MSIX_FLAGS, 0, 2);
	pthread_mutex_lock(&vp->pdev.lock);
	for (unsigned i = 0; i < vp->pdev.msix_nr; i++)
		vp->pdev.msix[i] = (struct pci_msix_entry){ .ctrl = PCI_MSIX_ENTRY_CTRL_MASKBIT };
	vp->pdev.msix_pba = 0;
	pthread_mutex_unlock(&vp->pdev.lock);
	virtio_dev_unlock(vp->vdev);
}

static void vp_save(void *dev, struct state_writer *w)
{
	struct virtio_pci *vp = dev;

	virtio_dev_lock(vp->vdev);
	state_begin(w, virtio_pci_device_ops.name, vp->pdev.slot, virtio_pci_device_ops.version);
	state_put_u16(w, vp->vdev->ops->device_id);
	state_put_u32(w, vp->device_feature_select);
	state_put_u32(w, vp->driver_feature_select);
	state_put_u16(w, vp->queue_select);
	state_put_u8(w, vp->isr);
	pci_device_save(&vp->pdev, w);
	virtio_dev_save(vp->vdev, w);
	state_end(w);
	virtio_dev_unlock(vp->vdev);
}

static int vp_load(void *dev, struct state_reader *r)
{
	struct virtio_pci *vp = dev;
	struct pci_device_state *pst;
	uint32_t dfs, gfs;
	uint16_t qs;
	uint8_t isr;
	int rc;

	if (state_get_u16(r) != vp->vdev->ops->device_id)
		return -EINVAL;
	dfs = state_get_u32(r);
	gfs = state_get_u32(r);
	qs = state_get_u16(r);
	isr = state_get_u8(r);
	if (state_error(r))
		return -EINVAL;
	pst = malloc(sizeof(*pst));
	if (!pst)
		return -ENOMEM;
	virtio_dev_lock(vp->vdev);
	/*
	 * The PCI part is parsed first but applied only once the virtio part
	 * (which validates all of itself before changing the device) is in.
	 */
	rc = pci_device_parse(&vp->pdev, r, pst);
	if (!rc)
		rc = virtio_dev_load(vp->vdev, r);
	if (!rc)
		rc = state_done(r);
	if (!rc) {
		pci_device_apply(&vp->pdev, pst);
		vp->device_feature_select = dfs;
		vp->driver_feature_select = gfs;
		vp->queue_select = qs;
		vp->isr = isr & 3;
	}
	virtio_dev_unlock(vp->vdev);
	free(pst);
	return rc;
}

static void vp_destroy(void *dev)
{
	virtio_pci_destroy(dev);
}

const struct device_ops virtio_pci_device_ops = {
	.name = "virtio-pci",
	.version = 1,
	.reset = vp_reset,
	.save = vp_save,
	.load = vp_load,
	.destroy = vp_destroy,
};
