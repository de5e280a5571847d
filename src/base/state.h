/*
 * state.h — the serialization primitives every device uses to save and load
 * its state: explicit little-endian fields inside tagged, versioned sections.
 *
 * A section on the wire, all little-endian:
 *
 *   offset  size    field
 *   0       16      tag, NUL-padded (a tag of 16 characters has no NUL)
 *   16      4       instance
 *   20      4       version (of this section's payload layout)
 *   24      8       length: bytes of payload
 *   32      length  payload
 *   32+len  4       CRC-32C (util/crc32c.h) of bytes [0, 32 + length)
 *
 * A writer appends to a growable buffer; a reader walks a buffer with bounds
 * checks and a sticky error, so a device's load() can read all its fields and
 * test once (state_error) before committing any of them. Every section's CRC
 * is checked by state_next_section() before its payload is handed out.
 */
#ifndef VMON_SNAPSHOT_STATE_H
#define VMON_SNAPSHOT_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STATE_TAG_LEN 16
#define STATE_SECTION_HDR_LEN (STATE_TAG_LEN + 4 + 4 + 8) /* bytes before the payload */
#define STATE_SECTION_CRC_LEN 4 /* bytes after it */

struct state_writer {
	uint8_t *buf;
	size_t len;
	size_t cap;
	size_t section_start; /* offset of the open section's header, or SIZE_MAX */
	int error; /* first -errno, sticky */
};

struct state_reader {
	const uint8_t *buf;
	size_t len;
	size_t pos;
	int error; /* -EINVAL once anything was short or malformed, -EBADMSG on a bad CRC; sticky */
};

struct state_section {
	char tag[STATE_TAG_LEN + 1];
	uint32_t instance;
	uint32_t version;
	struct state_reader payload;
};

void state_writer_init(struct state_writer *w);
void state_writer_free(struct state_writer *w);

/*
 * state_begin / state_end - open and close one section (no nesting).
 * state_end() fills in the length and appends the section's CRC-32C.
 */
void state_begin(struct state_writer *w, const char *tag, uint32_t instance, uint32_t version);
void state_end(struct state_writer *w);

void state_put_u8(struct state_writer *w, uint8_t v);
void state_put_u16(struct state_writer *w, uint16_t v);
void state_put_u32(struct state_writer *w, uint32_t v);
void state_put_u64(struct state_writer *w, uint64_t v);
void state_put_bytes(struct state_writer *w, const void *p, size_t len);

/* state_writer_error - 0 or the first -errno (only -ENOMEM, or -EINVAL on misuse). */
int state_writer_error(const struct state_writer *w);

void state_reader_init(struct state_reader *r, const void *buf, size_t len);

/*
 * state_next_section - parse the next section at @r, verify its CRC and point
 * @s->payload at its payload. Returns 1 for a section, 0 at the clean end of
 * the buffer, -EINVAL when the buffer ends inside the section (truncated), or
 * -EBADMSG when the section is whole but its CRC does not match (corrupt).
 * On an error @s->tag, ->instance and ->version hold what of the header could
 * be read (tag "" when not even the header was whole), so the caller can name
 * the section: "section '%s' #%u: %s", s->tag, s->instance,
 * state_section_error(rc). The error is sticky in @r.
 */
int state_next_section(struct state_reader *r, struct state_section *s);

/*
 * state_section_error - a short phrase for a state_next_section() error:
 * "checksum mismatch" for -EBADMSG, "truncated" for -EINVAL, else strerror's.
 */
const char *state_section_error(int rc);

uint8_t state_get_u8(struct state_reader *r);
uint16_t state_get_u16(struct state_reader *r);
uint32_t state_get_u32(struct state_reader *r);
uint64_t state_get_u64(struct state_reader *r);
void state_get_bytes(struct state_reader *r, void *p, size_t len);

/* state_error - 0, or -EINVAL once a get ran past the end. */
int state_error(const struct state_reader *r);

/* state_done - state_error(), and -EINVAL too when bytes are left over. */
int state_done(const struct state_reader *r);

#endif
