/*
 * test_mmds_stack.c — the MMDS endpoint against a small in-test guest that
 * builds its frames by hand and checks every frame the endpoint answers with.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "mmds/mmds_stack.h"
#include "util/be.h"

#define MMDS_IP 0xa9fea9feu /* 169.254.169.254 */
#define GUEST_IP 0x0a000002u /* 10.0.0.2 */
#define OTHER_IP 0x0a000001u

#define F_FIN 0x01
#define F_SYN 0x02
#define F_RST 0x04
#define F_PSH 0x08
#define F_ACK 0x10

static const uint8_t guest_mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
static const uint8_t stack_mac[6] = MMDS_STACK_MAC;
static const uint8_t bcast_mac[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

/* ---- checksums, written apart from the module's ---- */

static uint32_t sum16(uint32_t sum, const uint8_t *p, size_t len)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += be16_get(p + i);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	return sum;
}

static uint16_t fold(uint32_t sum)
{
	while (sum > 0xffff)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static uint16_t pseudo_csum(uint32_t src, uint32_t dst, const uint8_t *t, size_t len)
{
	uint32_t sum = (src >> 16) + (src & 0xffff) + (dst >> 16) + (dst & 0xffff) + 6 + len;

	return fold(sum16(sum, t, len));
}

/* recompute the IPv4 header checksum of frame @f */
static void fix_ip(uint8_t *f)
{
	uint8_t *ip = f + 14;
	size_t ihl = (size_t)(ip[0] & 0xf) * 4;

	be16_put(ip + 10, 0);
	be16_put(ip + 10, fold(sum16(0, ip, ihl)));
}

/* recompute the TCP checksum of frame @f (IHL and total length taken as they are) */
static void fix_tcp(uint8_t *f)
{
	uint8_t *ip = f + 14;
	size_t ihl = (size_t)(ip[0] & 0xf) * 4, tot = be16_get(ip + 2);
	uint8_t *t = ip + ihl;

	be16_put(t + 16, 0);
	be16_put(t + 16, pseudo_csum(be32_get(ip + 12), be32_get(ip + 16), t, tot - ihl));
}

/* ---- what the guest sends ---- */

struct tin {
	uint32_t src_ip, dst_ip; /* 0: GUEST_IP, MMDS_IP */
	uint16_t sport, dport; /* dport 0: 80 */
	uint32_t seq, ack;
	uint8_t flags;
	uint16_t wnd;
	int mss; /* >0: an MSS option */
	const uint8_t *opts; /* or raw options (a multiple of 4 bytes) */
	size_t opts_len;
	const void *data;
	size_t len;
};

/* A TCP frame from the guest into @f (room for 14 + 20 + 60 + t->len); its length. */
static size_t tcp_frame(uint8_t *f, const struct tin *t)
{
	uint8_t mss_opt[4] = { 2, 4, 0, 0 };
	const uint8_t *opts = t->opts;
	size_t opts_len = t->opts_len, thl, tot;
	uint8_t *ip = f + 14, *th = ip + 20;

	if (t->mss > 0) {
		be16_put(mss_opt + 2, (uint32_t)t->mss);
		opts = mss_opt;
		opts_len = 4;
	}
	thl = 20 + opts_len;
	tot = 20 + thl + t->len;
	memcpy(f, stack_mac, 6);
	memcpy(f + 6, guest_mac, 6);
	be16_put(f + 12, 0x0800);
	memset(ip, 0, 20);
	ip[0] = 0x45;
	be16_put(ip + 2, (uint32_t)tot);
	be16_put(ip + 4, 0x1234);
	be16_put(ip + 6, 0x4000);
	ip[8] = 64;
	ip[9] = 6;
	be32_put(ip + 12, t->src_ip ? t->src_ip : GUEST_IP);
	be32_put(ip + 16, t->dst_ip ? t->dst_ip : MMDS_IP);
	be16_put(th, t->sport);
	be16_put(th + 2, t->dport ? t->dport : MMDS_STACK_PORT);
	be32_put(th + 4, t->seq);
	be32_put(th + 8, t->ack);
	th[12] = (uint8_t)((thl / 4) << 4);
	th[13] = t->flags;
	be16_put(th + 14, t->wnd);
	be16_put(th + 16, 0);
	be16_put(th + 18, 0);
	if (opts_len)
		memcpy(th + 20, opts, opts_len);
	if (t->len)
		memcpy(th + thl, t->data, t->len);
	fix_ip(f);
	fix_tcp(f);
	return 14 + tot;
}

static bool tx_tcp(struct mmds_stack *s, const struct tin *t)
{
	uint8_t f[14 + 20 + 60 + 2048];

	REQUIRE(t->len <= 2048);
	return mmds_stack_tx(s, f, tcp_frame(f, t), false);
}

/* ---- what the endpoint sends: every frame checked ---- */

struct out {
	size_t len;
	bool arp;
	uint8_t raw[1600];
	uint8_t dst_mac[6];
	uint16_t ip_id;
	uint32_t dst_ip;
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint8_t flags;
	uint16_t wnd;
	int mss; /* -1: none */
	const uint8_t *data;
	size_t dlen;
};

static void check_out(struct out *o)
{
	const uint8_t *f = o->raw, *ip = f + 14, *t = ip + 20;
	size_t doff;

	REQUIRE(o->len >= 14 && o->len <= 1514);
	CHECK(!memcmp(f + 6, stack_mac, 6));
	memcpy(o->dst_mac, f, 6);
	if (be16_get(f + 12) == 0x0806) {
		o->arp = true;
		CHECK_EQ(o->len, 42);
		return;
	}
	CHECK_EQ(be16_get(f + 12), 0x0800);
	REQUIRE(o->len >= 14 + 20 + 20);
	CHECK_EQ(ip[0], 0x45);
	CHECK_EQ(be16_get(ip + 2), o->len - 14);
	CHECK_EQ(be16_get(ip + 6), 0x4000); /* DF, no fragment */
	CHECK_EQ(ip[8], 64);
	CHECK_EQ(ip[9], 6);
	CHECK_EQ(fold(sum16(0, ip, 20)), 0);
	CHECK_EQ(be32_get(ip + 12), MMDS_IP);
	CHECK_EQ(pseudo_csum(be32_get(ip + 12), be32_get(ip + 16), t, o->len - 34), 0);
	o->ip_id = be16_get(ip + 4);
	o->dst_ip = be32_get(ip + 16);
	o->sport = be16_get(t);
	o->dport = be16_get(t + 2);
	o->seq = be32_get(t + 4);
	o->ack = be32_get(t + 8);
	o->flags = t[13];
	o->wnd = be16_get(t + 14);
	doff = (size_t)(t[12] >> 4) * 4;
	o->mss = -1;
	if (o->flags & F_SYN) {
		REQUIRE(doff == 24);
		CHECK_EQ(t[20], 2);
		CHECK_EQ(t[21], 4);
		o->mss = be16_get(t + 22);
	} else {
		REQUIRE(doff == 20); /* no options but on the SYN-ACK */
	}
	REQUIRE(o->len >= 34 + doff);
	o->data = t + doff;
	o->dlen = o->len - 34 - doff;
}

/* The next frame from @s, checked, into @o; false when there is none. */
static bool rx(struct mmds_stack *s, struct out *o)
{
	memset(o, 0, sizeof(*o));
	o->len = mmds_stack_rx(s, o->raw, sizeof(o->raw));
	if (!o->len) {
		CHECK(!mmds_stack_has_rx(s));
		return false;
	}
	check_out(o);
	return true;
}

/* Drain @s, counting frames. */
static int drain(struct mmds_stack *s)
{
	struct out o;
	int n = 0;

	while (n < 100000 && rx(s, &o))
		n++;
	CHECK(!mmds_stack_has_rx(s));
	return n;
}

/* ---- a handler: requests end in "\r\n\r\n" ---- */

struct hstate {
	int calls; /* times called */
	int answers;
	size_t max_len; /* the most bytes it was shown at once */
	int ret; /* 1, 2 or -1 */
	size_t body; /* bytes of answer */
	bool echo; /* answer with the request itself */
};

static uint8_t body_byte(size_t i)
{
	return (uint8_t)('a' + (i * 7 + i / 26) % 26);
}

static int handler(void *opaque, const uint8_t *req, size_t len, size_t *consumed, uint8_t **resp,
		   size_t *resp_len)
{
	struct hstate *h = opaque;
	const uint8_t *end = memmem(req, len, "\r\n\r\n", 4);
	size_t n;

	h->calls++;
	if (len > h->max_len)
		h->max_len = len;
	if (!end)
		return 0;
	if (h->ret < 0)
		return -1;
	*consumed = n = (size_t)(end + 4 - req);
	*resp_len = h->echo ? n : h->body;
	*resp = malloc(*resp_len ? *resp_len : 1);
	if (!*resp)
		return -1;
	for (size_t i = 0; i < *resp_len; i++)
		(*resp)[i] = h->echo ? req[i] : body_byte(i);
	h->answers++;
	return h->ret ? h->ret : 1;
}

static struct mmds_stack *new_stack(struct hstate *h)
{
	struct mmds_stack *s = NULL;

	REQUIRE(mmds_stack_create(&s, MMDS_IP, handler, h) == 0);
	return s;
}

/* ---- a guest connection ---- */

struct guest {
	struct mmds_stack *s;
	uint16_t port;
	uint32_t seq; /* next the guest sends */
	uint32_t ack; /* next it expects */
	uint32_t irs; /* the endpoint's ISN */
	uint16_t wnd;
	uint16_t peer_wnd; /* the endpoint's last window */
	bool fin, rst;
	int frames, data_frames;
	size_t rx_len;
	uint8_t rx[1 << 17];
};

static bool g_send(struct guest *g, uint8_t flags, const void *data, size_t len)
{
	bool taken = tx_tcp(g->s, &(struct tin){ .sport = g->port,
						 .seq = g->seq,
						 .ack = g->ack,
						 .flags = flags,
						 .wnd = g->wnd,
						 .data = data,
						 .len = len });

	g->seq += (uint32_t)len + !!(flags & F_SYN) + !!(flags & F_FIN);
	return taken;
}

static bool g_send_str(struct guest *g, const char *str)
{
	return g_send(g, F_ACK | F_PSH, str, strlen(str));
}

/* Take one frame @o from the endpoint as the guest's TCP would (in order only). */
static void g_take(struct guest *g, const struct out *o)
{
	g->frames++;
	CHECK(!memcmp(o->dst_mac, guest_mac, 6));
	CHECK_EQ(o->dst_ip, GUEST_IP);
	CHECK_EQ(o->sport, MMDS_STACK_PORT);
	CHECK_EQ(o->dport, g->port);
	if (o->flags & F_RST) {
		g->rst = true;
		return;
	}
	CHECK(o->flags & F_ACK);
	g->peer_wnd = o->wnd;
	if (o->dlen)
		g->data_frames++;
	if (o->seq == g->ack && o->dlen) {
		REQUIRE(g->rx_len + o->dlen <= sizeof(g->rx));
		memcpy(g->rx + g->rx_len, o->data, o->dlen);
		g->rx_len += o->dlen;
		g->ack += (uint32_t)o->dlen;
	}
	if ((o->flags & F_FIN) && o->seq + o->dlen == g->ack) {
		g->fin = true;
		g->ack++;
	}
}

/* Take every frame the endpoint has; their number. */
static int g_pump(struct guest *g)
{
	struct out o;
	int n = 0;

	while (n < 100000 && rx(g->s, &o)) {
		g_take(g, &o);
		n++;
	}
	return n;
}

/* Open a connection from @port with @mss (0: no option); the guest window is 65535. */
static void g_connect(struct guest *g, struct mmds_stack *s, uint16_t port, int mss)
{
	struct out o;

	memset(g, 0, offsetof(struct guest, rx));
	g->s = s;
	g->port = port;
	g->seq = 1000000u * port;
	g->wnd = 65535;
	REQUIRE(tx_tcp(
		s,
		&(struct tin){
			.sport = port, .seq = g->seq, .flags = F_SYN, .wnd = g->wnd, .mss = mss }));
	g->seq++;
	REQUIRE(rx(s, &o));
	REQUIRE(o.flags == (F_SYN | F_ACK));
	CHECK_EQ(o.ack, g->seq);
	CHECK_EQ(o.dport, port);
	g->irs = o.seq;
	g->ack = o.seq + 1;
	REQUIRE(g_send(g, F_ACK, NULL, 0));
}

static bool body_ok(const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != body_byte(i))
			return false;
	return true;
}

