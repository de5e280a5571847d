/* virtio_backends.c — adapters from backends/ (raw block images, TAP) to the virtio device models.
 */
#include "virtio/virtio_backends.h"

#if VIRTIO_HAVE_HOST_BACKENDS

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <linux/virtio_net.h>

#include "backends/blk/blk_backend.h"
#include "backends/net/net_tap.h"
#include "backends/net/net_vhost.h"
#include "util/log.h"
#include "virtio/virtio_blk.h"
#include "virtio/virtio_net.h"
#include "virtio/virtqueue.h"
#include "base/evloop.h"

/* ---- block ---------------------------------------------------------------------------- */

struct blk_glue_io {
	struct blk_io io;
	struct virtio_blk_io *vio;
};

static void blk_glue_done(struct blk_io *io, int result)
{
	struct blk_glue_io *g = io->opaque;
	struct virtio_blk_io *vio = g->vio;

	free(g);
	vio->complete(vio, result);
}

static int blk_glue_submit(void *opaque, struct virtio_blk_io *vio)
{
	static const enum blk_op ops[] = {
		[VIRTIO_BLK_OP_READ] = BLK_OP_READ,
		[VIRTIO_BLK_OP_WRITE] = BLK_OP_WRITE,
		[VIRTIO_BLK_OP_FLUSH] = BLK_OP_FLUSH,
		[VIRTIO_BLK_OP_DISCARD] = BLK_OP_DISCARD,
		[VIRTIO_BLK_OP_WRITE_ZEROES] = BLK_OP_WRITE_ZEROES,
	};
	struct blk_glue_io *g;
	int rc;

	if ((unsigned)vio->op >= sizeof(ops) / sizeof(ops[0]))
		return -EINVAL;
	g = malloc(sizeof(*g));
	if (!g)
		return -ENOMEM;
	g->vio = vio;
	g->io = (struct blk_io){ .op = ops[vio->op],
				 .offset_bytes = vio->offset_bytes,
				 .len_bytes = vio->len_bytes,
				 .iov = vio->iov,
				 .iovcnt = vio->iovcnt,
				 .complete = blk_glue_done,
				 .opaque = g };
	rc = blk_backend_submit(opaque, &g->io);
	if (rc)
		free(g);
	return rc;
}

static void blk_glue_settle(void *opaque)
{
	blk_backend_settle(opaque);
}

static void blk_glue_plug(void *opaque, bool on)
{
	if (on)
		blk_backend_plug(opaque);
	else
		blk_backend_unplug(opaque);
}

static struct virtio_blk_backend blk_glue(struct blk_backend *b)
{
	return (struct virtio_blk_backend){ .opaque = b,
					    .size_bytes = blk_backend_size_bytes(b),
					    .submit = blk_glue_submit,
					    .settle = blk_glue_settle,
					    .plug = blk_glue_plug };
}

int virtio_blk_create_on(struct virtio_dev **out, const struct gmem *gm, struct blk_backend *b,
			 const char *serial)
{
	struct virtio_blk_backend be = blk_glue(b);

	return virtio_blk_create(out, gm, &be, blk_backend_read_only(b), serial);
}

int virtio_blk_replace_on(struct virtio_dev *vdev, struct blk_backend *b)
{
	struct virtio_blk_backend be = blk_glue(b);

	return virtio_blk_replace(vdev, &be);
}

/* ---- network -------------------------------------------------------------------------- */

struct net_glue {
	struct net_tap *tap;
	struct evloop *el;
	struct virtio_dev *vdev;
	const struct gmem *gm;
	struct net_vhost *vh; /* NULL: vmon moves the packets */
	int call_fd[2]; /* vhost signals these; the transport makes them interrupts */
	bool vnet_hdr;
	struct virtio_net_filter filter; /* .tx NULL: none */
	int filter_fd; /* an eventfd: the filter has frames for the guest (-1: no filter) */
	uint8_t *filter_frame; /* scratch for one of its frames */
};

#define FILTER_FRAME_MAX 1514

static int net_glue_offload(void *opaque, unsigned flags)
{
	return net_tap_set_offload(((struct net_glue *)opaque)->tap, flags);
}

static ssize_t net_glue_readv(void *opaque, const struct iovec *iov, int n)
{
	struct net_glue *g = opaque;

	if (g->filter.tx && g->filter.has_rx(g->filter.opaque)) {
		size_t hdr = g->vnet_hdr ? sizeof(struct virtio_net_hdr_v1) : 0;
		size_t len =
			g->filter.rx(g->filter.opaque, g->filter_frame + hdr, FILTER_FRAME_MAX);

		if (len) {
			memset(g->filter_frame, 0, hdr); /* no offload: checksums are filled in */
			/* cut to the buffer, as a TAP read is */
			return (ssize_t)virtq_buf_to_iov(iov, (unsigned)n, 0, g->filter_frame,
							 len + hdr);
		}
	}
	return net_tap_readv(g->tap, iov, n);
}

/* The filter has frames: have the model read them (not from inside its own locked calls). */
static void net_glue_filter_kick(struct net_glue *g)
{
	uint64_t one = 1;

	if (g->filter.has_rx(g->filter.opaque) &&
	    write(g->filter_fd, &one, sizeof(one)) != sizeof(one) && errno != EAGAIN)
		log_warn("virtio-net: waking the receive path failed: %s", strerror(errno));
}

