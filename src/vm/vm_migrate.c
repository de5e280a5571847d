/*
 * vm_migrate.c — live migration (see vm_migrate.h and docs/migration.md).
 *
 * The source: HELLO (the machine) and ACCEPT; dirty tracking on; round 0
 * sends every page that holds data, each later round the pages dirtied during
 * the one before, until the rest would go in max_downtime_ms at the rate the
 * last round went; then the VM pauses and, on the event-loop thread (so no
 * device writes RAM meanwhile), the last dirty pages and the state go; the
 * destination answers READY; the source drops its disk locks and says GO; the
 * destination takes the locks, runs the guest and answers DONE; the source's
 * VM ends. An ERROR, a closed stream or a timeout before GO: the source takes
 * back what it changed and its guest runs on.
 */
#include "vm/vm_migrate.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "base/state.h"
#include "hv/hv_state.h"
#include "snapshot/memfile.h"
#include "snapshot/migwire.h"
#include "snapshot/snapfile.h"
#include "util/crc32c.h"
#include "util/log.h"
#include "vm/vm.h"
#include "vm/vm_pci.h"

#define DEFAULT_DOWNTIME_MS 300u
#define DEFAULT_TIMEOUT_S 600u
#define MAX_ROUNDS 1000u
#define REPLY_TIMEOUT_MS 30000 /* for ACCEPT, READY, DONE; and the stream's parts */
#define SEND_TIMEOUT_S 30 /* a peer that stops reading for this long has failed */
#define RECORDED_ROUNDS 32 /* the rounds whose dirty counts GET /migration shows */

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* ---- addresses ---- */

union mig_addr {
	struct sockaddr sa;
	struct sockaddr_in in4;
	struct sockaddr_in6 in6;
	struct sockaddr_un un;
};

static int addr_parse(const char *addr, union mig_addr *a, socklen_t *len, char *err,
		      size_t err_len)
{
	memset(a, 0, sizeof(*a));
	if (!strncmp(addr, "unix:", 5)) {
		const char *path = addr + 5;

		if (!*path || strlen(path) >= sizeof(a->un.sun_path)) {
			snprintf(err, err_len,
				 "migration address '%s': a Unix socket path of 1..%zu bytes", addr,
				 sizeof(a->un.sun_path) - 1);
			return -EINVAL;
		}
		a->un.sun_family = AF_UNIX;
		memcpy(a->un.sun_path, path, strlen(path) + 1);
		*len = sizeof(a->un);
		return 0;
	}
	if (!strncmp(addr, "tcp:", 4)) {
		char host[INET6_ADDRSTRLEN + 2];
		const char *colon = strrchr(addr + 4, ':');
		size_t hlen = colon ? (size_t)(colon - (addr + 4)) : 0;
		char *end;
		unsigned long port = colon ? strtoul(colon + 1, &end, 10) : 0;

		if (!colon || !colon[1] || *end || port == 0 || port > 65535 || !hlen ||
		    hlen >= sizeof(host))
			goto bad;
		memcpy(host, addr + 4, hlen);
		host[hlen] = 0;
		if (host[0] == '[' && host[hlen - 1] == ']') {
			host[hlen - 1] = 0;
			a->in6.sin6_family = AF_INET6;
			a->in6.sin6_port = htons((uint16_t)port);
			if (inet_pton(AF_INET6, host + 1, &a->in6.sin6_addr) != 1)
				goto bad;
			*len = sizeof(a->in6);
			return 0;
		}
		a->in4.sin_family = AF_INET;
		a->in4.sin_port = htons((uint16_t)port);
		if (inet_pton(AF_INET, host, &a->in4.sin_addr) != 1)
			goto bad;
		*len = sizeof(a->in4);
		return 0;
	}
bad:
	snprintf(err, err_len,
		 "migration address '%s': expected tcp:IP:PORT, tcp:[IPv6]:PORT or unix:PATH",
		 addr);
	return -EINVAL;
}

int vm_migrate_addr_check(const char *addr, char *err, size_t err_len)
{
	union mig_addr a;
	socklen_t len;

	return addr_parse(addr, &a, &len, err, err_len);
}

/* A stream socket that gives up on a peer that stops reading for SEND_TIMEOUT_S. */
static int stream_socket(int family, char *err, size_t err_len)
{
	struct timeval tv = { .tv_sec = SEND_TIMEOUT_S };
	int one = 1;
	int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0) {
		snprintf(err, err_len, "migration: socket: %s", strerror(errno));
		return -errno;
	}
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (family != AF_UNIX)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

/* connect(), giving up after REPLY_TIMEOUT_MS. */
static int connect_to(const char *addr, char *err, size_t err_len)
{
	union mig_addr a;
	socklen_t len;
	int fd, ret, flags;
	struct pollfd pfd;

	ret = addr_parse(addr, &a, &len, err, err_len);
	if (ret)
		return ret;
	fd = stream_socket(a.sa.sa_family, err, err_len);
	if (fd < 0)
		return fd;
	flags = fcntl(fd, F_GETFL);
	fcntl(fd, F_SETFL, flags | O_NONBLOCK);
	ret = connect(fd, &a.sa, len);
	if (ret < 0 && errno == EINPROGRESS) {
		int e = 0;
		socklen_t elen = sizeof(e);

		pfd = (struct pollfd){ .fd = fd, .events = POLLOUT };
		ret = poll(&pfd, 1, REPLY_TIMEOUT_MS);
		if (ret == 0) {
			errno = ETIMEDOUT;
			ret = -1;
		} else if (ret > 0) {
			getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &elen);
			errno = e;
			ret = e ? -1 : 0;
		}
	}
	if (ret < 0) {
		int e = errno;

		snprintf(err, err_len, "migration: cannot connect to %s: %s", addr, strerror(e));
		close(fd);
		return -e;
	}
	fcntl(fd, F_SETFL, flags);
	return fd;
}

/*
 * Wait for one message from the peer; an ERROR becomes -ECONNABORTED with its reason in @err.
 * With @gm, PAGES land in guest RAM at once (*@in_ram; migwire_recv_ram).
 */