static const char req_text[] = "GET /latest/meta-data/ HTTP/1.1\r\nHost: 169.254.169.254\r\n\r\n";

/* ---- ARP ---- */

static size_t arp_frame(uint8_t *f, uint16_t op, uint32_t spa, uint32_t tpa)
{
	memcpy(f, bcast_mac, 6);
	memcpy(f + 6, guest_mac, 6);
	be16_put(f + 12, 0x0806);
	be16_put(f + 14, 1);
	be16_put(f + 16, 0x0800);
	f[18] = 6;
	f[19] = 4;
	be16_put(f + 20, op);
	memcpy(f + 22, guest_mac, 6);
	be32_put(f + 28, spa);
	memset(f + 32, 0, 6);
	be32_put(f + 38, tpa);
	return 42;
}

TEST(mmds_stack_answers_arp_for_its_address_only)
{
	struct hstate h = { 0 };
	struct mmds_stack *s = new_stack(&h);
	uint8_t f[64];
	struct out o;
	size_t n;

	n = arp_frame(f, 1, GUEST_IP, MMDS_IP);
	CHECK(mmds_stack_tx(s, f, n, false));
	REQUIRE(rx(s, &o));
	CHECK(o.arp);
	CHECK(!memcmp(o.dst_mac, guest_mac, 6));
	CHECK_EQ(be16_get(o.raw + 14), 1);
	CHECK_EQ(be16_get(o.raw + 16), 0x0800);
	CHECK_EQ(be16_get(o.raw + 20), 2); /* reply */
	CHECK(!memcmp(o.raw + 22, stack_mac, 6));
	CHECK_EQ(be32_get(o.raw + 28), MMDS_IP);
	CHECK(!memcmp(o.raw + 32, guest_mac, 6));
	CHECK_EQ(be32_get(o.raw + 38), GUEST_IP);
	CHECK(!rx(s, &o));

	/* padded to the Ethernet minimum, still answered */
	memset(f, 0, sizeof(f));
	arp_frame(f, 1, GUEST_IP, MMDS_IP);
	CHECK(mmds_stack_tx(s, f, 60, false));
	CHECK_EQ(drain(s), 1);

	/* another address, gratuitous ARP, a reply, malformed or short requests: not ours */
	n = arp_frame(f, 1, GUEST_IP, OTHER_IP);
	CHECK(!mmds_stack_tx(s, f, n, false));
	n = arp_frame(f, 1, MMDS_IP, MMDS_IP);
	CHECK(!mmds_stack_tx(s, f, n, false));
	n = arp_frame(f, 2, GUEST_IP, MMDS_IP);
	CHECK(!mmds_stack_tx(s, f, n, false));
	n = arp_frame(f, 1, GUEST_IP, MMDS_IP);
	f[18] = 8; /* hardware address length */
	CHECK(!mmds_stack_tx(s, f, n, false));
	n = arp_frame(f, 1, GUEST_IP, MMDS_IP);
	be16_put(f + 16, 0x86dd);
	CHECK(!mmds_stack_tx(s, f, n, false));
	n = arp_frame(f, 1, GUEST_IP, MMDS_IP);
	CHECK(!mmds_stack_tx(s, f, n - 1, false));
	CHECK(!mmds_stack_tx(s, f, 14, false));
	CHECK(!mmds_stack_has_rx(s));
	mmds_stack_destroy(s);
}

