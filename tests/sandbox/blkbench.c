// blkbench: the guest side of bench/blk — measures a block device from inside the L2 guest with
// O_DIRECT (no guest page cache), timed by CLOCK_MONOTONIC. Built statically into the guest
// initramfs by tests/sandbox/build-initramfs (busybox has no O_DIRECT random I/O and no fio).
//
//   blkbench DEVICE SECONDS
//
// Runs, each for SECONDS:
//   seq_write   1 MiB pwrite()s from offset 0 upwards (wrapping at the end), one at a time (queue
//               depth 1)
//   seq_read    1 MiB pread()s the same way
//   rand_read   4 KiB reads at random 4 KiB-aligned offsets, queue depth 1 (pread)
//   rand_read   the same with 16 in flight, through Linux native AIO (io_submit, raw syscalls)
// and prints one line per test:
//   VMON-BLKBENCH test=seq_write qd=1 bs=1048576 ops=N bytes=N usec=N mbs=X iops=Y
// then VMON-BLKBENCH-DONE. Exits 1 (after printing what it measured) when an I/O fails.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/aio_abi.h>
#include <linux/fs.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define BB_SEQ_BYTES (1u << 20)
#define BB_RAND_BYTES 4096u
#define BB_QD 16

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

// xorshift64*: the offsets only need to be spread, not unpredictable
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rng_next(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dull;
}

static void report(const char *test, unsigned qd, unsigned bs, uint64_t ops, uint64_t usec)
{
	uint64_t bytes = ops * bs;
	double s = usec ? (double)usec / 1e6 : 1e-6;

	printf("VMON-BLKBENCH test=%s qd=%u bs=%u ops=%" PRIu64 " bytes=%" PRIu64 " usec=%" PRIu64
	       " mbs=%.2f iops=%.1f\n",
	       test, qd, bs, ops, bytes, usec, (double)bytes / 1e6 / s, (double)ops / s);
	fflush(stdout);
}

// Sequential transfers at queue depth 1 for @secs, wrapping around at the end of the device.
static int seq(int fd, uint64_t dev_bytes, bool write, unsigned secs, void *buf)
{
	uint64_t t0 = now_us(), limit = (uint64_t)secs * 1000000u, off = 0, ops = 0;

	for (;;) {
		ssize_t n;

		if (off + BB_SEQ_BYTES > dev_bytes)
			off = 0; // wrap around: every test runs for the same time
		n = write ? pwrite(fd, buf, BB_SEQ_BYTES, (off_t)off)
			  : pread(fd, buf, BB_SEQ_BYTES, (off_t)off);
		if (n != (ssize_t)BB_SEQ_BYTES) {
			fprintf(stderr, "blkbench: %s at %" PRIu64 ": %s\n",
				write ? "write" : "read", off,
				n < 0 ? strerror(errno) : "short transfer");
			return -1;
		}
		off += BB_SEQ_BYTES;
		ops++;
		if (now_us() - t0 >= limit)
			break;
	}
	report(write ? "seq_write" : "seq_read", 1, BB_SEQ_BYTES, ops, now_us() - t0);
	return 0;
}

static off_t rand_off(uint64_t dev_bytes)
{
	return (off_t)((rng_next() % (dev_bytes / BB_RAND_BYTES)) * BB_RAND_BYTES);
}

static int rand_qd1(int fd, uint64_t dev_bytes, unsigned secs, void *buf)
{
	uint64_t t0 = now_us(), limit = (uint64_t)secs * 1000000u, ops = 0;

	do {
		off_t off = rand_off(dev_bytes);

		if (pread(fd, buf, BB_RAND_BYTES, off) != (ssize_t)BB_RAND_BYTES) {
			fprintf(stderr, "blkbench: random read at %lld failed: %s\n",
				(long long)off, strerror(errno));
			return -1;
		}
		ops++;
	} while (now_us() - t0 < limit);
	report("rand_read", 1, BB_RAND_BYTES, ops, now_us() - t0);
	return 0;
}

static void prep_read(struct iocb *cb, int fd, void *buf, uint64_t dev_bytes, unsigned slot)
{
	memset(cb, 0, sizeof(*cb));
	cb->aio_data = slot;
	cb->aio_lio_opcode = IOCB_CMD_PREAD;
	cb->aio_fildes = (uint32_t)fd;
	cb->aio_buf = (uint64_t)(uintptr_t)buf;
	cb->aio_nbytes = BB_RAND_BYTES;
	cb->aio_offset = (int64_t)rand_off(dev_bytes);
}