static int recv_msg_ram(int fd, struct migwire_buf *b, const struct gmem *gm, struct migwire_msg *m,
			bool *in_ram, int timeout_ms, char *err, size_t err_len)
{
	int ret = migwire_recv_ram(fd, b, gm, m, in_ram, timeout_ms, err, err_len);

	if (ret)
		return ret;
	if (m->type == MIGWIRE_ERROR) {
		snprintf(err, err_len, "the other side: %.*s", (int)m->len,
			 (const char *)m->payload);
		return -ECONNABORTED;
	}
	return 0;
}

static int recv_msg(int fd, struct migwire_buf *b, struct migwire_msg *m, int timeout_ms, char *err,
		    size_t err_len)
{
	bool in_ram;

	return recv_msg_ram(fd, b, NULL, m, &in_ram, timeout_ms, err, err_len);
}

/* Tell the peer why the migration ends (best effort: it may be gone). */
static void send_error(int fd, const char *reason)
{
	char scratch[64];
	size_t len = strlen(reason);

	if (fd < 0)
		return;
	if (!len)
		reason = "failed", len = 6;
	migwire_send(fd, MIGWIRE_ERROR, reason, len < MIGWIRE_MAX_REASON ? len : MIGWIRE_MAX_REASON,
		     NULL, 0, scratch, sizeof(scratch));
}

/* ---- the source ---- */

enum mig_state {
	MIG_PRECOPY,
	MIG_STOP_AND_COPY,
	MIG_HANDOVER,
	MIG_COMPLETED,
	MIG_FAILED,
	MIG_CANCELLED,
};

static const char *const mig_state_names[] = {
	[MIG_PRECOPY] = "precopy",   [MIG_STOP_AND_COPY] = "stop-and-copy",
	[MIG_HANDOVER] = "handover", [MIG_COMPLETED] = "completed",
	[MIG_FAILED] = "failed",     [MIG_CANCELLED] = "cancelled",
};

struct vm_migration {
	struct vm *vm;
	struct vm_migrate_params p;
	pthread_t thread;
	bool thread_started;
	int fd;
	int pm_fd; /* /proc/self/pagemap, for round 0 */
	struct migwire_buf rb;
	uint8_t *bounce; /* MIGWIRE_MAX_PAGES pages: what a PAGES message carries, copied first */
	bool had_tracking; /* dirty tracking was on before (a user's Diff snapshots) */
	uint64_t *sent[GMEM_MAX_REGIONS]; /* with @had_tracking: every dirty bit taken, to give back
					   */
	uint64_t t_start, t_pause, round_t0, round_bytes;
	struct snapfile_header *hello_hdr; /* HELLO's: versions, CPU, RAM, the guest's CPUID */

	pthread_mutex_t lock; /* guards what follows, and @fd's shutdown */
	bool cancelled;
	enum mig_state state;
	unsigned round;
	uint64_t bytes; /* sent, framing included */
	uint64_t pages; /* data pages sent */
	uint64_t zero_pages;
	uint64_t dirty[RECORDED_ROUNDS]; /* pages dirtied during round i */
	uint64_t downtime_us, total_us;
	bool source_resumed;
	bool outcome_told; /* GET /migration has answered with its end */
	char error[512];
};

static bool cancelled(struct vm_migration *m)
{
	bool c;

	pthread_mutex_lock(&m->lock);
	c = m->cancelled;
	pthread_mutex_unlock(&m->lock);
	return c;
}

static void set_state(struct vm_migration *m, enum mig_state s)
{
	pthread_mutex_lock(&m->lock);
	m->state = s;
	pthread_mutex_unlock(&m->lock);
}

/* Send one message (its @b copied from @src first, when given), counting it; pre-copy keeps to
 * max_bandwidth_mib_s. */
static int send_copy_counted(struct vm_migration *m, uint32_t type, const void *a, size_t alen,
			     void *b, const void *src, size_t blen, bool paced, char *err,
			     size_t err_len)
{
	int ret = migwire_send_copy(m->fd, type, a, alen, b, src, blen, err, err_len);
	uint64_t n = MIGWIRE_FRAME_HEADER + alen + blen + MIGWIRE_FRAME_TRAILER;

	if (ret)
		return ret;
	pthread_mutex_lock(&m->lock);
	m->bytes += n;
	pthread_mutex_unlock(&m->lock);
	m->round_bytes += n;
	if (paced && m->p.max_bandwidth_mib_s) {
		/* when the round's bytes so far are due at the limit */
		uint64_t due = m->round_t0 + m->round_bytes * 1000000u /
						     ((uint64_t)m->p.max_bandwidth_mib_s << 20);
		uint64_t t = now_us();

		if (due > t) {
			struct timespec ts = { .tv_sec = (time_t)((due - t) / 1000000u),
					       .tv_nsec = (long)((due - t) % 1000000u) * 1000 };

			nanosleep(&ts, NULL);
		}
	}
	return 0;
}

static int send_counted(struct vm_migration *m, uint32_t type, const void *a, size_t alen,
			const void *b, size_t blen, bool paced, char *err, size_t err_len)
{
	return send_copy_counted(m, type, a, alen, (void *)b, NULL, blen, paced, err, err_len);
}

/* The 64-bit words of a dirty bitmap of region @r. */
static size_t map_words(const struct gmem_region *r)
{
	return (size_t)((gmem_region_pages(r) + 63) / 64);
}

/*
 * OR @maps into gmem's device-write bitmaps, where the next collection
 * (vm_state_collect_dirty) takes them again. Any thread: atomic per word.
 */
static void give_back(struct vm *vm, uint64_t *const *maps)
{
	for (unsigned i = 0; i < vm->gmem.nr_regions; i++) {
		uint64_t *dev = gmem_dirty_bitmap(&vm->gmem, i);

		for (size_t k = 0; dev && maps[i] && k < map_words(&vm->gmem.regions[i]); k++)
			__atomic_or_fetch(&dev[k], maps[i][k], __ATOMIC_RELAXED);
	}
}

/* Is the pre-copy past timeout_s? */
static bool past_limit(const struct vm_migration *m)
{
	return now_us() - m->t_start >= (uint64_t)m->p.timeout_s * 1000000u;
}

static bool bit(const uint64_t *map, uint64_t p)
{
	return map[p / 64] >> (p % 64) & 1;
}

/*
 * Send the pages of region @ri whose bit is set in @map: runs of data pages as
 * PAGES, runs of zero pages as ZEROS (or, with @skip_zero, not at all: the
 * destination's fresh RAM is zero already).
 */