/* ---- what passes through ---- */

TEST(mmds_stack_passes_frames_that_are_not_for_its_ipv4)
{
	struct hstate h = { 0 };
	struct mmds_stack *s = new_stack(&h);
	uint8_t f[256], v[256];
	size_t n;

	n = tcp_frame(f, &(struct tin){ .sport = 1234, .seq = 1, .flags = F_SYN, .wnd = 1000 });
	/* short frames */
	CHECK(!mmds_stack_tx(s, f, 0, false));
	CHECK(!mmds_stack_tx(s, f, 13, false));
	CHECK(!mmds_stack_tx(s, f, 14, false));
	CHECK(!mmds_stack_tx(s, f, 14 + 19, false)); /* the destination is not even there */
	/* another ethertype */
	memcpy(v, f, n);
	be16_put(v + 12, 0x86dd);
	CHECK(!mmds_stack_tx(s, v, n, false));
	/* a VLAN tag before the very same IPv4 packet */
	memcpy(v, f, 12);
	be16_put(v + 12, 0x8100);
	be16_put(v + 14, 5);
	memcpy(v + 16, f + 12, n - 12);
	CHECK(!mmds_stack_tx(s, v, n + 4, false));
	/* IPv4 to another address, TCP port 80 or not */
	n = tcp_frame(f, &(struct tin){ .dst_ip = OTHER_IP, .sport = 1234, .flags = F_SYN });
	CHECK(!mmds_stack_tx(s, f, n, false));
	n = tcp_frame(f, &(struct tin){ .dst_ip = 0xffffffffu, .sport = 1234, .dport = 9 });
	CHECK(!mmds_stack_tx(s, f, n, false));
	CHECK(!mmds_stack_has_rx(s));
	CHECK_EQ(h.calls, 0);
	mmds_stack_destroy(s);
}

/* ---- what is taken and dropped ---- */

TEST(mmds_stack_takes_and_drops_malformed_ipv4)
{
	struct hstate h = { 0 };
	struct mmds_stack *s = new_stack(&h);
	uint8_t f[256], v[256];
	size_t n;

	n = tcp_frame(f, &(struct tin){ .sport = 1234, .seq = 7, .flags = F_SYN, .wnd = 1000 });
#define VARIANT(len, edit)                                                                         \
	do {                                                                                       \
		memcpy(v, f, n);                                                                   \
		edit;                                                                              \
		CHECK(mmds_stack_tx(s, v, (len), false));                                          \
		CHECK(!mmds_stack_has_rx(s));                                                      \
	} while (0)
	VARIANT(n, v[14 + 10] ^= 1); /* IP header checksum */
	VARIANT(n, (be16_put(v + 14 + 6, 0x2000), fix_ip(v))); /* more fragments */
	VARIANT(n, (be16_put(v + 14 + 6, 0x0010), fix_ip(v))); /* a later fragment */
	VARIANT(n, (v[14] = 0x65, fix_ip(v))); /* version 6 */
	VARIANT(n, (v[14] = 0x44, fix_ip(v))); /* IHL 4 */
	VARIANT(n, (v[14] = 0x4f, fix_ip(v))); /* IHL 15: beyond the frame */
	VARIANT(n,
		(be16_put(v + 16, (uint32_t)(n - 14 + 1)), fix_ip(v))); /* longer than the frame */
	VARIANT(n, (be16_put(v + 16, 19), fix_ip(v))); /* shorter than its header */
	VARIANT(14 + 20 + 10, (be16_put(v + 16, 30), fix_ip(v))); /* TCP header cut short */
	VARIANT(n, (v[14 + 9] = 17, fix_ip(v), fix_tcp(v))); /* UDP */
	VARIANT(n, (v[14 + 9] = 1, fix_ip(v))); /* ICMP */
	VARIANT(n, (be32_put(v + 14 + 12, 0), fix_ip(v), fix_tcp(v))); /* from 0.0.0.0 */
	VARIANT(n, (be32_put(v + 14 + 12, MMDS_IP), fix_ip(v), fix_tcp(v))); /* from itself */
	VARIANT(n, v[6] = 0x01); /* from a multicast MAC */
	VARIANT(n, v[14 + 20 + 16] ^= 0x40); /* TCP checksum */
#undef VARIANT
	CHECK_EQ(h.calls, 0);
	/* the frame itself, with Ethernet padding after it, is fine */
	memset(f + n, 0xee, 20);
	CHECK(mmds_stack_tx(s, f, n + 20, false));
	CHECK_EQ(drain(s), 1);
	mmds_stack_destroy(s);
}

