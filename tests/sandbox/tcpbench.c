/*
 * tcpbench.c — a TCP bulk-transfer timer for bench/net, built static and put into both the
 * sandbox's L1 and guest initramfs. One connection, one direction, timed by the receiver:
 *
 *   tcpbench recv ADDR PORT [SECS]
 *       listen on ADDR:PORT, accept one connection, read until EOF and print
 *       "TCPBENCH recv bytes=B ms=T MBps=X" (T from the first byte to EOF by
 *       CLOCK_MONOTONIC; X in 10^6 bytes per second). Gives up after SECS
 *       seconds without a connection (default 120).
 *   tcpbench send ADDR PORT MIB [SECS]
 *       connect to ADDR:PORT (retried every 100 ms for up to SECS seconds,
 *       default 120), write MIB MiB in 256 KiB writes, shut down the write
 *       side, wait for the peer's EOF and print "TCPBENCH send bytes=B ms=T
 *       MBps=X" (T from connect to the peer's EOF).
 *
 * Exit status 0 on success, 1 on any failure (with a line on stderr).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
	fprintf(stderr, "usage: tcpbench recv ADDR PORT [SECS] | send ADDR PORT MIB [SECS]\n");
	return 1;
}
