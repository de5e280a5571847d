/* migwire.c — the live-migration stream's messages (see migwire.h). */
#include "snapshot/migwire.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "util/crc32c.h"

static const char *const type_names[] = {
	[MIGWIRE_HELLO] = "HELLO", [MIGWIRE_ACCEPT] = "ACCEPT", [MIGWIRE_PAGES] = "PAGES",
	[MIGWIRE_ZEROS] = "ZEROS", [MIGWIRE_STATE] = "STATE",	[MIGWIRE_READY] = "READY",
	[MIGWIRE_GO] = "GO",	   [MIGWIRE_DONE] = "DONE",	[MIGWIRE_ERROR] = "ERROR",
	[MIGWIRE_SYNC] = "SYNC",
};

const char *migwire_type_name(uint32_t type)
{
	if (type >= sizeof(type_names) / sizeof(type_names[0]) || !type_names[type])
		return "unknown";
	return type_names[type];
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get64(const uint8_t *p)
{
	return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}

void migwire_put_pages(uint8_t out[MIGWIRE_PAGES_HEADER], uint32_t region, uint64_t first,
		       uint32_t count)
{
	put32(out, region);
	put64(out + 4, first);
	put32(out + 12, count);
}

void migwire_put_zeros(uint8_t out[MIGWIRE_ZEROS_LEN], uint32_t region, uint64_t first,
		       uint64_t count)
{
	put32(out, region);
	put64(out + 4, first);
	put64(out + 12, count);
}

void migwire_put_go(uint8_t out[MIGWIRE_GO_LEN], uint32_t flags)
{
	put32(out, flags);
}

uint32_t migwire_go_flags(const struct migwire_msg *m)
{
	return m->len == MIGWIRE_GO_LEN ? get32(m->payload) : 0;
}

void migwire_put_hello(uint8_t out[MIGWIRE_HELLO_HEAD])
{
	memcpy(out, MIGWIRE_HELLO_MAGIC, 8);
	put32(out + 8, MIGWIRE_PROTOCOL);
}

void migwire_put_header(uint8_t hdr[MIGWIRE_FRAME_HEADER], uint32_t type, uint32_t len)
{
	put32(hdr, type);
	put32(hdr + 4, len);
}

uint32_t migwire_crc(const uint8_t hdr[MIGWIRE_FRAME_HEADER], const void *payload, size_t len)
{
	return crc32c(crc32c(0, hdr, MIGWIRE_FRAME_HEADER), payload, len);
}

int migwire_check_header(const uint8_t hdr[MIGWIRE_FRAME_HEADER], uint32_t *type, uint32_t *len,
			 char *err, size_t err_len)
{
	uint32_t t = get32(hdr), l = get32(hdr + 4), lo = 0, hi = 0;

	switch (t) {
	case MIGWIRE_HELLO:
		lo = MIGWIRE_HELLO_HEAD;
		hi = MIGWIRE_MAX_HELLO;
		break;
	case MIGWIRE_PAGES:
		lo = MIGWIRE_PAGES_HEADER + GMEM_PAGE_SIZE;
		hi = MIGWIRE_PAGES_HEADER + MIGWIRE_MAX_PAGES * GMEM_PAGE_SIZE;
		break;
	case MIGWIRE_ZEROS:
		lo = hi = MIGWIRE_ZEROS_LEN;
		break;
	case MIGWIRE_STATE:
		lo = 1;
		hi = MIGWIRE_MAX_STATE;
		break;
	case MIGWIRE_GO:
		lo = hi = MIGWIRE_GO_LEN;
		break;
	case MIGWIRE_ACCEPT:
	case MIGWIRE_READY:
	case MIGWIRE_DONE:
	case MIGWIRE_SYNC:
		break;
	case MIGWIRE_ERROR:
		lo = 1;
		hi = MIGWIRE_MAX_REASON;
		break;
	default:
		snprintf(err, err_len, "migration stream: unknown message type %u", t);
		return -EINVAL;
	}
	if (l < lo || l > hi) {
		snprintf(err, err_len, "migration stream: %s message of %u bytes (allowed %u..%u)",
			 migwire_type_name(t), l, lo, hi);
		return -EINVAL;
	}
	*type = t;
	*len = l;
	return 0;
}

int migwire_parse(const void *buf, size_t len, struct migwire_msg *m, size_t *used, char *err,
		  size_t err_len)
{
	const uint8_t *p = buf;
	uint32_t type, plen;
	int ret;

	if (len < MIGWIRE_FRAME_HEADER)
		return -EAGAIN;
	ret = migwire_check_header(p, &type, &plen, err, err_len);
	if (ret)
		return ret;
	if (len - MIGWIRE_FRAME_HEADER < (size_t)plen + MIGWIRE_FRAME_TRAILER)
		return -EAGAIN;
	if (migwire_crc(p, p + MIGWIRE_FRAME_HEADER, plen) !=
	    get32(p + MIGWIRE_FRAME_HEADER + plen)) {
		snprintf(err, err_len, "migration stream: %s message: checksum mismatch",
			 migwire_type_name(type));
		return -EINVAL;
	}
	*m = (struct migwire_msg){ .type = type, .len = plen, .payload = p + MIGWIRE_FRAME_HEADER };
	*used = MIGWIRE_FRAME_HEADER + (size_t)plen + MIGWIRE_FRAME_TRAILER;
	return 0;
}

int migwire_decode_pages(const struct migwire_msg *m, struct migwire_pages *p, char *err,
			 size_t err_len)
{
	if (m->type == MIGWIRE_ZEROS && m->len == MIGWIRE_ZEROS_LEN) {
		*p = (struct migwire_pages){ .region = get32(m->payload),
					     .first = get64(m->payload + 4),
					     .count = get64(m->payload + 12) };
		if (!p->count) {
			snprintf(err, err_len, "migration stream: ZEROS of no page");
			return -EINVAL;
		}
		return 0;
	}
	if (m->type != MIGWIRE_PAGES || m->len < MIGWIRE_PAGES_HEADER) {
		snprintf(err, err_len, "migration stream: not a PAGES or ZEROS message");
		return -EINVAL;
	}
	*p = (struct migwire_pages){ .region = get32(m->payload),
				     .first = get64(m->payload + 4),
				     .count = get32(m->payload + 12),
				     .data = m->payload + MIGWIRE_PAGES_HEADER };
	if (!p->count || p->count > MIGWIRE_MAX_PAGES ||
	    m->len - MIGWIRE_PAGES_HEADER != p->count * GMEM_PAGE_SIZE) {
		snprintf(err, err_len,
			 "migration stream: PAGES says %llu pages but carries %u bytes",
			 (unsigned long long)p->count, m->len - MIGWIRE_PAGES_HEADER);
		return -EINVAL;
	}
	return 0;
}

int migwire_decode_hello(const struct migwire_msg *m, const uint8_t **snap, size_t *snap_len,
			 char *err, size_t err_len)
{
	uint32_t version;

	if (m->type != MIGWIRE_HELLO || m->len < MIGWIRE_HELLO_HEAD ||
	    memcmp(m->payload, MIGWIRE_HELLO_MAGIC, 8)) {
		snprintf(err, err_len, "migration stream: not a vmon migration (bad HELLO)");
		return -EINVAL;
	}
	version = get32(m->payload + 8);
	if (version != MIGWIRE_PROTOCOL) {
		snprintf(err, err_len,
			 "migration: the source speaks protocol %u, this vmon speaks %u", version,
			 MIGWIRE_PROTOCOL);
		return -EPROTO;
	}
	*snap = m->payload + MIGWIRE_HELLO_HEAD;
	*snap_len = m->len - MIGWIRE_HELLO_HEAD;
	return 0;
}

int migwire_expect(enum migwire_phase *phase, uint32_t type, char *err, size_t err_len)
{
	enum migwire_phase next = *phase;
	bool ok = type == MIGWIRE_ERROR;

	switch (*phase) {
	case MIGWIRE_WANT_HELLO:
		if (type == MIGWIRE_HELLO) {
			ok = true;
			next = MIGWIRE_WANT_MEMORY;
		}
		break;
	case MIGWIRE_WANT_MEMORY:
		if (type == MIGWIRE_PAGES || type == MIGWIRE_ZEROS || type == MIGWIRE_SYNC) {
			ok = true;
		} else if (type == MIGWIRE_STATE) {
			ok = true;
			next = MIGWIRE_WANT_GO;
		}
		break;
	case MIGWIRE_WANT_GO:
		if (type == MIGWIRE_GO) {
			ok = true;
			next = MIGWIRE_FINISHED;
		}
		break;
	case MIGWIRE_FINISHED:
	default:
		ok = false;
		break;
	}
	if (!ok) {
		static const char *const phases[] = { "before HELLO", "during the memory copy",
						      "after STATE", "after GO" };

		snprintf(err, err_len, "migration stream: unexpected %s message %s",
			 migwire_type_name(type), phases[*phase <= MIGWIRE_FINISHED ? *phase : 3]);
		return -EPROTO;
	}
	*phase = next;
	return 0;
}

/* Where @p's pages lie in @gm (whole range checked): their host address, or NULL with @err. */
static uint8_t *pages_at(const struct gmem *gm, const struct migwire_pages *p, char *err,
			 size_t err_len)
{
	const struct gmem_region *r;
	uint64_t end;

	if (p->region >= gm->nr_regions) {
		snprintf(err, err_len, "migration stream: pages for region %u of %u", p->region,
			 gm->nr_regions);
		return NULL;
	}
	r = &gm->regions[p->region];
	if (__builtin_add_overflow(p->first, p->count, &end) ||
	    end > r->len_bytes / GMEM_PAGE_SIZE) {
		snprintf(err, err_len,
			 "migration stream: pages %llu+%llu lie outside region %u (%llu pages)",
			 (unsigned long long)p->first, (unsigned long long)p->count, p->region,
			 (unsigned long long)(r->len_bytes / GMEM_PAGE_SIZE));
		return NULL;
	}
	return r->hva + p->first * GMEM_PAGE_SIZE;
}

int migwire_apply_pages(const struct gmem *gm, const struct migwire_pages *p, char *err,
			size_t err_len)
{
	uint8_t *at = pages_at(gm, p, err, err_len);
	const struct gmem_region *r;
	uint64_t len = p->count * GMEM_PAGE_SIZE;

	if (!at)
		return -EINVAL;
	r = &gm->regions[p->region];
	if (p->data)
		memcpy(at, p->data, len);
	else if (!r->owned || r->fd >= 0 || madvise(at, len, MADV_DONTNEED))
		memset(at, 0, len);
	return 0;
}

int migwire_send(int fd, uint32_t type, const void *a, size_t alen, const void *b, size_t blen,
		 char *err, size_t err_len)
{
	return migwire_send_copy(fd, type, a, alen, (void *)b, NULL, blen, err, err_len);
}

int migwire_send_copy(int fd, uint32_t type, const void *a, size_t alen, void *b, const void *src,
		      size_t blen, char *err, size_t err_len)
{
	uint8_t hdr[MIGWIRE_FRAME_HEADER], trailer[MIGWIRE_FRAME_TRAILER];
	struct iovec iov[4] = {
		{ hdr, sizeof(hdr) },
		{ (void *)a, alen },
		{ (void *)b, blen },
		{ trailer, sizeof(trailer) },
	};
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 4 };
	uint32_t crc;

	if (alen + blen > UINT32_MAX) {
		snprintf(err, err_len, "migration: a %s message too big to send",
			 migwire_type_name(type));
		return -EINVAL;
	}
	migwire_put_header(hdr, type, (uint32_t)(alen + blen));
	crc = crc32c(crc32c(0, hdr, sizeof(hdr)), a, alen);
	crc = src ? crc32c_copy(crc, b, src, blen) : crc32c(crc, b, blen);
	put32(trailer, crc);
	while (mh.msg_iovlen) {
		ssize_t n = sendmsg(fd, &mh, MSG_NOSIGNAL);

		if (n < 0) {
			int e = errno;

			if (e == EINTR)
				continue;
			snprintf(err, err_len, "migration: sending %s: %s", migwire_type_name(type),
				 e == EAGAIN || e == EWOULDBLOCK
					 ? "the peer stopped reading (send timeout)"
					 : strerror(e));
			return e == EWOULDBLOCK ? -EAGAIN : -e;
		}
		while (mh.msg_iovlen && (size_t)n >= mh.msg_iov[0].iov_len) {
			n -= (ssize_t)mh.msg_iov[0].iov_len;
			mh.msg_iov++;
			mh.msg_iovlen--;
		}
		if (mh.msg_iovlen) {
			mh.msg_iov[0].iov_base = (uint8_t *)mh.msg_iov[0].iov_base + n;
			mh.msg_iov[0].iov_len -= (size_t)n;
		}
	}
	return 0;
}