TEST(mmds_stack_checks_tcp_checksum_and_header_unless_partial)
{
	struct hstate h = { 0 };
	struct mmds_stack *s = new_stack(&h);
	static const uint8_t good_opts[] = { 1, 1, 8, 10, 0, 0, 0, 1, 0, 0,    0, 0,
					     1, 3, 3, 7,  4, 2, 2, 4, 5, 0xb4, 0, 0 };
	static const uint8_t bad_len0[] = { 1, 5, 0, 0 };
	static const uint8_t bad_long[] = { 1, 1, 5, 9 };
	static const uint8_t bad_cut[] = { 1, 1, 1, 5 };
	uint8_t f[256];
	struct out o;
	size_t n;

	n = tcp_frame(f, &(struct tin){ .sport = 1234, .seq = 7, .flags = F_SYN, .wnd = 1000 });
	f[14 + 20 + 16] ^= 0x40;
	CHECK(mmds_stack_tx(s, f, n, false));
	CHECK(!mmds_stack_has_rx(s));
	/* the guest left the checksum to the device */
	CHECK(mmds_stack_tx(s, f, n, true));
	REQUIRE(rx(s, &o));
	CHECK_EQ(o.flags, F_SYN | F_ACK);
	CHECK_EQ(o.ack, 8);

	/* a data offset below 5 or beyond the segment */
	n = tcp_frame(f, &(struct tin){ .sport = 1235, .seq = 7, .flags = F_SYN, .wnd = 1000 });
	f[14 + 20 + 12] = 4 << 4;
	fix_tcp(f);
	CHECK(mmds_stack_tx(s, f, n, false));
	f[14 + 20 + 12] = 6 << 4;
	fix_tcp(f);
	CHECK(mmds_stack_tx(s, f, n, false));
	/* malformed options */
	CHECK(tx_tcp(s, &(struct tin){
				.sport = 1236, .flags = F_SYN, .opts = bad_len0, .opts_len = 4 }));
	CHECK(tx_tcp(s, &(struct tin){
				.sport = 1236, .flags = F_SYN, .opts = bad_long, .opts_len = 4 }));
	CHECK(tx_tcp(
		s, &(struct tin){ .sport = 1236, .flags = F_SYN, .opts = bad_cut, .opts_len = 4 }));
	/* SYN with FIN, and source port 0 */
	CHECK(tx_tcp(s, &(struct tin){ .sport = 1237, .flags = F_SYN | F_FIN }));
	CHECK(tx_tcp(s, &(struct tin){ .sport = 0, .flags = F_SYN }));
	CHECK(!mmds_stack_has_rx(s));
	/* NOPs, timestamps, window scale, SACK-permitted, MSS, then EOL are fine */
	CHECK(tx_tcp(s, &(struct tin){ .sport = 1238,
				       .flags = F_SYN,
				       .wnd = 100,
				       .opts = good_opts,
				       .opts_len = sizeof(good_opts) }));
	REQUIRE(rx(s, &o));
	CHECK_EQ(o.flags, F_SYN | F_ACK);
	CHECK_EQ(o.dport, 1238);
	CHECK_EQ(h.calls, 0);
	mmds_stack_destroy(s);
}

/* ---- the handshake ---- */

TEST(mmds_stack_answers_syn_with_syn_ack_and_mss)
{
	struct hstate h = { .body = 100 };
	struct mmds_stack *s = new_stack(&h);
	struct out o, o2;

	CHECK(tx_tcp(s, &(struct tin){ .sport = 40000,
				       .seq = 0xfffffff0u,
				       .flags = F_SYN,
				       .wnd = 29200,
				       .mss = 1000 }));
	REQUIRE(rx(s, &o));
	CHECK_EQ(o.flags, F_SYN | F_ACK);
	CHECK_EQ(o.ack, 0xfffffff1u);
	CHECK_EQ(o.mss, 1460);
	CHECK_EQ(o.wnd, MMDS_STACK_REQ_MAX);
	CHECK_EQ(o.dport, 40000);
	CHECK(!memcmp(o.dst_mac, guest_mac, 6));
	CHECK(!rx(s, &o2));
	/* the same SYN again: the same SYN-ACK again */
	CHECK(tx_tcp(s, &(struct tin){ .sport = 40000,
				       .seq = 0xfffffff0u,
				       .flags = F_SYN,
				       .wnd = 29200,
				       .mss = 1000 }));
	REQUIRE(rx(s, &o2));
	CHECK_EQ(o2.flags, F_SYN | F_ACK);
	CHECK_EQ(o2.seq, o.seq);
	CHECK_EQ(o2.ack, o.ack);
	CHECK_EQ((uint16_t)(o2.ip_id - o.ip_id), 1);
	/* a SYN with ACK set for no connection gets a reset */
	CHECK(tx_tcp(s,
		     &(struct tin){ .sport = 40001, .seq = 5, .ack = 77, .flags = F_SYN | F_ACK }));
	REQUIRE(rx(s, &o2));
	CHECK_EQ(o2.flags, F_RST);
	CHECK_EQ(o2.seq, 77);
	/* the ACK of our SYN opens it (sequence numbers wrap on the way): nothing to answer */
	CHECK(tx_tcp(s, &(struct tin){ .sport = 40000,
				       .seq = 0xfffffff1u,
				       .ack = o.seq + 1,
				       .flags = F_ACK,
				       .wnd = 29200 }));
	CHECK(!mmds_stack_has_rx(s));
	CHECK(tx_tcp(s, &(struct tin){ .sport = 40000,
				       .seq = 0xfffffff1u,
				       .ack = o.seq + 1,
				       .flags = F_ACK | F_PSH,
				       .wnd = 29200,
				       .data = req_text,
				       .len = strlen(req_text) }));
	CHECK_EQ(h.answers, 1);
	REQUIRE(rx(s, &o2));
	CHECK_EQ(o2.flags, F_ACK | F_PSH);
	CHECK_EQ(o2.seq, o.seq + 1);
	CHECK_EQ(o2.ack, 0xfffffff1u + (uint32_t)strlen(req_text));
	CHECK_EQ(o2.dlen, 100);
	CHECK(body_ok(o2.data, o2.dlen));
	CHECK(!rx(s, &o2));
	mmds_stack_destroy(s);
}

TEST(mmds_stack_segments_by_the_mss_or_536_without_option)
{
	static struct guest g;
	struct hstate h = { .body = 2000 };
	struct mmds_stack *s = new_stack(&h);
	struct out o;
	size_t sizes[8], k = 0;

	g_connect(&g, s, 1111, 0);
	CHECK(g_send_str(&g, req_text));
	while (k < 8 && rx(s, &o)) {
		g_take(&g, &o);
		sizes[k++] = o.dlen;
	}
	REQUIRE(k == 4);
	CHECK_EQ(sizes[0], 536);
	CHECK_EQ(sizes[1], 536);
	CHECK_EQ(sizes[2], 536);
	CHECK_EQ(sizes[3], 2000 - 3 * 536);
	CHECK_EQ(g.rx_len, 2000);
	CHECK(body_ok(g.rx, g.rx_len));

	/* an MSS above ours is cut to 1460 */
	g_connect(&g, s, 1112, 9000);
	CHECK(g_send_str(&g, req_text));
	REQUIRE(rx(s, &o));
	CHECK_EQ(o.dlen, 1460);
	CHECK_EQ(o.len, 1514);
	mmds_stack_destroy(s);
}

/* ---- requests and answers ---- */

