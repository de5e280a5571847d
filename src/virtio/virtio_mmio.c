/* virtio_mmio.c — virtio 1.2 §4.2 MMIO transport, version 2 registers (see virtio_mmio.h). */
#include "virtio/virtio_mmio.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>

#define VIRTIO_MMIO_QUEUE_RESET 0x0c0 /* virtio 1.2; not in every <linux/virtio_mmio.h> */

/* ---- interrupts (§4.2.2: InterruptStatus, InterruptACK) -------------------------------- */

/* Drive the line from InterruptStatus: high while any bit is set. Lock held. */
static void line_update(struct virtio_mmio *vm)
{
	if (vm->plat && vm->plat->intx_set)
		vm->plat->intx_set(vm->plat->opaque, vm->gsi, vm->isr != 0);
}

static void vmmio_interrupt(void *opaque, struct virtio_dev *vdev, int q)
{
	struct virtio_mmio *vm = opaque;
	uint32_t bit = q < 0 ? VIRTIO_MMIO_INT_CONFIG : VIRTIO_MMIO_INT_VRING;

	(void)vdev;
	if (vm->isr & bit)
		return; /* the line is already high for it */
	vm->isr |= bit;
	line_update(vm);
}

static bool vmmio_requeue(void *opaque, struct virtio_dev *vdev, unsigned q)
{
	(void)vdev;
	return virtio_kicks_requeue(&((struct virtio_mmio *)opaque)->kicks, q);
}

static bool vmmio_requeue_after(void *opaque, struct virtio_dev *vdev, unsigned q, uint64_t ns)
{
	(void)vdev;
	return virtio_kicks_requeue_after(&((struct virtio_mmio *)opaque)->kicks, q, ns);
}

static int vmmio_queue_fd(void *opaque, struct virtio_dev *vdev, unsigned q, bool take)
{
	(void)vdev;
	return virtio_kicks_queue_fd(&((struct virtio_mmio *)opaque)->kicks, q, take);
}

/*
 * A model's interrupt eventfd (queue_irqfd). A level-triggered line that the
 * driver acknowledges through a register cannot be a plain KVM irqfd, so the
 * event loop reads it and sets the status bit like any other interrupt.
 */
static void call_handler(void *arg, uint32_t events)
{
	struct virtio_mmio_call *c = arg;
	struct virtio_mmio *vm = c->vm;
	uint64_t cnt;

	(void)events;
	virtio_dev_lock(vm->vdev);
	if (vm->call_fd[c->q] >= 0 && read(vm->call_fd[c->q], &cnt, sizeof(cnt)) == sizeof(cnt))
		vmmio_interrupt(vm, vm->vdev, (int)c->q);
	virtio_dev_unlock(vm->vdev);
}

static void call_release(struct virtio_mmio *vm, unsigned q)
{
	if (vm->call_fd[q] >= 0 && vm->plat && vm->plat->fd_unwatch)
		vm->plat->fd_unwatch(vm->plat->opaque, vm->call_fd[q]);
	vm->call_fd[q] = -1;
}

static int vmmio_queue_irqfd(void *opaque, struct virtio_dev *vdev, unsigned q, int fd)
{
	struct virtio_mmio *vm = opaque;
	int rc;

	if (q >= vdev->nr_queues)
		return -EINVAL;
	call_release(vm, q);
	if (fd < 0)
		return 0;
	rc = vm->plat->fd_watch(vm->plat->opaque, fd, call_handler, &vm->call[q]);
	if (rc)
		return rc;
	vm->call_fd[q] = fd;
	return 0;
}

/* ---- registers -------------------------------------------------------------------------- */

static struct virtq *sel_vq(struct virtio_mmio *vm)
{
	return vm->queue_sel < vm->vdev->nr_queues ? &vm->vdev->vqs[vm->queue_sel] : NULL;
}

