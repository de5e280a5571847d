/* vsock_mux.c — hybrid vsock's host end: connections, credit, Unix sockets (see vsock_mux.h). */
#include "backends/vsock/vsock_mux.h"

#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <linux/virtio_vsock.h>

#include "util/log.h"

#define NR_BUCKETS 1024
#define NR_ORPHANS 64 /* RSTs for packets that have no connection, waiting for the guest */
#define LOCAL_PORT_BASE (1u << 30) /* host ports given to host-initiated connections */
#define HANDSHAKE_MAX 32 /* "CONNECT 4294967295\n" and then some */
#define SHUT_BOTH (VIRTIO_VSOCK_SHUTDOWN_RCV | VIRTIO_VSOCK_SHUTDOWN_SEND)

enum conn_state {
	C_FREE,
	C_HANDSHAKE, /* accepted on the listener, reading "CONNECT <port>\n" */
	C_LOCAL_INIT, /* host-initiated: REQUEST to the guest, waiting for its RESPONSE */
	C_EST, /* established */
	C_CLOSING, /* host end closed, an RST for the guest pending */
};

/* What a connection owes the guest (conn.pend). */
enum {
	P_REQUEST = 1,
	P_RESPONSE = 2,
	P_RST = 4,
	P_CREDIT = 8, /* CREDIT_UPDATE */
	P_CREDIT_REQ = 16,
	P_SHUTDOWN = 32, /* SHUTDOWN(SEND): the host end will send no more */
};

struct conn {
	struct vsock_mux *m;
	enum conn_state st;
	int fd;
	uint32_t lport, pport; /* the host's port and the guest's */
	uint32_t pend;
	uint32_t watched; /* epoll events registered on the loop; 0: not registered */
	bool queued; /* in the mux's FIFO */
	bool rx_data; /* the host socket may have data for the guest */
	bool host_eof; /* the host end will send no more (read returned 0) */
	bool shut_wr; /* the guest will send no more: shutdown(SHUT_WR) done */
	bool credit_asked;
	uint32_t peer_shut; /* SHUTDOWN flags the guest sent */
	/* host -> guest: the guest's receive buffer (credit) and what was sent into it */
	uint32_t peer_buf_alloc, peer_fwd_cnt, rx_cnt;
	/* guest -> host: bytes forwarded to the socket, and as many the guest was last told of */
	uint32_t fwd_cnt, fwd_told;
	uint8_t *buf; /* what the socket did not take yet (a ring of VSOCK_CONN_BUF) */
	uint32_t buf_head, buf_len;
	uint64_t deadline_ns; /* C_HANDSHAKE, C_LOCAL_INIT */
	struct conn *hnext;
};

struct vsock_mux {
	pthread_mutex_t lock;
	uint64_t cid;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct evloop *el;
	void (*notify)(void *opaque);
	void *opaque;
	int lfd, tfd;
	bool timer_armed;
	uint32_t next_lport;
	unsigned cursor, nr_conns;
	struct conn conns[VSOCK_MAX_CONNS];
	struct conn *bucket[NR_BUCKETS];
	uint16_t fifo[VSOCK_MAX_CONNS];
	unsigned fifo_head, fifo_len;
	struct {
		uint32_t lport, pport;
	} orphan[NR_ORPHANS];
	unsigned orphan_head, orphan_len;
	struct ratelimit rl;
};

/* ---- the wire header ---- */

void vsock_hdr_decode(struct vsock_hdr *h, const uint8_t raw[VSOCK_HDR_LEN])
{
	struct virtio_vsock_hdr w;

	memcpy(&w, raw, sizeof(w));
	*h = (struct vsock_hdr){ .src_cid = le64toh(w.src_cid),
				 .dst_cid = le64toh(w.dst_cid),
				 .src_port = le32toh(w.src_port),
				 .dst_port = le32toh(w.dst_port),
				 .len = le32toh(w.len),
				 .type = le16toh(w.type),
				 .op = le16toh(w.op),
				 .flags = le32toh(w.flags),
				 .buf_alloc = le32toh(w.buf_alloc),
				 .fwd_cnt = le32toh(w.fwd_cnt) };
}

