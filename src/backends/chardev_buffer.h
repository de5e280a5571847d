/*
 * chardev_buffer.h — a memory-backed character backend, for tests and fuzzing:
 * input is what the owner pushes, output is kept in memory. Bounded both ways.
 */
#ifndef VMON_BACKENDS_CHARDEV_BUFFER_H
#define VMON_BACKENDS_CHARDEV_BUFFER_H

#include <stddef.h>
#include <stdint.h>

#include "base/chardev.h"

struct chardev_buffer;

/*
 * chardev_buffer_create - a backend holding up to @in_cap pending input bytes
 * and keeping up to @out_cap output bytes (later output is counted, dropped).
 * Returns NULL on allocation failure. Free it with
 * chardev_destroy(chardev_buffer_chardev(b)).
 */
struct chardev_buffer *chardev_buffer_create(size_t in_cap, size_t out_cap);

/* chardev_buffer_chardev - the generic backend handle to give a frontend. */
struct chardev *chardev_buffer_chardev(struct chardev_buffer *b);

/*
 * chardev_buffer_push - queue input bytes; returns how many fit. Calls the
 * frontend's notify (with no backend lock held) when bytes were queued.
 * Thread-safe.
 */
size_t chardev_buffer_push(struct chardev_buffer *b, const uint8_t *buf, size_t len);

/* chardev_buffer_pending - input bytes queued and not yet read by the frontend. */
size_t chardev_buffer_pending(struct chardev_buffer *b);

/* chardev_buffer_reads - how many times the frontend called read (to test pulls). */
unsigned chardev_buffer_reads(struct chardev_buffer *b);

/*
 * chardev_buffer_output - the output kept so far; *@len receives its length.
 * The pointer is valid until the next write or chardev_buffer_clear_output.
 */
const uint8_t *chardev_buffer_output(struct chardev_buffer *b, size_t *len);

/* chardev_buffer_clear_output - forget the kept output. */
void chardev_buffer_clear_output(struct chardev_buffer *b);

#endif
