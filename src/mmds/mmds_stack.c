/* mmds_stack.c — the MMDS endpoint on the guest's link: ARP replies and a minimal TCP server. */
#include "mmds/mmds_stack.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <linux/if_arp.h>
#include <linux/if_ether.h>
#include <linux/in.h>

#include "util/be.h"
#include "util/compiler.h"
#include "util/log.h"
#include "util/token_bucket.h"

/*
 * Wire formats (all fields big-endian): Ethernet II (14 bytes), ARP for
 * Ethernet/IPv4 (RFC 826, 28 bytes), IPv4 (RFC 791, 20..60 bytes), TCP
 * (RFC 9293, 20..60 bytes). Frames are read byte by byte through rd16/rd32,
 * never through casts, so no guest offset is ever trusted for alignment.
 */
#define ARP_LEN 28
#define IP_HLEN 20 /* the header we send, and the least a guest's may be */
#define TCP_HLEN 20
#define TCP_HLEN_SYN 24 /* with the MSS option */
#define HDRS_LEN (ETH_HLEN + IP_HLEN + TCP_HLEN)
#define FRAME_MAX 1514 /* ETH_FRAME_LEN: no jumbo frames */

#define IP_DF 0x4000
#define IP_MF 0x2000
#define IP_OFFMASK 0x1fff
#define OUT_TTL 64

#define TCPF_FIN 0x01
#define TCPF_SYN 0x02
#define TCPF_RST 0x04
#define TCPF_PSH 0x08
#define TCPF_ACK 0x10

#define TCPOPT_EOL 0
#define TCPOPT_NOP 1
#define TCPOPT_MSS 2
#define TCPOLEN_MSS 4

#define MSS_OURS (FRAME_MAX - HDRS_LEN) /* 1460 */
#define MSS_DEFAULT 536 /* RFC 9293 3.7.1: a peer that sends no MSS option */
#define MSS_MIN 64 /* a smaller MSS option is taken as this (no 1-byte segments) */

#define SND_MAX_BYTES (1u << 20) /* answers a connection holds, unacknowledged */
#define CTRL_MAX 64 /* control frames waiting for the guest */
#define CTRL_FRAME_MAX (ETH_HLEN + IP_HLEN + TCP_HLEN_SYN) /* the largest: a SYN-ACK */

static const uint8_t mmds_mac[ETH_ALEN] = MMDS_STACK_MAC;

enum conn_state {
	CONN_FREE,
	CONN_SYN_RCVD, /* our SYN-ACK sent, its ACK awaited */
	CONN_ESTABLISHED, /* and every later state, told apart by the fin flags */
};

/*
 * struct mmds_conn - one guest connection. Sequence space we send:
 *   snd_una <= snd_nxt <= snd_max <= end (+1 once our FIN went out),
 * where end = snd_una + the bytes in snd[snd_head, snd_len): the answers not
 * yet acknowledged. snd_nxt is where the next segment starts (rewound to
 * snd_una by a duplicate ACK), snd_max the highest sequence ever sent.
 */
struct mmds_conn {
	enum conn_state state;
	uint32_t peer_ip; /* host byte order */
	uint16_t peer_port; /* host byte order */
	uint8_t peer_mac[ETH_ALEN];
	uint64_t last_active; /* stack tick of the last segment from the guest */

	uint32_t irs, iss; /* the guest's and our initial sequence numbers */
	uint32_t rcv_nxt;
	uint32_t snd_una, snd_nxt, snd_max;
	uint16_t snd_wnd; /* the guest's window, unscaled */
	uint16_t snd_mss;

	bool fin_rcvd; /* the guest's FIN taken (rcv_nxt counts it) */
	bool close_after; /* the handler asked to close once its answer is sent */
	bool fin_sent; /* our FIN went out at least once (it is at end) */
	bool fin_acked;

	uint8_t *req; /* MMDS_STACK_REQ_MAX bytes, allocated with the first data */
	size_t req_len;
	uint8_t *snd;
	size_t snd_head, snd_len, snd_cap;
};

struct ctrl_frame {
	uint16_t len;
	bool pure_ack; /* may be dropped when the queue is full */
	uint8_t data[CTRL_FRAME_MAX];
};