void vsock_hdr_encode(uint8_t raw[VSOCK_HDR_LEN], const struct vsock_hdr *h)
{
	struct virtio_vsock_hdr w = { .src_cid = htole64(h->src_cid),
				      .dst_cid = htole64(h->dst_cid),
				      .src_port = htole32(h->src_port),
				      .dst_port = htole32(h->dst_port),
				      .len = htole32(h->len),
				      .type = htole16(h->type),
				      .op = htole16(h->op),
				      .flags = htole32(h->flags),
				      .buf_alloc = htole32(h->buf_alloc),
				      .fwd_cnt = htole32(h->fwd_cnt) };

	_Static_assert(sizeof(w) == VSOCK_HDR_LEN, "virtio_vsock_hdr is 44 bytes");
	memcpy(raw, &w, sizeof(w));
}

/* ---- the table ---- */

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static unsigned hash(uint32_t lport, uint32_t pport)
{
	return (lport * 2654435761u ^ pport * 40503u) % NR_BUCKETS;
}

static struct conn *lookup(struct vsock_mux *m, uint32_t lport, uint32_t pport)
{
	for (struct conn *c = m->bucket[hash(lport, pport)]; c; c = c->hnext)
		if (c->lport == lport && c->pport == pport)
			return c;
	return NULL;
}

static void hash_add(struct vsock_mux *m, struct conn *c)
{
	unsigned b = hash(c->lport, c->pport);

	c->hnext = m->bucket[b];
	m->bucket[b] = c;
}

static void hash_del(struct vsock_mux *m, struct conn *c)
{
	for (struct conn **p = &m->bucket[hash(c->lport, c->pport)]; *p; p = &(*p)->hnext) {
		if (*p == c) {
			*p = c->hnext;
			return;
		}
	}
}

/* A free slot, or NULL (the table is full). A slot still in the FIFO is not reused yet. */
static struct conn *conn_alloc(struct vsock_mux *m, int fd, enum conn_state st)
{
	for (unsigned i = 0; i < VSOCK_MAX_CONNS; i++) {
		struct conn *c = &m->conns[(m->cursor + i) % VSOCK_MAX_CONNS];

		if (c->st != C_FREE || c->queued)
			continue;
		m->cursor = (unsigned)(c - m->conns + 1) % VSOCK_MAX_CONNS;
		*c = (struct conn){ .m = m, .st = st, .fd = fd };
		m->nr_conns++;
		return c;
	}
	return NULL;
}

static void enqueue(struct conn *c)
{
	struct vsock_mux *m = c->m;

	if (c->queued)
		return;
	c->queued = true;
	m->fifo[(m->fifo_head + m->fifo_len++) % VSOCK_MAX_CONNS] = (uint16_t)(c - m->conns);
}

static void orphan_rst(struct vsock_mux *m, uint32_t lport, uint32_t pport)
{
	unsigned i;

	if (m->orphan_len == NR_ORPHANS)
		return; /* the guest times out instead: nothing a guest sends grows this */
	i = (m->orphan_head + m->orphan_len++) % NR_ORPHANS;
	m->orphan[i].lport = lport;
	m->orphan[i].pport = pport;
}

static uint32_t peer_credit(const struct conn *c)
{
	uint32_t used = c->rx_cnt - c->peer_fwd_cnt; /* 32-bit wrap, as the counters */

	return used >= c->peer_buf_alloc ? 0 : c->peer_buf_alloc - used;
}

/* Ask the guest for room, once until its credit grows again. */
static void ask_credit(struct conn *c)
{
	if (!c->credit_asked)
		c->pend |= P_CREDIT_REQ, c->credit_asked = true;
}

static bool may_send(const struct conn *c)
{
	return c->st == C_EST && !c->host_eof && !(c->peer_shut & VIRTIO_VSOCK_SHUTDOWN_RCV);
}

static void conn_event(void *opaque, uint32_t events);