static void net_glue_filter_ready(void *opaque, uint32_t events)
{
	struct net_glue *g = opaque;
	uint64_t v;

	(void)events;
	if (read(g->filter_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_warn("virtio-net: reading the receive wake-up failed: %s", strerror(errno));
	virtio_net_rx_ready(g->vdev);
}

static ssize_t net_glue_writev(void *opaque, const struct iovec *iov, int n)
{
	struct net_glue *g = opaque;

	if (g->filter.tx && g->filter.tx(g->filter.opaque, iov, n,
					 g->vnet_hdr ? sizeof(struct virtio_net_hdr_v1) : 0)) {
		size_t len = 0;

		net_glue_filter_kick(g);
		for (int i = 0; i < n; i++)
			len += iov[i].iov_len;
		return (ssize_t)len;
	}
	return net_tap_writev(g->tap, iov, n);
}

static void net_glue_readable(void *opaque, uint32_t events)
{
	(void)events;
	virtio_net_rx_ready(opaque);
}

static void net_glue_watch(void *opaque, bool on)
{
	struct net_glue *g = opaque;
	int rc;

	if (on)
		rc = evloop_add(g->el, net_tap_fd(g->tap), EPOLLIN, net_glue_readable, g->vdev);
	else
		rc = evloop_del(g->el, net_tap_fd(g->tap));
	if (rc && rc != -EEXIST && rc != -ENOENT)
		log_warn("virtio-net: %s the TAP fd: %d", on ? "watching" : "unwatching", rc);
}

static int net_glue_dp_start(void *opaque, uint64_t features, const struct virtio_net_dp_ring vr[2])
{
	struct net_glue *g = opaque;
	struct net_vhost_vring v[2];
	uint64_t one = 1;
	int rc;

	for (unsigned q = 0; q < 2; q++)
		v[q] = (struct net_vhost_vring){
			.num = vr[q].num,
			.desc_gpa = vr[q].desc_gpa,
			.avail_gpa = vr[q].avail_gpa,
			.used_gpa = vr[q].used_gpa,
			.last_avail_idx = vr[q].last_avail_idx,
			.kick_fd = vr[q].kick_fd,
			.call_fd = g->call_fd[q],
		};
	rc = net_vhost_start(g->vh, features, g->gm, v, g->tap);
	if (rc)
		return rc;
	/* buffers made available before the start (or a restore) were never kicked to vhost */
	for (unsigned q = 0; q < 2; q++)
		if (write(vr[q].kick_fd, &one, sizeof(one)) != sizeof(one))
			log_warn("virtio-net: kicking vhost-net queue %u failed", q);
	return 0;
}

static int net_glue_dp_stop(void *opaque, uint16_t last_avail_idx[2])
{
	return net_vhost_stop(((struct net_glue *)opaque)->vh, last_avail_idx);
}

static void net_glue_release(void *opaque)
{
	struct net_glue *g = opaque;

	if (g->el)
		evloop_del(g->el, net_tap_fd(g->tap));
	if (g->filter_fd >= 0) {
		if (g->el)
			evloop_del(g->el, g->filter_fd);
		close(g->filter_fd);
	}
	free(g->filter_frame);
	for (unsigned q = 0; q < 2; q++)
		if (g->call_fd[q] >= 0)
			close(g->call_fd[q]);
	free(g);
}

/* The eventfds vhost-net interrupts through (the transport binds them). 0 or -errno. */
static int net_glue_calls(struct net_glue *g)
{
	for (unsigned q = 0; q < 2; q++) {
		g->call_fd[q] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (g->call_fd[q] < 0)
			return -errno;
	}
	return 0;
}

int virtio_net_create_on(struct virtio_dev **out, const struct gmem *gm, struct net_tap *t,
			 struct net_vhost *vh, const struct virtio_net_filter *filter,
			 const uint8_t mac[6], struct evloop *el)
{
	struct net_glue *g = calloc(1, sizeof(*g));
	struct virtio_net_backend be = {
		.opaque = g,
		.vnet_hdr = net_tap_has_vnet_hdr(t),
		.set_offload = net_glue_offload,
		.readv = net_glue_readv,
		.writev = net_glue_writev,
		.rx_watch = net_glue_watch,
		.release = net_glue_release,
	};
	int rc;

	if (!g)
		return -ENOMEM;
	g->tap = t;
	g->el = el;
	g->gm = gm;
	g->vh = vh;
	g->call_fd[0] = g->call_fd[1] = -1;
	g->filter_fd = -1;
	g->vnet_hdr = be.vnet_hdr;
	if (filter && filter->tx) {
		if (vh || !el) {
			free(g);
			return -EOPNOTSUPP; /* vhost-net moves the frames in the kernel */
		}
		g->filter = *filter;
		g->filter_frame = malloc(sizeof(struct virtio_net_hdr_v1) + FILTER_FRAME_MAX);
		g->filter_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (!g->filter_frame || g->filter_fd < 0) {
			rc = g->filter_fd < 0 ? -errno : -ENOMEM;
			net_glue_release(g);
			return rc;
		}
	}
	if (vh) {
		if (!be.vnet_hdr) {
			free(g);
			return -EOPNOTSUPP; /* vhost-net needs the TAP's vnet header */
		}
		be.dp_features = net_vhost_features(vh);
		be.dp_start = net_glue_dp_start;
		be.dp_stop = net_glue_dp_stop;
		rc = net_glue_calls(g);
		if (rc) {
			net_glue_release(g);
			return rc;
		}
		be.dp_call_fd[0] = g->call_fd[0];
		be.dp_call_fd[1] = g->call_fd[1];
	}
	rc = virtio_net_create(out, gm, &be, mac);
	if (rc) {
		net_glue_release(g);
		return rc;
	}
	g->vdev = *out;
	if (g->filter_fd >= 0) {
		rc = evloop_add(el, g->filter_fd, EPOLLIN, net_glue_filter_ready, g);
		if (rc) {
			(*out)->ops->destroy(*out); /* releases @g */
			*out = NULL;
			return rc;
		}
	}
	return 0;
}

#endif
