/* virtio_backends.c — adapters from backends/ (raw block images, TAP) to the virtio device models.
 */
#include "virtio/virtio_backends.h"

#if VIRTIO_HAVE_HOST_BACKENDS

#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>

#include "backends/blk/blk_backend.h"
#include "backends/net/net_tap.h"
#include "util/log.h"
#include "virtio/virtio_blk.h"
#include "virtio/virtio_net.h"
#include "vm/evloop.h"

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

static void blk_glue_drain(void *opaque)
{
	blk_backend_drain(opaque);
}

static void blk_glue_plug(void *opaque, bool on)
{
	if (on)
		blk_backend_plug(opaque);
	else
		blk_backend_unplug(opaque);
}

int virtio_blk_create_on(struct virtio_dev **out, const struct gmem *gm, struct blk_backend *b,
			 const char *serial)
{
	struct virtio_blk_backend be = { .opaque = b,
					 .size_bytes = blk_backend_size_bytes(b),
					 .submit = blk_glue_submit,
					 .drain = blk_glue_drain,
					 .plug = blk_glue_plug };

	return virtio_blk_create(out, gm, &be, blk_backend_read_only(b), serial);
}

/* ---- network -------------------------------------------------------------------------- */

struct net_glue {
	struct net_tap *tap;
	struct evloop *el;
	struct virtio_dev *vdev;
};

static int net_glue_offload(void *opaque, unsigned flags)
{
	return net_tap_set_offload(((struct net_glue *)opaque)->tap, flags);
}

static ssize_t net_glue_readv(void *opaque, const struct iovec *iov, int n)
{
	return net_tap_readv(((struct net_glue *)opaque)->tap, iov, n);
}

static ssize_t net_glue_writev(void *opaque, const struct iovec *iov, int n)
{
	return net_tap_writev(((struct net_glue *)opaque)->tap, iov, n);
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

static void net_glue_release(void *opaque)
{
	struct net_glue *g = opaque;

	evloop_del(g->el, net_tap_fd(g->tap));
	free(g);
}

int virtio_net_create_on(struct virtio_dev **out, const struct gmem *gm, struct net_tap *t,
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
	rc = virtio_net_create(out, gm, &be, mac);
	if (rc) {
		free(g);
		return rc;
	}
	g->vdev = *out;
	return 0;
}

#endif
