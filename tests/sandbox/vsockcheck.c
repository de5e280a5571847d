/*
 * vsockcheck.c — the vsock scenario's two ends (tests/sandbox/l1-virtio.sh), built static into
 * both the L1 and the guest initramfs. Every client sends a byte pattern that depends on each
 * byte's offset and checks that exactly the same bytes come back; reading and writing at once
 * (poll), so that no buffer size makes it stall.
 *
 *   vsockcheck vsock-echo PORT COUNTFILE     guest: echo server on vsock PORT (a child per
 *                                            connection); a line in COUNTFILE per connection
 *   vsockcheck uds-echo PATH                 L1: the same on the Unix socket PATH
 *   vsockcheck vsock-send CID PORT BYTES     guest: a connection to CID:PORT (2: the host)
 *   vsockcheck uds-send PATH PORT BYTES      L1: Firecracker's hybrid handshake on PATH
 *                                            ("CONNECT PORT\n", "OK N\n"), then the same
 *
 * Clients print "VSOCKCHECK ok bytes=B ms=T" or "VSOCKCHECK bad ..." and exit 0 or 1. With
 * VANISH=1 in the environment a client exits halfway through its sending, without a word to
 * its peer (a client that dies mid-stream: the others must not notice).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/vm_sockets.h>

static uint8_t pattern(uint64_t off)
{
	return (uint8_t)(off * 7 + (off >> 9));
}

static long long ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ll + ts.tv_nsec / 1000000;
}

/* Send @bytes of the pattern, shut the write side, read everything back and compare. */
static int duplex(int fd, uint64_t bytes, long long t0)
{
	static uint8_t buf[65536];
	uint64_t sent = 0, got = 0, bad = 0;
	bool wr_done = false, vanish = getenv("VANISH") != NULL;

	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN | (wr_done ? 0 : POLLOUT) };
		int n = poll(&p, 1, 30000);

		if (n <= 0) {
			printf("VSOCKCHECK bad stalled sent=%llu got=%llu\n",
			       (unsigned long long)sent, (unsigned long long)got);
			return 1;
		}
		if (!wr_done && (p.revents & POLLOUT)) {
			size_t len = bytes - sent < sizeof(buf) ? bytes - sent : sizeof(buf);
			ssize_t w;

			for (size_t i = 0; i < len; i++)
				buf[i] = pattern(sent + i);
			w = len ? write(fd, buf, len) : 0;
			if (w < 0 && errno != EAGAIN) {
				printf("VSOCKCHECK bad write: %s sent=%llu\n", strerror(errno),
				       (unsigned long long)sent);
				return 1;
			}
			sent += w > 0 ? (uint64_t)w : 0;
			if (vanish && sent >= bytes / 2) {
				printf("VSOCKCHECK vanished sent=%llu\n", (unsigned long long)sent);
				fflush(stdout);
				_exit(0);
			}
			if (sent == bytes) {
				shutdown(fd, SHUT_WR);
				wr_done = true;
			}
		}
		if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t r = read(fd, buf, sizeof(buf));

			if (r < 0 && errno == EAGAIN)
				continue;
			if (r < 0) {
				printf("VSOCKCHECK bad read: %s got=%llu\n", strerror(errno),
				       (unsigned long long)got);
				return 1;
			}
			if (r == 0)
				break;
			for (ssize_t i = 0; i < r; i++)
				bad += buf[i] != pattern(got + (uint64_t)i);
			got += (uint64_t)r;
		}
	}
	if (got != bytes || bad || !wr_done) {
		printf("VSOCKCHECK bad bytes=%llu of %llu, %llu differ\n", (unsigned long long)got,
		       (unsigned long long)bytes, (unsigned long long)bad);
		return 1;
	}
	printf("VSOCKCHECK ok bytes=%llu ms=%lld\n", (unsigned long long)got, ms_now() - t0);
	return 0;
}

