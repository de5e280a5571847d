/* api_metrics.c — writing metrics lines to a file or FIFO without ever blocking. */
#include "api/api_metrics.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "confine/seccomp.h"

void api_metrics_init(struct api_metrics *m)
{
	memset(m, 0, sizeof(*m));
	m->fd = -1;
}

int api_metrics_set_path(struct api_metrics *m, const char *path)
{
	char *p = strdup(path);

	if (!p)
		return -ENOMEM;
	free(m->path);
	m->path = p;
	return 0;
}

int api_sink_open(const char *path, const char *what, char *err, size_t err_len)
{
	struct stat st;
	int fd;

	if (stat(path, &st) == 0 && S_ISFIFO(st.st_mode))
		fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	else
		fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NONBLOCK | O_CLOEXEC, 0600);
	if (fd < 0) {
		int e = errno;

		snprintf(err, err_len, "Cannot open the %s file %s: %s.", what, path, strerror(e));
		return -e;
	}
	return fd;
}

int api_metrics_open(struct api_metrics *m, const char *path, char *err, size_t err_len)
{
	char *p;
	int fd;

	fd = api_sink_open(path, "metrics", err, err_len);
	if (fd < 0)
		return fd;
	p = strdup(path);
	if (!p) {
		close(fd);
		snprintf(err, err_len, "Out of memory.");
		return -ENOMEM;
	}
	api_metrics_close(m);
	m->fd = fd;
	m->path = p;
	confine_set_fault_sink(fd); /* a forbidden call counts itself here before vmon ends */
	return 0;
}

int api_metrics_write(struct api_metrics *m, const char *line)
{
	size_t len = strlen(line);
	char *buf;
	ssize_t n;

	if (m->fd < 0)
		return -EBADF;
	buf = malloc(len + 1);
	if (!buf)
		return -ENOMEM;
	memcpy(buf, line, len);
	buf[len] = '\n';
	n = write(m->fd, buf, len + 1);
	free(buf);
	if (n == (ssize_t)(len + 1)) {
		m->lines_written++;
		return 0;
	}
	m->lines_dropped++;
	return n < 0 ? -errno : -EAGAIN;
}

void api_metrics_close(struct api_metrics *m)
{
	if (m->fd >= 0) {
		confine_set_fault_sink(-1);
		close(m->fd);
	}
	free(m->path);
	api_metrics_init(m);
}