void migwire_buf_free(struct migwire_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->cap = 0;
}

/* Read exactly @len bytes, waiting at most @timeout_ms for each chunk. */
static int read_full(int fd, uint8_t *p, size_t len, int timeout_ms, char *err, size_t err_len)
{
	while (len) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ssize_t n;
		int pr = poll(&pfd, 1, timeout_ms);

		if (pr < 0 && errno == EINTR)
			continue;
		if (pr < 0) {
			snprintf(err, err_len, "migration: poll: %s", strerror(errno));
			return -errno;
		}
		if (pr == 0) {
			snprintf(err, err_len, "migration: the peer sent nothing for %d ms",
				 timeout_ms);
			return -ETIMEDOUT;
		}
		n = read(fd, p, len);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0) {
			int e = errno;

			snprintf(err, err_len, "migration: receiving: %s", strerror(e));
			return e == ECONNRESET ? -ECONNRESET : -e;
		}
		if (n == 0) {
			snprintf(err, err_len, "migration: the peer closed the connection");
			return -ECONNRESET;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int migwire_recv(int fd, struct migwire_buf *b, struct migwire_msg *m, int timeout_ms, char *err,
		 size_t err_len)
{
	bool applied;

	return migwire_recv_ram(fd, b, NULL, m, &applied, timeout_ms, err, err_len);
}

/* @b holds at least @need bytes: 0, or -ENOMEM with @err. */
static int buf_reserve(struct migwire_buf *b, size_t need, char *err, size_t err_len)
{
	if (b->cap < need) {
		uint8_t *d = realloc(b->data, need);

		if (!d) {
			snprintf(err, err_len, "migration: out of memory");
			return -ENOMEM;
		}
		b->data = d;
		b->cap = need;
	}
	return 0;
}

/*
 * The rest of a PAGES message whose frame header @b->data holds: its 16-byte
 * header checked against @gm, its pages read straight into guest RAM, then
 * the CRC over what landed there.
 */
static int recv_pages_in_place(int fd, struct migwire_buf *b, const struct gmem *gm, uint32_t len,
			       struct migwire_msg *m, int timeout_ms, char *err, size_t err_len)
{
	uint8_t *ph = b->data + MIGWIRE_FRAME_HEADER, trailer[MIGWIRE_FRAME_TRAILER], *at;
	struct migwire_pages p;
	uint32_t crc;
	int ret;

	ret = read_full(fd, ph, MIGWIRE_PAGES_HEADER, timeout_ms, err, err_len);
	if (ret)
		return ret;
	p = (struct migwire_pages){ .region = get32(ph),
				    .first = get64(ph + 4),
				    .count = get32(ph + 12) };
	if (!p.count || p.count > MIGWIRE_MAX_PAGES ||
	    len - MIGWIRE_PAGES_HEADER != p.count * GMEM_PAGE_SIZE) {
		snprintf(err, err_len,
			 "migration stream: PAGES says %llu pages but carries %u bytes",
			 (unsigned long long)p.count, len - MIGWIRE_PAGES_HEADER);
		return -EINVAL;
	}
	at = pages_at(gm, &p, err, err_len);
	if (!at)
		return -EINVAL;
	ret = read_full(fd, at, p.count * GMEM_PAGE_SIZE, timeout_ms, err, err_len);
	if (!ret)
		ret = read_full(fd, trailer, sizeof(trailer), timeout_ms, err, err_len);
	if (ret)
		return ret;
	crc = crc32c(crc32c(0, b->data, MIGWIRE_FRAME_HEADER + MIGWIRE_PAGES_HEADER), at,
		     p.count * GMEM_PAGE_SIZE);
	if (crc != get32(trailer)) {
		snprintf(err, err_len, "migration stream: PAGES message: checksum mismatch");
		return -EINVAL;
	}
	*m = (struct migwire_msg){ .type = MIGWIRE_PAGES, .len = len, .payload = ph };
	return 0;
}

int migwire_recv_ram(int fd, struct migwire_buf *b, const struct gmem *gm, struct migwire_msg *m,
		     bool *applied, int timeout_ms, char *err, size_t err_len)
{
	uint8_t hdr[MIGWIRE_FRAME_HEADER];
	uint32_t type, len;
	size_t need, used;
	int ret;

	*applied = false;
	ret = read_full(fd, hdr, sizeof(hdr), timeout_ms, err, err_len);
	if (ret)
		return ret;
	ret = migwire_check_header(hdr, &type, &len, err, err_len);
	if (ret)
		return ret;
	need = type == MIGWIRE_PAGES && gm
		       ? MIGWIRE_FRAME_HEADER + MIGWIRE_PAGES_HEADER
		       : MIGWIRE_FRAME_HEADER + (size_t)len + MIGWIRE_FRAME_TRAILER;
	ret = buf_reserve(b, need, err, err_len);
	if (ret)
		return ret;
	memcpy(b->data, hdr, sizeof(hdr));
	if (type == MIGWIRE_PAGES && gm) {
		ret = recv_pages_in_place(fd, b, gm, len, m, timeout_ms, err, err_len);
		*applied = !ret;
		return ret;
	}
	ret = read_full(fd, b->data + MIGWIRE_FRAME_HEADER, need - MIGWIRE_FRAME_HEADER, timeout_ms,
			err, err_len);
	if (ret)
		return ret;
	return migwire_parse(b->data, need, m, &used, err, err_len);
}
