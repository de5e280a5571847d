/* fake_platform.h — a struct dev_platform that records what devices ask of the VM, for unit tests.
 */
#ifndef VMON_TESTS_FAKE_PLATFORM_H
#define VMON_TESTS_FAKE_PLATFORM_H

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "bus/pci.h"

#define FP_MAX 16

struct fake_platform {
	struct dev_platform plat;
	struct {
		uint64_t addr;
		uint32_t data;
	} msi[256];
	unsigned nr_msi;
	int intx[32];
	unsigned intx_raises[32]; /* 0 -> 1 transitions */
	struct {
		uint64_t gpa;
		unsigned len;
		int64_t match; /* -1: any value */
		int fd;
		bool on;
	} ioev[FP_MAX];
	unsigned nr_ioev;
	struct {
		int fd;
		void (*fn)(void *, uint32_t);
		void *arg;
		bool on;
	} watch[FP_MAX];
	unsigned nr_watch;
};

static inline int fp_ioeventfd_add(void *o, uint64_t gpa, unsigned len, int64_t match, int fd)
{
	struct fake_platform *fp = o;

	if (fp->nr_ioev >= FP_MAX)
		return -ENOSPC;
	fp->ioev[fp->nr_ioev].gpa = gpa;
	fp->ioev[fp->nr_ioev].len = len;
	fp->ioev[fp->nr_ioev].match = match;
	fp->ioev[fp->nr_ioev].fd = fd;
	fp->ioev[fp->nr_ioev].on = true;
	fp->nr_ioev++;
	return 0;
}

static inline int fp_ioeventfd_del(void *o, uint64_t gpa, unsigned len, int64_t match, int fd)
{
	struct fake_platform *fp = o;

	for (unsigned i = 0; i < fp->nr_ioev; i++)
		if (fp->ioev[i].on && fp->ioev[i].gpa == gpa && fp->ioev[i].fd == fd &&
		    fp->ioev[i].len == len && fp->ioev[i].match == match) {
			fp->ioev[i].on = false;
			return 0;
		}
	return -ENOENT;
}

static inline int fp_msi_send(void *o, uint64_t addr, uint32_t data)
{
	struct fake_platform *fp = o;

	if (fp->nr_msi < 256) {
		fp->msi[fp->nr_msi].addr = addr;
		fp->msi[fp->nr_msi].data = data;
	}
	fp->nr_msi++;
	return 0;
}

static inline void fp_intx_set(void *o, unsigned gsi, int level)
{
	struct fake_platform *fp = o;

	if (gsi < 32) {
		fp->intx_raises[gsi] += level && !fp->intx[gsi];
		fp->intx[gsi] = level;
	}
}

static inline int fp_fd_watch(void *o, int fd, void (*fn)(void *, uint32_t), void *arg)
{
	struct fake_platform *fp = o;

	if (fp->nr_watch >= FP_MAX)
		return -ENOSPC;
	fp->watch[fp->nr_watch].fd = fd;
	fp->watch[fp->nr_watch].fn = fn;
	fp->watch[fp->nr_watch].arg = arg;
	fp->watch[fp->nr_watch].on = true;
	fp->nr_watch++;
	return 0;
}

static inline int fp_fd_unwatch(void *o, int fd)
{
	struct fake_platform *fp = o;

	for (unsigned i = 0; i < fp->nr_watch; i++)
		if (fp->watch[i].on && fp->watch[i].fd == fd) {
			fp->watch[i].on = false;
			return 0;
		}
	return -ENOENT;
}

static inline void fp_init(struct fake_platform *fp)
{
	memset(fp, 0, sizeof(*fp));
	fp->plat =
		(struct dev_platform){ fp,	    fp_ioeventfd_add, fp_ioeventfd_del, fp_msi_send,
				       fp_intx_set, fp_fd_watch,      fp_fd_unwatch };
}

/* One event-loop iteration: call the handler of every readable watched fd. Returns handlers run. */
static inline unsigned fp_run(struct fake_platform *fp)
{
	unsigned ran = 0;

	for (unsigned i = 0; i < fp->nr_watch; i++) {
		struct pollfd p = { .fd = fp->watch[i].fd, .events = POLLIN };

		if (fp->watch[i].on && poll(&p, 1, 0) == 1 && (p.revents & POLLIN)) {
			fp->watch[i].fn(fp->watch[i].arg, POLLIN);
			ran++;
		}
	}
	return ran;
}

/*
 * What KVM would do for a write of @val that hits an ioeventfd: signal it. Returns true if one
 * matched.
 */
static inline bool fp_ioeventfd_hit_value(struct fake_platform *fp, uint64_t gpa, unsigned len,
					  uint64_t val)
{
	for (unsigned i = 0; i < fp->nr_ioev; i++)
		if (fp->ioev[i].on && fp->ioev[i].gpa == gpa && fp->ioev[i].len == len &&
		    (fp->ioev[i].match < 0 || (uint64_t)fp->ioev[i].match == val)) {
			uint64_t one = 1;

			return write(fp->ioev[i].fd, &one, sizeof(one)) == sizeof(one);
		}
	return false;
}

/* fp_ioeventfd_hit - a write that matches any ioeventfd at @gpa (no datamatch). */
static inline bool fp_ioeventfd_hit(struct fake_platform *fp, uint64_t gpa, unsigned len)
{
	for (unsigned i = 0; i < fp->nr_ioev; i++)
		if (fp->ioev[i].on && fp->ioev[i].gpa == gpa && fp->ioev[i].len == len)
			return fp_ioeventfd_hit_value(fp, gpa, len, (uint64_t)fp->ioev[i].match);
	return false;
}

#endif
