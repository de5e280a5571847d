/* virtio.c — transport-independent virtio device core: features, status machine, queues, state. */
#include "virtio/virtio.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>

#include "util/compiler.h"

#define VIRTIO_SAVE_MAGIC 0x76697274u /* "virt" */

int virtio_dev_init(struct virtio_dev *vdev, const struct virtio_dev_ops *ops,
		    const struct gmem *gm, const char *name, uint64_t device_features,
		    unsigned nr_queues, uint16_t queue_max_size)
{
	pthread_mutexattr_t attr;
	int rc;

	if (nr_queues == 0 || nr_queues > VIRTIO_MAX_QUEUES || queue_max_size == 0 ||
	    queue_max_size > VIRTQ_MAX_SIZE || (queue_max_size & (queue_max_size - 1)))
		return -EINVAL;
	memset(vdev, 0, sizeof(*vdev));
	vdev->ops = ops;
	vdev->gm = gm;
	snprintf(vdev->name, sizeof(vdev->name), "%s", name);
	vdev->host_features = device_features | (1ull << VIRTIO_F_VERSION_1) |
			      (1ull << VIRTIO_RING_F_INDIRECT_DESC) |
			      (1ull << VIRTIO_RING_F_EVENT_IDX);
	vdev->nr_queues = nr_queues;
	vdev->config_vector = VIRTIO_NO_VECTOR;
	for (unsigned i = 0; i < nr_queues; i++) {
		vdev->vqs[i].name = vdev->name;
		virtq_init(&vdev->vqs[i], gm, queue_max_size);
	}
	rc = pthread_mutexattr_init(&attr);
	if (rc)
		return -rc;
	/* not recursive: a second lock on the same thread is a bug, caught at once (virtio.h) */
	pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ERRORCHECK);
	rc = pthread_mutex_init(&vdev->lock, &attr);
	pthread_mutexattr_destroy(&attr);
	return -rc;
}

void virtio_dev_fini(struct virtio_dev *vdev)
{
	pthread_mutex_destroy(&vdev->lock);
}

void virtio_dev_lock(struct virtio_dev *vdev)
{
	int rc = pthread_mutex_lock(&vdev->lock);

	BUG_ON(rc != 0); /* EDEADLK: this thread holds it already */
}

void virtio_dev_unlock(struct virtio_dev *vdev)
{
	int rc = pthread_mutex_unlock(&vdev->lock);

	BUG_ON(rc != 0); /* EPERM: this thread does not hold it */
}

void virtio_dev_reset(struct virtio_dev *vdev)
{
	if (vdev->ops->reset)
		vdev->ops->reset(vdev);
	vdev->status = 0;
	vdev->driver_features = 0;
	vdev->config_vector = VIRTIO_NO_VECTOR;
	for (unsigned i = 0; i < vdev->nr_queues; i++)
		virtq_reset(&vdev->vqs[i]);
}

uint8_t virtio_dev_status_read(struct virtio_dev *vdev)
{
	if (vdev->reset_status && vdev->ops->inflight && vdev->ops->inflight(vdev))
		return vdev->reset_status;
	vdev->reset_status = 0;
	return vdev->status;
}

bool virtio_dev_running(const struct virtio_dev *vdev)
{
	return (vdev->status & VIRTIO_CONFIG_S_DRIVER_OK) &&
	       !(vdev->status & (VIRTIO_CONFIG_S_NEEDS_RESET | VIRTIO_CONFIG_S_FAILED));
}

/* §2.2.1/§6.1: FEATURES_OK only for a subset of the offer that includes VERSION_1 (modern only). */
static bool features_acceptable(const struct virtio_dev *vdev)
{
	return !(vdev->driver_features & ~vdev->host_features) &&
	       virtio_dev_has(vdev, VIRTIO_F_VERSION_1);
}

