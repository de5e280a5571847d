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
 *   tcpbench udp-send ADDR PORT SECS
 *       send 1472-byte UDP datagrams (full 1500-byte frames) to ADDR:PORT, 44 a system call where
 *       the kernel segments UDP (UDP_SEGMENT), as fast as the socket takes them for SECS seconds
 * and print "TCPBENCH udp-send datagrams=N bytes=B ms=T": a load that does not back off as TCP
 * does, so that a rate limiter on the path sets the rate.
 *
 *   tcpbench stream-serve ADDR PORT KIBPS STOPFILE [SECS]
 *       listen on ADDR:PORT, accept one connection and write a byte pattern that depends on each
 *       byte's offset, KIBPS KiB per second in 4 KiB writes, until the file STOPFILE exists; then
 *       shut down the write side, wait for the peer's EOF and print "TCPBENCH stream-serve bytes=B
 *       ms=T max_write_ms=W" (W: the longest single write, i.e. how long the peer took no data).
 *   tcpbench stream-check ADDR PORT [SECS]
 *       connect to ADDR:PORT (retried as for send), read to EOF, check every byte against the
 *       pattern and print "TCPBENCH stream-check bytes=B bad=K first_bad=O max_gap_ms=G" (K bytes
 *       that differ, O the first one's offset or -1; G the longest wait for data). A reset or other
 *       read error prints "TCPBENCH stream-check error=... bytes=B" and exits 1. The live-migration
 *       scenario's stream (tests/sandbox/l1-migrate.sh): no byte lost, repeated or reordered.
 *   tcpbench sniff IFACE ETHERTYPE SECS
 *       for SECS seconds, print "TCPBENCH sniff in|out src=MAC dst=MAC ms=T" for every frame of
 *       ETHERTYPE (hex, e.g. 8035 for RARP) that IFACE receives or sends (T: ms since the start),
 *       then "TCPBENCH sniff end".
 *   tcpbench stamp
 *       copy standard input to standard output line by line (without CRs; a last line with no
 *       newline, cut short by the writer's end, gets " (cut)"), each line prefixed by
 *       the CLOCK_MONOTONIC time it arrived, in ms with three decimals; it reads at SCHED_FIFO
 *       priority 50 where allowed, so that a busy machine does not delay the stamps (bench/migrate:
 *       when a guest's ticks stop at the source and go on at the destination).
 *   tcpbench qmp SOCK JSON...
 *       on QEMU's QMP Unix socket SOCK (retried for 10 s): the greeting, qmp_capabilities, then
 * each JSON command in turn, printing each one's answer (its "return" or "error" line) on a line.
 *   tcpbench nicstats IFACE
 *       print the driver's own counters of IFACE (ethtool -S, through SIOCETHTOOL) as
 *       "name=value" words on one line: virtio_net's per-queue packets and kicks.
 *   tcpbench outb PORT VALUE
 *       write the byte VALUE to I/O port PORT (both decimal or 0x hex; root, ioperm): the
 *       guest's signal to Firecracker's boot timer is "outb 0x3f0 123" (the cloud kernel has no
 *       /dev/port).
 *
 * Exit status 0 on success, 1 on any failure (with a line on stderr).
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <linux/ethtool.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <netinet/udp.h>
#include <poll.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/io.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
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

/* Listen on @sa and accept one connection within @secs: its socket (*@ls: the listener), or -1. */
static int accept_one(const struct sockaddr_in *sa, int secs, int *ls)
{
	struct pollfd pfd;
	int one = 1, s;

	*ls = socket(AF_INET, SOCK_STREAM, 0);
	if (*ls < 0 || setsockopt(*ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(*ls, (const struct sockaddr *)sa, sizeof(*sa)) < 0 || listen(*ls, 1) < 0) {
		perror("tcpbench: listen");
		return -1;
	}
	pfd = (struct pollfd){ .fd = *ls, .events = POLLIN };
	if (poll(&pfd, 1, secs * 1000) != 1) {
		fprintf(stderr, "tcpbench: no connection within %d s\n", secs);
		return -1;
	}
	s = accept(*ls, NULL, NULL);
	if (s < 0)
		perror("tcpbench: accept");
	return s;
}

/* Connect to @sa, retried every 100 ms for up to @secs: the socket, or -1. */
static int connect_retry(const struct sockaddr_in *sa, int secs)
{
	double deadline = now_ms() + secs * 1000.0;
	int s;

	for (;;) {
		s = socket(AF_INET, SOCK_STREAM, 0);
		if (s < 0) {
			perror("tcpbench: socket");
			return -1;
		}
		if (connect(s, (const struct sockaddr *)sa, sizeof(*sa)) == 0)
			return s;
		close(s);
		if (now_ms() > deadline) {
			perror("tcpbench: connect");
			return -1;
		}
		usleep(100 * 1000);
	}
}

/* The stream's byte at offset @off: a hash of the offset, so that a lost, repeated or moved byte
 * shows. */
static uint8_t stream_byte(uint64_t off)
{
	uint64_t x = (off >> 2) * 0x9e3779b97f4a7c15ull;

	return (uint8_t)((x >> 29) ^ (x >> 47) ^ (off & 3) * 0x55);
}

static int do_recv(const struct sockaddr_in *sa, int secs)
{
	uint64_t total = 0;
	double t0 = 0;
	ssize_t n;
	int ls, s = accept_one(sa, secs, &ls);

	if (s < 0)
		return 1;
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
	uint64_t total = 0, want = mib << 20;
	int s = connect_retry(sa, secs);
	double t0 = now_ms();

	if (s < 0)
		return 1;
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

/*
 * UDP datagrams of 1472 bytes (one full 1500-byte frame each) to @sa as fast as the socket takes
 * them, for @secs seconds: a load that does not back off, unlike TCP, so that a rate limiter in
 * the path is what sets the rate. Sent unconnected, so that the peer's ICMP "port unreachable"
 * does not fail the sends.
 */
static int do_udp_send(const struct sockaddr_in *sa, int secs)
{
	uint64_t n = 0, errs = 0;
	double t0 = now_ms(), end = t0 + secs * 1000.0, t;
	int s = socket(AF_INET, SOCK_DGRAM, 0);

	if (s < 0) {
		perror("tcpbench: socket");
		return 1;
	}
	/* 44 datagrams a send where the kernel segments UDP (UDP_SEGMENT, Linux 4.18): one system
	 * call for 44 frames, so that a slow guest still offers more than the limiter passes */
	int seg = 1472, per = setsockopt(s, SOL_UDP, UDP_SEGMENT, &seg, sizeof(seg)) ? 1 : 44;
	size_t len = (size_t)per * 1472;

	memset(buf, 0x5a, len);
	while ((t = now_ms()) < end) {
		if (sendto(s, buf, len, 0, (const struct sockaddr *)sa, sizeof(*sa)) ==
		    (ssize_t)len)
			n += (uint64_t)per;
		else if (errno != ENOBUFS && errno != EAGAIN && errno != EINTR && ++errs > 1000) {
			perror("tcpbench: sendto");
			close(s);
			return 1;
		}
	}
	printf("TCPBENCH udp-send datagrams=%llu bytes=%llu ms=%.1f\n", (unsigned long long)n,
	       (unsigned long long)n * 1472, t - t0);
	fflush(stdout);
	close(s);
	return 0;
}

static int do_stream_serve(const struct sockaddr_in *sa, unsigned kibps, const char *stop, int secs)
{
	double t0, next, max_write = 0;
	uint64_t total = 0;
	struct stat st;
	int ls, s = accept_one(sa, secs, &ls);
	char chunk[4096];

	if (s < 0)
		return 1;
	t0 = next = now_ms();
	while (stat(stop, &st) != 0) {
		double w0, d;

		for (size_t i = 0; i < sizeof(chunk); i++)
			chunk[i] = (char)stream_byte(total + i);
		w0 = now_ms();
		for (size_t done = 0; done < sizeof(chunk);) {
			ssize_t n = write(s, chunk + done, sizeof(chunk) - done);

			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0) {
				printf("TCPBENCH stream-serve error=%s bytes=%llu\n",
				       strerror(errno), (unsigned long long)total);
				return 1;
			}
			done += (size_t)n;
		}
		total += sizeof(chunk);
		d = now_ms() - w0;
		if (d > max_write)
			max_write = d;
		next += 4000.0 / kibps;
		d = next - now_ms();
		if (d > 0)
			usleep((useconds_t)(d * 1000));
		else if (d < -1000)
			next = now_ms(); /* after a stall: no burst to catch up */
	}
	shutdown(s, SHUT_WR);
	while (read(s, chunk, sizeof(chunk)) > 0) /* the checker closes after EOF */
		;
	printf("TCPBENCH stream-serve bytes=%llu ms=%.0f max_write_ms=%.0f\n",
	       (unsigned long long)total, now_ms() - t0, max_write);
	close(s);
	close(ls);
	return 0;
}

static int do_stream_check(const struct sockaddr_in *sa, int secs)
{
	uint64_t total = 0, bad = 0;
	int64_t first_bad = -1;
	double last = 0, max_gap = 0;
	int s = connect_retry(sa, secs);
	ssize_t n;

	if (s < 0)
		return 1;
	last = now_ms();
	while ((n = read(s, buf, sizeof(buf))) != 0) {
		double t = now_ms();

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			printf("TCPBENCH stream-check error=%s bytes=%llu\n", strerror(errno),
			       (unsigned long long)total);
			return 1;
		}
		if (t - last > max_gap && total)
			max_gap = t - last;
		last = t;
		for (ssize_t i = 0; i < n; i++) {
			if ((uint8_t)buf[i] != stream_byte(total + (uint64_t)i)) {
				if (first_bad < 0)
					first_bad = (int64_t)(total + (uint64_t)i);
				bad++;
			}
		}
		total += (uint64_t)n;
	}
	printf("TCPBENCH stream-check bytes=%llu bad=%llu first_bad=%lld max_gap_ms=%.0f\n",
	       (unsigned long long)total, (unsigned long long)bad, (long long)first_bad, max_gap);
	close(s);
	return 0;
}

static int do_sniff(const char *ifname, unsigned type, int secs)
{
	/* ETH_P_ALL: those taps see a bridge port's frames before the bridge takes them */
	int s = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
	struct sockaddr_ll ll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL) };
	double t0 = now_ms(), end = t0 + secs * 1000.0;
	unsigned char f[2048];

	ll.sll_ifindex = (int)if_nametoindex(ifname);
	if (s < 0 || !ll.sll_ifindex || bind(s, (struct sockaddr *)&ll, sizeof(ll)) < 0) {
		fprintf(stderr, "tcpbench: sniff on %s: %s\n", ifname, strerror(errno));
		return 1;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (double now = t0; now < end; now = now_ms()) {
		struct pollfd pfd = { .fd = s, .events = POLLIN };
		struct sockaddr_ll from;
		socklen_t fl = sizeof(from);
		ssize_t n;

		if (poll(&pfd, 1, (int)(end - now) + 1) != 1)
			continue;
		n = recvfrom(s, f, sizeof(f), 0, (struct sockaddr *)&from, &fl);
		if (n < 14 || ((unsigned)f[12] << 8 | f[13]) != type)
			continue;
		printf("TCPBENCH sniff %s src=%02x:%02x:%02x:%02x:%02x:%02x "
		       "dst=%02x:%02x:%02x:%02x:%02x:%02x ms=%.0f\n",
		       from.sll_pkttype == PACKET_OUTGOING ? "out" : "in", f[6], f[7], f[8], f[9],
		       f[10], f[11], f[0], f[1], f[2], f[3], f[4], f[5], now_ms() - t0);
	}
	printf("TCPBENCH sniff end\n");
	close(s);
	return 0;
}

static int do_stamp(void)
{
	struct sched_param sp = { .sched_priority = 50 };
	char line[4096];

	/* real-time, so that a busy machine does not delay the stamp (root only; else as it is) */
	sched_setscheduler(0, SCHED_FIFO, &sp);
	setvbuf(stdout, NULL, _IOLBF, 0);
	while (fgets(line, sizeof(line), stdin)) {
		double t = now_ms();

		bool whole = strchr(line, '\n') != NULL;

		line[strcspn(line, "\r\n")] = '\0'; /* a serial console's lines end in CR LF */
		printf("%.3f %s%s\n", t, line, whole ? "" : " (cut)");
	}
	return 0;
}

/* One line from @s (up to '\n', NUL-terminated, at most @len - 1 bytes): its length, or -1. */
static ssize_t read_line_fd(int s, char *line, size_t len)
{
	size_t n = 0;

	while (n + 1 < len) {
		ssize_t r = read(s, line + n, 1);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		if (line[n] == '\n')
			break;
		n++;
	}
	line[n] = '\0';
	return (ssize_t)n;
}

static int do_qmp(const char *path, int n, char **cmds)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	double deadline = now_ms() + 10000;
	static char line[1 << 16];
	int s = -1;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	for (;;) {
		s = socket(AF_UNIX, SOCK_STREAM, 0);
		if (s >= 0 && connect(s, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			break;
		if (s >= 0)
			close(s);
		if (now_ms() > deadline) {
			fprintf(stderr, "tcpbench: qmp %s: %s\n", path, strerror(errno));
			return 1;
		}
		usleep(20 * 1000);
	}
	if (read_line_fd(s, line, sizeof(line)) < 0) /* the greeting */
		goto eof;
	for (int i = -1; i < n; i++) {
		const char *c = i < 0 ? "{\"execute\":\"qmp_capabilities\"}" : cmds[i];

		if (write(s, c, strlen(c)) < 0 || write(s, "\n", 1) < 0) {
			perror("tcpbench: qmp write");
			return 1;
		}
		do { /* events come in between; the answer has "return" or "error" */
			if (read_line_fd(s, line, sizeof(line)) < 0)
				goto eof;
		} while (!strstr(line, "\"return\"") && !strstr(line, "\"error\""));
		if (i >= 0)
			printf("%s\n", line);
	}
	close(s);
	return 0;
eof:
	fprintf(stderr, "tcpbench: qmp %s: the connection ended\n", path);
	return 1;
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
	if (argc == 5 && !strcmp(argv[1], "udp-send")) {
		if (parse_addr(&sa, argv[2], argv[3]))
			return 1;
		return do_udp_send(&sa, atoi(argv[4]));
	}
	if (argc >= 6 && !strcmp(argv[1], "stream-serve")) {
		unsigned kibps = (unsigned)strtoul(argv[4], NULL, 10);

		if (parse_addr(&sa, argv[2], argv[3]) || !kibps)
			return 1;
		return do_stream_serve(&sa, kibps, argv[5], argc > 6 ? atoi(argv[6]) : 120);
	}
	if (argc >= 4 && !strcmp(argv[1], "stream-check")) {
		if (parse_addr(&sa, argv[2], argv[3]))
			return 1;
		return do_stream_check(&sa, argc > 4 ? atoi(argv[4]) : 120);
	}
	if (argc == 5 && !strcmp(argv[1], "sniff"))
		return do_sniff(argv[2], (unsigned)strtoul(argv[3], NULL, 16), atoi(argv[4]));
	if (argc == 2 && !strcmp(argv[1], "stamp"))
		return do_stamp();
	if (argc >= 3 && !strcmp(argv[1], "qmp"))
		return do_qmp(argv[2], argc - 3, argv + 3);
	if (argc == 3 && !strcmp(argv[1], "nicstats"))
		return do_nicstats(argv[2]);
	if (argc == 4 && !strcmp(argv[1], "outb")) {
		unsigned long port = strtoul(argv[2], NULL, 0), v = strtoul(argv[3], NULL, 0);

		if (port > 0xffff || v > 0xff || ioperm(port, 1, 1)) {
			perror("tcpbench outb");
			return 1;
		}
		outb((unsigned char)v, (unsigned short)port);
		return 0;
	}
	fprintf(stderr,
		"usage: tcpbench recv ADDR PORT [SECS] | send ADDR PORT MIB [SECS] | udp-send ADDR "
		"PORT SECS | "
		"stream-serve ADDR PORT KIBPS STOPFILE [SECS] | stream-check ADDR PORT [SECS] | "
		"sniff IFACE ETHERTYPE SECS | stamp | qmp SOCK JSON... | nicstats IFACE | "
		"outb PORT VALUE\n");
	return 1;
}