/* Register on the loop exactly the events the connection waits for now. */
static void rewatch(struct conn *c)
{
	uint32_t want = 0;
	int r = 0;

	if (c->fd < 0)
		return;
	if (c->st == C_HANDSHAKE)
		want = EPOLLIN;
	if (c->st == C_EST) {
		if (may_send(c) && !c->rx_data && peer_credit(c) > 0)
			want |= EPOLLIN;
		if (c->buf_len)
			want |= EPOLLOUT;
	}
	if (want == c->watched)
		return;
	if (!c->watched)
		r = evloop_add(c->m->el, c->fd, want, conn_event, c);
	else if (!want)
		r = evloop_del(c->m->el, c->fd);
	else
		r = evloop_mod(c->m->el, c->fd, want);
	if (r)
		log_warn("vsock: watching a connection: %s", strerror(-r));
	else
		c->watched = want;
}

static void conn_close_fd(struct conn *c)
{
	if (c->fd < 0)
		return;
	if (c->watched)
		evloop_del(c->m->el, c->fd);
	c->watched = 0;
	close(c->fd);
	c->fd = -1;
}

/* Back to a free slot (its RST sent, or none owed). */
static void conn_free(struct conn *c)
{
	struct vsock_mux *m = c->m;

	conn_close_fd(c);
	if (c->st == C_LOCAL_INIT || c->st == C_EST || c->st == C_CLOSING)
		hash_del(m, c);
	free(c->buf);
	c->buf = NULL;
	c->st = C_FREE;
	m->nr_conns--;
}

/* End the connection: the host end closes, the guest gets an RST. */
static void conn_kill(struct conn *c)
{
	conn_close_fd(c);
	free(c->buf);
	c->buf = NULL;
	c->buf_len = 0;
	c->st = C_CLOSING;
	c->pend = P_RST;
	enqueue(c);
}

static void arm_timer(struct vsock_mux *m)
{
	struct itimerspec its = { .it_value = { .tv_sec = 0, .tv_nsec = 250 * 1000000 } };

	if (m->timer_armed || m->tfd < 0)
		return;
	if (timerfd_settime(m->tfd, 0, &its, NULL) == 0)
		m->timer_armed = true;
}

/* Both directions are done (the guest and the host end each shut theirs): close. */
static void maybe_finish(struct conn *c)
{
	if (c->st != C_EST || c->buf_len)
		return;
	if ((c->peer_shut & SHUT_BOTH) == SHUT_BOTH ||
	    (c->host_eof && (c->peer_shut & VIRTIO_VSOCK_SHUTDOWN_SEND)))
		conn_kill(c);
}

/* Tell the guest its credit once a quarter of the buffer was forwarded since it last heard. */
static void maybe_credit(struct conn *c)
{
	if (c->fwd_cnt - c->fwd_told >= VSOCK_CONN_BUF / 4)
		c->pend |= P_CREDIT, enqueue(c);
}

/* Write what the socket takes of the held-back bytes. False when the connection was killed. */
static bool flush(struct conn *c)
{
	while (c->buf_len) {
		uint32_t first = VSOCK_CONN_BUF - c->buf_head;
		struct iovec iov[2] = { { c->buf + c->buf_head,
					  first < c->buf_len ? first : c->buf_len },
					{ c->buf, first < c->buf_len ? c->buf_len - first : 0 } };
		ssize_t r = writev(c->fd, iov, iov[1].iov_len ? 2 : 1);

		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (r <= 0) {
			conn_kill(c);
			return false;
		}
		c->buf_head = (c->buf_head + (uint32_t)r) % VSOCK_CONN_BUF;
		c->buf_len -= (uint32_t)r;
		c->fwd_cnt += (uint32_t)r;
	}
	if (!c->buf_len && (c->peer_shut & VIRTIO_VSOCK_SHUTDOWN_SEND) && !c->shut_wr) {
		shutdown(c->fd, SHUT_WR);
		c->shut_wr = true;
	}
	maybe_credit(c);
	maybe_finish(c);
	return c->st == C_EST;
}

