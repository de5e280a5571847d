/* state.c — little-endian section writer and bounds-checked reader for device state. */
#include "base/state.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/crc32c.h"

void state_writer_init(struct state_writer *w)
{
	memset(w, 0, sizeof(*w));
	w->section_start = SIZE_MAX;
}

void state_writer_free(struct state_writer *w)
{
	free(w->buf);
	state_writer_init(w);
}

static void put(struct state_writer *w, const void *p, size_t len)
{
	if (w->error || len == 0)
		return;
	if (len > w->cap - w->len) {
		size_t cap = w->cap ? w->cap : 256;
		uint8_t *n;

		while (cap - w->len < len) {
			if (cap > SIZE_MAX / 2) {
				w->error = -ENOMEM;
				return;
			}
			cap *= 2;
		}
		n = realloc(w->buf, cap);
		if (!n) {
			w->error = -ENOMEM;
			return;
		}
		w->buf = n;
		w->cap = cap;
	}
	memcpy(w->buf + w->len, p, len);
	w->len += len;
}

void state_put_u8(struct state_writer *w, uint8_t v)
{
	put(w, &v, 1);
}

void state_put_u16(struct state_writer *w, uint16_t v)
{
	uint8_t b[2] = { v, v >> 8 };

	put(w, b, 2);
}

void state_put_u32(struct state_writer *w, uint32_t v)
{
	uint8_t b[4];

	for (int i = 0; i < 4; i++)
		b[i] = v >> (8 * i);
	put(w, b, 4);
}

void state_put_u64(struct state_writer *w, uint64_t v)
{
	uint8_t b[8];

	for (int i = 0; i < 8; i++)
		b[i] = v >> (8 * i);
	put(w, b, 8);
}

void state_put_bytes(struct state_writer *w, const void *p, size_t len)
{
	put(w, p, len);
}

void state_begin(struct state_writer *w, const char *tag, uint32_t instance, uint32_t version)
{
	char t[STATE_TAG_LEN] = { 0 };

	if (w->section_start != SIZE_MAX) {
		w->error = w->error ? w->error : -EINVAL;
		return;
	}
	memcpy(t, tag, strnlen(tag, sizeof(t)));
	w->section_start = w->len;
	put(w, t, sizeof(t));
	state_put_u32(w, instance);
	state_put_u32(w, version);
	state_put_u64(w, 0); /* length, patched by state_end() */
}

void state_end(struct state_writer *w)
{
	uint64_t len;

	if (w->section_start == SIZE_MAX) {
		w->error = w->error ? w->error : -EINVAL;
		return;
	}
	if (!w->error) {
		len = w->len - w->section_start - STATE_SECTION_HDR_LEN;
		for (int i = 0; i < 8; i++)
			w->buf[w->section_start + STATE_TAG_LEN + 8 + i] = len >> (8 * i);
		state_put_u32(w, crc32c(0, w->buf + w->section_start, w->len - w->section_start));
	}
	w->section_start = SIZE_MAX;
}

int state_writer_error(const struct state_writer *w)
{
	return w->error;
}

void state_reader_init(struct state_reader *r, const void *buf, size_t len)
{
	r->buf = buf;
	r->len = len;
	r->pos = 0;
	r->error = 0;
}

static bool get(struct state_reader *r, void *p, size_t len)
{
	if (r->error || len > r->len - r->pos) {
		r->error = -EINVAL;
		memset(p, 0, len);
		return false;
	}
	memcpy(p, r->buf + r->pos, len);
	r->pos += len;
	return true;
}

uint8_t state_get_u8(struct state_reader *r)
{
	uint8_t v;

	get(r, &v, 1);
	return v;
}

uint16_t state_get_u16(struct state_reader *r)
{
	uint8_t b[2];

	get(r, b, 2);
	return b[0] | (uint16_t)b[1] << 8;
}

uint32_t state_get_u32(struct state_reader *r)
{
	uint8_t b[4];
	uint32_t v = 0;

	get(r, b, 4);
	for (int i = 0; i < 4; i++)
		v |= (uint32_t)b[i] << (8 * i);
	return v;
}

uint64_t state_get_u64(struct state_reader *r)
{
	uint8_t b[8];
	uint64_t v = 0;

	get(r, b, 8);
	for (int i = 0; i < 8; i++)
		v |= (uint64_t)b[i] << (8 * i);
	return v;
}

void state_get_bytes(struct state_reader *r, void *p, size_t len)
{
	get(r, p, len);
}

int state_error(const struct state_reader *r)
{
	return r->error;
}

int state_done(const struct state_reader *r)
{
	if (r->error)
		return r->error;
	return r->pos == r->len ? 0 : -EINVAL;
}

int state_next_section(struct state_reader *r, struct state_section *s)
{
	size_t start = r->pos;
	uint64_t len;
	uint32_t crc;

	if (r->error)
		return r->error;
	if (r->pos == r->len)
		return 0;
	memset(s, 0, sizeof(*s));
	if (r->len - r->pos < STATE_TAG_LEN) {
		r->error = -EINVAL;
		return -EINVAL;
	}
	state_get_bytes(r, s->tag, STATE_TAG_LEN);
	s->tag[STATE_TAG_LEN] = '\0';
	s->instance = state_get_u32(r);
	s->version = state_get_u32(r);
	len = state_get_u64(r);
	if (r->error || len > r->len - r->pos || r->len - r->pos - len < STATE_SECTION_CRC_LEN) {
		r->error = -EINVAL;
		return -EINVAL;
	}
	r->pos += (size_t)len;
	crc = state_get_u32(r);
	if (crc != crc32c(0, r->buf + start, STATE_SECTION_HDR_LEN + (size_t)len)) {
		r->error = -EBADMSG;
		return -EBADMSG;
	}
	state_reader_init(&s->payload, r->buf + start + STATE_SECTION_HDR_LEN, (size_t)len);
	return 1;
}

const char *state_section_error(int rc)
{
	switch (rc) {
	case -EBADMSG:
		return "checksum mismatch";
	case -EINVAL:
		return "truncated";
	default:
		return strerror(rc < 0 ? -rc : rc);
	}
}
