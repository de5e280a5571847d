/*
 * api_client.h — one HTTP/1.1 request to a vmon (or Firecracker) API socket: what
 * `vmon migrate` speaks to the source's API with. Plain blocking I/O, bounded by a
 * timeout; no state.
 */
#ifndef VMON_API_CLIENT_H
#define VMON_API_CLIENT_H

#include <stddef.h>

/*
 * api_client_request - @method @path (with the JSON @body, or NULL) on the Unix
 * socket @sock, "Connection: close". Returns the reply's HTTP status (100..599)
 * with its body, NUL-terminated and cut to @reply_len - 1 bytes, in @reply; or
 * -errno with one line in @err: -ENOENT/-ECONNREFUSED (nothing serves @sock),
 * -ETIMEDOUT (no whole reply within @timeout_ms), -EPROTO (not an HTTP reply).
 */
int api_client_request(const char *sock, const char *method, const char *path, const char *body,
		       char *reply, size_t reply_len, int timeout_ms, char *err, size_t err_len);

#endif
