/*
 * state.h — the serialization primitives every device uses to save and load
 * its state: explicit little-endian fields inside tagged, versioned sections.
 *
 * A section is {tag[16], instance u32, version u32, length u64, payload}. A
 * writer appends to a growable buffer; a reader walks a buffer with bounds
 * checks and a sticky error, so a device's load() can read all its fields and
 * test once (state_error) before committing any of them.
 */
#ifndef VMON_SNAPSHOT_STATE_H
#define VMON_SNAPSHOT_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STATE_TAG_LEN 16

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
	int error; /* -EINVAL once anything was short or malformed, sticky */
};

struct state_section {
	char tag[STATE_TAG_LEN + 1];
	uint32_t instance;
	uint32_t version;
	struct state_reader payload;
};

void state_writer_init(struct state_writer *w);
void state_writer_free(struct state_writer *w);

/* state_begin / state_end - open and close one section (no nesting). */
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
 * state_next_section - parse the next section header at @r and point
 * @s->payload at its payload. Returns 1 for a section, 0 at the clean end of
 * the buffer, -EINVAL for a truncated or malformed header.
 */
int state_next_section(struct state_reader *r, struct state_section *s);

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
