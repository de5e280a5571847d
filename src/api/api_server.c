/* api_server.c — libmicrohttpd glue: the Unix socket, body collection with a size cap, the
 * event-loop watches (MHD's epoll fd, its timeout, the metrics period). */
#include "api/api_server.h"

#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "api/api.h"
#include "api/api_json.h"
#include "base/evloop.h"
#include "util/log.h"

int api_socket_create(const char *path, unsigned mode, char *err, size_t err_len)
{
	mode_t old_mask;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	int fd, e;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, err_len, "API socket path %s is too long", path);
		return -ENAMETOOLONG;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			snprintf(err, err_len, "%s exists and is not a socket", path);
			return -EEXIST;
		}
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			close(fd);
			snprintf(err, err_len, "%s is in use by another process", path);
			return -EADDRINUSE;
		}
		if (fd >= 0)
			close(fd);
		unlink(path); /* stale: nobody listens */
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		e = errno;
		snprintf(err, err_len, "socket: %s", strerror(e));
		return -e;
	}
	/* The mode is set by the umask at bind: a later chmod would leave a window. */
	old_mask = umask(~mode & 0777);
	e = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old_mask);
	if (e == 0 && chmod(path, mode) < 0) /* the umask only takes bits away */
		e = -1;
	if (e || listen(fd, 32)) {
		e = errno;
		close(fd);
		snprintf(err, err_len, "cannot listen on %s: %s", path, strerror(e));
		return -e;
	}
	return fd;
}

/* One HTTP request being received. */
struct api_conn {
	char *body;
	size_t len; /* bytes kept in body */
	size_t total; /* bytes received, kept or not */
};

static enum MHD_Result send_reply(struct MHD_Connection *c, const struct api_response *r)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;
	size_t len = r->body ? strlen(r->body) : 0;

	if (r->body)
		resp = MHD_create_response_from_buffer(len, r->body, MHD_RESPMEM_MUST_COPY);
	else
		resp = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
	if (!resp)
		return MHD_NO;
	if (r->body)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	ret = MHD_queue_response(c, (unsigned)r->status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *upload_data,
				  size_t *upload_data_size, void **con_cls)
{
	struct api_server *srv = cls;
	struct api_conn *conn = *con_cls;
	struct api_response resp = { 0 };
	enum MHD_Result ret;

	if (!conn) {
		const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
							     MHD_HTTP_HEADER_CONTENT_LENGTH);
		conn = calloc(1, sizeof(*conn));
		if (!conn)
			return MHD_NO;
		*con_cls = conn;
		if (cl && strtoull(cl, NULL, 10) > API_BODY_MAX_BYTES) {
			/* Refuse before reading it; api_handle words the fault. */
			pthread_mutex_lock(&srv->lock);
			api_handle(srv->api, method, url, NULL, strtoull(cl, NULL, 10), &resp);
			pthread_mutex_unlock(&srv->lock);
			ret = send_reply(c, &resp);
			api_response_free(&resp);
			return ret;
		}
		return MHD_YES;
	}
	if (*upload_data_size) {
		size_t n = *upload_data_size;

		conn->total += n;
		if (conn->total <= API_BODY_MAX_BYTES) {
			char *b = realloc(conn->body, conn->len + n);

			if (!b)
				return MHD_NO;
			memcpy(b + conn->len, upload_data, n);
			conn->body = b;
			conn->len += n;
		} else {
			free(conn->body); /* too big: count the rest, keep nothing */
			conn->body = NULL;
			conn->len = 0;
		}
		*upload_data_size = 0;
		return MHD_YES;
	}
	pthread_mutex_lock(&srv->lock);
	api_handle(srv->api, method, url, conn->body, conn->total, &resp);
	pthread_mutex_unlock(&srv->lock);
	ret = send_reply(c, &resp);
	api_response_free(&resp);
	return ret;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct api_conn *conn = *con_cls;

	if (conn) {
		free(conn->body);
		free(conn);
		*con_cls = NULL;
	}
}