TEST(mmds_stack_hands_a_split_request_to_the_handler_once_complete)
{
	static struct guest g;
	struct hstate h = { .body = 5000 };
	struct mmds_stack *s = new_stack(&h);
	const char *parts[] = { "GET /latest/meta-data/ HT", "TP/1.1\r\nHost: x\r\n", "\r", "\n" };
	size_t sent = 0;
	struct out o;

	g_connect(&g, s, 2000, 1460);
	for (size_t i = 0; i < 3; i++) {
		CHECK(g_send_str(&g, parts[i]));
		sent += strlen(parts[i]);
		REQUIRE(rx(s, &o));
		CHECK_EQ(o.flags, F_ACK); /* a pure ACK of the part */
		CHECK_EQ(o.ack, g.seq);
		CHECK_EQ(o.dlen, 0);
		CHECK_EQ(o.wnd, MMDS_STACK_REQ_MAX - sent);
		CHECK(!rx(s, &o));
		CHECK_EQ(h.answers, 0);
	}
	CHECK(g_send_str(&g, parts[3]));
	CHECK_EQ(h.answers, 1);
	CHECK_EQ(h.max_len, sent + 1);
	CHECK_EQ(g_pump(&g), 4); /* 1460 * 3 + 620, the ACK carried by the data */
	CHECK_EQ(g.rx_len, 5000);
	CHECK(body_ok(g.rx, g.rx_len));
	CHECK_EQ(g.peer_wnd, MMDS_STACK_REQ_MAX); /* all consumed */
	mmds_stack_destroy(s);
}

TEST(mmds_stack_answers_pipelined_requests_in_order)
{
	static struct guest g;
	struct hstate h = { .echo = true };
	struct mmds_stack *s = new_stack(&h);
	const char *two = "GET /a HTTP/1.1\r\n\r\nGET /bb HTTP/1.1\r\n\r\nGET /c";

	g_connect(&g, s, 2100, 1460);
	CHECK(g_send_str(&g, two));
	CHECK_EQ(h.answers, 2);
	g_pump(&g);
	CHECK_EQ(g.rx_len, strlen(two) - strlen("GET /c"));
	CHECK(!memcmp(g.rx, two, g.rx_len));
	CHECK_EQ(g.peer_wnd, MMDS_STACK_REQ_MAX - strlen("GET /c"));
	CHECK(g_send_str(&g, "\r\n\r\n"));
	CHECK_EQ(h.answers, 3);
	g_pump(&g);
	CHECK_EQ(g.rx_len, strlen(two) + 4);
	CHECK(!memcmp(g.rx + g.rx_len - 10, "GET /c\r\n\r\n", 10));
	mmds_stack_destroy(s);
}

TEST(mmds_stack_sends_within_the_guest_window_with_psh_last)
{
	static struct guest g;
	struct hstate h = { .body = 5000 };
	struct mmds_stack *s = new_stack(&h);
	struct out o;
	size_t sizes[3];
	uint8_t flags[3];

	g_connect(&g, s, 3000, 1000);
	g.wnd = 2500;
	CHECK(g_send_str(&g, req_text));
	for (int round = 0; round < 2; round++) {
		for (int i = 0; i < 3; i++) {
			REQUIRE(rx(s, &o));
			g_take(&g, &o);
			sizes[i] = o.dlen;
			flags[i] = o.flags;
			CHECK_EQ(o.ack, g.seq);
		}
		CHECK(!mmds_stack_has_rx(s)); /* the window is full */
		CHECK_EQ(sizes[0], 1000);
		CHECK_EQ(sizes[1], 1000);
		CHECK_EQ(sizes[2], 500);
		CHECK_EQ(flags[0], F_ACK);
		CHECK_EQ(flags[1], F_ACK);
		CHECK_EQ(flags[2], F_ACK | F_PSH);
		CHECK(g_send(&g, F_ACK, NULL, 0));
	}
	CHECK(!mmds_stack_has_rx(s));
	CHECK_EQ(g.rx_len, 5000);
	CHECK(body_ok(g.rx, g.rx_len));
	mmds_stack_destroy(s);
}

TEST(mmds_stack_stops_at_a_zero_window_and_resumes_on_update)
{
	static struct guest g;
	struct hstate h = { .body = 4000 };
	struct mmds_stack *s = new_stack(&h);
	struct out o;

	g_connect(&g, s, 3100, 1460);
	g.wnd = 0;
	CHECK(g_send_str(&g, req_text));
	CHECK_EQ(h.answers, 1);
	REQUIRE(rx(s, &o)); /* nothing may go: a pure ACK of the request */
	CHECK_EQ(o.flags, F_ACK);
	CHECK_EQ(o.ack, g.seq);
	CHECK_EQ(o.dlen, 0);
	CHECK(!mmds_stack_has_rx(s));
	CHECK(!rx(s, &o));
	/* a window update */
	g.wnd = 2000;
	CHECK(g_send(&g, F_ACK, NULL, 0));
	CHECK_EQ(g_pump(&g), 2); /* 1460 + 540 */
	CHECK_EQ(g.rx_len, 2000);
	/* acknowledged, but the window shut again */
	g.wnd = 0;
	CHECK(g_send(&g, F_ACK, NULL, 0));
	CHECK(!mmds_stack_has_rx(s));
	g.wnd = 65535;
	CHECK(g_send(&g, F_ACK, NULL, 0));
	CHECK_EQ(g_pump(&g), 2);
	CHECK_EQ(g.rx_len, 4000);
	CHECK(body_ok(g.rx, g.rx_len));
	mmds_stack_destroy(s);
}

TEST(mmds_stack_resends_from_the_first_unacked_byte_on_a_dup_ack)
{
	static struct guest g;
	struct hstate h = { .body = 3000 };
	struct mmds_stack *s = new_stack(&h);
	struct out o[3], r;
	uint32_t start;

	g_connect(&g, s, 3200, 1000);
	start = g.ack;
	CHECK(g_send_str(&g, req_text));
	for (int i = 0; i < 3; i++) {
		REQUIRE(rx(s, &o[i]));
		CHECK_EQ(o[i].seq, start + 1000 * (uint32_t)i);
	}
	CHECK(!mmds_stack_has_rx(s));
	/* the guest took only the first segment: it acknowledges that, then again */
	g_take(&g, &o[0]);
	CHECK(g_send(&g, F_ACK, NULL, 0));
	CHECK(!mmds_stack_has_rx(s));
	CHECK(g_send(&g, F_ACK, NULL, 0));
	REQUIRE(rx(s, &r));
	CHECK_EQ(r.seq, start + 1000);
	CHECK_EQ(r.dlen, 1000);
	g_take(&g, &r);
	REQUIRE(rx(s, &r));
	CHECK_EQ(r.seq, start + 2000);
	g_take(&g, &r);
	CHECK(!mmds_stack_has_rx(s));
	CHECK_EQ(g.rx_len, 3000);
	CHECK(body_ok(g.rx, g.rx_len));
	/* an ACK beyond anything sent is ignored; the right one ends it */
	CHECK(tx_tcp(s, &(struct tin){ .sport = 3200,
				       .seq = g.seq,
				       .ack = g.ack + 5,
				       .flags = F_ACK,
				       .wnd = 65535 }));
	CHECK(g_send(&g, F_ACK, NULL, 0));
	CHECK(!mmds_stack_has_rx(s));
	mmds_stack_destroy(s);
}

/* ---- closing ---- */

/* the connection of @port is gone: a bare ACK to it is answered by a reset */
static bool conn_gone(struct mmds_stack *s, uint16_t port)
{
	struct out o, more;
	bool ok;

	CHECK(tx_tcp(s, &(struct tin){ .sport = port, .seq = 1, .ack = 12345, .flags = F_ACK }));
	if (!rx(s, &o))
		return false;
	ok = o.flags == F_RST && o.seq == 12345 && o.dport == port;
	CHECK(!rx(s, &more));
	return ok;
}

