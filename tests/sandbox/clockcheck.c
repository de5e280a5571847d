/*
 * clockcheck.c — the timewarp scenario's guest tool (tests/sandbox/l1-init.sh): does a clock the
 * guest reads ever run backwards between its CPUs?
 *
 * usage: clockcheck SECONDS
 *
 * One thread per online CPU, each pinned to its CPU. All share one "latest reading" per clock; a
 * thread loads it (acquire), reads the clock, and counts a warp when its reading is earlier than
 * the one it just loaded, which another CPU stored after its own read — so a correct clock can
 * never be earlier. Then it raises the shared value to its reading (release). Three clocks:
 * CLOCK_MONOTONIC (the vDSO: kvm-clock's pvclock page or the TSC, whichever the guest chose),
 * CLOCK_MONOTONIC_RAW, and the bare TSC read with RDTSCP (its offsets differing between vCPUs is
 * the usual cause of the others). Lock-free, so a thread preempted between two steps (vCPUs
 * time-sliced on one host CPU) can only make a warp less likely to be seen, never invent one.
 *
 * Prints one line: CLOCKCHECK cpus=N reads=R mono_warps=W mono_max_ns=M raw_warps=.. raw_max_ns=..
 * tsc_warps=.. tsc_max=.. (cycles) clocksource=NAME
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { C_MONO, C_RAW, C_TSC, C_NR };

static _Atomic uint64_t latest[C_NR];
static _Atomic uint64_t warps[C_NR], max_back[C_NR], reads;
static _Atomic int stop;

static uint64_t read_clock(int c)
{
	struct timespec ts;
	uint32_t lo, hi, aux;

	switch (c) {
	case C_MONO:
		clock_gettime(CLOCK_MONOTONIC, &ts);
		return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	case C_RAW:
		clock_gettime(CLOCK_MONOTONIC_RAW, &ts);
		return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	default:
		/* RDTSCP waits for earlier instructions, the acquire load among them */
		__asm__ volatile("rdtscp" : "=a"(lo), "=d"(hi), "=c"(aux));
		return (uint64_t)hi << 32 | lo;
	}
}

static void check(int c)
{
	uint64_t seen = atomic_load_explicit(&latest[c], memory_order_acquire);
	uint64_t now = read_clock(c);
	uint64_t m;

	if (now < seen) {
		atomic_fetch_add(&warps[c], 1);
		m = atomic_load(&max_back[c]);
		while (seen - now > m &&
		       !atomic_compare_exchange_weak(&max_back[c], &m, seen - now))
			;
	}
	while (now > seen &&
	       !atomic_compare_exchange_weak_explicit(&latest[c], &seen, now, memory_order_release,
						      memory_order_acquire))
		;
}

static void *worker(void *arg)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET((int)(intptr_t)arg, &set);
	if (sched_setaffinity(0, sizeof(set), &set) != 0)
		perror("clockcheck: sched_setaffinity");
	while (!atomic_load(&stop)) {
		for (int c = 0; c < C_NR; c++)
			check(c);
		atomic_fetch_add_explicit(&reads, 1, memory_order_relaxed);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	int secs = argc > 1 ? atoi(argv[1]) : 10;
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	pthread_t th[64];
	char cs[64] = "unknown";
	FILE *f;

	if (n < 1 || n > 64 || secs < 1) {
		fprintf(stderr, "usage: clockcheck SECONDS (1..64 CPUs online, found %ld)\n", n);
		return 2;
	}
	f = fopen("/sys/devices/system/clocksource/clocksource0/current_clocksource", "r");
	if (f) {
		if (fgets(cs, sizeof(cs), f))
			cs[strcspn(cs, "\n")] = 0;
		fclose(f);
	}
	for (long i = 0; i < n; i++)
		if (pthread_create(&th[i], NULL, worker, (void *)(intptr_t)i) != 0) {
			fprintf(stderr, "clockcheck: pthread_create failed\n");
			return 1;
		}
	sleep((unsigned)secs);
	atomic_store(&stop, 1);
	for (long i = 0; i < n; i++)
		pthread_join(th[i], NULL);
	printf("CLOCKCHECK cpus=%ld reads=%llu mono_warps=%llu mono_max_ns=%llu raw_warps=%llu "
	       "raw_max_ns=%llu "
	       "tsc_warps=%llu tsc_max=%llu clocksource=%s\n",
	       n, (unsigned long long)reads, (unsigned long long)warps[C_MONO],
	       (unsigned long long)max_back[C_MONO], (unsigned long long)warps[C_RAW],
	       (unsigned long long)max_back[C_RAW], (unsigned long long)warps[C_TSC],
	       (unsigned long long)max_back[C_TSC], cs);
	return 0;
}