static uint32_t reg_read(struct virtio_mmio *vm, uint64_t off)
{
	struct virtio_dev *vdev = vm->vdev;
	struct virtq *vq = sel_vq(vm);

	switch (off) {
	case VIRTIO_MMIO_MAGIC_VALUE:
		return VIRTIO_MMIO_MAGIC;
	case VIRTIO_MMIO_VERSION:
		return 2;
	case VIRTIO_MMIO_DEVICE_ID:
		return vdev->ops->device_id;
	case VIRTIO_MMIO_VENDOR_ID:
		return VIRTIO_MMIO_VENDOR;
	case VIRTIO_MMIO_DEVICE_FEATURES:
		return vm->device_features_sel < 2
			       ? (uint32_t)(vdev->host_features >> (32 * vm->device_features_sel))
			       : 0;
	case VIRTIO_MMIO_QUEUE_NUM_MAX:
		return vq ? vq->max_size : 0; /* 0: no such queue (§4.2.2) */
	case VIRTIO_MMIO_QUEUE_READY:
		return vq ? vq->enabled : 0;
	case VIRTIO_MMIO_INTERRUPT_STATUS:
		return vm->isr;
	case VIRTIO_MMIO_STATUS:
		return virtio_dev_status_read(vdev);
	case VIRTIO_MMIO_SHM_LEN_LOW:
	case VIRTIO_MMIO_SHM_LEN_HIGH:
	case VIRTIO_MMIO_SHM_BASE_LOW:
	case VIRTIO_MMIO_SHM_BASE_HIGH:
		return 0xffffffffu; /* §4.2.2: all-ones length and base, no such region */
	case VIRTIO_MMIO_CONFIG_GENERATION:
		return vdev->config_generation;
	default:
		return 0; /* write-only, reserved, QueueReset (no VIRTIO_F_RING_RESET) */
	}
}

static void set_half(uint64_t *gpa, bool hi, uint32_t v)
{
	if (hi)
		*gpa = (*gpa & 0xffffffffull) | (uint64_t)v << 32;
	else
		*gpa = (*gpa & ~0xffffffffull) | v;
}

/* The queue registers, for the selected queue; false: not one of them. */
static bool queue_write(struct virtio_mmio *vm, uint64_t off, uint32_t v)
{
	struct virtio_dev *vdev = vm->vdev;
	struct virtq *vq = sel_vq(vm);
	uint64_t *gpa;

	switch (off) {
	case VIRTIO_MMIO_QUEUE_NUM:
	case VIRTIO_MMIO_QUEUE_READY:
	case VIRTIO_MMIO_QUEUE_DESC_LOW:
	case VIRTIO_MMIO_QUEUE_DESC_HIGH:
	case VIRTIO_MMIO_QUEUE_AVAIL_LOW:
	case VIRTIO_MMIO_QUEUE_AVAIL_HIGH:
	case VIRTIO_MMIO_QUEUE_USED_LOW:
	case VIRTIO_MMIO_QUEUE_USED_HIGH:
		break;
	default:
		return false;
	}
	if (!vq) {
		log_guest(&vm->rl, "%s: register 0x%llx written for queue %u, which it lacks",
			  vdev->name, (unsigned long long)off, vm->queue_sel);
		return true;
	}
	if (off == VIRTIO_MMIO_QUEUE_READY) {
		if (v == 1) {
			vq->enabled = true;
		} else if (v == 0 && !(vdev->status & VIRTIO_CONFIG_S_DRIVER_OK)) {
			vq->enabled = false;
		} else {
			log_guest(&vm->rl, "%s: QueueReady %u for queue %u refused (status 0x%x)",
				  vdev->name, v, vm->queue_sel, vdev->status);
		}
		return true;
	}
	if (vq->enabled) {
		/* §4.2.3.2: a queue is configured before it is made ready */
		log_guest(&vm->rl, "%s: queue %u register 0x%llx written while ready", vdev->name,
			  vm->queue_sel, (unsigned long long)off);
		return true;
	}
	switch (off) {
	case VIRTIO_MMIO_QUEUE_NUM:
		if (v && !(v & (v - 1)) && v <= vq->max_size)
			vq->size = (uint16_t)v;
		else
			log_guest(&vm->rl, "%s: bad queue size %u", vdev->name, v);
		return true;
	case VIRTIO_MMIO_QUEUE_DESC_LOW:
	case VIRTIO_MMIO_QUEUE_DESC_HIGH:
		gpa = &vq->desc_gpa;
		break;
	case VIRTIO_MMIO_QUEUE_AVAIL_LOW:
	case VIRTIO_MMIO_QUEUE_AVAIL_HIGH:
		gpa = &vq->avail_gpa;
		break;
	default:
		gpa = &vq->used_gpa;
		break;
	}
	set_half(gpa, off & 4, v);
	return true;
}

