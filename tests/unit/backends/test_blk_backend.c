/*
 * test_blk_backend.c — the raw-image block backend, both engines (io_uring
 * and worker threads) against temporary files: data round trips, flush
 * ordering, discard and write-zeroes contents, refusals, close with I/O in
 * flight, open errors.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/loop.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "backends/blk/blk_backend.h"
#include "backends/blk/blk_engine.h"
#include "harness.h"
#include "util/compiler.h"
#include "base/evloop.h"

#define IMG_BYTES (4u << 20)

struct done {
	int calls;
	int result;
	int order; /* completion sequence number */
};

static int completion_seq;

static void on_complete(struct blk_io *io, int result)
{
	struct done *d = io->opaque;

	d->calls++;
	d->result = result;
	d->order = completion_seq++;
}

static uint8_t pattern(uint64_t off)
{
	return (uint8_t)(off * 7 + (off >> 9) + 1);
}

/* A temporary image in @dir filled with pattern(); returns its path (free it) and removes nothing.
 */
static char *make_image(const char *dir, uint64_t len)
{
	char *path;
	uint8_t *buf;
	int fd;

	if (asprintf(&path, "%s/vmon-blk-XXXXXX", dir) < 0)
		return NULL;
	fd = mkstemp(path);
	if (fd < 0) {
		free(path);
		return NULL;
	}
	buf = malloc(len);
	for (uint64_t i = 0; i < len; i++)
		buf[i] = pattern(i);
	if (pwrite(fd, buf, len, 0) != (ssize_t)len) {
		free(buf);
		close(fd);
		unlink(path);
		free(path);
		return NULL;
	}
	free(buf);
	close(fd);
	return path;
}

/* Open @path with @engine, or SKIP when that engine cannot run here. */
static struct blk_backend *open_engine(const char *path, bool ro, enum blk_engine_kind engine)
{
	struct blk_backend *b;
	char err[256];
	int ret = blk_backend_open_engine(&b, path, ro, NULL, engine, err, sizeof(err));

	if (ret < 0 && engine == BLK_ENGINE_URING) {
		printf("# %s\n", err);
		unlink(path);
		free((void *)path); /* the caller's, but SKIP does not return to it */
		SKIP("io_uring unavailable on this host");
	}
	if (ret < 0)
		printf("# %s\n", err);
	REQUIRE(ret == 0);
	return b;
}

/* Drive completions until @d has been called, for at most 10 s. */
static void wait_for(struct blk_backend *b, const int *calls, int target)
{
	time_t start = time(NULL);

	while (*calls < target) {
		struct pollfd p = { .fd = blk_backend_event_fd(b), .events = POLLIN };

		poll(&p, 1, 200);
		blk_backend_poll(b);
		REQUIRE(time(NULL) - start < 10);
	}
}

/* Submit one request and wait for it; returns its result. */
static int do_io(struct blk_backend *b, enum blk_op op, uint64_t off, uint64_t len,
		 struct iovec *iov, unsigned iovcnt)
{
	struct done d = { 0 };
	struct blk_io io = { .op = op,
			     .offset_bytes = off,
			     .len_bytes = len,
			     .iov = iov,
			     .iovcnt = iovcnt,
			     .complete = on_complete,
			     .opaque = &d };
	int ret = blk_backend_submit(b, &io);

	if (ret < 0)
		return ret;
	wait_for(b, &d.calls, 1);
	CHECK_EQ(d.calls, 1);
	return d.result;
}

/* True when [off, off+len) of the file at @path holds zeroes (@zero) or pattern(). */
static bool file_range_is(const char *path, uint64_t off, uint64_t len, bool zero)
{
	uint8_t *buf = malloc(len);
	int fd = open(path, O_RDONLY);
	bool ok = fd >= 0 && pread(fd, buf, len, (off_t)off) == (ssize_t)len;

	for (uint64_t i = 0; ok && i < len; i++)
		ok = buf[i] == (zero ? 0 : pattern(off + i));
	if (fd >= 0)
		close(fd);
	free(buf);
	return ok;
}

static void round_trip(enum blk_engine_kind engine)
{
	char *path = make_image("/tmp", IMG_BYTES);
	struct blk_backend *b;
	uint8_t w0[100], w1[3000], w2[1001], r0[1], r1[4099], r2[1];
	struct iovec wv[] = {
		{ w0, sizeof(w0) }, { NULL, 0 }, { w1, sizeof(w1) }, { w2, sizeof(w2) }
	};
	struct iovec rv[] = { { r0, sizeof(r0) }, { r1, sizeof(r1) }, { r2, sizeof(r2) } };
	const uint64_t off = 777, len = 4101;
	uint8_t expect[4101], got[4101];
	int fd;

	REQUIRE(path);
	b = open_engine(path, false, engine);
	CHECK_EQ(blk_backend_size_bytes(b), IMG_BYTES);
	for (unsigned i = 0; i < len; i++)
		expect[i] = (uint8_t)(i * 13 + 5);
	memcpy(w0, expect, 100);
	memcpy(w1, expect + 100, 3000);
	memcpy(w2, expect + 3100, 1001);
	CHECK_EQ(do_io(b, BLK_OP_WRITE, off, len, wv, 4), len);
	CHECK_EQ(do_io(b, BLK_OP_READ, off, len, rv, 3), len);
	memcpy(got, r0, 1);
	memcpy(got + 1, r1, 4099);
	memcpy(got + 4100, r2, 1);
	CHECK(memcmp(got, expect, len) == 0);
	/* The neighbours are untouched and the file holds what was written. */
	CHECK(file_range_is(path, 0, off, false));
	CHECK(file_range_is(path, off + len, 8192, false));
	fd = open(path, O_RDONLY);
	CHECK(pread(fd, got, len, off) == (ssize_t)len);
	CHECK(memcmp(got, expect, len) == 0);
	close(fd);
	/* A read ending exactly at the end of the image is fine. */
	CHECK_EQ(do_io(b, BLK_OP_READ, IMG_BYTES - 4099, 4099, &rv[1], 1), 4099);
	CHECK(r1[4098] == pattern(IMG_BYTES - 1));
	blk_backend_close(b);
	unlink(path);
	free(path);
}

