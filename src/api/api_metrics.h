/*
 * api_metrics.h — the metrics sink configured by PUT /metrics: a regular file
 * (appended) or a FIFO (opened non-blocking, so a missing reader never stalls
 * vmon), one JSON object per line.
 */
#ifndef VMON_API_API_METRICS_H
#define VMON_API_API_METRICS_H

#include <stddef.h>
#include <stdint.h>

struct api_metrics {
	int fd; /* -1: not configured */
	char *path;
	uint64_t lines_written;
	uint64_t lines_dropped; /* FIFO full or write error */
};

/*
 * api_sink_open - open @path for appending lines: a FIFO read-write and
 * non-blocking (no reader needed), anything else write-only, append,
 * non-blocking, created 0600 if missing. Returns the fd, or -errno with
 * "Cannot open the @what file PATH: reason." in @err.
 */
int api_sink_open(const char *path, const char *what, char *err, size_t err_len);

/* api_metrics_init - an unconfigured sink. */
void api_metrics_init(struct api_metrics *m);

/*
 * api_metrics_open - open @path with api_sink_open and keep it. 0, or -errno with a fault sentence
 * in @err; @m is unchanged on error.
 */
int api_metrics_open(struct api_metrics *m, const char *path, char *err, size_t err_len);

/*
 * api_metrics_set_path - record @path without opening anything (tests and
 * fuzzing). 0 or -ENOMEM.
 */
int api_metrics_set_path(struct api_metrics *m, const char *path);

/*
 * api_metrics_write - append @line and a newline in one write(2). A short or
 * failed write (full FIFO) drops the line and counts it. 0 or -errno.
 */
int api_metrics_write(struct api_metrics *m, const char *line);

/* api_metrics_close - close and forget the sink. */
void api_metrics_close(struct api_metrics *m);

#endif