TEST(mmds_stack_closes_on_guest_fin_and_frees_the_connection)
{
	static struct guest g;
	struct hstate h = { .body = 300 };
	struct mmds_stack *s = new_stack(&h);
	struct out o;

	g_connect(&g, s, 4000, 1460);
	CHECK(g_send_str(&g, req_text));
	g_pump(&g);
	CHECK_EQ(g.rx_len, 300);
	CHECK(g_send(&g, F_ACK | F_FIN, NULL, 0));
	REQUIRE(rx(s, &o));
	g_take(&g, &o);
	if (!(o.flags & F_FIN)) { /* a separate ACK of the FIN is fine too */
		CHECK_EQ(o.flags, F_ACK);
		CHECK_EQ(o.ack, g.seq);
		REQUIRE(rx(s, &o));
		g_take(&g, &o);
	}
	CHECK_EQ(o.flags, F_ACK | F_FIN);
	CHECK_EQ(o.ack, g.seq);
	CHECK(g.fin);
	CHECK(!rx(s, &o));
	CHECK(g_send(&g, F_ACK, NULL, 0));
	CHECK(!mmds_stack_has_rx(s));
	CHECK(conn_gone(s, 4000));
	/* the port can connect again */
	g_connect(&g, s, 4000, 1460);
	CHECK(g_send_str(&g, req_text));
	g_pump(&g);
	CHECK_EQ(g.rx_len, 300);
	mmds_stack_destroy(s);
}

TEST(mmds_stack_sends_its_fin_only_once_the_answer_is_acked)
{
	static struct guest g;
	struct hstate h = { .body = 3000 };
	struct mmds_stack *s = new_stack(&h);
	struct out o;
	uint32_t before;

	g_connect(&g, s, 4100, 1460);
	CHECK(g_send_str(&g, req_text));
	/* the guest gets the answer but closes before acknowledging it */
	before = g.ack;
	g_pump(&g);
	CHECK_EQ(g.rx_len, 3000);
	g.ack = before;
	CHECK(g_send(&g, F_ACK | F_FIN, NULL, 0));
	REQUIRE(rx(s, &o));
	CHECK_EQ(o.flags, F_ACK);
	CHECK_EQ(o.ack, g.seq);
	CHECK(!rx(s, &o));
	/* half of it acknowledged: still no FIN */
	g.ack = before + 1500;
	CHECK(g_send(&g, F_ACK, NULL, 0));
	CHECK(!mmds_stack_has_rx(s));
	g.ack = before + 3000;
	CHECK(g_send(&g, F_ACK, NULL, 0));
	REQUIRE(rx(s, &o));
	CHECK_EQ(o.flags, F_ACK | F_FIN);
	CHECK_EQ(o.seq, before + 3000);
	CHECK(!rx(s, &o));
	g.ack = before + 3001;
	CHECK(g_send(&g, F_ACK, NULL, 0));
	CHECK(!mmds_stack_has_rx(s));
	CHECK(conn_gone(s, 4100));
	mmds_stack_destroy(s);
}

TEST(mmds_stack_closes_after_the_answer_when_the_handler_says_so)
{
	static struct guest g;
	struct hstate h = { .body = 2000, .ret = 2 };
	struct mmds_stack *s = new_stack(&h);
	struct out o;
	int frames = 0;
	bool fin_last = false;

	g_connect(&g, s, 4200, 1460);
	/* a second request in the same segment is not answered */
	CHECK(g_send_str(&g, "GET / HTTP/1.0\r\n\r\nGET / HTTP/1.0\r\n\r\n"));
	CHECK_EQ(h.answers, 1);
	while (rx(s, &o)) {
		g_take(&g, &o);
		fin_last = o.flags & F_FIN;
		CHECK(!(o.flags & F_FIN) || o.seq == g.irs + 1 + 2000);
		frames++;
	}
	CHECK(fin_last);
	CHECK(g.fin);
	CHECK_EQ(g.rx_len, 2000);
	CHECK(body_ok(g.rx, g.rx_len));
	/* more data now is acknowledged but goes nowhere */
	CHECK(g_send_str(&g, req_text));
	CHECK_EQ(h.answers, 1);
	REQUIRE(rx(s, &o));
	CHECK_EQ(o.flags, F_ACK);
	CHECK_EQ(o.ack, g.seq);
	/* the guest acknowledges all and closes: the endpoint ACKs, and forgets */
	CHECK(g_send(&g, F_ACK | F_FIN, NULL, 0));
	REQUIRE(rx(s, &o));
	CHECK_EQ(o.flags, F_ACK);
	CHECK_EQ(o.ack, g.seq);
	CHECK(!rx(s, &o));
	CHECK(conn_gone(s, 4200));
	mmds_stack_destroy(s);
}

TEST(mmds_stack_resets_when_the_handler_fails)
{
	static struct guest g;
	struct hstate h = { .ret = -1 };
	struct mmds_stack *s = new_stack(&h);
	struct out o;

	g_connect(&g, s, 4300, 1460);
	CHECK(g_send_str(&g, req_text));
	REQUIRE(rx(s, &o));
	g_take(&g, &o);
	CHECK(g.rst);
	CHECK(o.flags & F_RST);
	CHECK_EQ(o.seq, g.ack);
	CHECK(!rx(s, &o));
	CHECK(conn_gone(s, 4300));
	mmds_stack_destroy(s);
}

TEST(mmds_stack_resets_an_answer_beyond_its_send_buffer)
{
	static struct guest g;
	struct hstate h = { .body = 2u << 20 };
	struct mmds_stack *s = new_stack(&h);
	struct out o;

	g_connect(&g, s, 4400, 1460);
	CHECK(g_send_str(&g, req_text));
	REQUIRE(rx(s, &o));
	CHECK(o.flags & F_RST);
	CHECK(!rx(s, &o));
	mmds_stack_destroy(s);
}

TEST(mmds_stack_frees_the_connection_on_a_guest_rst_in_window)
{
	static struct guest g;
	struct hstate h = { .body = 10 };
	struct mmds_stack *s = new_stack(&h);

	g_connect(&g, s, 4500, 1460);
	/* out of the window: ignored */
	CHECK(tx_tcp(s, &(struct tin){ .sport = 4500, .seq = g.seq + 100000, .flags = F_RST }));
	CHECK(!mmds_stack_has_rx(s));
	CHECK(g_send_str(&g, req_text));
	CHECK_EQ(h.answers, 1);
	g_pump(&g);
	CHECK_EQ(g.rx_len, 10);
	/* in the window: gone */
	CHECK(g_send(&g, F_RST, NULL, 0));
	CHECK(!mmds_stack_has_rx(s));
	CHECK(conn_gone(s, 4500));
	/* a reset during the handshake as well */
	CHECK(tx_tcp(s, &(struct tin){ .sport = 4501, .seq = 50, .flags = F_SYN, .wnd = 100 }));
	CHECK_EQ(drain(s), 1);
	CHECK(tx_tcp(s, &(struct tin){ .sport = 4501, .seq = 51, .flags = F_RST }));
	CHECK(conn_gone(s, 4501));
	mmds_stack_destroy(s);
}