/*
 * Run MHD for what is ready, then arm its timer for its next timeout (an idle connection's 60 s).
 * MHD may leave work it could do at once (timeout 0): it runs again, a few times at most, and the
 * timer fires at once for the rest.
 */
static void mhd_step(struct api_server *srv)
{
	MHD_UNSIGNED_LONG_LONG ms = 0;
	struct itimerspec its = { 0 };
	int rounds = 0;

	do {
		MHD_run(srv->daemon);
	} while (MHD_get_timeout(srv->daemon, &ms) == MHD_YES && ms == 0 && ++rounds < 4);
	if (MHD_get_timeout(srv->daemon, &ms) == MHD_YES) {
		if (ms == 0)
			ms = 1;
		its.it_value.tv_sec = (time_t)(ms / 1000);
		its.it_value.tv_nsec = (long)(ms % 1000) * 1000000L;
	}
	/* all zero: no timeout, disarmed */
	if (timerfd_settime(srv->mhd_timer_fd, 0, &its, NULL) < 0)
		log_error("api: timerfd_settime: %s", strerror(errno));
}

static void on_mhd_ready(void *opaque, uint32_t events)
{
	(void)events;
	mhd_step(opaque);
}

/* Consume a timerfd's expirations, so that it is not readable again until the next one. */
static void timer_consume(int fd, const char *what)
{
	uint64_t n;

	if (read(fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		log_error("api: %s timer read: %s", what, strerror(errno));
}

static void on_mhd_timer(void *opaque, uint32_t events)
{
	struct api_server *srv = opaque;

	(void)events;
	timer_consume(srv->mhd_timer_fd, "HTTP");
	mhd_step(srv);
}

static void on_metrics_timer(void *opaque, uint32_t events)
{
	struct api_server *srv = opaque;

	(void)events;
	timer_consume(srv->metrics_fd, "metrics");
	pthread_mutex_lock(&srv->lock);
	if (srv->api->metrics.path)
		api_flush_metrics(srv->api);
	pthread_mutex_unlock(&srv->lock);
}

/* Stop watching and close everything api_server_start opened (loop thread, or loop not running). */
static void server_close(void *opaque)
{
	struct api_server *srv = opaque;

	if (srv->watched) {
		evloop_del(srv->el, srv->mhd_fd);
		evloop_del(srv->el, srv->mhd_timer_fd);
		evloop_del(srv->el, srv->metrics_fd);
		srv->watched = false;
	}
	if (srv->daemon) {
		MHD_socket s = MHD_quiesce_daemon(srv->daemon);

		MHD_stop_daemon(srv->daemon);
		srv->daemon = NULL;
		if (s != MHD_INVALID_SOCKET)
			close(s);
		srv->listen_fd = -1;
	}
	if (srv->listen_fd >= 0)
		close(srv->listen_fd);
	srv->listen_fd = -1;
	if (srv->mhd_timer_fd >= 0)
		close(srv->mhd_timer_fd);
	if (srv->metrics_fd >= 0)
		close(srv->metrics_fd);
	srv->mhd_timer_fd = srv->metrics_fd = -1;
}

/* Watch MHD's epoll fd and the two timers; start the metrics period. 0 or -errno. */
static int server_watch(struct api_server *srv)
{
	struct itimerspec its = { 0 };
	const union MHD_DaemonInfo *info;
	int ret;

	info = MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_EPOLL_FD);
	if (!info || info->epoll_fd < 0)
		return -EIO;
	srv->mhd_fd = info->epoll_fd;
	srv->mhd_timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	srv->metrics_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (srv->mhd_timer_fd < 0 || srv->metrics_fd < 0)
		return -errno;
	its.it_value.tv_sec = srv->metrics_period_ms / 1000;
	its.it_value.tv_nsec = (long)(srv->metrics_period_ms % 1000) * 1000000L;
	its.it_interval = its.it_value;
	if (timerfd_settime(srv->metrics_fd, 0, &its, NULL) < 0)
		return -errno;
	ret = evloop_add(srv->el, srv->mhd_fd, EPOLLIN, on_mhd_ready, srv);
	if (!ret) {
		ret = evloop_add(srv->el, srv->mhd_timer_fd, EPOLLIN, on_mhd_timer, srv);
		if (ret)
			evloop_del(srv->el, srv->mhd_fd);
	}
	if (!ret) {
		ret = evloop_add(srv->el, srv->metrics_fd, EPOLLIN, on_metrics_timer, srv);
		if (ret) {
			evloop_del(srv->el, srv->mhd_fd);
			evloop_del(srv->el, srv->mhd_timer_fd);
		}
	}
	srv->watched = !ret;
	return ret;
}

int api_server_start(struct api_server *srv, struct api *api, const char *sock_path,
		     struct evloop *el, char *err, size_t err_len)
{
	unsigned period = srv->metrics_period_ms ? srv->metrics_period_ms : API_METRICS_PERIOD_MS;
	unsigned mode = srv->sock_mode ? srv->sock_mode : 0600;
	int fd, r;

	memset(srv, 0, sizeof(*srv));
	srv->api = api;
	srv->el = el;
	srv->metrics_period_ms = period;
	srv->listen_fd = srv->mhd_fd = srv->mhd_timer_fd = srv->metrics_fd = -1;
	srv->path = strdup(sock_path);
	if (!srv->path) {
		snprintf(err, err_len, "out of memory");
		return -ENOMEM;
	}
	pthread_mutex_init(&srv->lock, NULL);

	fd = api_socket_create(sock_path, mode, err, err_len);
	if (fd < 0) {
		r = fd;
		goto fail;
	}
	srv->listen_fd = fd;
	/* No thread of its own: MHD's epoll fd is watched by the event loop (external epoll mode).
	 */
	srv->daemon = MHD_start_daemon(MHD_USE_EPOLL, 0, NULL, NULL, on_request, srv,
				       MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_NOTIFY_COMPLETED,
				       on_completed, srv, MHD_OPTION_CONNECTION_LIMIT, 64u,
				       MHD_OPTION_CONNECTION_TIMEOUT, 60u, MHD_OPTION_END);
	if (!srv->daemon) {
		snprintf(err, err_len, "cannot start the HTTP server on %s", sock_path);
		r = -EIO;
		goto fail_unlink;
	}
	r = server_watch(srv);
	if (r) {
		snprintf(err, err_len, "cannot serve %s on the event loop: %s", sock_path,
			 strerror(-r));
		goto fail_unlink;
	}
	return 0;

fail_unlink:
	server_close(srv);
	unlink(sock_path);
fail:
	pthread_mutex_destroy(&srv->lock);
	free(srv->path);
	srv->path = NULL;
	return r;
}

void api_server_serve(struct api_server *srv, unsigned ms)
{
	struct pollfd pfd = { .fd = srv->mhd_fd, .events = POLLIN };

	if (!srv->daemon)
		return;
	if (poll(&pfd, 1, (int)ms) < 0 && errno != EINTR)
		log_error("api: poll: %s", strerror(errno));
	mhd_step(srv);
}

void api_server_stop(struct api_server *srv)
{
	if (!srv->path)
		return;
	/* between two handlers on the loop thread, or at once when the loop is not running */
	evloop_call(srv->el, server_close, srv);
	unlink(srv->path);
	free(srv->path);
	srv->path = NULL;
	pthread_mutex_destroy(&srv->lock);
}

void api_server_lock(struct api_server *srv)
{
	pthread_mutex_lock(&srv->lock);
}

void api_server_unlock(struct api_server *srv)
{
	pthread_mutex_unlock(&srv->lock);
}
