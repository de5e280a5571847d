/*
 * api_server.h — serves struct api over HTTP/1.1 on a Unix socket with
 * libmicrohttpd (one internal polling thread), and flushes metrics
 * periodically. Every request runs api_handle() under the server's mutex.
 */
#ifndef VMON_API_API_SERVER_H
#define VMON_API_API_SERVER_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

struct api;
struct MHD_Daemon;

#define API_METRICS_PERIOD_MS 60000u

struct api_server {
	struct api *api;
	pthread_mutex_t lock; /* serialises every use of *api */
	struct MHD_Daemon *daemon;
	int listen_fd;
	char *path;
	unsigned metrics_period_ms; /* set before api_server_start; 0: default */
	unsigned sock_mode; /* set before api_server_start: the socket's mode; 0: 0600 */
	pthread_t metrics_thread;
	pthread_cond_t wake;
	bool stopping, thread_started;
};

/*
 * api_server_start - create the Unix socket @sock_path (refusing an existing
 * non-socket, or a socket another process still listens on; removing a stale
 * one), and serve @api on it until api_server_stop. @api must outlive the
 * server, and from now on be touched only under api_server_lock.
 * Returns 0, or -errno with one line in @err.
 */
int api_server_start(struct api_server *srv, struct api *api, const char *sock_path, char *err,
		     size_t err_len);

/* api_server_stop - stop serving, close and unlink the socket. Safe on a stopped server. */
void api_server_stop(struct api_server *srv);

/* api_server_lock/unlock - hold the mutex around any other use of the served api. */
void api_server_lock(struct api_server *srv);
void api_server_unlock(struct api_server *srv);

/*
 * api_socket_create - the listening socket alone (used by api_server_start),
 * made with permissions @mode (the process's umask is set around bind(2), so
 * the socket is never reachable more widely): returns a non-blocking,
 * close-on-exec listening fd or -errno with @err.
 */
int api_socket_create(const char *path, unsigned mode, char *err, size_t err_len);

#endif