static int send_pages(struct vm_migration *m, unsigned ri, const uint64_t *map, bool skip_zero,
		      bool paced, char *err, size_t err_len)
{
	const struct gmem_region *r = &m->vm->gmem.regions[ri];
	uint64_t npages = r->len_bytes / GMEM_PAGE_SIZE, p = 0;
	uint64_t data = 0, zeros = 0;
	int ret = 0;

	while (p < npages && !ret) {
		uint8_t hdr[MIGWIRE_ZEROS_LEN]; /* or MIGWIRE_PAGES_HEADER, the shorter */
		bool zero;
		uint64_t n = 1;

		if (!map[p / 64]) {
			p = (p / 64 + 1) * 64;
			continue;
		}
		if (!bit(map, p)) {
			p++;
			continue;
		}
		zero = memfile_page_is_zero(r->hva + p * GMEM_PAGE_SIZE);
		while (p + n < npages && bit(map, p + n) && (zero || n < MIGWIRE_MAX_PAGES) &&
		       memfile_page_is_zero(r->hva + (p + n) * GMEM_PAGE_SIZE) == zero)
			n++;
		if (zero) {
			zeros += n;
			if (!skip_zero) {
				migwire_put_zeros(hdr, ri, p, n);
				ret = send_counted(m, MIGWIRE_ZEROS, hdr, MIGWIRE_ZEROS_LEN, NULL,
						   0, paced, err, err_len);
			}
		} else {
			data += n;
			migwire_put_pages(hdr, ri, p, (uint32_t)n);
			/*
			 * Through a copy, the CRC taken in the same pass: the guest may write
			 * these pages while they go, and the CRC must be of the bytes sent (the
			 * write is in the next round's log).
			 */
			ret = send_copy_counted(m, MIGWIRE_PAGES, hdr, MIGWIRE_PAGES_HEADER,
						m->bounce, r->hva + p * GMEM_PAGE_SIZE,
						n * GMEM_PAGE_SIZE, paced, err, err_len);
		}
		p += n;
		if (!ret && paced && cancelled(m)) {
			snprintf(err, err_len, "migration cancelled");
			ret = -ECANCELED;
		}
		/* past the limit, a cancel need not wait for the round's end (a forced stop does)
		 */
		if (!ret && paced && !m->p.force_on_timeout && past_limit(m)) {
			snprintf(err, err_len,
				 "pre-copy did not converge in %u s (round %u not finished): "
				 "cancelled, "
				 "the VM runs on here (raise max_downtime_ms or set on_timeout "
				 "\"force\")",
				 m->p.timeout_s, m->round);
			ret = -ETIMEDOUT;
		}
	}
	pthread_mutex_lock(&m->lock);
	m->pages += data;
	m->zero_pages += zeros;
	pthread_mutex_unlock(&m->lock);
	return ret;
}

/* Round 0: every page that may hold data (never-touched pages are zero at both ends). */
static int send_initial(struct vm_migration *m, char *err, size_t err_len)
{
	for (unsigned i = 0; i < m->vm->gmem.nr_regions; i++) {
		const struct gmem_region *r = &m->vm->gmem.regions[i];
		uint64_t *map = calloc(map_words(r) ? map_words(r) : 1, sizeof(uint64_t));
		int ret;

		if (!map) {
			snprintf(err, err_len, "out of memory");
			return -ENOMEM;
		}
		memfile_pages_with_data(m->pm_fd, r, map);
		ret = send_pages(m, i, map, true, true, err, err_len);
		free(map);
		if (ret)
			return ret;
	}
	return 0;
}

/* Take the dirty bits (remembering them for a user's Diff snapshots); *@count gets how many. */
static int take_dirty(struct vm_migration *m, uint64_t **maps, uint64_t *count, char *err,
		      size_t err_len)
{
	struct vm *vm = m->vm;
	int ret = vm_state_collect_dirty(vm, maps, err, err_len);

	*count = 0;
	for (unsigned i = 0; !ret && i < vm->gmem.nr_regions; i++) {
		for (size_t k = 0; k < map_words(&vm->gmem.regions[i]); k++) {
			*count += (uint64_t)__builtin_popcountll(maps[i][k]);
			if (m->had_tracking && m->sent[i])
				m->sent[i][k] |= maps[i][k];
		}
	}
	return ret;
}

static void free_maps(uint64_t **maps)
{
	for (unsigned i = 0; i < GMEM_MAX_REGIONS; i++) {
		free(maps[i]);
		maps[i] = NULL;
	}
}

struct track_job {
	struct vm *vm;
	bool on;
	int ret;
};

static void track_on_loop(void *opaque)
{
	struct track_job *j = opaque;

	vm_pci_drain(j->vm); /* no device writes RAM while the bitmaps come and go */
	j->ret = vm_dirty_track(j->vm, j->on);
}

/* Dirty tracking on (or back off): with the vCPUs parked and the loop held, no write is missed. */
static int set_tracking(struct vm_migration *m, bool on, bool was_paused)
{
	struct track_job j = { .vm = m->vm, .on = on };

	if (!was_paused && runctl_hold(&m->vm->rc, -1))
		return -EINVAL;
	evloop_call(m->vm->el, track_on_loop, &j);
	if (!was_paused)
		runctl_release(&m->vm->rc);
	return j.ret;
}

/* Before the hand-over, on failure: what the migration changed goes back; the VM runs on. */
static void undo(struct vm_migration *m, bool paused)
{
	struct vm *vm = m->vm;

	if (m->had_tracking) {
		give_back(vm, m->sent); /* so a user's next Diff snapshot still has them */
	} else if (vm->dirty_tracking) {
		set_tracking(m, false, paused);
	}
	if (paused) {
		runctl_release(&vm->rc); /* the guest runs again, unless its user had paused it */
		pthread_mutex_lock(&m->lock);
		m->source_resumed = runctl_state(&vm->rc) == RUNCTL_RUNNING;
		pthread_mutex_unlock(&m->lock);
	}
}

/*
 * After GO, when the destination may be running the guest: the migration's hold
 * becomes the user's pause, so that the VM stays paused here but its user can
 * resume it (PATCH /vm) once sure that the destination does not run it.
 */
static void stay_paused(struct vm *vm)
{
	runctl_pause(&vm->rc);
	runctl_release(&vm->rc);
}

struct stop_job {
	struct vm_migration *m;
	struct state_writer *state; /* the encoded state file */
	uint64_t last_dirty;
	int ret;
	char *err;
	size_t err_len;
};

