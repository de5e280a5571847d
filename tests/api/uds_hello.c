/*
 * uds_hello.c — a Unix-socket client for the KVM tier's scripts, where the L1 has no python3:
 * connect to PATH, send LINE and a newline, then wait up to SECONDS for the peer.
 *
 *   uds_hello PATH LINE SECONDS
 *
 * Prints "closed" (the peer hung up without a byte), "got <bytes>" (what it sent before it
 * hung up or the time ran out), or "silent" (no byte and no hang-up in time); exit 0, or 1 when
 * the socket cannot be reached.
 */
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

int main(int argc, char **argv)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char buf[256];
	size_t got = 0;
	long deadline;
	int fd;

	if (argc != 4 || strlen(argv[1]) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "usage: uds_hello PATH LINE SECONDS\n");
		return 2;
	}
	signal(SIGPIPE,
	       SIG_IGN); /* a peer that hung up at once: "send: Broken pipe", not a silent death */
	strcpy(sa.sun_path, argv[1]);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		perror(argv[1]);
		return 1;
	}
	if (dprintf(fd, "%s\n", argv[2]) < 0) {
		perror("send");
		return 1;
	}
	deadline = now_ms() + atol(argv[3]) * 1000L;
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		long left = deadline - now_ms();
		ssize_t r;

		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			break;
		r = read(fd, buf + got, sizeof(buf) - 1 - got);
		if (r <= 0) {
			if (!got) {
				puts("closed");
				return 0;
			}
			break;
		}
		got += (size_t)r;
		if (got == sizeof(buf) - 1)
			break;
	}
	buf[got] = '\0';
	if (got)
		printf("got %s\n", buf);
	else
		puts("silent");
	return 0;
}