TEST(blk_backend_round_trip_uring)
{
	round_trip(BLK_ENGINE_URING);
}
TEST(blk_backend_round_trip_threads)
{
	round_trip(BLK_ENGINE_THREADS);
}

/* Many writes then a FLUSH submitted at once: the flush completes after all of them. */
static void flush_after_writes(enum blk_engine_kind engine)
{
	enum { N = 100 };
	char *path = make_image("/tmp", IMG_BYTES);
	static uint8_t data[N][4096];
	struct iovec iov[N];
	struct blk_io io[N + 1];
	struct done d[N + 1];
	struct blk_backend *b;
	int calls = 0;

	REQUIRE(path);
	b = open_engine(path, false, engine);
	completion_seq = 0;
	memset(d, 0, sizeof(d));
	for (int i = 0; i <= N; i++) {
		if (i < N) {
			memset(data[i], i, sizeof(data[i]));
			iov[i] = (struct iovec){ data[i], sizeof(data[i]) };
		}
		io[i] = (struct blk_io){ .op = i < N ? BLK_OP_WRITE : BLK_OP_FLUSH,
					 .offset_bytes = (uint64_t)i * 8192 + 100,
					 .len_bytes = i < N ? 4096 : 0,
					 .iov = i < N ? &iov[i] : NULL,
					 .iovcnt = i < N ? 1 : 0,
					 .complete = on_complete,
					 .opaque = &d[i] };
		REQUIRE(blk_backend_submit(b, &io[i]) == 0);
	}
	while (calls < N + 1) {
		wait_for(b, &d[N].calls, 1);
		calls = 0;
		for (int i = 0; i <= N; i++)
			calls += d[i].calls;
	}
	CHECK_EQ(d[N].result, 0);
	CHECK_EQ(d[N].order, N);
	for (int i = 0; i < N; i++) {
		CHECK_EQ(d[i].calls, 1);
		CHECK_EQ(d[i].result, 4096);
	}
	blk_backend_close(b);
	unlink(path);
	free(path);
}

TEST(blk_backend_flush_waits_for_writes_uring)
{
	flush_after_writes(BLK_ENGINE_URING);
}
TEST(blk_backend_flush_waits_for_writes_threads)
{
	flush_after_writes(BLK_ENGINE_THREADS);
}

static void discard(enum blk_engine_kind engine)
{
	char *path = make_image("/tmp", IMG_BYTES);
	struct blk_backend *b;
	struct stat st;

	REQUIRE(path);
	b = open_engine(path, false, engine);
	CHECK_EQ(do_io(b, BLK_OP_DISCARD, 65536, 131072, NULL, 0), 0);
	/* ext4 and tmpfs punch holes that read back as zeroes; the size stays. */
	CHECK(file_range_is(path, 65536, 131072, true));
	CHECK(file_range_is(path, 0, 65536, false));
	CHECK(file_range_is(path, 65536 + 131072, 4096, false));
	CHECK(stat(path, &st) == 0 && st.st_size == IMG_BYTES);
	CHECK(!b->no_punch_hole);
	blk_backend_close(b);
	unlink(path);
	free(path);
}

TEST(blk_backend_discard_punches_hole_uring)
{
	discard(BLK_ENGINE_URING);
}
TEST(blk_backend_discard_punches_hole_threads)
{
	discard(BLK_ENGINE_THREADS);
}

/*
 * Unaligned write-zeroes over more than one zero-write batch: ext4 (/tmp) does
 * it with FALLOC_FL_ZERO_RANGE, tmpfs (/dev/shm) has none and takes the
 * fallback that writes zero buffers.
 */
static void write_zeroes(enum blk_engine_kind engine, const char *dir)
{
	const uint64_t off = 12345, len = (3u << 20) + 777;
	char *path = make_image(dir, IMG_BYTES);
	struct blk_backend *b;
	struct stat st;

	if (!path)
		SKIP("cannot create an image in that directory");
	b = open_engine(path, false, engine);
	CHECK_EQ(do_io(b, BLK_OP_WRITE_ZEROES, off, len, NULL, 0), 0);
	CHECK(file_range_is(path, off, len, true));
	CHECK(file_range_is(path, 0, off, false));
	CHECK(file_range_is(path, off + len, IMG_BYTES - off - len, false));
	CHECK(stat(path, &st) == 0 && st.st_size == IMG_BYTES);
	/* The path the test means to cover was the one taken. */
	CHECK_EQ(b->no_zero_range, !strcmp(dir, "/dev/shm"));
	/* Twice: the second one uses whichever method the first settled on. */
	CHECK_EQ(do_io(b, BLK_OP_WRITE_ZEROES, 1, 2, NULL, 0), 0);
	CHECK(file_range_is(path, 0, 1, false));
	CHECK(file_range_is(path, 1, 2, true));
	CHECK(file_range_is(path, 3, 100, false));
	blk_backend_close(b);
	unlink(path);
	free(path);
}