/*
 * On the event-loop thread, the VM paused: the devices' state, then the last
 * dirty pages — no device handler runs between the two, so RAM and state agree.
 */
static void stop_on_loop(void *opaque)
{
	struct stop_job *j = opaque;
	struct vm_migration *m = j->m;
	struct snapfile_header *hdr = calloc(1, sizeof(*hdr));
	uint64_t *maps[GMEM_MAX_REGIONS] = { 0 };
	struct state_writer w;

	state_writer_init(&w);
	j->ret = -ENOMEM;
	if (!hdr) {
		snprintf(j->err, j->err_len, "out of memory");
		goto out;
	}
	vm_state_header(m->vm, hdr);
	j->ret = vm_state_take(m->vm, &w, hdr, j->err, j->err_len);
	if (!j->ret)
		j->ret = vm_pci_flush(m->vm, j->err, j->err_len);
	if (!j->ret)
		j->ret = take_dirty(m, maps, &j->last_dirty, j->err, j->err_len);
	for (unsigned i = 0; !j->ret && i < m->vm->gmem.nr_regions; i++)
		j->ret = send_pages(m, i, maps[i], false, false, j->err, j->err_len);
	if (!j->ret)
		j->ret = snapfile_encode(hdr, &w, j->state, j->err, j->err_len);
out:
	free_maps(maps);
	state_writer_free(&w);
	free(hdr);
}

/* @s goes into GET /migration's JSON text as it is: no quote, backslash or control byte. */
static void json_safe(char *s)
{
	for (; *s; s++)
		if (*s == '"' || *s == '\\' || (unsigned char)*s < 0x20)
			*s = *s == '"' ? '\'' : ' ';
}

static void fail(struct vm_migration *m, int ret, const char *err)
{
	pthread_mutex_lock(&m->lock);
	m->state = ret == -ECANCELED || m->cancelled ? MIG_CANCELLED : MIG_FAILED;
	snprintf(m->error, sizeof(m->error), "%s", err);
	json_safe(m->error);
	m->total_us = now_us() - m->t_start;
	pthread_mutex_unlock(&m->lock);
	log_warn("migration to %s: %s", m->p.destination, err);
}

/*
 * A round's end: SYNC, and wait for the destination's echo. Then nothing of the round waits in
 * socket buffers (up to megabytes, more than a downtime's worth on a slow destination): the
 * round's time is the destination's too, and a stop-and-copy after it starts from an empty pipe.
 */
static int sync_round(struct vm_migration *m, char *err, size_t err_len)
{
	struct migwire_msg msg;
	int ret = send_counted(m, MIGWIRE_SYNC, NULL, 0, NULL, 0, false, err, err_len);

	if (!ret)
		ret = recv_msg(m->fd, &m->rb, &msg, REPLY_TIMEOUT_MS, err, err_len);
	if (!ret && msg.type != MIGWIRE_SYNC) {
		snprintf(err, err_len, "the destination answered %s, not SYNC",
			 migwire_type_name(msg.type));
		ret = -EPROTO;
	}
	return ret;
}

/* Pre-copy rounds until the rest fits in the downtime (or the limits say otherwise). */
static int precopy(struct vm_migration *m, char *err, size_t err_len)
{
	uint64_t *maps[GMEM_MAX_REGIONS] = { 0 };
	int ret;

	for (unsigned round = 0;; round++) {
		uint64_t t0 = now_us(), dirty, elapsed, rate;

		pthread_mutex_lock(&m->lock);
		m->round = round;
		pthread_mutex_unlock(&m->lock);
		m->round_bytes = 0;
		m->round_t0 = t0;
		if (round == 0) {
			ret = send_initial(m, err, err_len);
		} else {
			ret = 0;
			for (unsigned i = 0; !ret && i < m->vm->gmem.nr_regions; i++)
				ret = send_pages(m, i, maps[i], false, true, err, err_len);
			free_maps(maps);
		}
		if (!ret)
			ret = sync_round(m, err, err_len);
		if (ret)
			break;
		elapsed = now_us() - t0;
		ret = take_dirty(m, maps, &dirty, err, err_len);
		if (ret)
			break;
		pthread_mutex_lock(&m->lock);
		if (round < RECORDED_ROUNDS)
			m->dirty[round] = dirty;
		pthread_mutex_unlock(&m->lock);
		/* bytes per ms this round went at; a round too short to time counts as fast */
		rate = elapsed >= 1000 ? m->round_bytes * 1000u / elapsed : UINT64_MAX;
		log_info("migration: round %u sent %llu KiB in %llu ms; %llu pages dirtied", round,
			 (unsigned long long)(m->round_bytes >> 10),
			 (unsigned long long)(elapsed / 1000), (unsigned long long)dirty);
		if (dirty == 0 || (rate && dirty * GMEM_PAGE_SIZE / rate <= m->p.max_downtime_ms))
			break;
		if (past_limit(m) || round + 1 >= MAX_ROUNDS) {
			if (m->p.force_on_timeout) {
				log_warn("migration: not converging after %u rounds; stopping the "
					 "VM to copy the rest",
					 round + 1);
				break;
			}
			snprintf(err, err_len,
				 "pre-copy did not converge in %u s (%u rounds, %llu pages dirtied "
				 "in the last): cancelled, the VM runs on here "
				 "(raise max_downtime_ms or set on_timeout \"force\")",
				 m->p.timeout_s, round + 1, (unsigned long long)dirty);
			ret = -ETIMEDOUT;
			break;
		}
		if (cancelled(m)) {
			snprintf(err, err_len, "migration cancelled");
			ret = -ECANCELED;
			break;
		}
	}
	if (!ret)
		give_back(m->vm, maps); /* the last round's dirty pages: stop-and-copy sends them */
	free_maps(maps);
	return ret;
}