void virtio_dev_set_status(struct virtio_dev *vdev, uint8_t status)
{
	uint8_t old = vdev->status;
	uint8_t added = status & ~old;

	vdev->reset_status = 0;
	if (status == 0) {
		virtio_dev_reset(vdev);
		if (old && vdev->ops->inflight && vdev->ops->inflight(vdev))
			vdev->reset_status = old;
		return;
	}
	if (old & ~status) {
		log_guest(&vdev->rl, "%s: status 0x%x clears bits of 0x%x without a reset",
			  vdev->name, status, old);
		status |= old & (VIRTIO_CONFIG_S_NEEDS_RESET | VIRTIO_CONFIG_S_FEATURES_OK |
				 VIRTIO_CONFIG_S_DRIVER_OK);
	}
	status &= ~VIRTIO_CONFIG_S_NEEDS_RESET; /* device-owned bit */
	status |= old & VIRTIO_CONFIG_S_NEEDS_RESET;
	if ((added & VIRTIO_CONFIG_S_FEATURES_OK) && !features_acceptable(vdev)) {
		log_guest(&vdev->rl,
			  "%s: features 0x%llx refused (offered 0x%llx, VERSION_1 required)",
			  vdev->name, (unsigned long long)vdev->driver_features,
			  (unsigned long long)vdev->host_features);
		status &= ~VIRTIO_CONFIG_S_FEATURES_OK;
	}
	if ((status & VIRTIO_CONFIG_S_DRIVER_OK) && !(status & VIRTIO_CONFIG_S_FEATURES_OK)) {
		log_guest(&vdev->rl, "%s: DRIVER_OK without FEATURES_OK", vdev->name);
		status &= ~VIRTIO_CONFIG_S_DRIVER_OK;
	}
	vdev->status = status;
	if ((added & VIRTIO_CONFIG_S_DRIVER_OK) && (status & VIRTIO_CONFIG_S_DRIVER_OK)) {
		for (unsigned i = 0; i < vdev->nr_queues; i++) {
			vdev->vqs[i].event_idx = virtio_dev_has(vdev, VIRTIO_RING_F_EVENT_IDX);
			vdev->vqs[i].indirect = virtio_dev_has(vdev, VIRTIO_RING_F_INDIRECT_DESC);
		}
		if (vdev->ops->driver_ok)
			vdev->ops->driver_ok(vdev);
		/* Buffers may have been made available before DRIVER_OK. */
		for (unsigned i = 0; i < vdev->nr_queues; i++)
			if (virtq_has_avail(&vdev->vqs[i]) && vdev->ops->queue_notify)
				vdev->ops->queue_notify(vdev, i);
	}
}

void virtio_dev_kick(struct virtio_dev *vdev, unsigned q)
{
	virtio_dev_lock(vdev);
	if (q < vdev->nr_queues && virtio_dev_running(vdev) && vdev->vqs[q].enabled) {
		if (!virtq_ready(&vdev->vqs[q])) {
			/* Enabled with rings outside RAM, misaligned, or a bad size. */
			log_guest(&vdev->rl, "%s: queue %u kicked but its rings are unusable",
				  vdev->name, q);
			virtio_dev_queue_error(vdev, q);
		} else if (vdev->ops->queue_notify) {
			vdev->ops->queue_notify(vdev, q);
		}
	}
	virtio_dev_unlock(vdev);
}

void virtio_dev_used(struct virtio_dev *vdev, unsigned q)
{
	if (q >= vdev->nr_queues)
		return;
	if (virtq_should_notify(&vdev->vqs[q]) && vdev->transport.interrupt)
		vdev->transport.interrupt(vdev->transport.opaque, vdev, (int)q);
}

void virtio_dev_queue_error(struct virtio_dev *vdev, unsigned q)
{
	if (vdev->status & VIRTIO_CONFIG_S_NEEDS_RESET)
		return;
	log_guest(&vdev->rl, "%s: queue %u malformed; device needs reset", vdev->name, q);
	vdev->status |= VIRTIO_CONFIG_S_NEEDS_RESET;
	if (vdev->status & VIRTIO_CONFIG_S_DRIVER_OK)
		virtio_dev_config_changed(vdev);
}

bool virtio_dev_queue_rearm(struct virtio_dev *vdev, unsigned q)
{
	struct virtq *vq = &vdev->vqs[q];

	if (q >= vdev->nr_queues || vq->broken || !virtio_dev_running(vdev))
		return false;
	virtq_publish_avail_event(vq);
	return virtq_has_avail(vq);
}

bool virtio_dev_yield(struct virtio_dev *vdev, unsigned q, unsigned *done)
{
	if (++*done <= VIRTIO_QUEUE_BUDGET || !vdev->transport.requeue)
		return false;
	return vdev->transport.requeue(vdev->transport.opaque, vdev, q);
}

enum virtio_drain_end virtio_dev_drain(struct virtio_dev *vdev, unsigned q,
				       const struct virtio_drain_ops *ops)
{
	struct virtq *vq = &vdev->vqs[q];
	enum virtio_drain_end end;
	unsigned budget = 0;
	bool pushed = false;

	for (;;) {
		struct virtq_elem *e;
		enum virtio_chain what;
		uint32_t used_len = 0;
		int rc;

		if (virtio_dev_yield(vdev, q, &budget)) {
			end = VIRTIO_DRAIN_YIELDED;
			break;
		}
		e = ops->elem(vdev);
		if (!e) {
			end = VIRTIO_DRAIN_STOPPED;
			break;
		}
		rc = virtq_pop(vq, e);
		if (rc < 0) {
			virtio_dev_queue_error(vdev, q);
			end = VIRTIO_DRAIN_BROKEN;
			break;
		}
		if (rc == 0) {
			/* Empty: ask for the next kick, and look again for buffers added meanwhile.
			 */
			if (virtio_dev_queue_rearm(vdev, q))
				continue;
			end = VIRTIO_DRAIN_EMPTY;
			break;
		}
		what = ops->chain(vdev, e, &used_len);
		if (what == VIRTIO_CHAIN_STOP) {
			end = VIRTIO_DRAIN_STOPPED;
			break;
		}
		if (what == VIRTIO_CHAIN_USED) {
			virtq_push(vq, e->head, used_len);
			pushed = true;
			if (ops->notify_each) {
				virtio_dev_used(vdev, q);
				pushed = false;
			}
		}
	}
	if (pushed)
		virtio_dev_used(vdev, q);
	return end;
}