TEST(blk_backend_write_zeroes_uring)
{
	write_zeroes(BLK_ENGINE_URING, "/tmp");
}
TEST(blk_backend_write_zeroes_threads)
{
	write_zeroes(BLK_ENGINE_THREADS, "/tmp");
}
TEST(blk_backend_write_zeroes_fallback_uring)
{
	write_zeroes(BLK_ENGINE_URING, "/dev/shm");
}
TEST(blk_backend_write_zeroes_fallback_threads)
{
	write_zeroes(BLK_ENGINE_THREADS, "/dev/shm");
}

static void read_only(enum blk_engine_kind engine)
{
	char *path = make_image("/tmp", IMG_BYTES);
	struct blk_backend *b;
	uint8_t buf[512] = { 0 };
	struct iovec iov = { buf, sizeof(buf) };

	REQUIRE(path);
	b = open_engine(path, true, engine);
	CHECK(blk_backend_read_only(b));
	CHECK_EQ(do_io(b, BLK_OP_WRITE, 0, 512, &iov, 1), -EROFS);
	CHECK_EQ(do_io(b, BLK_OP_DISCARD, 0, 512, NULL, 0), -EROFS);
	CHECK_EQ(do_io(b, BLK_OP_WRITE_ZEROES, 0, 512, NULL, 0), -EROFS);
	CHECK_EQ(do_io(b, BLK_OP_READ, 512, 512, &iov, 1), 512);
	CHECK(buf[0] == pattern(512));
	CHECK_EQ(do_io(b, BLK_OP_FLUSH, 0, 0, NULL, 0), 0);
	blk_backend_close(b);
	CHECK(file_range_is(path, 0, IMG_BYTES, false));
	unlink(path);
	free(path);
}

TEST(blk_backend_read_only_refuses_writes_uring)
{
	read_only(BLK_ENGINE_URING);
}
TEST(blk_backend_read_only_refuses_writes_threads)
{
	read_only(BLK_ENGINE_THREADS);
}

static void refusals(enum blk_engine_kind engine)
{
	char *path = make_image("/tmp", IMG_BYTES);
	struct blk_backend *b;
	uint8_t buf[512];
	struct iovec iov = { buf, sizeof(buf) };
	struct iovec two[2] = { { buf, 256 }, { buf + 256, 256 } };
	struct done d = { 0 };
	struct blk_io io = { .op = BLK_OP_READ,
			     .offset_bytes = 0,
			     .len_bytes = 512,
			     .iov = &iov,
			     .iovcnt = 1,
			     .complete = NULL,
			     .opaque = &d };

	REQUIRE(path);
	b = open_engine(path, false, engine);
	/* Past the end, straddling it, and wrapping around 2^64. */
	CHECK_EQ(do_io(b, BLK_OP_READ, IMG_BYTES, 512, &iov, 1), -EINVAL);
	CHECK_EQ(do_io(b, BLK_OP_READ, IMG_BYTES - 256, 512, &iov, 1), -EINVAL);
	CHECK_EQ(do_io(b, BLK_OP_WRITE, IMG_BYTES - 256, 512, &iov, 1), -EINVAL);
	CHECK_EQ(do_io(b, BLK_OP_READ, ~0ull - 100, 512, &iov, 1), -EINVAL);
	CHECK_EQ(do_io(b, BLK_OP_DISCARD, IMG_BYTES - 4096, 8192, NULL, 0), -EINVAL);
	CHECK_EQ(do_io(b, BLK_OP_WRITE_ZEROES, 4096, ~0ull, NULL, 0), -EINVAL);
	/* Length not matching the segments, zero length, no segments, bad op. */
	CHECK_EQ(do_io(b, BLK_OP_READ, 0, 513, &iov, 1), -EINVAL);
	CHECK_EQ(do_io(b, BLK_OP_READ, 0, 256, two, 2), -EINVAL);
	CHECK_EQ(do_io(b, BLK_OP_READ, 0, 0, &iov, 0), -EINVAL);
	CHECK_EQ(do_io(b, BLK_OP_READ, 0, 512, NULL, 0), -EINVAL);
	CHECK_EQ(do_io(b, BLK_OP_DISCARD, 0, 0, NULL, 0), -EINVAL);
	CHECK_EQ(do_io(b, (enum blk_op)42, 0, 512, &iov, 1), -EINVAL);
	/* No completion callback. */
	CHECK_EQ(blk_backend_submit(b, &io), -EINVAL);
	/* Nothing was left behind: a valid request still works. */
	CHECK_EQ(do_io(b, BLK_OP_READ, 0, 512, two, 2), 512);
	CHECK_EQ(d.calls, 0);
	blk_backend_close(b);
	unlink(path);
	free(path);
}

TEST(blk_backend_refuses_bad_requests_uring)
{
	refusals(BLK_ENGINE_URING);
}
TEST(blk_backend_refuses_bad_requests_threads)
{
	refusals(BLK_ENGINE_THREADS);
}