/* Guest data for the host end: straight to the socket, the rest held back. */
static void guest_data(struct conn *c, const struct iovec *iov, unsigned n, uint32_t len)
{
	size_t done = 0;

	if (c->peer_shut & VIRTIO_VSOCK_SHUTDOWN_SEND) {
		conn_kill(c); /* data after the guest said it would send none */
		return;
	}
	if (!c->buf_len && len) {
		ssize_t r = writev(c->fd, iov, (int)n);

		if (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
			conn_kill(c);
			return;
		}
		done = r > 0 ? (size_t)r : 0;
		c->fwd_cnt += (uint32_t)done;
	}
	if (done < len) {
		size_t left = len - done, skip = done;

		if (left > VSOCK_CONN_BUF - c->buf_len) {
			log_guest(&c->m->rl, "vsock: port %" PRIu32 " sent past its credit",
				  c->pport);
			conn_kill(c);
			return;
		}
		if (!c->buf && !(c->buf = malloc(VSOCK_CONN_BUF))) {
			conn_kill(c);
			return;
		}
		for (unsigned i = 0; i < n && left; i++) {
			size_t l = iov[i].iov_len;

			if (skip >= l) {
				skip -= l;
				continue;
			}
			for (size_t k = skip; k < l && left;) {
				uint32_t tail = (c->buf_head + c->buf_len) % VSOCK_CONN_BUF;
				size_t room = VSOCK_CONN_BUF - tail, cnt = l - k;

				cnt = cnt < room ? cnt : room;
				cnt = cnt < left ? cnt : left;
				memcpy(c->buf + tail, (uint8_t *)iov[i].iov_base + k, cnt);
				c->buf_len += (uint32_t)cnt;
				k += cnt;
				left -= cnt;
			}
			skip = 0;
		}
	}
	maybe_credit(c);
	rewatch(c);
}

/* A guest REQUEST to host port @lport from its port @pport: the listener at <path>_<lport>. */
static void guest_connect(struct vsock_mux *m, uint32_t lport, uint32_t pport,
			  const struct vsock_hdr *h)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct conn *c;
	int fd, n;

	n = snprintf(sa.sun_path, sizeof(sa.sun_path), "%s_%" PRIu32, m->path, lport);
	fd = n > 0 && (size_t)n < sizeof(sa.sun_path)
		     ? socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)
		     : -1;
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    !(c = conn_alloc(m, fd, C_EST))) {
		if (fd >= 0)
			close(fd);
		orphan_rst(m, lport, pport);
		return;
	}
	c->lport = lport;
	c->pport = pport;
	c->peer_buf_alloc = h->buf_alloc;
	c->peer_fwd_cnt = h->fwd_cnt;
	hash_add(m, c);
	c->pend |= P_RESPONSE;
	enqueue(c);
	rewatch(c);
}