struct mmds_stack {
	uint32_t ipv4;
	mmds_stack_handler fn;
	void *opaque;

	struct mmds_conn conns[MMDS_STACK_MAX_CONNS];
	unsigned rr; /* the connection asked first for a segment */
	uint64_t tick;

	struct ctrl_frame ctrl[CTRL_MAX]; /* a ring */
	unsigned ctrl_head, ctrl_count;

	uint16_t ip_id;
	uint64_t isn_seed[2], isn_count;
	struct ratelimit rl;
};

/* a TCP segment from the guest, its header parsed and checked */
struct seg {
	const uint8_t *mac; /* Ethernet source */
	uint32_t ip; /* source, host byte order */
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint8_t flags;
	uint16_t wnd;
	bool has_mss;
	uint16_t mss;
	const uint8_t *data;
	size_t len;
};

/* modular sequence-number comparisons (RFC 9293 3.4) */
static bool seq_lt(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) < 0;
}

static bool seq_le(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) <= 0;
}

static size_t min_sz(size_t a, size_t b)
{
	return a < b ? a : b;
}

/* The Internet checksum (RFC 1071): add 16-bit big-endian words; @len odd only for the last part.
 */
static uint64_t csum_add(uint64_t sum, const uint8_t *p, size_t len)
{
	for (; len > 1; p += 2, len -= 2)
		sum += be16_get(p);
	if (len)
		sum += (uint64_t)p[0] << 8;
	return sum;
}

