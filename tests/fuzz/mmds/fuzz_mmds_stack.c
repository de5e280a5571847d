/*
 * fuzz_mmds_stack.c — hostile guest frames into the MMDS endpoint.
 *
 * The input is a list of frames, each a 2-byte little-endian header and its
 * bytes: the low 13 bits are the length (cut to what is left), bit 13 holds
 * the frames for the guest back (the guest has no receive buffers: they pile
 * up until a later frame without it), bit 14 says the guest left the TCP
 * checksum to the device (csum_partial), bit 15 asks
 * this harness to help the fuzzer past what it cannot guess: it recomputes
 * the IPv4 and TCP checksums and takes a TCP acknowledgement number as
 * relative to the next sequence number the endpoint last sent to that port
 * (0: everything sent; the endpoint's ISN is random). Frames for the guest
 * are drained after each frame (and at the end); one over 1514 bytes, or a
 * has_rx that disagrees with rx, aborts.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mmds/mmds_stack.h"
#include "util/be.h"

#define FRAME_MAX 1514
#define PEERS 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct peers {
	unsigned n;
	uint16_t port[PEERS];
	uint32_t next[PEERS]; /* the sequence number after the last segment sent to port */
};

static uint16_t csum(uint32_t sum, const uint8_t *p, size_t len)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += be16_get(p + i);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	while (sum > 0xffff)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static uint32_t *peer_next(struct peers *pr, uint16_t port, bool add)
{
	for (unsigned i = 0; i < pr->n; i++)
		if (pr->port[i] == port)
			return &pr->next[i];
	if (!add)
		return NULL;
	if (pr->n == PEERS)
		pr->n = 0; /* forget the oldest ones */
	pr->port[pr->n] = port;
	pr->next[pr->n] = 0;
	return &pr->next[pr->n++];
}

/* Fill in checksums, and make a TCP ack relative to what the endpoint sent, of frame @f. */
static void fixup(uint8_t *f, size_t len, struct peers *pr)
{
	uint8_t *ip = f + 14, *t;
	size_t ihl, tot;

	if (len < 14 + 20 || be16_get(f + 12) != 0x0800)
		return;
	ihl = (size_t)(ip[0] & 0xf) * 4;
	if (ihl < 20 || 14 + ihl > len)
		return;
	tot = be16_get(ip + 2);
	if (ip[9] == 6 && tot >= ihl + 20 && 14 + tot <= len) {
		uint32_t src = be32_get(ip + 12), dst = be32_get(ip + 16);
		uint32_t *next;

		t = ip + ihl;
		next = peer_next(pr, be16_get(t), false);
		if ((t[13] & 0x10) && next)
			be32_put(t + 8, *next + be32_get(t + 8));
		be16_put(t + 16, 0);
		be16_put(t + 16, csum((src >> 16) + (src & 0xffff) + (dst >> 16) + (dst & 0xffff) +
					      6 + (uint32_t)(tot - ihl),
				      t, tot - ihl));
	}
	be16_put(ip + 10, 0);
	be16_put(ip + 10, csum(0, ip, ihl));
}

/* Note what a frame for the guest tells about the endpoint's sequence numbers. */
static void note(const uint8_t *f, size_t len, struct peers *pr)
{
	const uint8_t *ip = f + 14, *t = ip + 20;
	uint32_t *next;
	size_t doff;

	if (len < 14 + 20 + 20 || be16_get(f + 12) != 0x0800 || ip[9] != 6)
		return;
	doff = (size_t)(t[12] >> 4) * 4;
	if (doff < 20 || 14 + 20 + doff > len)
		abort(); /* the endpoint built a broken frame */
	next = peer_next(pr, be16_get(t + 2), true);
	*next = be32_get(t + 4) + (uint32_t)(len - 34 - doff) + !!(t[13] & 0x02) + !!(t[13] & 0x01);
}

/* Requests end in "\r\n\r\n"; one starting with 'C' closes, with 'R' resets; 3000 bytes answer. */
static int handler(void *opaque, const uint8_t *req, size_t len, size_t *consumed, uint8_t **resp,
		   size_t *resp_len)
{
	const uint8_t *end = memmem(req, len, "\r\n\r\n", 4);

	(void)opaque;
	if (!end)
		return 0;
	if (req[0] == 'R')
		return -1;
	*consumed = (size_t)(end + 4 - req);
	*resp = malloc(3000);
	if (!*resp)
		return -1;
	memset(*resp, 'm', 3000);
	*resp_len = 3000;
	return req[0] == 'C' ? 2 : 1;
}

/* Take every frame the endpoint has for the guest, checking each. */
static void drain(struct mmds_stack *s, struct peers *pr)
{
	uint8_t out[2048];
	bool had = mmds_stack_has_rx(s);
	size_t n;

	while ((n = mmds_stack_rx(s, out, sizeof(out)))) {
		if (n > FRAME_MAX || !had)
			abort();
		note(out, n, pr);
		had = mmds_stack_has_rx(s);
	}
	if (mmds_stack_has_rx(s))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t frame[1 << 13];
	struct peers pr = { 0 };
	struct mmds_stack *s;
	size_t off = 0;

	if (mmds_stack_create(&s, 0xa9fea9feu, handler, NULL))
		return 0;
	while (size - off >= 2) {
		unsigned hdr = data[off] | (unsigned)data[off + 1] << 8;
		size_t len = hdr & 0x1fff;

		off += 2;
		if (len > size - off)
			len = size - off;
		memcpy(frame, data + off, len);
		off += len;
		if (hdr & 0x8000)
			fixup(frame, len, &pr);
		mmds_stack_tx(s, frame, len, hdr & 0x4000);
		if (!(hdr & 0x2000))
			drain(s, &pr);
	}
	drain(s, &pr);
	mmds_stack_destroy(s);
	return 0;
}
