/*
 * tcpbench.c — a TCP bulk-transfer timer for bench/net, built static and put into both the
 * sandbox's L1 and guest initramfs. One connection, one direction, timed by the receiver:
 *
 *   tcpbench recv ADDR PORT [SECS]
 *       listen on ADDR:PORT, accept one connection, read until EOF and print
 *       "TCPBENCH recv bytes=B ms=T MBps=X" (T from the first byte to EOF by
 *       CLOCK_MONOTONIC; X in 10^6 bytes per second). Gives up after SECS
 *       seconds without a connection (default 120). Then "TCPBENCH cpu ..." from the accept to EOF:
 *       the machine's CPU ticks by kind (/proc/stat, in ms) and the CPU time of every thread that
 *       ran, summed by thread name (/proc/PID/task/TID/schedstat, in ms), and the KVM statistics
 *       that moved (/sys/kernel/debug/kvm, when mounted): where the receiving machine's CPUs went
 *       during the transfer.
 *   tcpbench send ADDR PORT MIB [SECS]
 *       connect to ADDR:PORT (retried every 100 ms for up to SECS seconds,
 *       default 120), write MIB MiB in 256 KiB writes, shut down the write
 *       side, wait for the peer's EOF and print "TCPBENCH send bytes=B ms=T
 *       MBps=X" (T from connect to the peer's EOF).
 *
 *   tcpbench nicstats IFACE
 *       print the driver's own counters of IFACE (ethtool -S, through SIOCETHTOOL) as
 *       "name=value" words on one line: virtio_net's per-queue packets and kicks.
 *
 * Exit status 0 on success, 1 on any failure (with a line on stderr).
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CHUNK (256 * 1024)

static char buf[CHUNK];

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int parse_addr(struct sockaddr_in *sa, const char *addr, const char *port)
{
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)atoi(port));
	if (inet_pton(AF_INET, addr, &sa->sin_addr) != 1) {
		fprintf(stderr, "tcpbench: bad IPv4 address '%s'\n", addr);
		return -1;
	}
	return 0;
}

static void report(const char *what, uint64_t bytes, double ms)
{
	printf("TCPBENCH %s bytes=%llu ms=%.1f MBps=%.2f\n", what, (unsigned long long)bytes, ms,
	       ms > 0 ? bytes / 1e3 / ms : 0.0);
	fflush(stdout);
}

/* CPU accounting over a transfer: the machine's ticks and every thread's run time */
#define MAX_THREADS 1024
struct cpu_snap {
	unsigned long long ticks[8]; /* user nice system idle iowait irq softirq steal */
	int nkvm; /* KVM's statistics summed over its VMs (L1's debugfs, when mounted) */
	struct {
		char name[40];
		unsigned long long v;
	} kvm[128];
	int n;
	struct {
		int tid;
		char comm[20];
		unsigned long long ns;
	} t[MAX_THREADS];
};
static struct cpu_snap snap0, snap1;

/* The first line of @path into @buf (newline cut), or false. */
static bool read_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	bool ok = f && fgets(buf, (int)len, f);

	if (f)
		fclose(f);
	if (ok)
		buf[strcspn(buf, "\n")] = 0;
	return ok;
}

/* /proc/stat's first line: the machine's ticks by kind (0 when unreadable) */
static void snap_ticks(struct cpu_snap *c)
{
	char line[256];

	memset(c->ticks, 0, sizeof(c->ticks));
	if (!read_line("/proc/stat", line, sizeof(line)) ||
	    sscanf(line, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &c->ticks[0], &c->ticks[1],
		   &c->ticks[2], &c->ticks[3], &c->ticks[4], &c->ticks[5], &c->ticks[6],
		   &c->ticks[7]) != 8)
		memset(c->ticks, 0, sizeof(c->ticks));
}