/* Close while hundreds of requests are queued or running: each completes exactly once. */
static void close_inflight(enum blk_engine_kind engine)
{
	enum { N = 300 };
	char *path = make_image("/tmp", IMG_BYTES);
	static uint8_t data[N][8192];
	struct iovec iov[N];
	struct blk_io io[N];
	struct done d[N];
	struct blk_backend *b;
	int ok = 0, cancelled = 0;

	REQUIRE(path);
	b = open_engine(path, false, engine);
	memset(d, 0, sizeof(d));
	for (int i = 0; i < N; i++) {
		enum blk_op op = i % 50 == 49 ? BLK_OP_FLUSH : (i & 1) ? BLK_OP_READ : BLK_OP_WRITE;

		iov[i] = (struct iovec){ data[i], sizeof(data[i]) };
		io[i] = (struct blk_io){ .op = op,
					 .offset_bytes = (uint64_t)i * 8192,
					 .len_bytes = op == BLK_OP_FLUSH ? 0 : 8192,
					 .iov = &iov[i],
					 .iovcnt = 1,
					 .complete = on_complete,
					 .opaque = &d[i] };
		REQUIRE(blk_backend_submit(b, &io[i]) == 0);
	}
	blk_backend_close(b);
	for (int i = 0; i < N; i++) {
		CHECK_EQ(d[i].calls, 1);
		if (d[i].result == -ECANCELED)
			cancelled++;
		else if (d[i].result == (io[i].op == BLK_OP_FLUSH ? 0 : 8192))
			ok++;
	}
	CHECK_EQ(ok + cancelled, N);
	printf("# %d completed, %d cancelled\n", ok, cancelled);
	unlink(path);
	free(path);
}

TEST(blk_backend_close_with_inflight_uring)
{
	close_inflight(BLK_ENGINE_URING);
}
TEST(blk_backend_close_with_inflight_threads)
{
	close_inflight(BLK_ENGINE_THREADS);
}

/*
 * Open @path on loop @el with @engine: 0, or 1 when io_uring is unavailable (the caller skips);
 * any other failure fails the test.
 */
/* Open @path on the loop @el with @engine; where io_uring is unavailable, free @el and @path and
 * skip the test (SKIP leaves it at once). */
static void open_on_loop(struct blk_backend **b, char *path, struct evloop *el,
			 enum blk_engine_kind engine)
{
	char err[256];
	int ret = blk_backend_open_engine(b, path, false, el, engine, err, sizeof(err));

	if (ret < 0 && engine == BLK_ENGINE_URING) {
		evloop_destroy(el);
		unlink(path);
		free(path);
		SKIP("io_uring unavailable on this host");
	}
	REQUIRE(ret == 0);
}

/* Completions arrive through the event loop, on the loop's thread. */
struct loop_ctx {
	struct evloop *el;
	pthread_t thread;
	int calls;
	int result;
};

static void on_loop_complete(struct blk_io *io, int result)
{
	struct loop_ctx *c = io->opaque;

	c->calls++;
	c->result = result;
	c->thread = pthread_self();
	evloop_stop(c->el);
}

static void completes_on_loop(enum blk_engine_kind engine)
{
	char *path = make_image("/tmp", IMG_BYTES);
	struct loop_ctx c = { 0 };
	struct blk_backend *b;
	uint8_t buf[4096];
	struct iovec iov = { buf, sizeof(buf) };
	struct blk_io io = { .op = BLK_OP_READ,
			     .offset_bytes = 4096,
			     .len_bytes = 4096,
			     .iov = &iov,
			     .iovcnt = 1,
			     .complete = on_loop_complete,
			     .opaque = &c };

	REQUIRE(path);
	c.el = evloop_create();
	REQUIRE(c.el);
	open_on_loop(&b, path, c.el, engine);
	REQUIRE(blk_backend_submit(b, &io) == 0);
	CHECK(evloop_run(c.el) == 0);
	CHECK_EQ(c.calls, 1);
	CHECK_EQ(c.result, 4096);
	CHECK(pthread_equal(c.thread, pthread_self()));
	CHECK(buf[0] == pattern(4096));
	blk_backend_close(b);
	evloop_destroy(c.el);
	unlink(path);
	free(path);
}

/*
 * A reset's settle, with the loop not running (its thread is the one resetting): every read has
 * filled its buffer when settle returns, no callback has run, and the loop runs them all after.
 */
struct settle_ctx {
	struct evloop *el;
	int calls, ok;
};

static void on_settled_complete(struct blk_io *io, int result)
{
	struct settle_ctx *c = io->opaque;

	c->ok += result == (int)io->len_bytes;
	if (++c->calls == 8)
		evloop_stop(c->el);
}

static void settle_then_loop(enum blk_engine_kind engine)
{
	enum { N = 8 };
	char *path = make_image("/tmp", IMG_BYTES);
	static uint8_t buf[N][4096];
	struct settle_ctx c = { 0 };
	struct iovec iov[N];
	struct blk_io io[N];
	struct blk_backend *b;
	int filled = 0;

	REQUIRE(path);
	c.el = evloop_create();
	REQUIRE(c.el);
	open_on_loop(&b, path, c.el, engine);
	memset(buf, 0, sizeof(buf));
	for (int i = 0; i < N; i++) {
		iov[i] = (struct iovec){ buf[i], sizeof(buf[i]) };
		io[i] = (struct blk_io){ .op = BLK_OP_READ,
					 .offset_bytes = (uint64_t)i * 65536,
					 .len_bytes = 4096,
					 .iov = &iov[i],
					 .iovcnt = 1,
					 .complete = on_settled_complete,
					 .opaque = &c };
		REQUIRE(blk_backend_submit(b, &io[i]) == 0);
	}
	blk_backend_settle(b);
	CHECK_EQ(c.calls, 0);
	for (int i = 0; i < N; i++)
		filled += buf[i][0] == pattern((uint64_t)i * 65536) &&
			  buf[i][4095] == pattern((uint64_t)i * 65536 + 4095);
	CHECK_EQ(filled, N);
	CHECK(evloop_run(c.el) == 0);
	CHECK_EQ(c.calls, N);
	CHECK_EQ(c.ok, N);
	blk_backend_close(b);
	evloop_destroy(c.el);
	unlink(path);
	free(path);
}

