/*
 * migwire.h — the live-migration stream between two vmon processes: its
 * messages, their framing and checks, the order a receiver accepts them in,
 * and how a receiver lays the pages it is sent into guest RAM. Pure except
 * for migwire_send()/migwire_recv(), which move one message over a socket.
 *
 * Every message, all integers little-endian:
 *
 *   type u32 | length u32 | payload[length] | CRC-32C u32 over type, length, payload
 *
 *   type     payload                                   sent by
 *   HELLO    "VMONMIGR", protocol u32, a state file    source, first
 *            (snapshot/snapfile.h) whose only section
 *            is "vm_config": the machine to build
 *   ACCEPT   -                                         destination: it built that VM
 *   PAGES    region u32, first page u64, count u32     source: count 1..MIGWIRE_MAX_PAGES
 *            (1..MIGWIRE_MAX_PAGES), count * 4096 bytes
 *   ZEROS    region u32, first page u64, count u64     source: pages now all zero
 *   SYNC     -                                         source, at a pre-copy round's end;
 *                                                      the destination echoes it once it has
 *                                                      taken everything before it
 *   STATE    a whole state file, as a snapshot's       source, once the VM is paused
 *   READY    -                                         destination: loaded, paused
 *   GO       flags u32 (MIGWIRE_GO_PAUSED)                source: the guest is yours
 *   DONE     -                                         destination: the guest runs here
 *   ERROR    a reason, 1..MIGWIRE_MAX_REASON bytes     either side: the migration ends
 *
 * A receiver accepts HELLO, then PAGES/ZEROS/SYNC in any number, then STATE,
 * then GO (migwire_expect); ERROR at any point. The protocol's version is
 * HELLO's; a destination refuses a version it does not speak, before any
 * page moves. docs/migration.md tells the whole exchange.
 */
#ifndef VMON_SNAPSHOT_MIGWIRE_H
#define VMON_SNAPSHOT_MIGWIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mem/gmem.h"

#define MIGWIRE_PROTOCOL 3 /* 2: SYNC; 3: GO's flags */
#define MIGWIRE_GO_LEN 4u /* flags u32 */
#define MIGWIRE_GO_PAUSED 1u /* the user had paused the guest: it arrives paused */
#define MIGWIRE_HELLO_MAGIC "VMONMIGR" /* 8 bytes, no NUL */
#define MIGWIRE_FRAME_HEADER 8 /* type, length */
#define MIGWIRE_FRAME_TRAILER 4 /* CRC */
#define MIGWIRE_MAX_PAGES 256u /* pages per PAGES message: 1 MiB */
#define MIGWIRE_PAGES_HEADER 16u
#define MIGWIRE_ZEROS_LEN 20u
#define MIGWIRE_MAX_REASON 512u
#define MIGWIRE_HELLO_HEAD 12u /* magic, protocol */
#define MIGWIRE_MAX_HELLO (1u << 20)
#define MIGWIRE_MAX_STATE (64u << 20) /* == SNAPFILE_MAX_FILE_BYTES */

enum migwire_type {
	MIGWIRE_HELLO = 1,
	MIGWIRE_ACCEPT,
	MIGWIRE_PAGES,
	MIGWIRE_ZEROS,
	MIGWIRE_STATE,
	MIGWIRE_READY,
	MIGWIRE_GO,
	MIGWIRE_DONE,
	MIGWIRE_ERROR,
	MIGWIRE_SYNC,
};

/* migwire_type_name - "HELLO" ... for messages; "unknown" past the table. */
const char *migwire_type_name(uint32_t type);

/*
 * migwire_check_header - @hdr's type and length: a known type with a length
 * its type allows (exact for the empty ones and ZEROS, bounded for the
 * others). 0 with *@type and *@len set, or -EINVAL with one line in @err.
 */
int migwire_check_header(const uint8_t hdr[MIGWIRE_FRAME_HEADER], uint32_t *type, uint32_t *len,
			 char *err, size_t err_len);

/* migwire_crc - the CRC a frame of @hdr and @payload[0..@len) carries. */
uint32_t migwire_crc(const uint8_t hdr[MIGWIRE_FRAME_HEADER], const void *payload, size_t len);

/* migwire_put_header - fill @hdr for a message of @type with @len bytes of payload. */
void migwire_put_header(uint8_t hdr[MIGWIRE_FRAME_HEADER], uint32_t type, uint32_t len);

struct migwire_msg {
	uint32_t type;
	uint32_t len;
	const uint8_t *payload; /* @len bytes */
};

/*
 * migwire_parse - the first whole message of @buf[0..@len): its framing
 * (migwire_check_header) and CRC. 0 with *@m (pointing into @buf) and
 * *@used bytes consumed; -EAGAIN when @buf holds only part of a message;
 * -EINVAL with one line in @err. Pure: safe on any input (fuzzed).
 */
int migwire_parse(const void *buf, size_t len, struct migwire_msg *m, size_t *used, char *err,
		  size_t err_len);

/* struct migwire_pages - a PAGES (data != NULL) or ZEROS message, decoded. */
struct migwire_pages {
	uint32_t region;
	uint64_t first;
	uint64_t count;
	const uint8_t *data; /* count * 4096 bytes, PAGES only */
};

