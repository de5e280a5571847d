/*
 * filter_cost.c — what vmon's seccomp filters add to a system call, measured
 * without KVM. Kind "vcpu" (the default): the one call a vCPU thread makes per
 * exit, ioctl(KVM_RUN) (on /dev/null, which answers ENOTTY at once), under the
 * vCPU filter; kind "control": write(2) of an eventfd, the calls the event-loop
 * thread makes per block or network request (completion and interrupt
 * eventfds; io_uring_enter goes through the same filter), under its filter.
 * The same call from a thread under the filter and from one without it,
 * alternating, R rounds; the difference of the medians is the filter's cost per
 * call. It then prints the ratio (exit + filter) / exit for the exit round
 * trips bench/exit measured (and for 1 us, a fast host's), against the target
 * of 1.02; for "control", (request + 4 calls) / request for bench/blk's
 * request times.
 *
 * usage: exit_filter_cost [CALLS [ROUNDS [vcpu|control]]]
 */
#include <fcntl.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "confine/seccomp.h"

struct job {
	bool confined, control;
	long calls;
	int fd;
	double ns_per_call;
};

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void *run(void *opaque)
{
	struct job *j = opaque;
	double t0;

	if (j->confined &&
	    confine_thread(j->control ? CONFINE_CONTROL : CONFINE_VCPU, "filter-cost")) {
		j->ns_per_call = -1;
		return NULL;
	}
	t0 = now_ns();
	if (j->control) {
		uint64_t one = 1;
		for (long i = 0; i < j->calls; i++)
			if (write(j->fd, &one, sizeof(one)) != sizeof(one))
				break;
	} else {
		for (long i = 0; i < j->calls; i++)
			if (ioctl(j->fd, KVM_RUN, 0) == 0)
				break; /* /dev/null never runs a vCPU */
	}
	j->ns_per_call = (now_ns() - t0) / (double)j->calls;
	return NULL;
}

static double one(bool confined, bool control, long calls, int fd)
{
	struct job j = { .confined = confined, .control = control, .calls = calls, .fd = fd };
	pthread_t t;

	if (pthread_create(&t, NULL, run, &j) || pthread_join(t, NULL))
		return -1;
	return j.ns_per_call;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* what one kind measures, and the unit times its cost is set against */
struct kind {
	const char *bench, *call, *filter, *unit;
	enum confine_kind filter_kind;
	int calls_per_unit;
	double unit_us[3];
	const char *where[3];
};

static const struct kind kinds[] = {
	{ "bench/exit",
	  "ioctl(KVM_RUN) on /dev/null",
	  "vCPU",
	  "exit",
	  CONFINE_VCPU,
	  1,
	  { 1.0, 10.85, 44.7 },
	  { "a fast host (assumed)", "this PVM host (bench/exit/run)",
	    "the sandbox's L1 (bench/exit/run-sandbox)" } },
	/* bench/blk in the sandbox (docs/performance.md, 2026-12-07): a 1 MiB sequential read,
	 * a 4 KiB random read at queue depth 1 and at 16 (per request of the 16 in flight); 4 calls
	 * each, assumed: the notification eventfd read, io_uring_enter, the completion eventfd
	 * read, the interrupt eventfd write */
	{ "bench/blk",
	  "write(2) of an eventfd",
	  "event-loop",
	  "request",
	  CONFINE_CONTROL,
	  4,
	  { 2818, 851, 98 },
	  { "seq read 1 MiB", "random read QD1", "random read QD16" } },
};

int main(int argc, char **argv)
{
	long calls = argc > 1 ? atol(argv[1]) : 2000000;
	int rounds = argc > 2 ? atoi(argv[2]) : 7;
	bool control = argc > 3 && !strcmp(argv[3], "control");
	const struct kind *k = &kinds[control ? 1 : 0];
	double on[64], off[64], cost;
	char err[256] = "";
	int fd = control ? eventfd(0, EFD_CLOEXEC) : open("/dev/null", O_RDONLY | O_CLOEXEC);

	if (fd < 0 || calls <= 0 || rounds <= 0 || rounds > 64 ||
	    (argc > 3 && !control && strcmp(argv[3], "vcpu"))) {
		fprintf(stderr, "usage: exit_filter_cost [CALLS [ROUNDS<=64 [vcpu|control]]]\n");
		return 2;
	}
	if (confine_setup(true, err, sizeof(err))) {
		fprintf(stderr, "exit_filter_cost: %s\n", err);
		return 4;
	}
	for (int r = 0; r < rounds; r++) {
		off[r] = one(false, control, calls, fd);
		on[r] = one(true, control, calls, fd);
		if (off[r] < 0 || on[r] < 0) {
			fprintf(stderr, "exit_filter_cost: cannot run a confined thread\n");
			return 4;
		}
	}
	qsort(on, (size_t)rounds, sizeof(on[0]), cmp);
	qsort(off, (size_t)rounds, sizeof(off[0]), cmp);
	cost = on[rounds / 2] - off[rounds / 2];
	printf("%s filter cost: %s, %ld calls, %d rounds, alternating\n", k->bench, k->call, calls,
	       rounds);
	printf("  without the filter: median %7.1f ns per call\n", off[rounds / 2]);
	printf("  %s filter (%u BPF instructions): median %7.1f ns per call\n", k->filter,
	       confine_filter_length(k->filter_kind), on[rounds / 2]);
	printf("  the filter's cost: %.1f ns per call, %d call(s) per %s\n", cost,
	       k->calls_per_unit, k->unit);
	for (unsigned i = 0; i < 3; i++) {
		double ns = k->unit_us[i] * 1000;
		printf("  ratio with / without per %s of %.2f us, %s: %.5f (target <= 1.02)\n",
		       k->unit, k->unit_us[i], k->where[i], (ns + k->calls_per_unit * cost) / ns);
	}
	close(fd);
	return 0;
}