TEST(blk_backend_settle_runs_no_callback_uring)
{
	settle_then_loop(BLK_ENGINE_URING);
}
TEST(blk_backend_settle_runs_no_callback_threads)
{
	settle_then_loop(BLK_ENGINE_THREADS);
}

TEST(blk_backend_completes_on_loop_uring)
{
	completes_on_loop(BLK_ENGINE_URING);
}
TEST(blk_backend_completes_on_loop_threads)
{
	completes_on_loop(BLK_ENGINE_THREADS);
}

TEST(blk_backend_engine_env_forces_threads)
{
	char *path = make_image("/tmp", 4096);
	struct blk_backend *b;
	char err[256];

	REQUIRE(path);
	setenv("VMON_BLK_ENGINE", "threads", 1);
	CHECK(blk_backend_open(&b, path, true, NULL, err, sizeof(err)) == 0);
	unsetenv("VMON_BLK_ENGINE");
	CHECK(!strcmp(blk_backend_engine_name(b), "threads"));
	blk_backend_close(b);
	unlink(path);
	free(path);
}

TEST(blk_backend_open_errors)
{
	char *path = make_image("/tmp", 4096);
	struct blk_backend *b = (struct blk_backend *)1;
	char err[256];

	REQUIRE(path);
	CHECK_EQ(blk_backend_open(&b, "/tmp/vmon-no-such-image", false, NULL, err, sizeof(err)),
		 -ENOENT);
	CHECK(b == NULL);
	CHECK(strstr(err, "does not exist"));
	CHECK_EQ(blk_backend_open(&b, "/tmp", true, NULL, err, sizeof(err)), -EISDIR);
	CHECK(strstr(err, "directory"));
	CHECK_EQ(blk_backend_open(&b, "/tmp", false, NULL, err, sizeof(err)), -EISDIR);
	CHECK(strstr(err, "directory"));
	CHECK_EQ(blk_backend_open(&b, "/dev/null", true, NULL, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "not a regular file or block device"));
	unlink(path);
	free(path);
}

/* One writer or many readers per image: the OFD locks conflict between open files, in one process
 * too. */
TEST(blk_backend_one_writer_or_many_readers)
{
	char *path = make_image("/tmp", 4096);
	struct blk_backend *w, *r1, *r2, *x;
	char err[256];

	REQUIRE(path);
	REQUIRE(blk_backend_open(&w, path, false, NULL, err, sizeof(err)) == 0);
	CHECK_EQ(blk_backend_open(&x, path, false, NULL, err, sizeof(err)), -EBUSY);
	CHECK(strstr(err, "is in use by another process: a read-write drive needs the image"));
	CHECK_EQ(blk_backend_open(&x, path, true, NULL, err, sizeof(err)), -EBUSY);
	CHECK(strstr(err, "is open read-write by another process"));
	blk_backend_close(w);
	REQUIRE(blk_backend_open(&r1, path, true, NULL, err, sizeof(err)) == 0);
	CHECK_EQ(blk_backend_open(&r2, path, true, NULL, err, sizeof(err)), 0);
	CHECK_EQ(blk_backend_open(&x, path, false, NULL, err, sizeof(err)), -EBUSY);
	blk_backend_close(r1);
	blk_backend_close(r2);
	/* the last close ends the locks */
	CHECK_EQ(blk_backend_open(&w, path, false, NULL, err, sizeof(err)), 0);
	blk_backend_close(w);
	unlink(path);
	free(path);
}

/*
 * Permission errors, checked as an unprivileged user: root ignores file modes,
 * so when running as root a child drops to uid/gid 65534 first.
 */
static int open_as_nobody(const char *path, bool ro, char *err, size_t err_len)
{
	int pfd[2], status, ret = 0;
	pid_t pid;

	if (geteuid() != 0) {
		struct blk_backend *b;

		ret = blk_backend_open(&b, path, ro, NULL, err, err_len);
		if (ret == 0)
			blk_backend_close(b);
		return ret;
	}
	if (pipe(pfd) < 0)
		return 1;
	pid = fork();
	if (pid == 0) {
		struct blk_backend *b = NULL;

		close(pfd[0]);
		if (setgid(65534) < 0 || setuid(65534) < 0) {
			ret = 1;
		} else {
			ret = blk_backend_open(&b, path, ro, NULL, err, err_len);
		}
		if (write(pfd[1], &ret, sizeof(ret)) != sizeof(ret) ||
		    write(pfd[1], err, err_len) != (ssize_t)err_len)
			_exit(1);
		_exit(0);
	}
	close(pfd[1]);
	if (read(pfd[0], &ret, sizeof(ret)) != sizeof(ret) ||
	    read(pfd[0], err, err_len) != (ssize_t)err_len)
		ret = 1;
	close(pfd[0]);
	waitpid(pid, &status, 0);
	return ret;
}

TEST(blk_backend_open_permission_errors)
{
	char *path = make_image("/tmp", 4096);
	char err[256] = "";

	REQUIRE(path);
	/* Readable by nobody but not writable: attaching it read-write says so. */
	REQUIRE(chmod(path, 0444) == 0);
	CHECK_EQ(open_as_nobody(path, false, err, sizeof(err)), -EACCES);
	printf("# %s\n", err);
	CHECK(strstr(err, "not writable"));
	CHECK_EQ(open_as_nobody(path, true, err, sizeof(err)), 0);
	/* Not readable at all. */
	REQUIRE(chmod(path, 0600) == 0);
	CHECK_EQ(open_as_nobody(path, true, err, sizeof(err)), -EACCES);
	printf("# %s\n", err);
	CHECK(strstr(err, "permission denied"));
	unlink(path);
	free(path);
}