void vsock_mux_guest_pkt(struct vsock_mux *m, const struct vsock_hdr *h, const struct iovec *iov,
			 unsigned n, size_t avail)
{
	struct conn *c;

	pthread_mutex_lock(&m->lock);
	if (h->src_cid != m->cid || h->dst_cid != VSOCK_HOST_CID) {
		log_guest(&m->rl, "vsock: packet from cid %" PRIu64 " to %" PRIu64 " dropped",
			  h->src_cid, h->dst_cid);
		goto out;
	}
	c = lookup(m, h->dst_port, h->src_port);
	if (h->type != VIRTIO_VSOCK_TYPE_STREAM || !c) {
		if (h->type == VIRTIO_VSOCK_TYPE_STREAM && h->op == VIRTIO_VSOCK_OP_REQUEST)
			guest_connect(m, h->dst_port, h->src_port, h);
		else if (h->op != VIRTIO_VSOCK_OP_RST)
			orphan_rst(m, h->dst_port, h->src_port);
		goto out;
	}
	if (c->st == C_CLOSING)
		goto out; /* its RST is on the way */
	if (h->op == VIRTIO_VSOCK_OP_RST) {
		conn_free(c);
		goto out;
	}
	c->peer_buf_alloc = h->buf_alloc;
	c->peer_fwd_cnt = h->fwd_cnt;
	if (peer_credit(c) > 0)
		c->credit_asked = false;
	if (c->st == C_LOCAL_INIT) {
		char ok[24];
		int l = snprintf(ok, sizeof(ok), "OK %" PRIu32 "\n", c->lport);

		if (h->op != VIRTIO_VSOCK_OP_RESPONSE ||
		    write(c->fd, ok, (size_t)l) != (ssize_t)l) {
			conn_kill(c);
			goto out;
		}
		c->st = C_EST;
		rewatch(c);
		goto out;
	}
	switch (h->op) {
	case VIRTIO_VSOCK_OP_RW:
		if (h->len > avail || h->len > VSOCK_MAX_PKT) {
			log_guest(&m->rl, "vsock: a packet of %" PRIu32 " bytes in %zu", h->len,
				  avail);
			conn_kill(c);
			goto out;
		}
		guest_data(c, iov, n, h->len);
		break;
	case VIRTIO_VSOCK_OP_CREDIT_UPDATE:
		break;
	case VIRTIO_VSOCK_OP_CREDIT_REQUEST:
		c->pend |= P_CREDIT;
		enqueue(c);
		break;
	case VIRTIO_VSOCK_OP_SHUTDOWN:
		c->peer_shut |= h->flags & SHUT_BOTH;
		if (flush(c))
			rewatch(c);
		break;
	default: /* REQUEST or RESPONSE on an open connection, or no op at all */
		conn_kill(c);
		goto out;
	}
	if (c->st == C_EST) {
		if (c->rx_data && may_send(c) && peer_credit(c) > 0)
			enqueue(c);
		rewatch(c);
	}
out:
	pthread_mutex_unlock(&m->lock);
}

/* ---- to the guest ---- */

static void fill(const struct vsock_mux *m, const struct conn *c, struct vsock_hdr *h, uint16_t op,
		 uint32_t lport, uint32_t pport)
{
	*h = (struct vsock_hdr){ .src_cid = VSOCK_HOST_CID,
				 .dst_cid = m->cid,
				 .src_port = lport,
				 .dst_port = pport,
				 .type = VIRTIO_VSOCK_TYPE_STREAM,
				 .op = op,
				 .buf_alloc = c ? VSOCK_CONN_BUF : 0,
				 .fwd_cnt = c ? c->fwd_cnt : 0 };
}

/* Host data for the guest, read into @iov: true when a packet (data or SHUTDOWN) was made. */
static bool host_data(struct conn *c, struct vsock_hdr *h, const struct iovec *iov, unsigned n,
		      size_t cap)
{
	uint32_t credit = peer_credit(c);
	struct iovec part[VSOCK_MAX_PKT / 4096 + 8];
	unsigned np = 0;
	size_t want = cap, got = 0;
	ssize_t r;

	if (credit == 0) {
		ask_credit(c);
		return false;
	}
	want = want < credit ? want : credit;
	want = want < VSOCK_MAX_PKT ? want : VSOCK_MAX_PKT;
	for (unsigned i = 0; i < n && got < want && np < sizeof(part) / sizeof(part[0]); i++) {
		size_t l = iov[i].iov_len < want - got ? iov[i].iov_len : want - got;

		part[np++] = (struct iovec){ iov[i].iov_base, l };
		got += l;
	}
	if (!np)
		return false;
	r = readv(c->fd, part, (int)np);
	if (r > 0) {
		fill(c->m, c, h, VIRTIO_VSOCK_OP_RW, c->lport, c->pport);
		h->len = (uint32_t)r;
		c->rx_cnt += (uint32_t)r;
		c->fwd_told = c->fwd_cnt;
		if (peer_credit(c) == 0) /* more may wait: ask for room */
			ask_credit(c);
		return true;
	}
	c->rx_data = false;
	if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
		rewatch(c);
		return false;
	}
	if (r < 0) {
		conn_kill(c);
		return false;
	}
	c->host_eof = true; /* the host end shut its side: tell the guest */
	c->pend |= P_SHUTDOWN;
	rewatch(c);
	return false;
}

