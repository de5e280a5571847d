/*
 * vsock_mux.h — the host end of virtio-vsock in Firecracker's "hybrid" design
 * (its docs/vsock.md): guest stream connections end on Unix sockets.
 *
 *  - host-initiated: a client connects to the listener at @uds_path and
 *    writes "CONNECT <port>\n"; the mux asks the guest (OP_REQUEST to
 *    <port>) and, when it accepts, answers "OK <host port>\n"; from then on
 *    the Unix socket carries the stream. No answer in 2 s: the client is
 *    disconnected and the guest gets an RST.
 *  - guest-initiated: a guest connection to host port P is connected to the
 *    listener at "<uds_path>_<P>"; none there: RST.
 *
 * Flow control is the protocol's credit (virtio 1.2 §5.10.6.3): the mux
 * advertises VSOCK_CONN_BUF bytes per connection, forwards guest data to
 * the Unix socket at once and holds back only what the socket does not take
 * (at most VSOCK_CONN_BUF, allocated then), so the memory a guest or a host
 * client can make vmon hold is bounded by VSOCK_MAX_CONNS * VSOCK_CONN_BUF.
 * Host data is read straight into the guest's receive buffers, only while the
 * guest's own credit allows it. A guest that overruns its credit or breaks the
 * protocol gets an RST for that connection; the others go on. Connections
 * take turns for the guest's receive buffers (one packet each, round robin).
 *
 * Threads: the mux's fds are watched on the VM's event loop; every entry
 * point takes the mux's own lock, so it may be called from any thread (a
 * device reset arrives on a vCPU thread). @notify is called with no mux
 * lock held. Lock order: the device's lock -> the mux's.
 */
#ifndef VMON_BACKENDS_VSOCK_VSOCK_MUX_H
#define VMON_BACKENDS_VSOCK_VSOCK_MUX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "base/evloop.h"

#define VSOCK_HOST_CID 2
#define VSOCK_MAX_CONNS 1024 /* connections at once, both kinds, handshakes included */
#define VSOCK_CONN_BUF (128u * 1024) /* buf_alloc advertised to the guest, per connection */
#define VSOCK_MAX_PKT (64u * 1024) /* the most payload one packet carries */
#define VSOCK_HDR_LEN 44 /* struct virtio_vsock_hdr */
#define VSOCK_REQUEST_TIMEOUT_MS 2000 /* a handshake or a REQUEST to the guest unanswered */

/* A packet header (struct virtio_vsock_hdr) in host byte order. */
struct vsock_hdr {
	uint64_t src_cid, dst_cid;
	uint32_t src_port, dst_port, len;
	uint16_t type, op;
	uint32_t flags, buf_alloc, fwd_cnt;
};

/* vsock_hdr_decode / vsock_hdr_encode - between the little-endian wire form and @h. */
void vsock_hdr_decode(struct vsock_hdr *h, const uint8_t raw[VSOCK_HDR_LEN]);
void vsock_hdr_encode(uint8_t raw[VSOCK_HDR_LEN], const struct vsock_hdr *h);

struct vsock_mux;

/*
 * vsock_mux_create - a mux for guest @guest_cid (>= 3) whose listener is bound
 * at @uds_path now (a stale socket there that nobody listens on is replaced; a
 * live one or any other file is an error), watched on @el. @notify(@opaque):
 * the mux has packets for the guest (event-loop thread, no lock held). Returns
 * 0 or -errno with one line in @err.
 */
int vsock_mux_create(struct vsock_mux **out, uint64_t guest_cid, const char *uds_path,
		     struct evloop *el, void (*notify)(void *opaque), void *opaque, char *err,
		     size_t err_len);

/* vsock_mux_destroy - close every connection and the listener, remove @uds_path. */
void vsock_mux_destroy(struct vsock_mux *m);

/*
 * vsock_mux_guest_pkt - one packet from the guest (its TX queue): header @h,
 * @avail payload bytes in @iov/@n (the chain may hold more or less than
 * h->len: a mismatch is the guest's error). Never blocks.
 */
void vsock_mux_guest_pkt(struct vsock_mux *m, const struct vsock_hdr *h, const struct iovec *iov,
			 unsigned n, size_t avail);

/*
 * vsock_mux_host_pkt - the next packet for the guest, if any: fills @h (h->len
 * payload bytes, written into @iov/@n, at most @cap) and returns true; false
 * when nothing waits (the mux calls @notify when something does).
 */
bool vsock_mux_host_pkt(struct vsock_mux *m, struct vsock_hdr *h, const struct iovec *iov,
			unsigned n, size_t cap);

/* vsock_mux_pending - true when vsock_mux_host_pkt() has something to give. */
bool vsock_mux_pending(struct vsock_mux *m);

/* vsock_mux_reset - drop every connection (their host ends see EOF); the listener stays. */
void vsock_mux_reset(struct vsock_mux *m);

/* vsock_mux_conns - connections open now (every state), for tests and metrics. */
unsigned vsock_mux_conns(struct vsock_mux *m);

/* vsock_mux_expire - run the timeout check now, as if @ms more had passed (tests). */
void vsock_mux_expire(struct vsock_mux *m, unsigned ms);

#endif