/* The image shrinks under the backend: the short read is continued, hits end of file, and fails. */
static void shrunk_image(enum blk_engine_kind engine)
{
	char *path = make_image("/tmp", IMG_BYTES);
	struct blk_backend *b;
	static uint8_t buf[8192];
	struct iovec iov[2] = { { buf, 4096 }, { buf + 4096, 4096 } };

	REQUIRE(path);
	b = open_engine(path, false, engine);
	REQUIRE(truncate(path, (1u << 20) + 100) == 0);
	CHECK_EQ(do_io(b, BLK_OP_READ, 1u << 20, 8192, iov, 2), -EIO);
	/* What lies before the new end still reads fine. */
	CHECK_EQ(do_io(b, BLK_OP_READ, (1u << 20) - 8092, 8192, iov, 2), 8192);
	CHECK(buf[8191] == pattern((1u << 20) + 99));
	blk_backend_close(b);
	unlink(path);
	free(path);
}

TEST(blk_backend_shrunk_image_read_fails_uring)
{
	shrunk_image(BLK_ENGINE_URING);
}
TEST(blk_backend_shrunk_image_read_fails_threads)
{
	shrunk_image(BLK_ENGINE_THREADS);
}

/*
 * Model check: batches of random requests on disjoint ranges, with random
 * segmentation, all in flight together, mirrored on a shadow copy; after each
 * batch the whole image must equal the shadow.
 */
static void random_batches(enum blk_engine_kind engine)
{
	enum { IMG = 1u << 20, BATCH = 24, ROUNDS = 40, SLOT = IMG / BATCH };
	char *path = make_image("/tmp", IMG);
	static uint8_t shadow[IMG], check[IMG], bufs[BATCH][SLOT];
	struct iovec iov[BATCH][8];
	struct blk_io io[BATCH];
	struct done d[BATCH];
	struct blk_backend *b;
	unsigned seed = 12345;

	REQUIRE(path);
	for (unsigned i = 0; i < IMG; i++)
		shadow[i] = pattern(i);
	b = open_engine(path, false, engine);
	for (int round = 0; round < ROUNDS; round++) {
		int calls = 0;

		memset(d, 0, sizeof(d));
		for (int i = 0; i < BATCH; i++) {
			uint64_t off = (uint64_t)i * SLOT + rand_r(&seed) % (SLOT / 2);
			uint64_t len = 1 + rand_r(&seed) % (SLOT / 2 - 1);
			int kind = rand_r(&seed) % 8;
			unsigned nseg = 1 + rand_r(&seed) % 8;
			uint64_t left = len, pos = 0;

			io[i] = (struct blk_io){ .offset_bytes = off,
						 .len_bytes = len,
						 .complete = on_complete,
						 .opaque = &d[i] };
			if (kind == 7) {
				io[i].op = BLK_OP_WRITE_ZEROES;
				memset(shadow + off, 0, len);
				continue;
			}
			if (kind == 6) {
				io[i].op = BLK_OP_FLUSH;
				continue;
			}
			io[i].op = kind < 3 ? BLK_OP_READ : BLK_OP_WRITE;
			for (unsigned k = 0; k < len; k++)
				bufs[i][k] = (uint8_t)rand_r(&seed);
			if (io[i].op == BLK_OP_WRITE)
				memcpy(shadow + off, bufs[i], len);
			io[i].iov = iov[i];
			for (unsigned s = 0; s < nseg && left; s++) {
				uint64_t n = s == nseg - 1 ? left : rand_r(&seed) % (left + 1);

				iov[i][s] = (struct iovec){ bufs[i] + pos, n };
				pos += n;
				left -= n;
				io[i].iovcnt = s + 1;
			}
			if (left) {
				iov[i][io[i].iovcnt - 1].iov_len += left;
			}
		}
		for (int i = 0; i < BATCH; i++)
			REQUIRE(blk_backend_submit(b, &io[i]) == 0);
		while (calls < BATCH) {
			struct pollfd p = { .fd = blk_backend_event_fd(b), .events = POLLIN };

			poll(&p, 1, 200);
			calls += blk_backend_poll(b);
		}
		for (int i = 0; i < BATCH; i++) {
			CHECK_EQ(d[i].calls, 1);
			if (io[i].op == BLK_OP_READ || io[i].op == BLK_OP_WRITE)
				CHECK_EQ(d[i].result, io[i].len_bytes);
			else
				CHECK_EQ(d[i].result, 0);
			if (io[i].op == BLK_OP_READ)
				CHECK(memcmp(bufs[i], shadow + io[i].offset_bytes,
					     io[i].len_bytes) == 0);
		}
	}
	blk_backend_close(b);
	{
		int fd = open(path, O_RDONLY);

		CHECK(pread(fd, check, IMG, 0) == IMG);
		CHECK(memcmp(check, shadow, IMG) == 0);
		close(fd);
	}
	unlink(path);
	free(path);
}

TEST(blk_backend_random_batches_match_model_uring)
{
	random_batches(BLK_ENGINE_URING);
}
TEST(blk_backend_random_batches_match_model_threads)
{
	random_batches(BLK_ENGINE_THREADS);
}

/*
 * With io_uring_setup refused by a seccomp filter (as a sandboxed VMM would
 * see it), the automatic choice falls back to threads and works, and an
 * explicit io_uring request fails with a clear message. Runs in a child.
 */