/* The next packet connection @c owes the guest. */
static bool conn_pkt(struct conn *c, struct vsock_hdr *h, const struct iovec *iov, unsigned n,
		     size_t cap)
{
	static const struct {
		uint32_t bit;
		uint16_t op;
	} ctl[] = {
		{ P_REQUEST, VIRTIO_VSOCK_OP_REQUEST },
		{ P_RESPONSE, VIRTIO_VSOCK_OP_RESPONSE },
		{ P_CREDIT, VIRTIO_VSOCK_OP_CREDIT_UPDATE },
		{ P_CREDIT_REQ, VIRTIO_VSOCK_OP_CREDIT_REQUEST },
	};

	if (c->pend & P_RST) {
		fill(c->m, NULL, h, VIRTIO_VSOCK_OP_RST, c->lport, c->pport);
		conn_free(c);
		return true;
	}
	if (c->st == C_EST && c->rx_data && may_send(c) && host_data(c, h, iov, n, cap))
		return true;
	if (c->pend & P_RST)
		return conn_pkt(c, h, iov, n, cap); /* the read failed */
	for (unsigned i = 0; i < sizeof(ctl) / sizeof(ctl[0]); i++) {
		if (c->pend & ctl[i].bit) {
			c->pend &= ~ctl[i].bit;
			fill(c->m, c, h, ctl[i].op, c->lport, c->pport);
			c->fwd_told = c->fwd_cnt;
			return true;
		}
	}
	if (c->pend & P_SHUTDOWN) {
		c->pend &= ~(uint32_t)P_SHUTDOWN;
		fill(c->m, c, h, VIRTIO_VSOCK_OP_SHUTDOWN, c->lport, c->pport);
		h->flags = VIRTIO_VSOCK_SHUTDOWN_SEND;
		maybe_finish(c);
		return true;
	}
	return false;
}

static bool conn_has_work(const struct conn *c)
{
	if (c->st == C_FREE)
		return false;
	return c->pend || (c->rx_data && may_send(c) && peer_credit(c) > 0);
}

bool vsock_mux_host_pkt(struct vsock_mux *m, struct vsock_hdr *h, const struct iovec *iov,
			unsigned n, size_t cap)
{
	bool got = false;

	pthread_mutex_lock(&m->lock);
	if (m->orphan_len) {
		fill(m, NULL, h, VIRTIO_VSOCK_OP_RST, m->orphan[m->orphan_head].lport,
		     m->orphan[m->orphan_head].pport);
		m->orphan_head = (m->orphan_head + 1) % NR_ORPHANS;
		m->orphan_len--;
		got = true;
	}
	while (!got && m->fifo_len) {
		struct conn *c = &m->conns[m->fifo[m->fifo_head]];

		m->fifo_head = (m->fifo_head + 1) % VSOCK_MAX_CONNS;
		m->fifo_len--;
		c->queued = false;
		if (c->st == C_FREE)
			continue;
		got = conn_pkt(c, h, iov, n, cap);
		if (conn_has_work(c))
			enqueue(c); /* to the back: every connection gets its turn */
	}
	pthread_mutex_unlock(&m->lock);
	return got;
}

bool vsock_mux_pending(struct vsock_mux *m)
{
	bool p;

	pthread_mutex_lock(&m->lock);
	p = m->orphan_len || m->fifo_len;
	pthread_mutex_unlock(&m->lock);
	return p;
}

/* ---- host events ---- */