static void *send_thread(void *opaque)
{
	struct vm_migration *m = opaque;
	struct state_writer state;
	struct migwire_msg msg;
	struct stop_job job;
	char err[512] = "";
	uint64_t t_paused, t_copied, t_ready;
	uint8_t go[MIGWIRE_GO_LEN];
	int ret;

	state_writer_init(&state);
	ret = precopy(m, err, sizeof(err));
	if (ret) {
		send_error(m->fd, err);
		undo(m, false);
		fail(m, ret, err);
		goto out;
	}
	/* stop and copy */
	set_state(m, MIG_STOP_AND_COPY);
	m->t_pause = now_us();
	ret = runctl_hold(&m->vm->rc, -1);
	if (ret) {
		snprintf(err, sizeof(err), "the VM ended during the migration");
		send_error(m->fd, err);
		fail(m, ret, err);
		goto out;
	}
	t_paused = now_us();
	job = (struct stop_job){ .m = m, .state = &state, .err = err, .err_len = sizeof(err) };
	evloop_call(m->vm->el, stop_on_loop, &job);
	t_copied = now_us();
	ret = job.ret;
	if (!ret)
		ret = send_counted(m, MIGWIRE_STATE, state.buf, state.len, NULL, 0, false, err,
				   sizeof(err));
	if (!ret)
		ret = recv_msg(m->fd, &m->rb, &msg, REPLY_TIMEOUT_MS, err, sizeof(err));
	if (!ret && msg.type != MIGWIRE_READY) {
		snprintf(err, sizeof(err), "the destination answered %s, not READY",
			 migwire_type_name(msg.type));
		ret = -EPROTO;
	}
	if (!ret && cancelled(m)) {
		snprintf(err, sizeof(err), "migration cancelled");
		ret = -ECANCELED;
	}
	if (ret) {
		send_error(m->fd, err);
		undo(m, true);
		fail(m, ret, err);
		goto out;
	}
	/* the hand-over: from GO on, the destination may run the guest */
	t_ready = now_us();
	set_state(m, MIG_HANDOVER);
	vm_pci_unlock_disks(m->vm);
	/* a guest its user had paused arrives paused (the hold keeps the vCPUs parked here) */
	migwire_put_go(go, runctl_state(&m->vm->rc) == RUNCTL_PAUSED ? MIGWIRE_GO_PAUSED : 0);
	ret = send_counted(m, MIGWIRE_GO, go, sizeof(go), NULL, 0, false, err, sizeof(err));
	if (!ret)
		ret = recv_msg(m->fd, &m->rb, &msg, REPLY_TIMEOUT_MS, err, sizeof(err));
	if (ret == -ECONNABORTED) {
		/* the destination said why it cannot run the guest: it does not, so this one does
		 */
		char lock_err[256];

		if (vm_pci_lock_disks(m->vm, lock_err, sizeof(lock_err))) {
			snprintf(err + strlen(err), sizeof(err) - strlen(err),
				 "; and the disks cannot be locked again here (%s): the VM stays "
				 "paused",
				 lock_err);
			stay_paused(m->vm);
			fail(m, ret, err);
			goto out;
		}
		undo(m, true);
		fail(m, ret, err);
		goto out;
	}
	if (!ret && msg.type != MIGWIRE_DONE) {
		snprintf(err, sizeof(err), "the destination answered %s, not DONE",
			 migwire_type_name(msg.type));
		ret = -EPROTO;
	}
	if (ret) {
		/* no answer after GO: the guest may be running there; it must not run twice */
		snprintf(err + strlen(err), sizeof(err) - strlen(err),
			 " (after GO: the destination may be running the guest, so the VM stays "
			 "paused here; resume it only if it does not)");
		stay_paused(m->vm);
		fail(m, ret, err);
		goto out;
	}
	pthread_mutex_lock(&m->lock);
	m->state = MIG_COMPLETED;
	m->downtime_us = now_us() - m->t_pause;
	m->total_us = now_us() - m->t_start;
	pthread_mutex_unlock(&m->lock);
	log_info("migration to %s: done in %llu ms, %llu MiB sent, %llu ms of downtime (%llu "
		 "pages in the last copy)",
		 m->p.destination, (unsigned long long)(m->total_us / 1000),
		 (unsigned long long)(m->bytes >> 20), (unsigned long long)(m->downtime_us / 1000),
		 (unsigned long long)job.last_dirty);
	log_info("migration: the downtime: %.1f ms to pause, %.1f ms for the state (%zu KiB) and "
		 "the "
		 "last pages, %.1f ms to READY, %.1f ms from GO to DONE",
		 (double)(t_paused - m->t_pause) / 1000, (double)(t_copied - t_paused) / 1000,
		 state.len >> 10, (double)(t_ready - t_copied) / 1000,
		 (double)(now_us() - t_ready) / 1000);
	vm_end(m->vm, 0, "migrated");
out:
	state_writer_free(&state);
	return NULL;
}

static struct vm_migration *migration_new(struct vm *vm, const struct vm_migrate_params *p)
{
	struct vm_migration *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->vm = vm;
	m->p = *p;
	if (!m->p.max_downtime_ms)
		m->p.max_downtime_ms = DEFAULT_DOWNTIME_MS;
	if (!m->p.timeout_s)
		m->p.timeout_s = DEFAULT_TIMEOUT_S;
	m->fd = -1;
	m->pm_fd = -1;
	pthread_mutex_init(&m->lock, NULL);
	return m;
}

static void migration_release(struct vm_migration *m)
{
	if (m->fd >= 0)
		close(m->fd);
	if (m->pm_fd >= 0)
		close(m->pm_fd);
	migwire_buf_free(&m->rb);
	free(m->hello_hdr);
	free(m->bounce);
	for (unsigned i = 0; i < GMEM_MAX_REGIONS; i++)
		free(m->sent[i]);
	pthread_mutex_destroy(&m->lock);
	free(m);
}

/*
 * With the VM paused a moment: what HELLO says of the guest's CPU (vCPU 0's
 * CPUID and TSC rate, for the destination to check before any page moves),
 * and dirty tracking on, so that no write from here on is missed.
 */
static int prepare(struct vm_migration *m, char *err, size_t err_len)
{
	struct vm *vm = m->vm;
	struct hv_vcpu_state cs;
	int ret;

	if (runctl_hold(&vm->rc, -1)) {
		snprintf(err, err_len, "the microVM is not running");
		return -EINVAL;
	}
	memset(&cs, 0, sizeof(cs));
	ret = hv_vcpu_get_full(vm->vcpus[0]->hv, &cs);
	if (ret) {
		snprintf(err, err_len, "cannot read vCPU 0's state: %s", strerror(-ret));
	} else {
		vm_state_header_cpu(m->hello_hdr, &cs);
	}
	hv_vcpu_state_free(&cs);
	if (!ret && !m->had_tracking) {
		ret = set_tracking(m, true, true);
		if (ret)
			snprintf(err, err_len, "cannot start dirty-page tracking: %s",
				 strerror(-ret));
	}
	runctl_release(&vm->rc);
	return ret;
}