/*
 * migwire_put_pages / migwire_put_zeros / migwire_put_hello - the fixed part
 * of a PAGES message (MIGWIRE_PAGES_HEADER bytes; the pages follow), a whole
 * ZEROS payload, and HELLO's magic and protocol (12 bytes; the state file
 * follows): what the decoders below read back.
 */
void migwire_put_pages(uint8_t out[MIGWIRE_PAGES_HEADER], uint32_t region, uint64_t first,
		       uint32_t count);
void migwire_put_zeros(uint8_t out[MIGWIRE_ZEROS_LEN], uint32_t region, uint64_t first,
		       uint64_t count);
void migwire_put_hello(uint8_t out[MIGWIRE_HELLO_HEAD]);
void migwire_put_go(uint8_t out[MIGWIRE_GO_LEN], uint32_t flags);

/*
 * migwire_go_flags - GO @m's flags (its length checked by migwire_check_header);
 * bits this vmon does not know are ignored by the caller.
 */
uint32_t migwire_go_flags(const struct migwire_msg *m);

/* migwire_decode_pages - decode PAGES or ZEROS @m. 0 or -EINVAL with @err. */
int migwire_decode_pages(const struct migwire_msg *m, struct migwire_pages *p, char *err,
			 size_t err_len);

/*
 * migwire_decode_hello - check HELLO @m's magic and protocol version; *@snap
 * and *@snap_len get the state file it carries. 0, or -EINVAL (-EPROTO for a
 * version this vmon does not speak) with one line in @err.
 */
int migwire_decode_hello(const struct migwire_msg *m, const uint8_t **snap, size_t *snap_len,
			 char *err, size_t err_len);

/* Where a receiver is in the exchange. */
enum migwire_phase {
	MIGWIRE_WANT_HELLO, /* nothing received yet */
	MIGWIRE_WANT_MEMORY, /* after HELLO: PAGES, ZEROS or STATE */
	MIGWIRE_WANT_GO, /* after STATE */
	MIGWIRE_FINISHED, /* after GO: nothing more */
};

/*
 * migwire_expect - may a destination in @phase take a message of @type?
 * On 0, *@phase becomes what follows it (ERROR leaves it as it was: the
 * caller ends). -EPROTO with one line in @err for any other message.
 */
int migwire_expect(enum migwire_phase *phase, uint32_t type, char *err, size_t err_len);

/*
 * migwire_apply_pages - lay decoded @p into @gm: its pages copied, or (ZEROS)
 * zeroed, after checking that the whole range lies in region @p->region.
 * Zeroing gives anonymous memory back to the host (MADV_DONTNEED) where the
 * region is owned anonymous RAM, else writes zeroes. 0 or -EINVAL with @err.
 */
int migwire_apply_pages(const struct gmem *gm, const struct migwire_pages *p, char *err,
			size_t err_len);

/*
 * migwire_send - one message: @type with the payload @a[0..@alen) followed by
 * @b[0..@blen) (either may be empty), written whole to the stream socket @fd.
 * 0, or -errno (-EPIPE: the peer went away; -EAGAIN: a send timeout on @fd
 * expired) with one line in @err.
 */
int migwire_send(int fd, uint32_t type, const void *a, size_t alen, const void *b, size_t blen,
		 char *err, size_t err_len);

/*
 * migwire_send_copy - migwire_send whose @b is first filled with @blen bytes
 * copied from @src, the CRC taken in the same pass (of the bytes in @b, so a
 * source that changes meanwhile cannot make the message lie): the bounce copy
 * of guest pages that the guest may be writing.
 */
int migwire_send_copy(int fd, uint32_t type, const void *a, size_t alen, void *b, const void *src,
		      size_t blen, char *err, size_t err_len);

/* struct migwire_buf - a receive buffer migwire_recv() grows; zero it first, free it after. */
struct migwire_buf {
	uint8_t *data;
	size_t cap;
};

void migwire_buf_free(struct migwire_buf *b);

/*
 * migwire_recv - read one whole message from @fd into @b and check it
 * (framing and CRC); *@m points into @b until the next call. Waits at most
 * @timeout_ms (< 0: for ever) for each part to arrive. 0, -ECONNRESET (the
 * peer closed), -ETIMEDOUT, -EINVAL (a malformed message) or another -errno,
 * with one line in @err.
 */
int migwire_recv(int fd, struct migwire_buf *b, struct migwire_msg *m, int timeout_ms, char *err,
		 size_t err_len);

/*
 * migwire_recv_ram - migwire_recv, except that with @gm (a destination that may
 * take pages now) a PAGES message's pages are read straight into guest RAM at
 * their place, once its header (region, first page, count, length) has been
 * checked against @gm, and its CRC is then checked over them there: no copy.
 * *@applied says so (@m->payload then holds only the 16-byte PAGES header).
 * On a checksum mismatch the pages hold what came (the caller fails the
 * migration; the guest never ran here). Same returns as migwire_recv.
 */
int migwire_recv_ram(int fd, struct migwire_buf *b, const struct gmem *gm, struct migwire_msg *m,
		     bool *applied, int timeout_ms, char *err, size_t err_len);

#endif