TEST(mmds_stack_resets_segments_for_unknown_connections)
{
	struct hstate h = { 0 };
	struct mmds_stack *s = new_stack(&h);
	struct out o;

	/* with an ACK: the reset takes its sequence number from it */
	CHECK(tx_tcp(s, &(struct tin){ .sport = 5000,
				       .seq = 10,
				       .ack = 999,
				       .flags = F_ACK,
				       .data = "x",
				       .len = 1 }));
	REQUIRE(rx(s, &o));
	CHECK_EQ(o.flags, F_RST);
	CHECK_EQ(o.seq, 999);
	CHECK_EQ(o.dport, 5000);
	/* without: it acknowledges the segment */
	CHECK(tx_tcp(s,
		     &(struct tin){
			     .sport = 5001, .seq = 10, .flags = F_FIN, .data = "abc", .len = 3 }));
	REQUIRE(rx(s, &o));
	CHECK_EQ(o.flags, F_RST | F_ACK);
	CHECK_EQ(o.seq, 0);
	CHECK_EQ(o.ack, 14);
	/* a reset is never answered */
	CHECK(tx_tcp(s, &(struct tin){ .sport = 5002, .seq = 10, .flags = F_RST }));
	CHECK(tx_tcp(s, &(struct tin){ .sport = 5002, .dport = 81, .seq = 10, .flags = F_RST }));
	CHECK(!mmds_stack_has_rx(s));
	/* another port: taken, refused */
	CHECK(tx_tcp(s, &(struct tin){ .sport = 5003, .dport = 8080, .seq = 10, .flags = F_SYN }));
	REQUIRE(rx(s, &o));
	CHECK_EQ(o.flags, F_RST | F_ACK);
	CHECK_EQ(o.sport, 8080);
	CHECK_EQ(o.ack, 11);
	CHECK(!rx(s, &o));
	CHECK_EQ(h.calls, 0);
	mmds_stack_destroy(s);
}

/* ---- receiving ---- */

TEST(mmds_stack_drops_out_of_order_data_with_a_dup_ack)
{
	static struct guest g;
	struct hstate h = { .body = 10 };
	struct mmds_stack *s = new_stack(&h);
	uint32_t expect;
	struct out o;

	g_connect(&g, s, 6000, 1460);
	expect = g.seq;
	/* a segment that starts past what is expected */
	CHECK(tx_tcp(s, &(struct tin){ .sport = 6000,
				       .seq = expect + 5,
				       .ack = g.ack,
				       .flags = F_ACK,
				       .wnd = 65535,
				       .data = "\r\n\r\n",
				       .len = 4 }));
	REQUIRE(rx(s, &o));
	CHECK_EQ(o.flags, F_ACK);
	CHECK_EQ(o.ack, expect);
	CHECK_EQ(o.wnd, MMDS_STACK_REQ_MAX);
	CHECK(!rx(s, &o));
	CHECK_EQ(h.calls, 0);
	/* in order now */
	CHECK(g_send_str(&g, "GET / HTTP/1.1\r\n"));
	CHECK_EQ(h.calls, 1);
	CHECK_EQ(drain(s), 1);
	/* an old segment again, entirely: a dup ACK, nothing for the handler */
	CHECK(tx_tcp(s, &(struct tin){ .sport = 6000,
				       .seq = expect,
				       .ack = g.ack,
				       .flags = F_ACK,
				       .wnd = 65535,
				       .data = "GET / HTTP/1.1\r\n",
				       .len = 16 }));
	REQUIRE(rx(s, &o));
	CHECK_EQ(o.ack, g.seq);
	CHECK_EQ(h.calls, 1);
	/* partly old: only the new bytes count */
	CHECK(tx_tcp(s, &(struct tin){ .sport = 6000,
				       .seq = expect + 14,
				       .ack = g.ack,
				       .flags = F_ACK,
				       .wnd = 65535,
				       .data = "\r\n\r\n",
				       .len = 4 }));
	CHECK_EQ(h.answers, 1);
	CHECK_EQ(h.max_len, 18);
	g.seq = expect + 18;
	g_pump(&g);
	CHECK_EQ(g.rx_len, 10);
	mmds_stack_destroy(s);
}

TEST(mmds_stack_cuts_a_request_beyond_its_buffer)
{
	static struct guest g;
	static uint8_t junk[1000];
	struct hstate h = { .body = 10 };
	struct mmds_stack *s = new_stack(&h);
	struct out o;
	bool reset = false;
	uint32_t start;

	memset(junk, 'x', sizeof(junk));
	g_connect(&g, s, 6100, 1460);
	start = g.seq;
	/* a guest that ignores the window: 20000 bytes without an end */
	for (int i = 0; i < 20 && !reset; i++) {
		CHECK(g_send(&g, F_ACK, junk, sizeof(junk)));
		while (rx(s, &o)) {
			if (o.flags & F_RST) {
				reset = true;
				continue;
			}
			/* the right edge of the window never moves past the buffer */
			CHECK(o.ack - start + o.wnd <= MMDS_STACK_REQ_MAX);
		}
	}
	CHECK(h.max_len <= MMDS_STACK_REQ_MAX);
	CHECK_EQ(h.max_len, MMDS_STACK_REQ_MAX);
	CHECK(reset); /* a full buffer that makes no request is given up */
	CHECK(conn_gone(s, 6100));
	mmds_stack_destroy(s);
}

TEST(mmds_stack_cuts_data_to_the_room_left)
{
	static struct guest g;
	static uint8_t junk[1400], last[1400];
	struct hstate h = { .body = 10 };
	struct mmds_stack *s = new_stack(&h);
	const size_t room = MMDS_STACK_REQ_MAX - 11 * sizeof(junk);
	uint32_t start;
	struct out o;

	memset(junk, 'y', sizeof(junk));
	g_connect(&g, s, 6200, 1460);
	start = g.seq;
	for (int i = 0; i < 11; i++) /* 15400 bytes of a request */
		CHECK(g_send(&g, F_ACK, junk, sizeof(junk)));
	CHECK_EQ(drain(s), 11);
	/* its end, then more than the room left: only the room is taken */
	memset(last, 'z', sizeof(last));
	memcpy(last + room - 100, "\r\n\r\n", 4);
	CHECK(g_send(&g, F_ACK, last, sizeof(last)));
	CHECK_EQ(h.answers, 1);
	CHECK_EQ(h.max_len, MMDS_STACK_REQ_MAX);
	REQUIRE(rx(s, &o));
	CHECK_EQ(o.dlen, 10);
	CHECK_EQ(o.ack, start + MMDS_STACK_REQ_MAX);
	CHECK_EQ(o.wnd, MMDS_STACK_REQ_MAX - 96); /* what is left after the request */
	CHECK(!rx(s, &o));
	/* the guest sends the rest again from where it was cut */
	CHECK(tx_tcp(s, &(struct tin){ .sport = 6200,
				       .seq = start + MMDS_STACK_REQ_MAX,
				       .ack = g.ack + 10,
				       .flags = F_ACK,
				       .wnd = 65535,
				       .data = last + room,
				       .len = sizeof(last) - room }));
	REQUIRE(rx(s, &o));
	CHECK_EQ(o.ack, g.seq);
	CHECK_EQ(o.wnd, MMDS_STACK_REQ_MAX - 96 - (sizeof(last) - room));
	CHECK(!rx(s, &o));
	mmds_stack_destroy(s);
}