/* HELLO (the machine's configuration, as a state file) and the destination's ACCEPT. */
static int hello(struct vm_migration *m, char *err, size_t err_len)
{
	struct state_writer cfg, file;
	struct migwire_msg msg;
	uint8_t head[MIGWIRE_HELLO_HEAD];
	int ret;

	state_writer_init(&cfg);
	state_writer_init(&file);
	vm_state_config(&m->vm->cfg, &cfg);
	ret = snapfile_encode(m->hello_hdr, &cfg, &file, err, err_len);
	migwire_put_hello(head);
	if (!ret)
		ret = send_counted(m, MIGWIRE_HELLO, head, sizeof(head), file.buf, file.len, false,
				   err, err_len);
	if (!ret)
		ret = recv_msg(m->fd, &m->rb, &msg, REPLY_TIMEOUT_MS, err, err_len);
	if (!ret && msg.type != MIGWIRE_ACCEPT) {
		snprintf(err, err_len, "the destination answered %s, not ACCEPT",
			 migwire_type_name(msg.type));
		ret = -EPROTO;
	}
	state_writer_free(&cfg);
	state_writer_free(&file);
	return ret;
}

int vm_migration_start(struct vm_migration **out, struct vm *vm, const struct vm_migrate_params *p,
		       char *err, size_t err_len)
{
	struct vm_migration *m;
	int ret;

	if (runctl_state(&vm->rc) != RUNCTL_RUNNING && runctl_state(&vm->rc) != RUNCTL_PAUSED) {
		snprintf(err, err_len, "only a running or paused microVM can be migrated");
		return -EPERM;
	}
	for (unsigned i = 0; i < vm->cfg.nr_nets; i++) {
		if (vm->cfg.nets[i].vhost) {
			/* the kernel's vhost thread writes guest RAM unseen by the dirty log */
			snprintf(err, err_len,
				 "net '%s': live migration of vhost=on NICs is not supported",
				 vm->cfg.nets[i].id);
			return -EOPNOTSUPP;
		}
	}
	m = migration_new(vm, p);
	if (!m) {
		snprintf(err, err_len, "out of memory");
		return -ENOMEM;
	}
	m->t_start = now_us();
	m->pm_fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	m->hello_hdr = calloc(1, sizeof(*m->hello_hdr));
	m->bounce = malloc(MIGWIRE_MAX_PAGES * GMEM_PAGE_SIZE);
	if (!m->hello_hdr || !m->bounce) {
		snprintf(err, err_len, "out of memory");
		ret = -ENOMEM;
		goto fail;
	}
	vm_state_header(vm, m->hello_hdr);
	m->had_tracking = vm->dirty_tracking;
	for (unsigned i = 0; m->had_tracking && i < vm->gmem.nr_regions; i++) {
		size_t words = map_words(&vm->gmem.regions[i]);

		m->sent[i] = calloc(words ? words : 1, sizeof(uint64_t));
		if (!m->sent[i]) {
			snprintf(err, err_len, "out of memory");
			ret = -ENOMEM;
			goto fail;
		}
	}
	ret = connect_to(p->destination, err, err_len);
	if (ret < 0)
		goto fail;
	m->fd = ret;
	ret = prepare(m, err, err_len);
	if (!ret)
		ret = hello(m, err, err_len);
	if (ret) {
		char why[600];

		snprintf(why, sizeof(why), "%s", err);
		snprintf(err, err_len, "migration to %s: %s", p->destination, why);
		goto fail_tracking;
	}
	ret = pthread_create(&m->thread, NULL, send_thread, m);
	if (ret) {
		snprintf(err, err_len, "cannot start the migration thread: %s", strerror(ret));
		ret = -ret;
		goto fail_tracking;
	}
	m->thread_started = true;
	log_info("migration to %s: connected; pre-copy (CRC-32C by %s)", p->destination,
		 crc32c_uses_instruction() ? "the SSE4.2 instruction" : "tables");
	*out = m;
	return 0;
fail_tracking:
	if (!m->had_tracking && vm->dirty_tracking)
		set_tracking(m, false, false);
fail:
	send_error(m->fd, err);
	migration_release(m);
	return ret;
}

bool vm_migration_active(struct vm_migration *m)
{
	bool active;

	if (!m)
		return false;
	pthread_mutex_lock(&m->lock);
	active = m->state <= MIG_HANDOVER;
	pthread_mutex_unlock(&m->lock);
	return active;
}

char *vm_migration_json(struct vm_migration *m)
{
	char dirty[RECORDED_ROUNDS * 22 + 2] = "[", *out = NULL;
	char dest[VM_MIGRATE_MAX_ADDR];
	size_t n = 1;

	snprintf(dest, sizeof(dest), "%s", m->p.destination);
	json_safe(dest);
	pthread_mutex_lock(&m->lock);
	for (unsigned i = 0; i <= m->round && i < RECORDED_ROUNDS; i++)
		n += (size_t)snprintf(dirty + n, sizeof(dirty) - n, "%s%llu", i ? "," : "",
				      (unsigned long long)m->dirty[i]);
	snprintf(dirty + n, sizeof(dirty) - n, "]");
	if (asprintf(&out,
		     "{\"state\": \"%s\", \"destination\": \"%s\", \"round\": %u, "
		     "\"transferred_bytes\": %llu, \"pages\": %llu, \"zero_pages\": %llu, "
		     "\"dirty_pages_per_round\": %s, \"downtime_ms\": %.3f, \"total_ms\": %.3f, "
		     "\"source_resumed\": %s, \"error\": \"%s\"}",
		     mig_state_names[m->state], dest, m->round, (unsigned long long)m->bytes,
		     (unsigned long long)m->pages, (unsigned long long)m->zero_pages, dirty,
		     (double)m->downtime_us / 1000.0,
		     (double)(m->total_us ? m->total_us : now_us() - m->t_start) / 1000.0,
		     m->source_resumed ? "true" : "false", m->error) < 0)
		out = NULL;
	if (out && m->state >= MIG_COMPLETED)
		m->outcome_told = true;
	pthread_mutex_unlock(&m->lock);
	return out;
}