/* "CONNECT <port>\n" from a new client: the REQUEST to the guest. */
static void handshake(struct conn *c)
{
	struct vsock_mux *m = c->m;
	char b[HANDSHAKE_MAX + 1], *nl, *end = b;
	ssize_t r = recv(c->fd, b, HANDSHAKE_MAX, MSG_PEEK);
	unsigned long port;

	if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return;
	if (r <= 0) {
		conn_free(c);
		return;
	}
	b[r] = 0;
	nl = memchr(b, '\n', (size_t)r);
	if (!nl) {
		if (r == HANDSHAKE_MAX)
			conn_free(c);
		return;
	}
	if (recv(c->fd, b, (size_t)(nl - b + 1), 0) != nl - b + 1) {
		conn_free(c);
		return;
	}
	*nl = 0;
	errno = 0;
	port = strncmp(b, "CONNECT ", 8) || b[8] < '0' || b[8] > '9' ? ULONG_MAX
								     : strtoul(b + 8, &end, 10);
	if (port > UINT32_MAX || errno || *end) {
		conn_free(c); /* not Firecracker's handshake: the client is disconnected */
		return;
	}
	for (unsigned tries = 0;; tries++) {
		uint32_t lp = m->next_lport++;

		if (m->next_lport < LOCAL_PORT_BASE)
			m->next_lport = LOCAL_PORT_BASE;
		if (!lookup(m, lp, (uint32_t)port)) {
			c->lport = lp;
			break;
		}
		if (tries > VSOCK_MAX_CONNS) {
			conn_free(c);
			return;
		}
	}
	c->pport = (uint32_t)port;
	c->st = C_LOCAL_INIT;
	hash_add(m, c);
	c->deadline_ns = now_ns() + VSOCK_REQUEST_TIMEOUT_MS * 1000000ull;
	c->pend |= P_REQUEST;
	enqueue(c);
	rewatch(c);
}