static int child_without_uring(const char *path)
{
	struct sock_filter filter[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = ARRAY_SIZE(filter), .filter = filter };
	struct blk_backend *b;
	uint8_t buf[512];
	struct iovec iov = { buf, sizeof(buf) };
	char err[256];

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0)
		return 10;
	if (blk_backend_open_engine(&b, path, false, NULL, BLK_ENGINE_URING, err, sizeof(err)) !=
	    -ENOSYS)
		return 11;
	if (!strstr(err, "io_uring is not available"))
		return 12;
	if (blk_backend_open(&b, path, false, NULL, err, sizeof(err)) != 0)
		return 13;
	if (strcmp(blk_backend_engine_name(b), "threads"))
		return 14;
	if (do_io(b, BLK_OP_READ, 1024, 512, &iov, 1) != 512 || buf[0] != pattern(1024))
		return 15;
	blk_backend_close(b);
	return 0;
}

TEST(blk_backend_falls_back_without_io_uring)
{
	char *path = make_image("/tmp", 4096);
	int status = -1;
	pid_t pid;

	REQUIRE(path);
	pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0)
		_exit(child_without_uring(path));
	waitpid(pid, &status, 0);
	CHECK(WIFEXITED(status));
	CHECK_EQ(WEXITSTATUS(status), 0);
	unlink(path);
	free(path);
}