static uint16_t csum_fold(uint64_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* TCP checksum over the pseudo-header and @len bytes of segment: 0 when a received one is right. */
static uint16_t tcp_csum(uint32_t src, uint32_t dst, const uint8_t *t, size_t len)
{
	uint64_t sum = (src >> 16) + (src & 0xffff) + (dst >> 16) + (dst & 0xffff);

	sum += IPPROTO_TCP + len;
	return csum_fold(csum_add(sum, t, len));
}

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

/* An initial sequence number: a counter and the connection's key mixed with a random seed. */
static uint32_t tcp_isn(struct mmds_stack *s, uint32_t ip, uint16_t port)
{
	uint64_t x = s->isn_seed[0] ^ ((uint64_t)ip << 16 | port);

	x = mix64(x + ++s->isn_count * 0x9e3779b97f4a7c15ull);
	return (uint32_t)(mix64(x ^ s->isn_seed[1]) >> 32);
}

/* ---- frames for the guest ---------------------------------------------------------------- */

/* Write Ethernet and IPv4 headers for @payload_len bytes of TCP to @dst_ip at @dst_mac. */
static uint8_t *build_ip(struct mmds_stack *s, uint8_t *buf, const uint8_t *dst_mac,
			 uint32_t dst_ip, size_t payload_len)
{
	uint8_t *ip = buf + ETH_HLEN;

	memcpy(buf, dst_mac, ETH_ALEN);
	memcpy(buf + ETH_ALEN, mmds_mac, ETH_ALEN);
	be16_put(buf + 12, ETH_P_IP);
	ip[0] = 0x45; /* version 4, 5 words */
	ip[1] = 0;
	be16_put(ip + 2, (uint16_t)(IP_HLEN + payload_len));
	be16_put(ip + 4, s->ip_id++);
	be16_put(ip + 6, IP_DF);
	ip[8] = OUT_TTL;
	ip[9] = IPPROTO_TCP;
	be16_put(ip + 10, 0);
	be32_put(ip + 12, s->ipv4);
	be32_put(ip + 16, dst_ip);
	be16_put(ip + 10, csum_fold(csum_add(0, ip, IP_HLEN)));
	return ip + IP_HLEN;
}

struct tcp_out {
	const uint8_t *mac;
	uint32_t ip;
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint8_t flags;
	uint16_t wnd;
	bool mss_opt;
	const uint8_t *data;
	size_t len;
};

/* Build one TCP frame into @buf (room for HDRS_LEN + 4 + o->len); its length. */
static size_t build_tcp(struct mmds_stack *s, uint8_t *buf, const struct tcp_out *o)
{
	size_t thl = o->mss_opt ? TCP_HLEN_SYN : TCP_HLEN;
	uint8_t *t = build_ip(s, buf, o->mac, o->ip, thl + o->len);

	be16_put(t, o->sport);
	be16_put(t + 2, o->dport);
	be32_put(t + 4, o->seq);
	be32_put(t + 8, (o->flags & TCPF_ACK) ? o->ack : 0);
	t[12] = (uint8_t)(thl / 4) << 4;
	t[13] = o->flags;
	be16_put(t + 14, o->wnd);
	be16_put(t + 16, 0);
	be16_put(t + 18, 0); /* urgent pointer */
	if (o->mss_opt) {
		t[20] = TCPOPT_MSS;
		t[21] = TCPOLEN_MSS;
		be16_put(t + 22, MSS_OURS);
	}
	if (o->len)
		memcpy(t + thl, o->data, o->len);
	be16_put(t + 16, tcp_csum(s->ipv4, o->ip, t, thl + o->len));
	return ETH_HLEN + IP_HLEN + thl + o->len;
}

static void ctrl_drop(struct mmds_stack *s, unsigned i)
{
	/* close the gap at ring position @i (0 = oldest) */
	for (; i + 1 < s->ctrl_count; i++)
		s->ctrl[(s->ctrl_head + i) % CTRL_MAX] = s->ctrl[(s->ctrl_head + i + 1) % CTRL_MAX];
	s->ctrl_count--;
}

/*
 * A free slot at the tail of the control queue. When it is full, the oldest
 * pure ACK goes (a later segment acknowledges as much), or else the oldest
 * frame: the guest recovers from either by retransmitting.
 */
static struct ctrl_frame *ctrl_slot(struct mmds_stack *s, bool pure_ack)
{
	struct ctrl_frame *f;

	if (s->ctrl_count == CTRL_MAX) {
		unsigned i;

		for (i = 0; i < s->ctrl_count; i++)
			if (s->ctrl[(s->ctrl_head + i) % CTRL_MAX].pure_ack)
				break;
		ctrl_drop(s, i < s->ctrl_count ? i : 0);
	}
	f = &s->ctrl[(s->ctrl_head + s->ctrl_count++) % CTRL_MAX];
	f->pure_ack = pure_ack;
	return f;
}

static void ctrl_tcp(struct mmds_stack *s, const struct tcp_out *o)
{
	struct ctrl_frame *f = ctrl_slot(s, o->flags == TCPF_ACK && !o->len);

	BUG_ON(o->len);
	f->len = (uint16_t)build_tcp(s, f->data, o);
}

static uint16_t conn_rcv_wnd(const struct mmds_conn *c)
{
	size_t room = MMDS_STACK_REQ_MAX - c->req_len;

	return room > 0xffff ? 0xffff : (uint16_t)room;
}

/* A control segment of @c with @flags at sequence @seq, acknowledging rcv_nxt. */
static void conn_ctrl(struct mmds_stack *s, const struct mmds_conn *c, uint32_t seq, uint8_t flags)
{
	ctrl_tcp(s, &(struct tcp_out){ .mac = c->peer_mac,
				       .ip = c->peer_ip,
				       .sport = MMDS_STACK_PORT,
				       .dport = c->peer_port,
				       .seq = seq,
				       .ack = c->rcv_nxt,
				       .flags = flags,
				       .wnd = conn_rcv_wnd(c),
				       .mss_opt = flags & TCPF_SYN });
}

static void conn_send_ack(struct mmds_stack *s, const struct mmds_conn *c)
{
	conn_ctrl(s, c, c->snd_nxt, TCPF_ACK);
}

/* A reset for a segment no connection takes (RFC 9293 3.10.7.1). */
static void seg_reply_rst(struct mmds_stack *s, const struct seg *g)
{
	struct tcp_out o = { .mac = g->mac, .ip = g->ip, .sport = g->dport, .dport = g->sport };

	if (g->flags & TCPF_ACK) {
		o.seq = g->ack;
		o.flags = TCPF_RST;
	} else {
		o.ack = g->seq + (uint32_t)g->len + !!(g->flags & TCPF_SYN) +
			!!(g->flags & TCPF_FIN);
		o.flags = TCPF_RST | TCPF_ACK;
	}
	ctrl_tcp(s, &o);
}

/* ---- connections ------------------------------------------------------------------------- */

static struct mmds_conn *conn_find(struct mmds_stack *s, uint32_t ip, uint16_t port)
{
	for (unsigned i = 0; i < MMDS_STACK_MAX_CONNS; i++) {
		struct mmds_conn *c = &s->conns[i];

		if (c->state != CONN_FREE && c->peer_ip == ip && c->peer_port == port)
			return c;
	}
	return NULL;
}

static void conn_free(struct mmds_conn *c)
{
	free(c->req);
	free(c->snd);
	memset(c, 0, sizeof(*c));
	c->state = CONN_FREE;
}

/* Reset @c towards the guest and free it. */
static void conn_reset(struct mmds_stack *s, struct mmds_conn *c)
{
	conn_ctrl(s, c, c->snd_max, TCPF_RST | TCPF_ACK);
	conn_free(c);
}

/* A free connection slot; when there is none, the least recently active connection is reset. */
static struct mmds_conn *conn_alloc(struct mmds_stack *s)
{
	struct mmds_conn *lru = NULL;

	for (unsigned i = 0; i < MMDS_STACK_MAX_CONNS; i++) {
		struct mmds_conn *c = &s->conns[i];

		if (c->state == CONN_FREE)
			return c;
		if (!lru || c->last_active < lru->last_active)
			lru = c;
	}
	conn_reset(s, lru);
	return lru;
}

/* (Re)start @c in SYN_RCVD for the SYN @g and answer it. */
static void conn_accept(struct mmds_stack *s, struct mmds_conn *c, const struct seg *g)
{
	uint16_t mss = g->has_mss ? g->mss : MSS_DEFAULT;

	conn_free(c);
	c->state = CONN_SYN_RCVD;
	c->peer_ip = g->ip;
	c->peer_port = g->sport;
	memcpy(c->peer_mac, g->mac, ETH_ALEN);
	c->last_active = ++s->tick;
	c->irs = g->seq;
	c->rcv_nxt = g->seq + 1;
	c->iss = tcp_isn(s, g->ip, g->sport);
	c->snd_una = c->iss;
	c->snd_nxt = c->snd_max = c->iss + 1;
	c->snd_wnd = g->wnd;
	if (mss < MSS_MIN)
		mss = MSS_MIN;
	c->snd_mss = mss < MSS_OURS ? mss : MSS_OURS;
	conn_ctrl(s, c, c->iss, TCPF_SYN | TCPF_ACK);
}

static size_t conn_pending(const struct mmds_conn *c)
{
	return c->snd_len - c->snd_head;
}

/*
 * What @c may send now: *@len bytes of data from snd_nxt (at most the MSS,
 * within the guest's window), or else its FIN (*@fin). False when nothing.
 * Our FIN follows the answer once it is all sent when the handler asked to
 * close, or once it is all acknowledged after the guest's FIN.
 */
static bool conn_plan(const struct mmds_conn *c, size_t *len, bool *fin)
{
	uint32_t end = c->snd_una + (uint32_t)conn_pending(c);
	uint32_t wnd_end = c->snd_una + c->snd_wnd;
	size_t unsent, room;

	*len = 0;
	*fin = false;
	if (c->state != CONN_ESTABLISHED || c->fin_acked || seq_lt(end, c->snd_nxt))
		return false; /* not open, or our FIN is out */
	unsent = end - c->snd_nxt;
	room = seq_lt(c->snd_nxt, wnd_end) ? wnd_end - c->snd_nxt : 0;
	*len = min_sz(min_sz(unsent, room), c->snd_mss);
	if (*len)
		return true;
	*fin = !unsent && (c->close_after || (c->fin_rcvd && !conn_pending(c)));
	return *fin;
}

/* The next data or FIN segment of @c into @buf of @cap bytes; its length, or 0. */
static size_t conn_output(struct mmds_stack *s, struct mmds_conn *c, uint8_t *buf, size_t cap)
{
	struct tcp_out o = { .mac = c->peer_mac,
			     .ip = c->peer_ip,
			     .sport = MMDS_STACK_PORT,
			     .dport = c->peer_port,
			     .seq = c->snd_nxt,
			     .ack = c->rcv_nxt,
			     .flags = TCPF_ACK,
			     .wnd = conn_rcv_wnd(c) };
	size_t len, more;
	bool fin, more_fin;
	size_t n;

	if (!conn_plan(c, &len, &fin) || cap <= HDRS_LEN)
		return 0;
	if (len) {
		o.len = min_sz(len, cap - HDRS_LEN);
		o.data = c->snd + c->snd_head + (c->snd_nxt - c->snd_una);
		c->snd_nxt += (uint32_t)o.len;
		if (!conn_plan(c, &more, &more_fin) || !more)
			o.flags |= TCPF_PSH; /* the last of this burst */
	} else {
		o.flags |= TCPF_FIN;
		c->fin_sent = true;
		c->snd_nxt++;
	}
	if (seq_lt(c->snd_max, c->snd_nxt))
		c->snd_max = c->snd_nxt;
	n = build_tcp(s, buf, &o);
	return n;
}

/* Take the guest's acknowledgement and window (RFC 9293 3.10.7.4, "fifth, check the ACK"). */
static void conn_take_ack(struct mmds_conn *c, const struct seg *g)
{
	uint32_t acked;

	if (!seq_le(c->snd_una, g->ack) || !seq_le(g->ack, c->snd_max))
		return; /* old, or for what we never sent: ignored */
	acked = g->ack - c->snd_una;
	if (!acked) {
		/* a duplicate ACK: go back to the first unacknowledged byte */
		if (!g->len && !(g->flags & (TCPF_SYN | TCPF_FIN)) && g->wnd == c->snd_wnd &&
		    c->snd_max != c->snd_una)
			c->snd_nxt = c->snd_una;
		c->snd_wnd = g->wnd;
		return;
	}
	if (c->fin_sent && g->ack == c->snd_max) {
		c->fin_acked = true;
		acked--;
	}
	acked = (uint32_t)min_sz(acked, conn_pending(c));
	c->snd_head += acked;
	if (c->snd_head == c->snd_len)
		c->snd_head = c->snd_len = 0;
	c->snd_una = g->ack;
	if (seq_lt(c->snd_nxt, c->snd_una))
		c->snd_nxt = c->snd_una;
	c->snd_wnd = g->wnd;
}

/* Add @len bytes of answer to the send buffer of @c. False when it would exceed the bound. */
static bool conn_queue(struct mmds_conn *c, const uint8_t *data, size_t len)
{
	size_t pending = conn_pending(c);

	if (len > SND_MAX_BYTES - pending)
		return false;
	if (c->snd_head) {
		memmove(c->snd, c->snd + c->snd_head, pending);
		c->snd_head = 0;
		c->snd_len = pending;
	}
	if (pending + len > c->snd_cap) {
		size_t cap = c->snd_cap ? c->snd_cap : 4096;
		uint8_t *p;

		while (cap < pending + len)
			cap *= 2;
		p = realloc(c->snd, cap);
		if (!p)
			return false;
		c->snd = p;
		c->snd_cap = cap;
	}
	if (len)
		memcpy(c->snd + c->snd_len, data, len);
	c->snd_len += len;
	return true;
}

/*
 * Give the handler the request bytes of @c until it needs more; queue its
 * answers. False when @c was reset (handler failure, an answer over the
 * bound, or a full buffer that still makes no request).
 */
static bool conn_serve(struct mmds_stack *s, struct mmds_conn *c)
{
	while (c->req_len && !c->close_after) {
		size_t consumed = 0, resp_len = 0;
		uint8_t *resp = NULL;
		int r = s->fn ? s->fn(s->opaque, c->req, c->req_len, &consumed, &resp, &resp_len)
			      : -1;
		bool ok;

		if (r == 0) {
			free(resp);
			break;
		}
		ok = (r == 1 || r == 2) && consumed && consumed <= c->req_len &&
		     (resp || !resp_len) && conn_queue(c, resp, resp_len);
		free(resp);
		if (!ok) {
			conn_reset(s, c);
			return false;
		}
		c->req_len -= consumed;
		memmove(c->req, c->req + consumed, c->req_len);
		if (r == 2)
			c->close_after = true;
	}
	if (c->req_len == MMDS_STACK_REQ_MAX && !c->close_after) {
		log_guest(&s->rl, "mmds: request of more than %u bytes, connection reset",
			  MMDS_STACK_REQ_MAX);
		conn_reset(s, c);
		return false;
	}
	return true;
}

/*
 * The data and FIN of @g for @c, in order only ("seventh/eighth" of RFC 9293
 * 3.10.7.4 without a reassembly queue): what repeats bytes we have is cut to
 * the new part, what starts beyond rcv_nxt is dropped with a duplicate ACK.
 */
static void conn_take_data(struct mmds_stack *s, struct mmds_conn *c, const struct seg *g)
{
	bool fin = g->flags & TCPF_FIN;
	uint32_t seg_end = g->seq + (uint32_t)g->len + fin;
	size_t off, dlen, take = 0;
	size_t dummy;
	bool dummy_fin;

	if (!g->len && !fin)
		return;
	if (c->fin_rcvd || seq_le(seg_end, c->rcv_nxt) || seq_lt(c->rcv_nxt, g->seq)) {
		conn_send_ack(s, c);
		return;
	}
	off = c->rcv_nxt - g->seq;
	dlen = g->len > off ? g->len - off : 0;
	if (dlen) {
		take = min_sz(dlen, MMDS_STACK_REQ_MAX - c->req_len);
		c->rcv_nxt += (uint32_t)take;
		if (take && !c->close_after) {
			if (!c->req) {
				c->req = malloc(MMDS_STACK_REQ_MAX);
				if (!c->req) {
					conn_reset(s, c);
					return;
				}
			}
			memcpy(c->req + c->req_len, g->data + off, take);
			c->req_len += take;
			if (!conn_serve(s, c))
				return;
		}
	}
	if (fin && take == dlen) {
		c->rcv_nxt++;
		c->fin_rcvd = true;
	}
	if (c->fin_rcvd && c->fin_acked) {
		conn_send_ack(s, c);
		conn_free(c);
		return;
	}
	/* a data segment or our FIN acknowledges as well */
	if (!conn_plan(c, &dummy, &dummy_fin))
		conn_send_ack(s, c);
}

/* A segment for a known connection (RFC 9293 3.10.7.4, much reduced). */
static void conn_input(struct mmds_stack *s, struct mmds_conn *c, const struct seg *g)
{
	uint32_t wnd = conn_rcv_wnd(c);

	c->last_active = ++s->tick;
	if (g->flags & TCPF_RST) {
		/* in the window (or exactly at rcv_nxt when the window is shut) */
		if (g->seq == c->rcv_nxt || (uint32_t)(g->seq - c->rcv_nxt) < wnd)
			conn_free(c);
		return;
	}
	if (c->state == CONN_SYN_RCVD) {
		if ((g->flags & (TCPF_SYN | TCPF_ACK)) == TCPF_SYN) {
			if (g->seq == c->irs)
				conn_ctrl(s, c, c->iss, TCPF_SYN | TCPF_ACK); /* SYN-ACK again */
			else
				conn_accept(s, c, g); /* a new attempt on the same port */
			return;
		}
		if ((g->flags & TCPF_SYN) || !(g->flags & TCPF_ACK) || g->ack != c->iss + 1)
			return;
		c->state = CONN_ESTABLISHED;
		c->snd_una = c->iss + 1;
		c->snd_wnd = g->wnd;
	} else {
		if (g->flags & TCPF_SYN) {
			conn_send_ack(s, c); /* challenge ACK (RFC 5961 4) */
			return;
		}
		if (!(g->flags & TCPF_ACK))
			return;
		conn_take_ack(c, g);
	}
	if (!g->len && !(g->flags & TCPF_FIN)) {
		if (c->fin_rcvd && c->fin_acked)
			conn_free(c);
		return;
	}
	conn_take_data(s, c, g);
}

/* ---- frames from the guest --------------------------------------------------------------- */

/* Walk TCP options (RFC 9293 3.2): false when one is malformed. */
static bool tcp_options(const uint8_t *p, size_t len, struct seg *g)
{
	size_t i = 0;

	while (i < len) {
		uint8_t kind = p[i], olen;

		if (kind == TCPOPT_EOL)
			break;
		if (kind == TCPOPT_NOP) {
			i++;
			continue;
		}
		if (len - i < 2)
			return false;
		olen = p[i + 1];
		if (olen < 2 || olen > len - i)
			return false;
		if (kind == TCPOPT_MSS && olen == TCPOLEN_MSS) {
			g->has_mss = true;
			g->mss = be16_get(p + i + 2);
		}
		i += olen;
	}
	return true;
}

/* A TCP segment of @len bytes at @t, from @src_ip / @src_mac, to us. */
static void tcp_input(struct mmds_stack *s, const uint8_t *src_mac, uint32_t src_ip,
		      const uint8_t *t, size_t len, bool csum_partial)
{
	struct seg g = { .mac = src_mac, .ip = src_ip };
	size_t doff;
	struct mmds_conn *c;

	if (len < TCP_HLEN)
		goto bad;
	doff = (size_t)(t[12] >> 4) * 4;
	if (doff < TCP_HLEN || doff > len)
		goto bad;
	if (!csum_partial && tcp_csum(src_ip, s->ipv4, t, len))
		goto bad;
	g.sport = be16_get(t);
	g.dport = be16_get(t + 2);
	g.seq = be32_get(t + 4);
	g.ack = be32_get(t + 8);
	g.flags = t[13];
	g.wnd = be16_get(t + 14);
	g.data = t + doff;
	g.len = len - doff;
	if (!tcp_options(t + TCP_HLEN, doff - TCP_HLEN, &g) || !g.sport ||
	    ((g.flags & TCPF_SYN) && (g.flags & (TCPF_FIN | TCPF_RST))))
		goto bad;
	if (!(g.flags & TCPF_SYN))
		g.has_mss = false; /* an MSS counts in a SYN only */
	if (g.dport != MMDS_STACK_PORT) {
		if (!(g.flags & TCPF_RST))
			seg_reply_rst(s, &g); /* nothing listens there */
		return;
	}
	c = conn_find(s, g.ip, g.sport);
	if (c) {
		conn_input(s, c, &g);
		return;
	}
	if (g.flags & TCPF_RST)
		return;
	if ((g.flags & (TCPF_SYN | TCPF_ACK)) == TCPF_SYN)
		conn_accept(s, conn_alloc(s), &g);
	else
		seg_reply_rst(s, &g);
	return;
bad:
	log_guest(&s->rl, "mmds: malformed TCP segment dropped");
}

static bool ip_src_ok(const struct mmds_stack *s, uint32_t ip)
{
	return ip && ip != 0xffffffffu && (ip >> 28) != 0xe && (ip >> 24) != 127 && ip != s->ipv4;
}

/* An IPv4 packet to our address (@len >= ETH_HLEN + IP_HLEN bytes of frame): checked, then TCP. */
static void ipv4_input(struct mmds_stack *s, const uint8_t *f, size_t len, bool csum_partial)
{
	const uint8_t *ip = f + ETH_HLEN;
	size_t avail = len - ETH_HLEN, ihl, tot;
	uint32_t src;

	ihl = (size_t)(ip[0] & 0xf) * 4;
	tot = be16_get(ip + 2);
	if ((ip[0] >> 4) != 4 || ihl < IP_HLEN || ihl > avail || tot < ihl || tot > avail ||
	    csum_fold(csum_add(0, ip, ihl)))
		goto bad;
	if (be16_get(ip + 6) & (IP_MF | IP_OFFMASK))
		goto bad; /* no reassembly: a fragment is dropped */
	src = be32_get(ip + 12);
	if (!ip_src_ok(s, src) || (f[ETH_ALEN] & 1))
		goto bad;
	if (ip[9] != IPPROTO_TCP)
		return; /* nothing else is served */
	tcp_input(s, f + ETH_ALEN, src, ip + ihl, tot - ihl, csum_partial);
	return;
bad:
	log_guest(&s->rl, "mmds: malformed IPv4 packet dropped");
}

/* ARP (RFC 826): a request for our address is answered (true); every other ARP frame passes. */
static bool arp_input(struct mmds_stack *s, const uint8_t *f, size_t len)
{
	const uint8_t *a = f + ETH_HLEN, *sha = a + 8, *spa = a + 14;
	struct ctrl_frame *r;
	uint8_t *ra;

	if (len < ETH_HLEN + ARP_LEN || be16_get(a) != ARPHRD_ETHER ||
	    be16_get(a + 2) != ETH_P_IP || a[4] != ETH_ALEN || a[5] != 4 ||
	    be16_get(a + 6) != ARPOP_REQUEST)
		return false;
	if (be32_get(a + 24) != s->ipv4 || be32_get(spa) == s->ipv4 || (sha[0] & 1))
		return false; /* not for us, gratuitous, or from no station */
	r = ctrl_slot(s, false);
	memcpy(r->data, sha, ETH_ALEN);
	memcpy(r->data + ETH_ALEN, mmds_mac, ETH_ALEN);
	be16_put(r->data + 12, ETH_P_ARP);
	ra = r->data + ETH_HLEN;
	be16_put(ra, ARPHRD_ETHER);
	be16_put(ra + 2, ETH_P_IP);
	ra[4] = ETH_ALEN;
	ra[5] = 4;
	be16_put(ra + 6, ARPOP_REPLY);
	memcpy(ra + 8, mmds_mac, ETH_ALEN);
	be32_put(ra + 14, s->ipv4);
	memcpy(ra + 18, sha, ETH_ALEN);
	memcpy(ra + 24, spa, 4);
	r->len = ETH_HLEN + ARP_LEN;
	return true;
}

/* ---- the interface ----------------------------------------------------------------------- */

int mmds_stack_create(struct mmds_stack **out, uint32_t ipv4, mmds_stack_handler fn, void *opaque)
{
	struct mmds_stack *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	s->ipv4 = ipv4;
	s->fn = fn;
	s->opaque = opaque;
	if (getrandom(s->isn_seed, sizeof(s->isn_seed), GRND_NONBLOCK) !=
	    (ssize_t)sizeof(s->isn_seed)) {
		/* no entropy yet: the clock and an address still vary the ISNs */
		s->isn_seed[0] = mix64(monotonic_ns());
		s->isn_seed[1] = mix64((uint64_t)(uintptr_t)s ^ s->isn_seed[0]);
	}
	s->ip_id = (uint16_t)s->isn_seed[1];
	*out = s;
	return 0;
}

void mmds_stack_destroy(struct mmds_stack *s)
{
	if (!s)
		return;
	for (unsigned i = 0; i < MMDS_STACK_MAX_CONNS; i++)
		conn_free(&s->conns[i]);
	free(s);
}

bool mmds_stack_tx(struct mmds_stack *s, const uint8_t *frame, size_t len, bool csum_partial)
{
	uint16_t type;

	if (!frame || len < ETH_HLEN)
		return false;
	type = be16_get(frame + 12);
	if (type == ETH_P_ARP)
		return arp_input(s, frame, len);
	/* ETH_P_8021Q and every other type: not ours; the destination must be readable */
	if (type != ETH_P_IP || len < ETH_HLEN + IP_HLEN ||
	    be32_get(frame + ETH_HLEN + 16) != s->ipv4)
		return false;
	ipv4_input(s, frame, len, csum_partial);
	return true;
}

bool mmds_stack_has_rx(const struct mmds_stack *s)
{
	size_t len;
	bool fin;

	if (s->ctrl_count)
		return true;
	for (unsigned i = 0; i < MMDS_STACK_MAX_CONNS; i++)
		if (conn_plan(&s->conns[i], &len, &fin))
			return true;
	return false;
}

size_t mmds_stack_rx(struct mmds_stack *s, uint8_t *buf, size_t cap)
{
	if (!buf)
		return 0;
	if (s->ctrl_count) {
		struct ctrl_frame *f = &s->ctrl[s->ctrl_head];
		size_t n = f->len;

		if (n > cap)
			return 0;
		memcpy(buf, f->data, n);
		s->ctrl_head = (s->ctrl_head + 1) % CTRL_MAX;
		s->ctrl_count--;
		return n;
	}
	cap = min_sz(cap, FRAME_MAX);
	for (unsigned i = 0; i < MMDS_STACK_MAX_CONNS; i++) {
		unsigned k = (s->rr + i) % MMDS_STACK_MAX_CONNS;
		size_t n = conn_output(s, &s->conns[k], buf, cap);

		if (n) {
			s->rr = (k + 1) % MMDS_STACK_MAX_CONNS;
			return n;
		}
	}
	return 0;
}