static void reg_write(struct virtio_mmio *vm, uint64_t off, uint32_t v)
{
	struct virtio_dev *vdev = vm->vdev;

	if (queue_write(vm, off, v))
		return;
	switch (off) {
	case VIRTIO_MMIO_DEVICE_FEATURES_SEL:
		vm->device_features_sel = v;
		return;
	case VIRTIO_MMIO_DRIVER_FEATURES_SEL:
		vm->driver_features_sel = v;
		return;
	case VIRTIO_MMIO_DRIVER_FEATURES:
		if (vm->driver_features_sel > 1 || (vdev->status & VIRTIO_CONFIG_S_FEATURES_OK))
			return;
		set_half(&vdev->driver_features, vm->driver_features_sel == 1, v);
		return;
	case VIRTIO_MMIO_QUEUE_SEL:
		vm->queue_sel = v;
		return;
	case VIRTIO_MMIO_INTERRUPT_ACK:
		if (!(vm->isr & v))
			return;
		vm->isr &= ~v;
		/*
		 * Bits still pending (they came after the driver read the status): lower
		 * and raise the line, so that a guest that set the pin edge-triggered
		 * (an MP table or command line that says nothing of the trigger) sees
		 * a new edge; a level-triggered pin just stays asserted.
		 */
		if (vm->isr && vm->plat && vm->plat->intx_set)
			vm->plat->intx_set(vm->plat->opaque, vm->gsi, 0);
		line_update(vm);
		return;
	case VIRTIO_MMIO_STATUS:
		virtio_dev_set_status(vdev, (uint8_t)v);
		if (v == 0 && vm->isr) {
			vm->isr = 0;
			line_update(vm);
		}
		return;
	case VIRTIO_MMIO_SHM_SEL:
		vm->shm_sel = v;
		return;
	default:
		log_guest(&vm->rl, "%s: write 0x%x to read-only or reserved register 0x%llx",
			  vdev->name, v, (unsigned long long)off);
		return;
	}
}

static uint64_t vmmio_read(void *opaque, uint64_t off, unsigned size)
{
	struct virtio_mmio *vm = opaque;
	struct virtio_dev *vdev = vm->vdev;
	uint64_t v = 0;

	virtio_dev_lock(vdev);
	if (off >= VIRTIO_MMIO_CONFIG_OFF) {
		uint64_t coff = off - VIRTIO_MMIO_CONFIG_OFF;
		uint8_t buf[8] = { 0 };

		if (coff + size <= vdev->ops->config_len && vdev->ops->config_read) {
			vdev->ops->config_read(vdev, (uint32_t)coff, buf, size);
			for (unsigned i = 0; i < size; i++)
				v |= (uint64_t)buf[i] << (8 * i);
		}
	} else if (size == 4 && !(off & 3)) {
		v = reg_read(vm, off);
	} else {
		log_guest(&vm->rl, "%s: %u-byte read of register 0x%llx (32-bit only)", vdev->name,
			  size, (unsigned long long)off);
	}
	virtio_dev_unlock(vdev);
	return v;
}