/* Attach @path to a free loop device with autoclear; its fd, or -errno. */
static int loop_attach(const char *path, char *dev, size_t dev_len)
{
	struct loop_config cfg = { 0 };
	int ctl, nr, fd, file_fd;

	ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
	if (ctl < 0)
		return -errno;
	nr = ioctl(ctl, LOOP_CTL_GET_FREE);
	close(ctl);
	if (nr < 0)
		return -errno;
	snprintf(dev, dev_len, "/dev/loop%d", nr);
	fd = open(dev, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	file_fd = open(path, O_RDWR | O_CLOEXEC);
	if (file_fd < 0) {
		close(fd);
		return -errno;
	}
	cfg.fd = (unsigned)file_fd;
	cfg.info.lo_flags = LO_FLAGS_AUTOCLEAR;
	if (ioctl(fd, LOOP_CONFIGURE, &cfg) < 0) {
		int e = -errno;

		close(file_fd);
		close(fd);
		return e;
	}
	close(file_fd);
	return fd;
}

/* The same backend on a block device (a loop device over a temporary file). */
static void block_device(enum blk_engine_kind engine)
{
	char *path = make_image("/tmp", IMG_BYTES);
	char dev[64];
	struct blk_backend *b;
	static uint8_t buf[8192];
	struct iovec iov = { buf, sizeof(buf) };
	int loop_fd;

	REQUIRE(path);
	loop_fd = loop_attach(path, dev, sizeof(dev));
	if (loop_fd < 0) {
		unlink(path);
		free(path);
		SKIP("cannot attach a loop device here (needs root and /dev/loop-control)");
	}
	b = open_engine(dev, false, engine);
	CHECK_EQ(blk_backend_size_bytes(b), IMG_BYTES);
	memset(buf, 0x5a, sizeof(buf));
	CHECK_EQ(do_io(b, BLK_OP_WRITE, 512 * 7, 8192, &iov, 1), 8192);
	CHECK_EQ(do_io(b, BLK_OP_FLUSH, 0, 0, NULL, 0), 0);
	CHECK_EQ(do_io(b, BLK_OP_WRITE_ZEROES, 512 * 8, 4096, NULL, 0), 0);
	memset(buf, 0, sizeof(buf));
	CHECK_EQ(do_io(b, BLK_OP_READ, 512 * 7, 8192, &iov, 1), 8192);
	CHECK(buf[0] == 0x5a && buf[511] == 0x5a && buf[512] == 0 && buf[4607] == 0 &&
	      buf[4608] == 0x5a && buf[8191] == 0x5a);
	CHECK_EQ(do_io(b, BLK_OP_DISCARD, 1u << 20, 1u << 20, NULL, 0), 0);
	CHECK_EQ(do_io(b, BLK_OP_READ, IMG_BYTES - 4096, 8192, &iov, 1), -EINVAL);
	blk_backend_close(b);
	close(loop_fd); /* autoclear detaches the loop device */
	unlink(path);
	free(path);
}

TEST(blk_backend_block_device_uring)
{
	block_device(BLK_ENGINE_URING);
}
TEST(blk_backend_block_device_threads)
{
	block_device(BLK_ENGINE_THREADS);
}

/* Plugged submissions wait (io_uring) and all complete after the unplug. */
static void plugged(enum blk_engine_kind engine)
{
	enum { N = 20 };
	char *path = make_image("/tmp", IMG_BYTES);
	static uint8_t data[N][512];
	struct iovec iov[N];
	struct blk_io io[N];
	struct done d[N];
	struct blk_backend *b;
	struct pollfd p;
	int calls = 0;

	REQUIRE(path);
	b = open_engine(path, true, engine);
	memset(d, 0, sizeof(d));
	blk_backend_plug(b);
	blk_backend_plug(b); /* nested */
	for (int i = 0; i < N; i++) {
		iov[i] = (struct iovec){ data[i], sizeof(data[i]) };
		io[i] = (struct blk_io){ .op = BLK_OP_READ,
					 .offset_bytes = (uint64_t)i * 4096,
					 .len_bytes = 512,
					 .iov = &iov[i],
					 .iovcnt = 1,
					 .complete = on_complete,
					 .opaque = &d[i] };
		REQUIRE(blk_backend_submit(b, &io[i]) == 0);
	}
	blk_backend_unplug(b);
	if (engine == BLK_ENGINE_URING) {
		/* Still plugged once: nothing reached the kernel, so nothing completes. */
		p = (struct pollfd){ .fd = blk_backend_event_fd(b), .events = POLLIN };
		CHECK(poll(&p, 1, 100) == 0);
		CHECK_EQ(blk_backend_poll(b), 0);
	}
	blk_backend_unplug(b);
	while (calls < N) {
		p = (struct pollfd){ .fd = blk_backend_event_fd(b), .events = POLLIN };
		REQUIRE(poll(&p, 1, 5000) == 1);
		calls += blk_backend_poll(b);
	}
	for (int i = 0; i < N; i++) {
		CHECK_EQ(d[i].result, 512);
		CHECK(data[i][0] == pattern((uint64_t)i * 4096));
	}
	blk_backend_close(b);
	unlink(path);
	free(path);
}

TEST(blk_backend_plug_batches_uring)
{
	plugged(BLK_ENGINE_URING);
}
TEST(blk_backend_plug_batches_threads)
{
	plugged(BLK_ENGINE_THREADS);
}

/* The continuation bookkeeping used after a short transfer. */
TEST(blk_backend_short_transfer_advances_segments)
{
	uint8_t a[10], c[30];
	struct blk_io io = { .op = BLK_OP_READ, .len_bytes = 40 };
	struct blk_req *r = calloc(1, sizeof(*r) + 3 * sizeof(struct iovec));

	REQUIRE(r);
	r->io = &io;
	r->iovcnt = 3;
	r->iov[0] = (struct iovec){ a, 10 };
	r->iov[1] = (struct iovec){ NULL, 0 };
	r->iov[2] = (struct iovec){ c, 30 };
	CHECK(blk_req_advance(r, 4));
	CHECK_EQ(r->iov_first, 0);
	CHECK(r->iov[0].iov_base == a + 4 && r->iov[0].iov_len == 6);
	CHECK(blk_req_advance(r, 6));
	CHECK_EQ(r->iov_first, 2); /* the empty segment is skipped too */
	CHECK(blk_req_advance(r, 29));
	CHECK(r->iov[2].iov_base == c + 29 && r->iov[2].iov_len == 1);
	CHECK(!blk_req_advance(r, 1));
	CHECK_EQ(r->done_bytes, 40);
	free(r);
}

TEST(blk_backend_zero_iov_covers_the_rest)
{
	struct blk_io io = { .op = BLK_OP_WRITE_ZEROES, .len_bytes = (1u << 20) + 5 };
	struct blk_req *r = calloc(1, sizeof(*r) + 4 * sizeof(struct iovec));
	uint64_t total = 0;
	unsigned n;

	REQUIRE(r);
	r->io = &io;
	r->iovcnt = 4;
	r->zero_by_write = true;
	r->done_bytes = (1u << 20) - 65536 * 2 + 3;
	n = blk_req_zero_iov(r, r->iov, 4);
	for (unsigned i = 0; i < n; i++) {
		total += r->iov[i].iov_len;
		CHECK(((const uint8_t *)r->iov[i].iov_base)[r->iov[i].iov_len - 1] == 0);
	}
	CHECK_EQ(n, 3);
	CHECK_EQ(total, io.len_bytes - r->done_bytes);
	free(r);
}

/* clang-format off */
HARNESS_MAIN(
	HARNESS_T(blk_backend_round_trip_uring)
	HARNESS_T(blk_backend_round_trip_threads)
	HARNESS_T(blk_backend_flush_waits_for_writes_uring)
	HARNESS_T(blk_backend_flush_waits_for_writes_threads)
	HARNESS_T(blk_backend_discard_punches_hole_uring)
	HARNESS_T(blk_backend_discard_punches_hole_threads)
	HARNESS_T(blk_backend_write_zeroes_uring)
	HARNESS_T(blk_backend_write_zeroes_threads)
	HARNESS_T(blk_backend_write_zeroes_fallback_uring)
	HARNESS_T(blk_backend_write_zeroes_fallback_threads)
	HARNESS_T(blk_backend_read_only_refuses_writes_uring)
	HARNESS_T(blk_backend_read_only_refuses_writes_threads)
	HARNESS_T(blk_backend_refuses_bad_requests_uring)
	HARNESS_T(blk_backend_refuses_bad_requests_threads)
	HARNESS_T(blk_backend_close_with_inflight_uring)
	HARNESS_T(blk_backend_close_with_inflight_threads)
	HARNESS_T(blk_backend_completes_on_loop_uring)
	HARNESS_T(blk_backend_completes_on_loop_threads)
	HARNESS_T(blk_backend_settle_runs_no_callback_uring)
	HARNESS_T(blk_backend_settle_runs_no_callback_threads)
	HARNESS_T(blk_backend_engine_env_forces_threads)
	HARNESS_T(blk_backend_open_errors)
	HARNESS_T(blk_backend_open_permission_errors)
	HARNESS_T(blk_backend_shrunk_image_read_fails_uring)
	HARNESS_T(blk_backend_shrunk_image_read_fails_threads)
	HARNESS_T(blk_backend_random_batches_match_model_uring)
	HARNESS_T(blk_backend_random_batches_match_model_threads)
	HARNESS_T(blk_backend_falls_back_without_io_uring)
	HARNESS_T(blk_backend_block_device_uring)
	HARNESS_T(blk_backend_block_device_threads)
	HARNESS_T(blk_backend_plug_batches_uring)
	HARNESS_T(blk_backend_plug_batches_threads)
	HARNESS_T(blk_backend_short_transfer_advances_segments)
	HARNESS_T(blk_backend_zero_iov_covers_the_rest)
	HARNESS_T(blk_backend_one_writer_or_many_readers)
)
/* clang-format on */