/* ---- bounds ---- */

TEST(mmds_stack_evicts_the_least_recently_active_connection_when_full)
{
	static struct guest g[MMDS_STACK_MAX_CONNS + 1];
	struct hstate h = { .body = 10 };
	struct mmds_stack *s = new_stack(&h);
	struct out o;
	bool rst_1001 = false, synack = false;

	for (int i = 0; i < MMDS_STACK_MAX_CONNS; i++)
		g_connect(&g[i], s, (uint16_t)(1000 + i), 1460);
	/* port 1000 is active again: 1001 is now the least recent */
	CHECK(g_send(&g[0], F_ACK, NULL, 0));
	CHECK(!mmds_stack_has_rx(s));
	CHECK(tx_tcp(s, &(struct tin){ .sport = 2000, .seq = 1, .flags = F_SYN, .wnd = 1000 }));
	while (rx(s, &o)) {
		if (o.dport == 1001 && (o.flags & F_RST))
			rst_1001 = true;
		if (o.dport == 2000 && o.flags == (F_SYN | F_ACK))
			synack = true;
	}
	CHECK(rst_1001);
	CHECK(synack);
	CHECK(conn_gone(s, 1001));
	/* the others still answer */
	CHECK(g_send_str(&g[0], req_text));
	g_pump(&g[0]);
	CHECK_EQ(g[0].rx_len, 10);
	CHECK(g_send_str(&g[MMDS_STACK_MAX_CONNS - 1], req_text));
	g_pump(&g[MMDS_STACK_MAX_CONNS - 1]);
	CHECK_EQ(g[MMDS_STACK_MAX_CONNS - 1].rx_len, 10);
	mmds_stack_destroy(s);
}

TEST(mmds_stack_bounds_its_control_queue_under_a_syn_flood)
{
	struct hstate h = { 0 };
	struct mmds_stack *s = new_stack(&h);
	int n;

	for (uint32_t i = 0; i < 5000; i++)
		CHECK(tx_tcp(s, &(struct tin){ .sport = (uint16_t)(1 + i),
					       .seq = i,
					       .flags = F_SYN,
					       .wnd = 100 }));
	n = drain(s);
	CHECK(n > 0);
	CHECK(n <= 64);
	/* bare ACKs to unknown ports and ARP requests, all answered, still bounded */
	for (uint32_t i = 0; i < 5000; i++) {
		uint8_t f[64];

		CHECK(tx_tcp(
			s,
			&(struct tin){ .sport = (uint16_t)(30000 + i), .ack = i, .flags = F_ACK }));
		CHECK(mmds_stack_tx(s, f, arp_frame(f, 1, GUEST_IP, MMDS_IP), false));
	}
	n = drain(s);
	CHECK(n > 0);
	CHECK(n <= 64);
	mmds_stack_destroy(s);
}

TEST(mmds_stack_drops_pure_acks_first_from_a_full_control_queue)
{
	static struct guest g;
	struct hstate h = { 0 };
	struct mmds_stack *s = new_stack(&h);
	struct out o;
	int n = 1;

	g_connect(&g, s, 8000, 1460);
	CHECK(tx_tcp(s, &(struct tin){ .sport = 8001, .seq = 1, .flags = F_SYN, .wnd = 100 }));
	/* 100 out-of-order segments: 100 duplicate ACKs behind the SYN-ACK */
	for (int i = 0; i < 100; i++)
		CHECK(tx_tcp(s, &(struct tin){ .sport = 8000,
					       .seq = g.seq + 10,
					       .ack = g.ack,
					       .flags = F_ACK,
					       .wnd = 65535,
					       .data = "x",
					       .len = 1 }));
	REQUIRE(rx(s, &o));
	CHECK_EQ(o.flags, F_SYN | F_ACK);
	CHECK_EQ(o.dport, 8001);
	while (rx(s, &o)) {
		CHECK_EQ(o.flags, F_ACK);
		n++;
	}
	CHECK_EQ(n, 64);
	mmds_stack_destroy(s);
}

TEST(mmds_stack_destroy_frees_connections_with_data_queued)
{
	static struct guest g;
	struct hstate h = { .body = 100000 };
	struct mmds_stack *s = new_stack(&h);

	g_connect(&g, s, 7000, 1460);
	CHECK(g_send_str(&g, "GET / HTTP/1.1\r\n\r\nGET /"));
	CHECK(mmds_stack_has_rx(s));
	mmds_stack_destroy(s); /* ASan reports what it would leak */
	mmds_stack_destroy(NULL);
}

// clang-format off
HARNESS_MAIN(
	HARNESS_T(mmds_stack_answers_arp_for_its_address_only)
	HARNESS_T(mmds_stack_passes_frames_that_are_not_for_its_ipv4)
	HARNESS_T(mmds_stack_takes_and_drops_malformed_ipv4)
	HARNESS_T(mmds_stack_checks_tcp_checksum_and_header_unless_partial)
	HARNESS_T(mmds_stack_answers_syn_with_syn_ack_and_mss)
	HARNESS_T(mmds_stack_segments_by_the_mss_or_536_without_option)
	HARNESS_T(mmds_stack_hands_a_split_request_to_the_handler_once_complete)
	HARNESS_T(mmds_stack_answers_pipelined_requests_in_order)
	HARNESS_T(mmds_stack_sends_within_the_guest_window_with_psh_last)
	HARNESS_T(mmds_stack_stops_at_a_zero_window_and_resumes_on_update)
	HARNESS_T(mmds_stack_resends_from_the_first_unacked_byte_on_a_dup_ack)
	HARNESS_T(mmds_stack_closes_on_guest_fin_and_frees_the_connection)
	HARNESS_T(mmds_stack_sends_its_fin_only_once_the_answer_is_acked)
	HARNESS_T(mmds_stack_closes_after_the_answer_when_the_handler_says_so)
	HARNESS_T(mmds_stack_resets_when_the_handler_fails)
	HARNESS_T(mmds_stack_resets_an_answer_beyond_its_send_buffer)
	HARNESS_T(mmds_stack_frees_the_connection_on_a_guest_rst_in_window)
	HARNESS_T(mmds_stack_resets_segments_for_unknown_connections)
	HARNESS_T(mmds_stack_drops_out_of_order_data_with_a_dup_ack)
	HARNESS_T(mmds_stack_cuts_a_request_beyond_its_buffer)
	HARNESS_T(mmds_stack_cuts_data_to_the_room_left)
	HARNESS_T(mmds_stack_evicts_the_least_recently_active_connection_when_full)
	HARNESS_T(mmds_stack_bounds_its_control_queue_under_a_syn_flood)
	HARNESS_T(mmds_stack_drops_pure_acks_first_from_a_full_control_queue)
	HARNESS_T(mmds_stack_destroy_frees_connections_with_data_queued)
)
// clang-format on
