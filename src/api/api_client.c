/* api_client.c — one HTTP/1.1 request over a Unix socket (see api_client.h). */
#include "api/api_client.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define REPLY_MAX (256 * 1024) /* vmon's replies are a few KiB; a bigger one is refused */

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for @events on @fd until @deadline: 0, or -ETIMEDOUT / -errno. */
static int wait_fd(int fd, short events, long long deadline)
{
	struct pollfd p = { .fd = fd, .events = events };
	long long left;
	int r;

	for (;;) {
		left = deadline - now_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		r = poll(&p, 1, (int)(left > 60000 ? 60000 : left));
		if (r > 0)
			return 0;
		if (r < 0 && errno != EINTR)
			return -errno;
	}
}

static int connect_to(const char *sock, char *err, size_t err_len)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, ret;

	if (strlen(sock) >= sizeof(sa.sun_path)) {
		snprintf(err, err_len, "%s: the socket path is too long", sock);
		return -ENAMETOOLONG;
	}
	memcpy(sa.sun_path, sock, strlen(sock));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		ret = -errno;
		snprintf(err, err_len, "socket: %s", strerror(errno));
		return ret;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		ret = -errno;
		snprintf(err, err_len, "cannot connect to %s: %s", sock, strerror(errno));
		close(fd);
		return ret;
	}
	return fd;
}

int api_client_request(const char *sock, const char *method, const char *path, const char *body,
		       char *reply, size_t reply_len, int timeout_ms, char *err, size_t err_len)
{
	long long deadline = now_ms() + timeout_ms;
	char *req = NULL, *in = NULL, *b;
	size_t len, got = 0, cap = 4096;
	int fd, n, ret, status;

	if (!reply_len) {
		snprintf(err, err_len, "no room for the reply");
		return -EINVAL;
	}
	fd = connect_to(sock, err, err_len);
	if (fd < 0)
		return fd;
	n = body ? asprintf(&req,
			    "%s %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
			    "Content-Type: application/json\r\nAccept: application/json\r\n"
			    "Content-Length: %zu\r\n\r\n%s",
			    method, path, strlen(body), body)
		 : asprintf(&req,
			    "%s %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
			    "Accept: application/json\r\n\r\n",
			    method, path);
	in = malloc(cap);
	if (n < 0 || !in) {
		snprintf(err, err_len, "out of memory");
		ret = -ENOMEM;
		goto out;
	}
	for (len = 0; len < (size_t)n;) {
		ssize_t w;

		if ((ret = wait_fd(fd, POLLOUT, deadline)))
			goto io_err;
		w = send(fd, req + len, (size_t)n - len, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			ret = -errno;
			goto io_err;
		}
		len += (size_t)w;
	}
	for (;;) { /* the reply, to the server's close */
		ssize_t r;

		if (got + 1 >= cap) {
			char *bigger = cap >= REPLY_MAX ? NULL : realloc(in, cap * 2);

			if (!bigger) {
				snprintf(err, err_len, "%s %s: the reply is over %d bytes", method,
					 path, REPLY_MAX);
				ret = -EPROTO;
				goto out;
			}
			in = bigger;
			cap *= 2;
		}
		if ((ret = wait_fd(fd, POLLIN, deadline)))
			goto io_err;
		r = read(fd, in + got, cap - got - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			ret = -errno;
			goto io_err;
		}
		if (!r)
			break;
		got += (size_t)r;
	}
	in[got] = '\0';
	b = strstr(in, "\r\n\r\n");
	if (sscanf(in, "HTTP/1.%*1[01] %3d", &status) != 1 || status < 100 || status > 599 || !b) {
		snprintf(err, err_len, "%s %s: %s answered with something other than HTTP", method,
			 path, sock);
		ret = -EPROTO;
		goto out;
	}
	snprintf(reply, reply_len, "%s", b + 4);
	ret = status;
	goto out;
io_err:
	if (ret == -ETIMEDOUT)
		snprintf(err, err_len, "%s %s: no whole reply from %s within %d ms", method, path,
			 sock, timeout_ms);
	else
		snprintf(err, err_len, "%s %s on %s: %s", method, path, sock, strerror(-ret));
out:
	free(req);
	free(in);
	close(fd);
	return ret;
}
