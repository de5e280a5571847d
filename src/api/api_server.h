/*
 * api_server.h — serves struct api over HTTP/1.1 on a Unix socket with
 * libmicrohttpd, and flushes metrics periodically, both on the VM's event
 * loop: no thread of its own (MHD in external epoll mode, its epoll fd and a
 * timerfd for its timeouts watched by the loop; the metrics period a second
 * timerfd). Every request runs api_handle() on the loop thread under the
 * server's mutex, which other threads take to touch the api.
 */
#ifndef VMON_API_API_SERVER_H
#define VMON_API_API_SERVER_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

struct api;
struct evloop;
struct MHD_Daemon;

#define API_METRICS_PERIOD_MS 60000u

struct api_server {
	struct api *api;
	struct evloop *el;
	pthread_mutex_t lock; /* serialises every use of *api */
	struct MHD_Daemon *daemon;
	int listen_fd;
	int mhd_fd; /* MHD's own epoll fd, which the loop watches */
	int mhd_timer_fd; /* fires at MHD's next timeout */
	int metrics_fd; /* fires every metrics period */
	bool watched;
	char *path;
	unsigned metrics_period_ms; /* set before api_server_start; 0: default */
	unsigned sock_mode; /* set before api_server_start: the socket's mode; 0: 0600 */
};

/*
 * api_server_start - create the Unix socket @sock_path (refusing an existing
 * non-socket, or a socket another process still listens on; removing a stale
 * one), and serve @api on it from event loop @el's thread until
 * api_server_stop. @api must outlive the server, and from now on be touched
 * only under api_server_lock. Returns 0, or -errno with one line in @err.
 */
int api_server_start(struct api_server *srv, struct api *api, const char *sock_path,
		     struct evloop *el, char *err, size_t err_len);

/*
 * api_server_serve - with the loop not running (it ended with the VM), serve
 * requests for up to @ms on the calling thread, which stands in for the loop
 * thread: a client that follows the VM's end still gets its answer.
 */
void api_server_serve(struct api_server *srv, unsigned ms);

/*
 * api_server_stop - stop serving, close and unlink the socket: on the loop
 * thread between two handlers (evloop_call), or at once when the loop is not
 * running. Not from inside a request. Safe on a stopped server.
 */
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