static void vmmio_write(void *opaque, uint64_t off, uint64_t value, unsigned size)
{
	struct virtio_mmio *vm = opaque;
	struct virtio_dev *vdev = vm->vdev;

	if (off == VIRTIO_MMIO_QUEUE_NOTIFY && size == 4) {
		/* a notify that no ioeventfd caught (§4.2.3.3): outside the lock, the queue takes
		 * it */
		virtio_kicks_notify(&vm->kicks, (unsigned)value & 0xffff);
		return;
	}
	virtio_dev_lock(vdev);
	if (off >= VIRTIO_MMIO_CONFIG_OFF) {
		uint64_t coff = off - VIRTIO_MMIO_CONFIG_OFF;
		uint8_t buf[8];

		if (coff + size <= vdev->ops->config_len && vdev->ops->config_write) {
			for (unsigned i = 0; i < size; i++)
				buf[i] = (uint8_t)(value >> (8 * i));
			vdev->ops->config_write(vdev, (uint32_t)coff, buf, size);
		}
	} else if (size == 4 && !(off & 3)) {
		reg_write(vm, off, (uint32_t)value);
	} else {
		log_guest(&vm->rl, "%s: %u-byte write of register 0x%llx (32-bit only)", vdev->name,
			  size, (unsigned long long)off);
	}
	virtio_dev_unlock(vdev);
}

const struct bus_region_ops virtio_mmio_ops = { .read = vmmio_read, .write = vmmio_write };

/* ---- ioeventfds ------------------------------------------------------------------------- */

static void ioeventfds(struct virtio_mmio *vm, bool on)
{
	const struct dev_platform *plat = vm->plat;
	uint64_t gpa = vm->gpa + VIRTIO_MMIO_QUEUE_NOTIFY;

	if (!plat || !plat->ioeventfd_add || !plat->ioeventfd_del || on == vm->ioeventfd_on)
		return;
	for (unsigned q = 0; q < vm->vdev->nr_queues; q++) {
		if (!vm->kicks.watched[q])
			continue;
		if (!on) {
			plat->ioeventfd_del(plat->opaque, gpa, 4, q, vm->kicks.fd[q]);
			continue;
		}
		int rc = plat->ioeventfd_add(plat->opaque, gpa, 4, q, vm->kicks.fd[q]);

		if (rc)
			log_warn("%s: ioeventfd for queue %u: %s (kicks will exit)", vm->vdev->name,
				 q, strerror(-rc));
	}
	vm->ioeventfd_on = on;
}

/* ---- create / destroy ------------------------------------------------------------------- */

static void clear_transport(struct virtio_dev *vdev)
{
	memset(&vdev->transport, 0, sizeof(vdev->transport));
}

int virtio_mmio_create(struct virtio_mmio **out, struct bus *bus, const struct dev_platform *plat,
		       unsigned index, uint64_t gpa, unsigned gsi, struct virtio_dev *vdev)
{
	struct virtio_mmio *vm;
	int rc;

	if (gpa & (VIRTIO_MMIO_WINDOW - 1))
		return -EINVAL;
	vm = calloc(1, sizeof(*vm));
	if (!vm)
		return -ENOMEM;
	vm->vdev = vdev;
	vm->plat = plat;
	vm->gpa = gpa;
	vm->gsi = gsi;
	vm->index = index;
	for (unsigned q = 0; q < VIRTIO_MAX_QUEUES; q++) {
		vm->call_fd[q] = -1;
		vm->call[q] = (struct virtio_mmio_call){ vm, q };
	}
	rc = virtio_kicks_init(&vm->kicks, vdev, plat);
	if (rc) {
		free(vm);
		return rc;
	}
	vdev->transport = (struct virtio_transport){
		.interrupt = vmmio_interrupt,
		.requeue = vmmio_requeue,
		.requeue_after = vmmio_requeue_after,
		.queue_fd = plat && plat->fd_unwatch ? vmmio_queue_fd : NULL,
		.queue_irqfd =
			plat && plat->fd_watch && plat->fd_unwatch ? vmmio_queue_irqfd : NULL,
		.opaque = vm,
	};
	if (bus) {
		rc = bus_register(bus, gpa, VIRTIO_MMIO_WINDOW, &virtio_mmio_ops, vm, vdev->name);
		if (rc) {
			clear_transport(vdev);
			virtio_kicks_fini(&vm->kicks);
			free(vm);
			return rc;
		}
		vm->bus = bus;
	}
	ioeventfds(vm, true);
	*out = vm;
	return 0;
}