bool vm_migration_outcome_awaited(struct vm_migration *m)
{
	bool awaited;

	if (!m)
		return false;
	pthread_mutex_lock(&m->lock);
	awaited = m->state == MIG_COMPLETED && !m->outcome_told;
	pthread_mutex_unlock(&m->lock);
	return awaited;
}

void vm_migration_cancel(struct vm_migration *m)
{
	if (!m)
		return;
	pthread_mutex_lock(&m->lock);
	if (m->state <= MIG_STOP_AND_COPY && !m->cancelled) {
		m->cancelled = true;
		/* a thread blocked in send or receive wakes up now */
		if (m->fd >= 0 && m->state == MIG_PRECOPY)
			shutdown(m->fd, SHUT_RDWR);
	}
	pthread_mutex_unlock(&m->lock);
}

void vm_migration_free(struct vm_migration *m)
{
	if (!m)
		return;
	pthread_mutex_lock(&m->lock);
	m->cancelled = true;
	if (m->fd >= 0)
		shutdown(m->fd,
			 SHUT_RDWR); /* the VM is going: wake the thread whatever it waits for */
	pthread_mutex_unlock(&m->lock);
	if (m->thread_started)
		pthread_join(m->thread, NULL);
	migration_release(m);
}

/* ---- the destination ---- */

struct vm_incoming {
	int listen_fd;
	int cancel_fd; /* an eventfd: vm_incoming_cancel */
	char unix_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	pthread_mutex_t lock; /* guards what follows */
	int conn_fd;
	bool cancelled;
	const char *state; /* "listening", "receiving", "completed", "failed", "cancelled" */
	uint64_t pages, bytes;
	char error[512];
};

static void incoming_set(struct vm_incoming *in, const char *state, const char *error)
{
	pthread_mutex_lock(&in->lock);
	in->state = state;
	if (error) {
		snprintf(in->error, sizeof(in->error), "%s", error);
		json_safe(in->error);
	}
	pthread_mutex_unlock(&in->lock);
}

char *vm_incoming_json(struct vm_incoming *in)
{
	char *out = NULL;

	pthread_mutex_lock(&in->lock);
	if (asprintf(&out,
		     "{\"state\": \"%s\", \"pages\": %llu, \"transferred_bytes\": %llu, "
		     "\"error\": \"%s\"}",
		     in->state, (unsigned long long)in->pages, (unsigned long long)in->bytes,
		     in->error) < 0)
		out = NULL;
	pthread_mutex_unlock(&in->lock);
	return out;
}

int vm_incoming_listen(struct vm_incoming **out, const char *addr, char *err, size_t err_len)
{
	struct vm_incoming *in;
	union mig_addr a;
	socklen_t len;
	int one = 1, ret;

	ret = addr_parse(addr, &a, &len, err, err_len);
	if (ret)
		return ret;
	in = calloc(1, sizeof(*in));
	if (!in) {
		snprintf(err, err_len, "out of memory");
		return -ENOMEM;
	}
	in->conn_fd = -1;
	in->state = "listening";
	pthread_mutex_init(&in->lock, NULL);
	in->cancel_fd = eventfd(0, EFD_CLOEXEC);
	in->listen_fd = socket(a.sa.sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (in->cancel_fd < 0 || in->listen_fd < 0) {
		ret = -errno;
		snprintf(err, err_len, "migration: socket: %s", strerror(errno));
		goto fail;
	}
	setsockopt(in->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(in->listen_fd, &a.sa, len) < 0 || listen(in->listen_fd, 1) < 0) {
		ret = -errno;
		snprintf(err, err_len, "migration: cannot listen on %s: %s", addr, strerror(errno));
		goto fail;
	}
	if (a.sa.sa_family == AF_UNIX)
		memcpy(in->unix_path, a.un.sun_path, sizeof(in->unix_path));
	*out = in;
	return 0;
fail:
	vm_incoming_free(in);
	return ret;
}

void vm_incoming_cancel(struct vm_incoming *in)
{
	uint64_t one = 1;

	pthread_mutex_lock(&in->lock);
	in->cancelled = true;
	if (write(in->cancel_fd, &one, sizeof(one)) < 0) {
		/* an eventfd write fails only at overflow: already signalled */
	}
	if (in->conn_fd >= 0)
		shutdown(in->conn_fd, SHUT_RDWR);
	pthread_mutex_unlock(&in->lock);
}

void vm_incoming_free(struct vm_incoming *in)
{
	if (!in)
		return;
	if (in->listen_fd >= 0)
		close(in->listen_fd);
	if (in->cancel_fd >= 0)
		close(in->cancel_fd);
	if (in->conn_fd >= 0)
		close(in->conn_fd);
	if (in->unix_path[0])
		unlink(in->unix_path);
	pthread_mutex_destroy(&in->lock);
	free(in);
}

/* Accept the one source; -ECANCELED when cancelled first. */
static int accept_source(struct vm_incoming *in, char *err, size_t err_len)
{
	struct pollfd pfd[2] = { { .fd = in->listen_fd, .events = POLLIN },
				 { .fd = in->cancel_fd, .events = POLLIN } };
	struct timeval tv = { .tv_sec = SEND_TIMEOUT_S };
	int fd;

	for (;;) {
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			snprintf(err, err_len, "migration: poll: %s", strerror(errno));
			return -errno;
		}
		if (pfd[1].revents)
			return -ECANCELED;
		fd = accept4(in->listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd >= 0)
			break;
		if (errno != EINTR && errno != ECONNABORTED && errno != EAGAIN) {
			snprintf(err, err_len, "migration: accept: %s", strerror(errno));
			return -errno;
		}
	}
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	pthread_mutex_lock(&in->lock);
	in->conn_fd = fd;
	if (in->cancelled)
		shutdown(fd, SHUT_RDWR);
	pthread_mutex_unlock(&in->lock);
	return 0;
}

/*
 * VMON_TEST_MIGRATE_DIE=state|go: the destination dies (exits at once, as a
 * crash would) when that message arrives, for the KVM tier's fault injection.
 */
static void test_die(const char *at)
{
	const char *e = getenv("VMON_TEST_MIGRATE_DIE");

	if (e && !strcmp(e, at)) {
		log_warn("migration: VMON_TEST_MIGRATE_DIE=%s: dying as %s arrives", e, at);
		_exit(VMON_EXIT_HOST);
	}
}