// BB_QD random reads kept in flight with native AIO: each completion is replaced at once.
static int rand_qd(int fd, uint64_t dev_bytes, unsigned secs, uint8_t *bufs)
{
	uint64_t t0 = now_us(), limit = (uint64_t)secs * 1000000u, ops = 0;
	struct iocb cbs[BB_QD], *ptrs[BB_QD];
	struct io_event ev[BB_QD];
	aio_context_t ctx = 0;
	unsigned inflight = 0;
	bool stop = false;
	int ret = -1;

	if (syscall(SYS_io_setup, BB_QD, &ctx) < 0) {
		fprintf(stderr, "blkbench: io_setup: %s\n", strerror(errno));
		return -1;
	}
	for (unsigned i = 0; i < BB_QD; i++) {
		prep_read(&cbs[i], fd, bufs + (size_t)i * BB_RAND_BYTES, dev_bytes, i);
		ptrs[i] = &cbs[i];
	}
	if (syscall(SYS_io_submit, ctx, (long)BB_QD, ptrs) != BB_QD) {
		fprintf(stderr, "blkbench: io_submit: %s\n", strerror(errno));
		goto out;
	}
	inflight = BB_QD;
	while (inflight) {
		long n = syscall(SYS_io_getevents, ctx, 1L, (long)BB_QD, ev, NULL);
		unsigned nsub = 0;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "blkbench: io_getevents: %s\n", strerror(errno));
			goto out;
		}
		stop = stop || now_us() - t0 >= limit;
		for (long i = 0; i < n; i++) {
			unsigned slot = (unsigned)ev[i].data;

			if (ev[i].res != (int64_t)BB_RAND_BYTES) {
				fprintf(stderr, "blkbench: AIO read failed: %lld\n",
					(long long)ev[i].res);
				goto out;
			}
			inflight--;
			ops++;
			if (!stop) {
				prep_read(&cbs[slot], fd, bufs + (size_t)slot * BB_RAND_BYTES,
					  dev_bytes, slot);
				ptrs[nsub++] = &cbs[slot];
			}
		}
		if (nsub) {
			if (syscall(SYS_io_submit, ctx, (long)nsub, ptrs) != (long)nsub) {
				fprintf(stderr, "blkbench: io_submit: %s\n", strerror(errno));
				goto out;
			}
			inflight += nsub;
		}
	}
	report("rand_read", BB_QD, BB_RAND_BYTES, ops, now_us() - t0);
	ret = 0;
out:
	syscall(SYS_io_destroy, ctx);
	return ret;
}

int main(int argc, char **argv)
{
	uint64_t dev_bytes = 0;
	unsigned secs;
	uint8_t *buf;
	int fd, rc = 0;

	if (argc != 3 || (secs = (unsigned)atoi(argv[2])) == 0) {
		fprintf(stderr, "usage: blkbench DEVICE SECONDS\n");
		return 2;
	}
	fd = open(argv[1], O_RDWR | O_DIRECT);
	if (fd >= 0 &&
	    ioctl(fd, BLKGETSIZE64, &dev_bytes) < 0) // a regular file (tried on the host)
		dev_bytes = (uint64_t)lseek(fd, 0, SEEK_END);
	if (fd < 0 || dev_bytes == (uint64_t)-1) {
		fprintf(stderr, "blkbench: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	if (dev_bytes < BB_SEQ_BYTES) {
		fprintf(stderr, "blkbench: %s is smaller than 1 MiB\n", argv[1]);
		return 1;
	}
	if (posix_memalign((void **)&buf, 4096, BB_SEQ_BYTES + BB_QD * BB_RAND_BYTES)) {
		fprintf(stderr, "blkbench: out of memory\n");
		return 1;
	}
	for (size_t i = 0; i < BB_SEQ_BYTES; i++)
		buf[i] = (uint8_t)(i * 131 + i / 4096);
	printf("VMON-BLKBENCH-DEVICE bytes=%" PRIu64 " seconds=%u\n", dev_bytes, secs);
	if (seq(fd, dev_bytes, true, secs, buf) || seq(fd, dev_bytes, false, secs, buf) ||
	    rand_qd1(fd, dev_bytes, secs, buf) || rand_qd(fd, dev_bytes, secs, buf + BB_SEQ_BYTES))
		rc = 1;
	printf("VMON-BLKBENCH-DONE status=%d\n", rc);
	fflush(stdout);
	close(fd);
	return rc;
}
