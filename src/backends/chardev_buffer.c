/* chardev_buffer.c — memory-backed character backend (tests, fuzzing). */
#include "backends/chardev_buffer.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "util/compiler.h"

struct chardev_buffer {
	struct chardev cd;
	pthread_mutex_t lock;
	uint8_t *in;
	size_t in_cap, in_head, in_len; /* ring */
	uint8_t *out;
	size_t out_cap, out_len;
	uint64_t out_dropped;
	unsigned reads;
};

static struct chardev_buffer *to_buffer(struct chardev *cd)
{
	return container_of(cd, struct chardev_buffer, cd);
}

static size_t buffer_write(struct chardev *cd, const uint8_t *buf, size_t len)
{
	struct chardev_buffer *b = to_buffer(cd);
	size_t n;

	pthread_mutex_lock(&b->lock);
	n = b->out_cap - b->out_len;
	if (n > len)
		n = len;
	memcpy(b->out + b->out_len, buf, n);
	b->out_len += n;
	b->out_dropped += len - n;
	pthread_mutex_unlock(&b->lock);
	return len;
}

static size_t buffer_read(struct chardev *cd, uint8_t *buf, size_t len)
{
	struct chardev_buffer *b = to_buffer(cd);
	size_t n = 0;

	pthread_mutex_lock(&b->lock);
	b->reads++;
	while (n < len && b->in_len) {
		buf[n++] = b->in[b->in_head];
		b->in_head = (b->in_head + 1) % b->in_cap;
		b->in_len--;
	}
	pthread_mutex_unlock(&b->lock);
	return n;
}

static void buffer_destroy(struct chardev *cd)
{
	struct chardev_buffer *b = to_buffer(cd);

	pthread_mutex_destroy(&b->lock);
	free(b->in);
	free(b->out);
	free(b);
}

static const struct chardev_ops buffer_ops = {
	.write = buffer_write,
	.read = buffer_read,
	.destroy = buffer_destroy,
};

struct chardev_buffer *chardev_buffer_create(size_t in_cap, size_t out_cap)
{
	struct chardev_buffer *b = calloc(1, sizeof(*b));

	if (!b)
		return NULL;
	b->in_cap = in_cap ? in_cap : 1;
	b->out_cap = out_cap;
	b->in = malloc(b->in_cap);
	b->out = malloc(out_cap ? out_cap : 1);
	if (!b->in || !b->out) {
		free(b->in);
		free(b->out);
		free(b);
		return NULL;
	}
	pthread_mutex_init(&b->lock, NULL);
	b->cd.ops = &buffer_ops;
	return b;
}

struct chardev *chardev_buffer_chardev(struct chardev_buffer *b)
{
	return &b->cd;
}

size_t chardev_buffer_push(struct chardev_buffer *b, const uint8_t *buf, size_t len)
{
	size_t n = 0;

	pthread_mutex_lock(&b->lock);
	while (n < len && b->in_len < b->in_cap) {
		b->in[(b->in_head + b->in_len) % b->in_cap] = buf[n++];
		b->in_len++;
	}
	pthread_mutex_unlock(&b->lock);
	if (n)
		chardev_notify(&b->cd);
	return n;
}

size_t chardev_buffer_pending(struct chardev_buffer *b)
{
	size_t n;

	pthread_mutex_lock(&b->lock);
	n = b->in_len;
	pthread_mutex_unlock(&b->lock);
	return n;
}

unsigned chardev_buffer_reads(struct chardev_buffer *b)
{
	unsigned n;

	pthread_mutex_lock(&b->lock);
	n = b->reads;
	pthread_mutex_unlock(&b->lock);
	return n;
}

const uint8_t *chardev_buffer_output(struct chardev_buffer *b, size_t *len)
{
	pthread_mutex_lock(&b->lock);
	*len = b->out_len;
	pthread_mutex_unlock(&b->lock);
	return b->out;
}

void chardev_buffer_clear_output(struct chardev_buffer *b)
{
	pthread_mutex_lock(&b->lock);
	b->out_len = 0;
	pthread_mutex_unlock(&b->lock);
}