/* After GO: the disk locks, which the source has just dropped (it may take a moment). */
static int lock_disks(struct vm *vm, char *err, size_t err_len)
{
	int ret;

	for (int tries = 0;; tries++) {
		ret = vm_pci_lock_disks(vm, err, err_len);
		if (ret != -EBUSY || tries >= 40)
			return ret;
		struct timespec ts = { .tv_nsec = 50 * 1000 * 1000 };

		nanosleep(&ts, NULL);
	}
}

int vm_incoming_receive(struct vm_incoming *in, struct evloop *el, const struct vm_restore_opts *o,
			int (*on_ready)(void *opaque, struct vm *vm, struct vm_config *cfg,
					bool paused, char *err, size_t err_len),
			void *opaque, char *err, size_t err_len)
{
	struct snapfile_header *hdr = calloc(1, sizeof(*hdr));
	enum migwire_phase phase = MIGWIRE_WANT_HELLO;
	struct migwire_buf rb = { 0 };
	struct vm_config cfg;
	struct vm *vm = NULL;
	bool owned = false, user_error;
	uint64_t pages = 0, t0 = 0, t_go;
	int ret;

	vm_config_init(&cfg);
	if (!hdr) {
		snprintf(err, err_len, "out of memory");
		return -ENOMEM;
	}
	ret = accept_source(in, err, err_len);
	if (ret) {
		incoming_set(in, ret == -ECANCELED ? "cancelled" : "failed", err);
		goto out;
	}
	incoming_set(in, "receiving", NULL);
	t0 = now_us();
	for (;;) {
		struct migwire_msg msg;
		int fd = in->conn_fd;
		bool in_ram;

		/* pages go straight into RAM once HELLO has made it (and until STATE) */
		ret = recv_msg_ram(fd, &rb, phase == MIGWIRE_WANT_MEMORY ? &vm->gmem : NULL, &msg,
				   &in_ram, REPLY_TIMEOUT_MS, err, err_len);
		if (!ret)
			ret = migwire_expect(&phase, msg.type, err, err_len);
		if (ret)
			break;
		if (msg.type == MIGWIRE_HELLO) {
			const uint8_t *snap;
			size_t snap_len;
			struct vm_mem_source src = { .hdr = hdr, .defer_disk_locks = true };

			ret = migwire_decode_hello(&msg, &snap, &snap_len, err, err_len);
			if (!ret)
				ret = vm_incoming_config(snap, snap_len, o, hdr, &cfg, err,
							 err_len);
			if (!ret)
				ret = vm_create_from(&vm, &cfg, &src, el, &user_error, err,
						     err_len);
			if (!ret)
				ret = migwire_send(fd, MIGWIRE_ACCEPT, NULL, 0, NULL, 0, err,
						   err_len);
			if (ret)
				break;
			log_info("migration: accepted a VM of %u vCPUs and %llu MiB", cfg.cpus,
				 (unsigned long long)(cfg.mem_bytes >> 20));
		} else if (msg.type == MIGWIRE_PAGES || msg.type == MIGWIRE_ZEROS) {
			struct migwire_pages p;

			ret = migwire_decode_pages(&msg, &p, err, err_len); /* its header */
			if (!ret && !in_ram)
				ret = migwire_apply_pages(&vm->gmem, &p, err, err_len);
			if (ret)
				break;
			pages += p.count;
			pthread_mutex_lock(&in->lock);
			in->pages = pages;
			in->bytes += msg.len + MIGWIRE_FRAME_HEADER + MIGWIRE_FRAME_TRAILER;
			pthread_mutex_unlock(&in->lock);
		} else if (msg.type == MIGWIRE_SYNC) {
			ret = migwire_send(fd, MIGWIRE_SYNC, NULL, 0, NULL, 0, err, err_len);
			if (ret)
				break;
		} else if (msg.type == MIGWIRE_STATE) {
			uint64_t t_state = now_us();

			test_die("state");
			ret = vm_incoming_load(vm, msg.payload, msg.len, o, err, err_len);
			log_info("migration: the state (%u KiB) loaded in %.1f ms", msg.len >> 10,
				 (double)(now_us() - t_state) / 1000);
			if (!ret)
				ret = migwire_send(fd, MIGWIRE_READY, NULL, 0, NULL, 0, err,
						   err_len);
			if (ret)
				break;
		} else { /* GO */
			bool paused = migwire_go_flags(&msg) & MIGWIRE_GO_PAUSED;

			test_die("go");
			t_go = now_us();
			ret = lock_disks(vm, err, err_len);
			if (!ret) {
				ret = on_ready(opaque, vm, &cfg, paused, err, err_len);
				owned = true;
			}
			if (!ret && paused)
				log_info("migration: the guest arrived paused, as its user had "
					 "paused "
					 "it at the source");
			else if (!ret)
				ret = vm_resume(vm);
			if (ret) {
				if (!err[0])
					snprintf(err, err_len, "cannot start the migrated VM");
				break;
			}
			if (migwire_send(fd, MIGWIRE_DONE, NULL, 0, NULL, 0, err, err_len))
				log_warn("migration: the guest runs here, but the source was not "
					 "told: %s",
					 err);
			err[0] = 0;
			incoming_set(in, "completed", NULL);
			vm_pci_announce(vm);
			log_info("migration: the guest runs here: %llu pages received in %llu ms; "
				 "running %llu ms after GO",
				 (unsigned long long)pages,
				 (unsigned long long)((t_go - t0) / 1000),
				 (unsigned long long)((now_us() - t_go) / 1000));
			ret = 0;
			goto out;
		}
	}
	pthread_mutex_lock(&in->lock);
	if (in->cancelled) {
		ret = -ECANCELED;
		snprintf(err, err_len, "migration: cancelled");
	}
	pthread_mutex_unlock(&in->lock);
	incoming_set(in, ret == -ECANCELED ? "cancelled" : "failed", err);
	send_error(in->conn_fd, err);
	if (vm && owned) {
		vm_end(vm, VMON_EXIT_HOST, "migration failed");
	} else if (vm) {
		vm_end(vm, VMON_EXIT_HOST, "migration failed");
		vm_join(vm);
		vm_destroy(vm);
	}
out:
	migwire_buf_free(&rb);
	vm_config_free(&cfg);
	free(hdr);
	return ret;
}