/* every thread's run time (schedstat, ns) and name (spaces as '_') */
static void snap_threads(struct cpu_snap *c)
{
	DIR *proc = opendir("/proc");
	struct dirent *p;

	c->n = 0;
	while (proc && (p = readdir(proc))) {
		char path[300];
		DIR *tasks;
		struct dirent *t;

		if (p->d_name[0] < '0' || p->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/task", p->d_name);
		tasks = opendir(path);
		while (tasks && (t = readdir(tasks)) && c->n < MAX_THREADS) {
			char file[600], line[64];

			if (t->d_name[0] < '0' || t->d_name[0] > '9')
				continue;
			snprintf(file, sizeof(file), "%s/%s/schedstat", path, t->d_name);
			if (!read_line(file, line, sizeof(line)))
				continue;
			c->t[c->n].ns = strtoull(line, NULL, 10);
			snprintf(file, sizeof(file), "%s/%s/comm", path, t->d_name);
			if (!read_line(file, c->t[c->n].comm, sizeof(c->t[c->n].comm)))
				snprintf(c->t[c->n].comm, sizeof(c->t[c->n].comm), "?");
			for (char *q = c->t[c->n].comm; *q; q++)
				if (*q == ' ')
					*q = '_';
			c->t[c->n].tid = atoi(t->d_name);
			c->n++;
		}
		if (tasks)
			closedir(tasks);
	}
	if (proc)
		closedir(proc);
}

/* KVM's statistics summed over its VMs (L1's debugfs; none when it is not mounted) */
static void snap_kvm(struct cpu_snap *c)
{
	DIR *d = opendir("/sys/kernel/debug/kvm");
	struct dirent *p;

	c->nkvm = 0;
	while (d && (p = readdir(d)) && c->nkvm < 128) {
		char file[300], line[64];

		if (p->d_type != DT_REG || strlen(p->d_name) >= sizeof(c->kvm[0].name))
			continue;
		snprintf(file, sizeof(file), "/sys/kernel/debug/kvm/%s", p->d_name);
		if (!read_line(file, line, sizeof(line)) || line[0] < '0' || line[0] > '9')
			continue;
		c->kvm[c->nkvm].v = strtoull(line, NULL, 10);
		snprintf(c->kvm[c->nkvm++].name, sizeof(c->kvm[0].name), "%s", p->d_name);
	}
	if (d)
		closedir(d);
}

static void cpu_snapshot(struct cpu_snap *c)
{
	snap_ticks(c);
	snap_threads(c);
	snap_kvm(c);
}

/* "TCPBENCH cpu": what moved from @a to @b; ticks as ms (USER_HZ 100), threads by name */
static void cpu_report(const struct cpu_snap *a, const struct cpu_snap *b)
{
	static const char *const kind[8] = { "user",   "nice", "sys",	  "idle",
					     "iowait", "irq",  "softirq", "steal" };
	static struct {
		char comm[20];
		unsigned long long ns;
	} sum[MAX_THREADS];
	int nsum = 0;

	printf("TCPBENCH cpu");
	for (int k = 0; k < 8; k++)
		printf(" %s=%llu", kind[k], (b->ticks[k] - a->ticks[k]) * 10);
	for (int i = 0; i < b->n; i++) {
		unsigned long long before = 0, d;
		int j;

		for (j = 0; j < a->n; j++)
			if (a->t[j].tid == b->t[i].tid) {
				before = a->t[j].ns;
				break;
			}
		d = b->t[i].ns - before;
		for (j = 0; j < nsum && strcmp(sum[j].comm, b->t[i].comm); j++)
			;
		if (j == nsum) {
			memcpy(sum[j].comm, b->t[i].comm, sizeof(sum[j].comm));
			sum[j].ns = 0;
			nsum++;
		}
		sum[j].ns += d;
	}
	printf(" kvm");
	for (int i = 0; i < b->nkvm; i++)
		for (int j = 0; j < a->nkvm; j++)
			if (!strcmp(a->kvm[j].name, b->kvm[i].name) && b->kvm[i].v != a->kvm[j].v &&
			    !strstr(b->kvm[i].name, "_ns") && !strstr(b->kvm[i].name, "hist"))
				printf(" %s=%llu", b->kvm[i].name, b->kvm[i].v - a->kvm[j].v);
	printf(" threads");
	for (int j = 0; j < nsum; j++)
		if (sum[j].ns >= 1000000)
			printf(" %s=%llu", sum[j].comm, sum[j].ns / 1000000);
	printf("\n");
	fflush(stdout);
}

static int do_recv(const struct sockaddr_in *sa, int secs)
{
	int one = 1, ls, s;
	struct pollfd pfd;
	uint64_t total = 0;
	double t0 = 0;
	ssize_t n;

	ls = socket(AF_INET, SOCK_STREAM, 0);
	if (ls < 0 || setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(ls, (const struct sockaddr *)sa, sizeof(*sa)) < 0 || listen(ls, 1) < 0) {
		perror("tcpbench: listen");
		return 1;
	}
	pfd = (struct pollfd){ .fd = ls, .events = POLLIN };
	if (poll(&pfd, 1, secs * 1000) != 1) {
		fprintf(stderr, "tcpbench: no connection within %d s\n", secs);
		return 1;
	}
	s = accept(ls, NULL, NULL);
	if (s < 0) {
		perror("tcpbench: accept");
		return 1;
	}
	/* before the first byte starts the clock: scanning /proc takes milliseconds here */
	cpu_snapshot(&snap0);
	while ((n = read(s, buf, sizeof(buf))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			perror("tcpbench: read");
			return 1;
		}
		if (!total)
			t0 = now_ms();
		total += (uint64_t)n;
	}
	report("recv", total, now_ms() - t0);
	cpu_snapshot(&snap1);
	cpu_report(&snap0, &snap1);
	close(s);
	close(ls);
	return 0;
}

static int do_send(const struct sockaddr_in *sa, uint64_t mib, int secs)
{
	double deadline = now_ms() + secs * 1000.0, t0;
	uint64_t total = 0, want = mib << 20;
	int s = -1;

	for (;;) {
		s = socket(AF_INET, SOCK_STREAM, 0);
		if (s < 0) {
			perror("tcpbench: socket");
			return 1;
		}
		if (connect(s, (const struct sockaddr *)sa, sizeof(*sa)) == 0)
			break;
		close(s);
		if (now_ms() > deadline) {
			perror("tcpbench: connect");
			return 1;
		}
		usleep(100 * 1000);
	}
	t0 = now_ms();
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (char)(i * 131 + 7);
	while (total < want) {
		size_t len = want - total < sizeof(buf) ? (size_t)(want - total) : sizeof(buf);
		ssize_t n = write(s, buf, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			perror("tcpbench: write");
			return 1;
		}
		total += (uint64_t)n;
	}
	shutdown(s, SHUT_WR);
	while (read(s, buf, sizeof(buf)) > 0) /* the receiver closes after EOF: all data arrived */
		;
	report("send", total, now_ms() - t0);
	close(s);
	return 0;
}

/* ethtool -S IFACE on one line; status 0, or 1 when the driver has no statistics. */
static int do_nicstats(const char *ifname)
{
	struct {
		struct ethtool_sset_info hdr;
		uint32_t len;
	} info = { .hdr = { .cmd = ETHTOOL_GSSET_INFO, .sset_mask = 1ull << ETH_SS_STATS } };
	struct ethtool_gstrings *names = NULL;
	struct ethtool_stats *vals = NULL;
	struct ifreq ifr = { 0 };
	int s = socket(AF_INET, SOCK_DGRAM, 0), rc = 1;
	uint32_t n;

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	ifr.ifr_data = (void *)&info;
	if (s < 0 || ioctl(s, SIOCETHTOOL, &ifr) < 0 || !info.hdr.sset_mask)
		goto out;
	n = info.len;
	names = calloc(1, sizeof(*names) + (size_t)n * ETH_GSTRING_LEN);
	vals = calloc(1, sizeof(*vals) + (size_t)n * sizeof(uint64_t));
	if (!names || !vals)
		goto out;
	*names = (struct ethtool_gstrings){ .cmd = ETHTOOL_GSTRINGS,
					    .string_set = ETH_SS_STATS,
					    .len = n };
	*vals = (struct ethtool_stats){ .cmd = ETHTOOL_GSTATS, .n_stats = n };
	ifr.ifr_data = (void *)names;
	if (ioctl(s, SIOCETHTOOL, &ifr) < 0)
		goto out;
	ifr.ifr_data = (void *)vals;
	if (ioctl(s, SIOCETHTOOL, &ifr) < 0)
		goto out;
	for (uint32_t i = 0; i < n; i++)
		printf("%s%.*s=%llu", i ? " " : "", ETH_GSTRING_LEN,
		       (const char *)names->data + (size_t)i * ETH_GSTRING_LEN,
		       (unsigned long long)vals->data[i]);
	printf("\n");
	rc = 0;
out:
	if (rc)
		fprintf(stderr, "tcpbench: no driver statistics for %s: %s\n", ifname,
			strerror(errno));
	free(names);
	free(vals);
	if (s >= 0)
		close(s);
	return rc;
}

int main(int argc, char **argv)
{
	struct sockaddr_in sa;

	if (argc >= 4 && !strcmp(argv[1], "recv")) {
		if (parse_addr(&sa, argv[2], argv[3]))
			return 1;
		return do_recv(&sa, argc > 4 ? atoi(argv[4]) : 120);
	}
	if (argc >= 5 && !strcmp(argv[1], "send")) {
		if (parse_addr(&sa, argv[2], argv[3]))
			return 1;
		return do_send(&sa, strtoull(argv[4], NULL, 10), argc > 5 ? atoi(argv[5]) : 120);
	}
	if (argc == 3 && !strcmp(argv[1], "nicstats"))
		return do_nicstats(argv[2]);
	fprintf(stderr, "usage: tcpbench recv ADDR PORT [SECS] | send ADDR PORT MIB [SECS] | "
			"nicstats IFACE\n");
	return 1;
}
