/* blk_backend.c — raw-image block backend: opening, request checks, ordering and completion
 * delivery. */
#include "backends/blk/blk_backend.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fs.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backends/blk/blk_engine.h"
#include "config.h"
#include "util/compiler.h"
#include "util/filelock.h"
#include "util/log.h"
#include "base/evloop.h"

/* Segments a zero-writing WRITE_ZEROES request uses per system call. */
#define BLK_ZERO_SEGS 16

void blk_engine_signal(struct blk_backend *b)
{
	uint64_t one = 1;

	/* EAGAIN only when the counter is saturated, i.e. already readable. */
	if (write(b->event_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_error("blk: eventfd write: %s", strerror(errno));
}

/* Turn an open(2) failure into the one line the user sees. */
static void describe_open_error(int e, const char *path, bool read_only, char *err, size_t err_len)
{
	switch (e) {
	case ENOENT:
		snprintf(err, err_len, "block image '%s' does not exist", path);
		break;
	case EACCES:
	case EPERM:
		if (!read_only && access(path, R_OK) == 0)
			snprintf(err, err_len,
				 "block image '%s' is not writable (attach it read-only or fix its "
				 "permissions)",
				 path);
		else
			snprintf(err, err_len, "permission denied opening block image '%s'", path);
		break;
	case EROFS:
		snprintf(err, err_len,
			 "block image '%s' is on a read-only file system (attach it read-only)",
			 path);
		break;
	case EISDIR:
		snprintf(err, err_len,
			 "block image '%s' is a directory, not a file or block device", path);
		break;
	default:
		snprintf(err, err_len, "cannot open block image '%s': %s", path, strerror(e));
		break;
	}
}

/*
 * One writer or any number of readers per image, across processes: a write
 * lock for a read-write drive, a read lock for a read-only one (QEMU's default).
 * Two guests writing one file system wreck it; a reader beside a writer reads
 * a file system changing under it.
 */
static int lock_image(int fd, const char *path, bool read_only, char *err, size_t err_len)
{
	char who[48] = "another process";
	pid_t pid;
	int ret;

	ret = file_lock(fd, !read_only);
	if (ret == 0)
		return 0;
	if (ret != -EAGAIN) {
		snprintf(err, err_len, "cannot lock block image '%s': %s", path, strerror(-ret));
		return ret;
	}
	pid = file_lock_holder(fd);
	if (pid > 0)
		snprintf(who, sizeof(who), "process %d", (int)pid);
	if (read_only)
		snprintf(err, err_len,
			 "block image '%s' is open read-write by %s: a read-only drive cannot "
			 "share it with a writer",
			 path, who);
	else
		snprintf(err, err_len,
			 "block image '%s' is in use by %s: a read-write drive needs the image "
			 "to itself (attach it read-only in both, or copy it)",
			 path, who);
	return -EBUSY;
}

/* Fill in fd, size and kind; 0 or -errno with @err set. */
static int open_image(struct blk_backend *b, const char *path, bool read_only, bool lock, char *err,
		      size_t err_len)
{
	struct stat st;
	int ret;

	b->fd = open(path, (read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (b->fd < 0) {
		ret = -errno;
		describe_open_error(-ret, path, read_only, err, err_len);
		return ret;
	}
	if (fstat(b->fd, &st) < 0) {
		ret = -errno;
		snprintf(err, err_len, "cannot stat block image '%s': %s", path, strerror(-ret));
		return ret;
	}
	if (S_ISREG(st.st_mode)) {
		b->size_bytes = (uint64_t)st.st_size;
	} else if (S_ISBLK(st.st_mode)) {
		b->is_blockdev = true;
		if (ioctl(b->fd, BLKGETSIZE64, &b->size_bytes) < 0) {
			ret = -errno;
			snprintf(err, err_len, "cannot get the size of block device '%s': %s", path,
				 strerror(-ret));
			return ret;
		}
	} else {
		snprintf(err, err_len, "block image '%s' is %s, not a regular file or block device",
			 path, S_ISDIR(st.st_mode) ? "a directory" : "a special file");
		return S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
	}
	ret = lock ? lock_image(b->fd, path, read_only, err, err_len) : 0;
	if (ret)
		return ret;
	b->read_only = read_only;
	return 0;
}

/* Pick the engine: explicit choice, then VMON_BLK_ENGINE, then io_uring with a thread fallback. */
static int start_engine(struct blk_backend *b, enum blk_engine_kind kind, char *err, size_t err_len)
{
	const char *env = getenv("VMON_BLK_ENGINE");
	int ret;

	if (kind == BLK_ENGINE_AUTO && env) {
		if (!strcmp(env, "uring") || !strcmp(env, "io_uring"))
			kind = BLK_ENGINE_URING;
		else if (!strcmp(env, "threads"))
			kind = BLK_ENGINE_THREADS;
		else
			log_warn(
				"blk: VMON_BLK_ENGINE=%s is neither 'uring' nor 'threads'; ignored",
				env);
	}
	if (kind != BLK_ENGINE_THREADS) {
#ifdef HAVE_LIBURING
		b->ops = &blk_engine_uring;
		ret = b->ops->init(b);
		if (ret == 0)
			return 0;
#else
		ret = -ENOSYS;
#endif
		if (kind == BLK_ENGINE_URING) {
			snprintf(err, err_len, "io_uring is not available for block I/O: %s",
				 strerror(-ret));
			b->ops = NULL;
			return ret;
		}
		log_info("blk: io_uring unavailable (%s), using worker threads", strerror(-ret));
	}
	b->ops = &blk_engine_threads;
	ret = b->ops->init(b);
	if (ret < 0) {
		snprintf(err, err_len, "cannot start block I/O threads: %s", strerror(-ret));
		b->ops = NULL;
	}
	return ret;
}

static void on_event(void *opaque, uint32_t events)
{
	blk_backend_poll(opaque);
}

static int open_backend(struct blk_backend **out, const char *path, bool read_only,
			struct evloop *el, enum blk_engine_kind engine, bool lock, char *err,
			size_t err_len)
{
	struct blk_backend *b;
	int ret;

	*out = NULL;
	b = calloc(1, sizeof(*b));
	if (!b) {
		snprintf(err, err_len, "out of memory opening block image '%s'", path);
		return -ENOMEM;
	}
	b->fd = -1;
	pthread_mutex_init(&b->lock, NULL);
	b->event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (b->event_fd < 0) {
		ret = -errno;
		snprintf(err, err_len, "cannot create an eventfd for '%s': %s", path,
			 strerror(-ret));
		goto fail;
	}
	ret = open_image(b, path, read_only, lock, err, err_len);
	if (ret < 0)
		goto fail;
	ret = start_engine(b, engine, err, err_len);
	if (ret < 0)
		goto fail;
	if (el) {
		ret = evloop_add(el, b->event_fd, EPOLLIN, on_event, b);
		if (ret < 0) {
			snprintf(err, err_len, "cannot watch block completions for '%s': %s", path,
				 strerror(-ret));
			goto fail;
		}
		b->el = el;
	}
	*out = b;
	return 0;
fail:
	if (b->ops)
		b->ops->fini(b);
	if (b->fd >= 0)
		close(b->fd);
	if (b->event_fd >= 0)
		close(b->event_fd);
	pthread_mutex_destroy(&b->lock);
	free(b);
	return ret;
}

int blk_backend_open_engine(struct blk_backend **out, const char *path, bool read_only,
			    struct evloop *el, enum blk_engine_kind engine, char *err,
			    size_t err_len)
{
	return open_backend(out, path, read_only, el, engine, true, err, err_len);
}

int blk_backend_open_unlocked(struct blk_backend **out, const char *path, bool read_only,
			      struct evloop *el, char *err, size_t err_len)
{
	return open_backend(out, path, read_only, el, BLK_ENGINE_AUTO, false, err, err_len);
}

int blk_backend_lock(struct blk_backend *b, const char *path, char *err, size_t err_len)
{
	return lock_image(b->fd, path, b->read_only, err, err_len);
}

int blk_backend_sync(struct blk_backend *b)
{
	return fdatasync(b->fd) < 0 ? -errno : 0;
}

void blk_backend_unlock(struct blk_backend *b)
{
	file_unlock(b->fd);
}

int blk_backend_open(struct blk_backend **out, const char *path, bool read_only, struct evloop *el,
		     char *err, size_t err_len)
{
	return blk_backend_open_engine(out, path, read_only, el, BLK_ENGINE_AUTO, err, err_len);
}

uint64_t blk_backend_size_bytes(struct blk_backend *b)
{
	return b->size_bytes;
}

bool blk_backend_read_only(struct blk_backend *b)
{
	return b->read_only;
}

const char *blk_backend_engine_name(struct blk_backend *b)
{
	return b->ops->name;
}

int blk_backend_event_fd(struct blk_backend *b)
{
	return b->event_fd;
}

/* Check @io against the image; 0 or the -errno blk_backend_submit() returns. */
static int check_io(struct blk_backend *b, const struct blk_io *io)
{
	uint64_t end, total = 0;

	if (!io->complete)
		return -EINVAL;
	switch (io->op) {
	case BLK_OP_FLUSH:
		return 0;
	case BLK_OP_READ:
	case BLK_OP_WRITE:
		if (io->len_bytes == 0 || io->len_bytes > INT_MAX)
			return -EINVAL;
		if (io->iovcnt == 0 || io->iovcnt > IOV_MAX || !io->iov)
			return -EINVAL;
		for (unsigned i = 0; i < io->iovcnt; i++)
			if (__builtin_add_overflow(total, io->iov[i].iov_len, &total))
				return -EINVAL;
		if (total != io->len_bytes)
			return -EINVAL;
		break;
	case BLK_OP_DISCARD:
	case BLK_OP_WRITE_ZEROES:
		if (io->len_bytes == 0 || io->len_bytes > INT64_MAX)
			return -EINVAL;
		break;
	default:
		return -EINVAL;
	}
	if (io->op != BLK_OP_READ && b->read_only)
		return -EROFS;
	if (__builtin_add_overflow(io->offset_bytes, io->len_bytes, &end) || end > b->size_bytes)
		return -EINVAL;
	return 0;
}

/*
 * Start pending requests in order while the engine has room. A FLUSH is a
 * barrier: it waits at the head of the queue until everything started before
 * it has completed, so the fdatasync covers those writes (this is the "drain"
 * the flush needs; later requests wait behind it only until it has started).
 */
static void dispatch_locked(struct blk_backend *b)
{
	struct blk_req *r;
	int ret;

	while ((r = b->pending_head)) {
		if (r->io->op == BLK_OP_FLUSH && b->inflight)
			break;
		/* Unlink first: once started, @r belongs to the engine (a worker may run it now).
		 */
		b->pending_head = r->next;
		if (!b->pending_head)
			b->pending_tail = NULL;
		r->next = NULL;
		ret = b->ops->start(b, r);
		if (ret == -EBUSY) {
			r->next = b->pending_head;
			b->pending_head = r;
			if (!b->pending_tail)
				b->pending_tail = r;
			break;
		}
		if (ret < 0) {
			r->result = ret;
			r->next = b->failed;
			b->failed = r;
			blk_engine_signal(b);
			continue;
		}
		b->inflight++;
	}
}

int blk_backend_submit(struct blk_backend *b, struct blk_io *io)
{
	struct blk_req *r;
	unsigned nseg;
	int ret;

	ret = check_io(b, io);
	if (ret < 0)
		return ret;
	nseg = io->op == BLK_OP_WRITE_ZEROES			   ? BLK_ZERO_SEGS
	       : (io->op == BLK_OP_READ || io->op == BLK_OP_WRITE) ? io->iovcnt
								   : 0;
	r = calloc(1, sizeof(*r) + nseg * sizeof(r->iov[0]));
	if (!r)
		return -ENOMEM;
	r->io = io;
	r->iovcnt = nseg;
	if (io->op == BLK_OP_READ || io->op == BLK_OP_WRITE) {
		memcpy(r->iov, io->iov, nseg * sizeof(r->iov[0]));
		/* Skip leading empty segments so iov[iov_first] always has bytes. */
		blk_req_advance(r, 0);
	}

	pthread_mutex_lock(&b->lock);
	if (b->closing) {
		pthread_mutex_unlock(&b->lock);
		free(r);
		return -ESHUTDOWN;
	}
	if (b->pending_tail)
		b->pending_tail->next = r;
	else
		b->pending_head = r;
	b->pending_tail = r;
	dispatch_locked(b);
	pthread_mutex_unlock(&b->lock);
	return 0;
}

void blk_backend_plug(struct blk_backend *b)
{
	pthread_mutex_lock(&b->lock);
	b->plugged++;
	pthread_mutex_unlock(&b->lock);
}

void blk_backend_unplug(struct blk_backend *b)
{
	pthread_mutex_lock(&b->lock);
	BUG_ON(b->plugged == 0);
	if (--b->plugged == 0 && b->ops->kick)
		b->ops->kick(b);
	pthread_mutex_unlock(&b->lock);
}

int blk_backend_poll(struct blk_backend *b)
{
	struct blk_req *done = NULL, *r, **tail;
	uint64_t val;
	unsigned n;
	int count = 0;

	/* Consume the wake-up first: a completion after this point signals again. */
	if (read(b->event_fd, &val, sizeof(val)) < 0 && errno != EAGAIN)
		log_error("blk: eventfd read: %s", strerror(errno));

	pthread_mutex_lock(&b->lock);
	n = b->ops->reap(b, &done);
	BUG_ON(n > b->inflight);
	b->inflight -= n;
	for (tail = &done; *tail; tail = &(*tail)->next)
		;
	*tail = b->failed;
	b->failed = NULL;
	dispatch_locked(b);
	pthread_mutex_unlock(&b->lock);

	/* Callbacks run unlocked: they may submit more requests. */
	while ((r = done)) {
		struct blk_io *io = r->io;
		int result = r->result;

		done = r->next;
		free(r);
		io->complete(io, result);
		count++;
	}
	return count;
}

static bool busy(struct blk_backend *b)
{
	bool ret;

	pthread_mutex_lock(&b->lock);
	ret = b->inflight || b->pending_head || b->failed;
	pthread_mutex_unlock(&b->lock);
	return ret;
}

void blk_backend_drain(struct blk_backend *b)
{
	while (busy(b)) {
		struct pollfd pfd = { .fd = b->event_fd, .events = POLLIN };

		/* The timeout only guards against a lost wake-up; completions signal. */
		if (poll(&pfd, 1, 100) < 0 && errno != EINTR)
			log_error("blk: poll: %s", strerror(errno));
		blk_backend_poll(b);
	}
}

void blk_backend_settle(struct blk_backend *b)
{
	struct blk_req *done, **tail;
	uint64_t one = 1, val;
	bool busy_now, took = false;
	unsigned n;

	for (;;) {
		pthread_mutex_lock(&b->lock);
		done = NULL;
		n = b->ops->reap(b, &done);
		BUG_ON(n > b->inflight);
		b->inflight -= n;
		if (done) {
			/* parked with the refused ones, for the next poll to deliver */
			for (tail = &done; *tail; tail = &(*tail)->next)
				;
			*tail = b->failed;
			b->failed = done;
		}
		dispatch_locked(b);
		busy_now = b->inflight || b->pending_head;
		pthread_mutex_unlock(&b->lock);
		if (!busy_now)
			break;
		struct pollfd pfd = { .fd = b->event_fd, .events = POLLIN };

		/* The timeout only guards against a wake-up the loop thread consumed. */
		if (poll(&pfd, 1, 100) < 0 && errno != EINTR)
			log_error("blk: poll: %s", strerror(errno));
		if (read(b->event_fd, &val, sizeof(val)) == sizeof(val))
			took = true;
	}
	/* The wake-ups this took, and the parked completions: the loop's next poll runs them. */
	pthread_mutex_lock(&b->lock);
	busy_now = b->failed != NULL;
	pthread_mutex_unlock(&b->lock);
	if ((took || busy_now) && write(b->event_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_error("blk: eventfd write: %s", strerror(errno));
}

void blk_backend_close(struct blk_backend *b)
{
	struct blk_req *r;

	if (!b)
		return;
	pthread_mutex_lock(&b->lock);
	b->closing = true;
	/* Requests not yet started are cancelled; started ones are waited for. */
	while ((r = b->pending_head)) {
		b->pending_head = r->next;
		r->result = -ECANCELED;
		r->next = b->failed;
		b->failed = r;
	}
	b->pending_tail = NULL;
	pthread_mutex_unlock(&b->lock);
	blk_engine_signal(b);
	blk_backend_drain(b);

	if (b->el)
		evloop_del(b->el, b->event_fd);
	b->ops->fini(b);
	close(b->fd);
	close(b->event_fd);
	pthread_mutex_destroy(&b->lock);
	free(b);
}