void virtio_dev_config_changed(struct virtio_dev *vdev)
{
	vdev->config_generation++;
	if (vdev->transport.interrupt)
		vdev->transport.interrupt(vdev->transport.opaque, vdev, -1);
}

void virtio_dev_save(struct virtio_dev *vdev, struct state_writer *w)
{
	if (vdev->ops->sync)
		vdev->ops->sync(vdev);
	state_put_u32(w, VIRTIO_SAVE_MAGIC);
	state_put_u64(w, vdev->driver_features);
	state_put_u8(w, vdev->status);
	state_put_u8(w, vdev->config_generation);
	state_put_u16(w, vdev->config_vector);
	state_put_u32(w, vdev->nr_queues);
	for (unsigned i = 0; i < vdev->nr_queues; i++) {
		const struct virtq *vq = &vdev->vqs[i];

		state_put_u16(w, vq->size);
		state_put_u8(w, vq->enabled);
		state_put_u8(w, vq->broken);
		state_put_u64(w, vq->desc_gpa);
		state_put_u64(w, vq->avail_gpa);
		state_put_u64(w, vq->used_gpa);
		state_put_u16(w, vq->msix_vector);
		state_put_u16(w, vq->last_avail_idx);
		state_put_u16(w, vq->used_idx);
		state_put_u16(w, vq->signalled_used);
		state_put_u8(w, vq->signalled_used_valid);
	}
	if (vdev->ops->save)
		vdev->ops->save(vdev, w);
}

int virtio_dev_load(struct virtio_dev *vdev, struct state_reader *r)
{
	struct virtq vqs[VIRTIO_MAX_QUEUES];
	uint64_t features;
	uint8_t status, gen;
	uint16_t cvec;
	uint32_t nq;
	int rc;

	if (state_get_u32(r) != VIRTIO_SAVE_MAGIC)
		return -EINVAL;
	features = state_get_u64(r);
	status = state_get_u8(r);
	gen = state_get_u8(r);
	cvec = state_get_u16(r);
	nq = state_get_u32(r);
	if (state_error(r) || nq != vdev->nr_queues || (features & ~vdev->host_features))
		return -EINVAL;
	/* A status the state machine could not have reached is refused. */
	if (((status & VIRTIO_CONFIG_S_FEATURES_OK) && !((features >> VIRTIO_F_VERSION_1) & 1)) ||
	    ((status & VIRTIO_CONFIG_S_DRIVER_OK) && !(status & VIRTIO_CONFIG_S_FEATURES_OK)))
		return -EINVAL;
	for (unsigned i = 0; i < nq; i++) {
		struct virtq *vq = &vqs[i];

		*vq = vdev->vqs[i];
		vq->size = state_get_u16(r);
		vq->enabled = state_get_u8(r);
		vq->broken = state_get_u8(r);
		vq->desc_gpa = state_get_u64(r);
		vq->avail_gpa = state_get_u64(r);
		vq->used_gpa = state_get_u64(r);
		vq->msix_vector = state_get_u16(r);
		vq->last_avail_idx = state_get_u16(r);
		vq->used_idx = state_get_u16(r);
		vq->signalled_used = state_get_u16(r);
		vq->signalled_used_valid = state_get_u8(r);
		if (vq->size == 0 || vq->size > vq->max_size || (vq->size & (vq->size - 1)))
			return -EINVAL;
		vq->event_idx = (features >> VIRTIO_RING_F_EVENT_IDX) & 1;
		vq->indirect = (features >> VIRTIO_RING_F_INDIRECT_DESC) & 1;
	}
	if (state_error(r))
		return -EINVAL;
	if (vdev->ops->load) {
		rc = vdev->ops->load(vdev, r);
		if (rc)
			return rc;
	}
	vdev->driver_features = features;
	vdev->status = status;
	vdev->config_generation = gen;
	vdev->config_vector = cvec;
	memcpy(vdev->vqs, vqs, sizeof(vqs[0]) * nq);
	if (vdev->ops->loaded)
		vdev->ops->loaded(vdev);
	return 0;
}