static void echo(int fd)
{
	static uint8_t buf[65536];
	ssize_t r;

	while ((r = read(fd, buf, sizeof(buf))) > 0)
		for (ssize_t off = 0; off < r;) {
			ssize_t w = write(fd, buf + off, (size_t)(r - off));

			if (w <= 0)
				_exit(1);
			off += w;
		}
	_exit(0);
}

static __attribute__((noreturn)) int serve(int lfd, const char *countfile)
{
	signal(SIGCHLD, SIG_IGN);
	for (;;) {
		int fd = accept(lfd, NULL, NULL);

		if (fd < 0)
			continue;
		if (countfile) {
			int c = open(countfile, O_WRONLY | O_APPEND | O_CREAT, 0644);

			if (c >= 0) {
				if (write(c, "c\n", 2) != 2)
					perror("countfile");
				close(c);
			}
		}
		if (fork() == 0) {
			close(lfd);
			echo(fd);
		}
		close(fd);
	}
}

static int uds_addr(struct sockaddr_un *sa, const char *path)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa->sun_path))
		return -1;
	strcpy(sa->sun_path, path);
	return 0;
}

int main(int argc, char **argv)
{
	long long t0 = ms_now();

	if (argc == 4 && !strcmp(argv[1], "vsock-echo")) {
		struct sockaddr_vm sa = { .svm_family = AF_VSOCK,
					  .svm_cid = VMADDR_CID_ANY,
					  .svm_port = (unsigned)atoi(argv[2]) };
		int fd = socket(AF_VSOCK, SOCK_STREAM, 0);

		if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 128)) {
			perror("vsock-echo");
			return 1;
		}
		return serve(fd, argv[3]);
	}
	if (argc == 3 && !strcmp(argv[1], "uds-echo")) {
		struct sockaddr_un sa;
		int fd = socket(AF_UNIX, SOCK_STREAM, 0);

		unlink(argv[2]);
		if (fd < 0 || uds_addr(&sa, argv[2]) ||
		    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 128)) {
			perror("uds-echo");
			return 1;
		}
		return serve(fd, NULL);
	}
	if (argc == 5 && !strcmp(argv[1], "vsock-send")) {
		struct sockaddr_vm sa = { .svm_family = AF_VSOCK,
					  .svm_cid = (unsigned)atoi(argv[2]),
					  .svm_port = (unsigned)atoi(argv[3]) };
		int fd = socket(AF_VSOCK, SOCK_STREAM, 0);

		if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
			printf("VSOCKCHECK bad connect: %s\n", strerror(errno));
			return 1;
		}
		return duplex(fd, strtoull(argv[4], NULL, 10), t0);
	}
	if (argc == 5 && !strcmp(argv[1], "uds-send")) {
		struct sockaddr_un sa;
		char line[64];
		size_t n = 0;
		int fd = socket(AF_UNIX, SOCK_STREAM, 0);

		if (fd < 0 || uds_addr(&sa, argv[2]) ||
		    connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
			printf("VSOCKCHECK bad connect: %s\n", strerror(errno));
			return 1;
		}
		dprintf(fd, "CONNECT %s\n", argv[3]);
		while (n <
		       sizeof(line) - 1) { /* the answer, a byte at a time: data may follow it */
			struct pollfd p = { .fd = fd, .events = POLLIN };

			if (poll(&p, 1, 5000) != 1 || read(fd, line + n, 1) != 1)
				break;
			if (line[n++] == '\n')
				break;
		}
		line[n] = 0;
		if (strncmp(line, "OK ", 3) || line[n ? n - 1 : 0] != '\n') {
			printf("VSOCKCHECK bad handshake: '%.*s' after %lld ms\n",
			       (int)(n ? n - 1 : 0), line, ms_now() - t0);
			return 1;
		}
		return duplex(fd, strtoull(argv[4], NULL, 10), t0);
	}
	fprintf(stderr, "usage: vsockcheck vsock-echo PORT COUNTFILE | uds-echo PATH | "
			"vsock-send CID PORT BYTES | uds-send PATH PORT BYTES\n");
	return 1;
}