void virtio_mmio_destroy(struct virtio_mmio *vm)
{
	struct virtio_dev *vdev = vm->vdev;

	if (vm->bus)
		bus_unregister(vm->bus, vm->gpa);
	ioeventfds(vm, false);
	for (unsigned q = 0; q < VIRTIO_MAX_QUEUES; q++)
		call_release(vm, q);
	virtio_kicks_fini(&vm->kicks);
	if (vdev->ops->destroy)
		vdev->ops->destroy(vdev);
	free(vm);
}

/* ---- lifecycle -------------------------------------------------------------------------- */

static void vmmio_reset(void *dev)
{
	struct virtio_mmio *vm = dev;

	virtio_dev_lock(vm->vdev);
	virtio_dev_reset(vm->vdev);
	vm->device_features_sel = vm->driver_features_sel = 0;
	vm->queue_sel = vm->shm_sel = 0;
	vm->isr = 0;
	line_update(vm);
	virtio_dev_unlock(vm->vdev);
}

static void vmmio_save(void *dev, struct state_writer *w)
{
	struct virtio_mmio *vm = dev;

	virtio_dev_lock(vm->vdev);
	state_begin(w, virtio_mmio_device_ops.name, vm->index, virtio_mmio_device_ops.version);
	state_put_u16(w, vm->vdev->ops->device_id);
	state_put_u64(w, vm->gpa);
	state_put_u32(w, vm->gsi);
	state_put_u32(w, vm->device_features_sel);
	state_put_u32(w, vm->driver_features_sel);
	state_put_u32(w, vm->queue_sel);
	state_put_u32(w, vm->shm_sel);
	state_put_u8(w, (uint8_t)vm->isr);
	virtio_dev_save(vm->vdev, w);
	state_end(w);
	virtio_dev_unlock(vm->vdev);
}

static int vmmio_load(void *dev, struct state_reader *r)
{
	struct virtio_mmio *vm = dev;
	uint32_t dfs, gfs, qs, ss, gsi;
	uint64_t gpa;
	uint16_t id;
	uint8_t isr;
	int rc;

	id = state_get_u16(r);
	gpa = state_get_u64(r);
	gsi = state_get_u32(r);
	dfs = state_get_u32(r);
	gfs = state_get_u32(r);
	qs = state_get_u32(r);
	ss = state_get_u32(r);
	isr = state_get_u8(r);
	if (state_error(r) || id != vm->vdev->ops->device_id || gpa != vm->gpa || gsi != vm->gsi ||
	    isr & ~(VIRTIO_MMIO_INT_VRING | VIRTIO_MMIO_INT_CONFIG))
		return -EINVAL;
	virtio_dev_lock(vm->vdev);
	rc = virtio_dev_load(vm->vdev, r);
	if (!rc)
		rc = state_done(r);
	if (!rc) {
		vm->device_features_sel = dfs;
		vm->driver_features_sel = gfs;
		vm->queue_sel = qs;
		vm->shm_sel = ss;
		vm->isr = isr;
		line_update(vm);
	}
	virtio_dev_unlock(vm->vdev);
	return rc;
}

static void vmmio_destroy(void *dev)
{
	virtio_mmio_destroy(dev);
}

const struct device_ops virtio_mmio_device_ops = {
	.name = "virtio-mmio",
	.version = 1,
	.reset = vmmio_reset,
	.save = vmmio_save,
	.load = vmmio_load,
	.destroy = vmmio_destroy,
};