static void conn_event(void *opaque, uint32_t events)
{
	struct conn *c = opaque;
	struct vsock_mux *m = c->m;
	bool notify;

	pthread_mutex_lock(&m->lock);
	if (c->st == C_HANDSHAKE) {
		handshake(c);
	} else if (c->st == C_EST) {
		bool ok = true;

		if ((events & (EPOLLOUT | EPOLLHUP | EPOLLERR)) && c->buf_len)
			ok = flush(c);
		if (ok && (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && (c->watched & EPOLLIN)) {
			c->rx_data = true;
			enqueue(c);
		}
		if (ok)
			rewatch(c);
	}
	notify = m->orphan_len || m->fifo_len;
	pthread_mutex_unlock(&m->lock);
	if (notify)
		m->notify(m->opaque);
}

static void listener_event(void *opaque, uint32_t events)
{
	struct vsock_mux *m = opaque;

	(void)events;
	pthread_mutex_lock(&m->lock);
	for (unsigned i = 0; i < 64; i++) {
		int fd = accept4(m->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct conn *c;

		if (fd < 0)
			break;
		if (!(c = conn_alloc(m, fd, C_HANDSHAKE))) {
			log_guest(&m->rl, "vsock: %u connections open: a new one refused",
				  VSOCK_MAX_CONNS);
			close(fd);
			continue;
		}
		c->deadline_ns = now_ns() + VSOCK_REQUEST_TIMEOUT_MS * 1000000ull;
		rewatch(c);
		arm_timer(m);
	}
	pthread_mutex_unlock(&m->lock);
}

/* Handshakes and REQUESTs past their time. Lock held. */
static void expire(struct vsock_mux *m, uint64_t now)
{
	bool waiting = false;

	for (unsigned i = 0; i < VSOCK_MAX_CONNS; i++) {
		struct conn *c = &m->conns[i];

		if (c->st != C_HANDSHAKE && c->st != C_LOCAL_INIT)
			continue;
		if (c->deadline_ns > now) {
			waiting = true;
		} else if (c->st == C_HANDSHAKE) {
			conn_free(c);
		} else {
			c->pend &= ~(uint32_t)P_REQUEST;
			conn_kill(c);
		}
	}
	m->timer_armed = false;
	if (waiting)
		arm_timer(m);
}

static void timer_event(void *opaque, uint32_t events)
{
	struct vsock_mux *m = opaque;
	uint64_t ticks;
	bool notify;

	(void)events;
	if (read(m->tfd, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN)
		log_warn("vsock: timer: %s", strerror(errno));
	pthread_mutex_lock(&m->lock);
	expire(m, now_ns());
	notify = m->orphan_len || m->fifo_len;
	pthread_mutex_unlock(&m->lock);
	if (notify)
		m->notify(m->opaque);
}

void vsock_mux_expire(struct vsock_mux *m, unsigned ms)
{
	pthread_mutex_lock(&m->lock);
	expire(m, now_ns() + ms * 1000000ull);
	pthread_mutex_unlock(&m->lock);
}

/* ---- life ---- */

void vsock_mux_reset(struct vsock_mux *m)
{
	pthread_mutex_lock(&m->lock);
	for (unsigned i = 0; i < VSOCK_MAX_CONNS; i++) {
		m->conns[i].queued = false;
		if (m->conns[i].st != C_FREE)
			conn_free(&m->conns[i]);
	}
	m->fifo_len = m->orphan_len = 0;
	pthread_mutex_unlock(&m->lock);
}

unsigned vsock_mux_conns(struct vsock_mux *m)
{
	unsigned n;

	pthread_mutex_lock(&m->lock);
	n = m->nr_conns;
	pthread_mutex_unlock(&m->lock);
	return n;
}

/* Bind the listener at @path; a dead socket left there by an earlier run is replaced. */
static int listen_at(struct vsock_mux *m, const char *path, char *err, size_t err_len)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	int fd;

	if (strlen(path) + 12 >= sizeof(sa.sun_path)) { /* room for "_<port>" */
		errbuf_set(err, err_len, "vsock: uds_path '%s' is too long for a Unix socket",
			   path);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, path);
	if (lstat(path, &st) == 0) {
		int probe;

		if (!S_ISSOCK(st.st_mode)) {
			errbuf_set(err, err_len, "vsock: uds_path '%s' exists and is not a socket",
				   path);
			return -EEXIST;
		}
		probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (probe >= 0 && connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			close(probe);
			errbuf_set(err, err_len,
				   "vsock: uds_path '%s' is in use by another process", path);
			return -EADDRINUSE;
		}
		if (probe >= 0)
			close(probe);
		unlink(path);
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 128) < 0) {
		int e = errno;

		if (fd >= 0)
			close(fd);
		errbuf_set(err, err_len, "vsock: cannot listen at '%s': %s", path, strerror(e));
		return -e;
	}
	m->lfd = fd;
	strcpy(m->path, path);
	return 0;
}

int vsock_mux_create(struct vsock_mux **out, uint64_t guest_cid, const char *uds_path,
		     struct evloop *el, void (*notify)(void *opaque), void *opaque, char *err,
		     size_t err_len)
{
	struct vsock_mux *m;
	int ret;

	if (guest_cid < 3 || guest_cid > UINT32_MAX || !uds_path || !*uds_path || !el || !notify) {
		errbuf_set(err, err_len, "vsock: guest_cid must be 3 or more (and fit 32 bits)");
		return -EINVAL;
	}
	m = calloc(1, sizeof(*m));
	if (!m) {
		errbuf_set(err, err_len, "out of memory");
		return -ENOMEM;
	}
	pthread_mutex_init(&m->lock, NULL);
	m->cid = guest_cid;
	m->el = el;
	m->notify = notify;
	m->opaque = opaque;
	m->next_lport = LOCAL_PORT_BASE;
	m->lfd = m->tfd = -1;
	ret = listen_at(m, uds_path, err, err_len);
	if (ret)
		goto fail;
	m->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (m->tfd < 0) {
		ret = -errno;
		errbuf_set(err, err_len, "vsock: timerfd: %s", strerror(errno));
		goto fail;
	}
	if ((ret = evloop_add(el, m->lfd, EPOLLIN, listener_event, m)) ||
	    (ret = evloop_add(el, m->tfd, EPOLLIN, timer_event, m))) {
		errbuf_set(err, err_len, "vsock: event loop: %s", strerror(-ret));
		goto fail;
	}
	*out = m;
	return 0;
fail:
	vsock_mux_destroy(m);
	return ret;
}

void vsock_mux_destroy(struct vsock_mux *m)
{
	if (!m)
		return;
	vsock_mux_reset(m);
	if (m->lfd >= 0) {
		evloop_del(m->el, m->lfd);
		close(m->lfd);
		unlink(m->path);
	}
	if (m->tfd >= 0) {
		evloop_del(m->el, m->tfd);
		close(m->tfd);
	}
	pthread_mutex_destroy(&m->lock);
	free(m);
}
