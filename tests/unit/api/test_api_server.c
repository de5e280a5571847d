/* test_api_server.c — end to end: api_server on a temporary Unix socket, spoken to over plain
 * HTTP/1.1. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "api/api_client.h"
#include "api/api_server.h"
#include "api_test_util.h"
#include "base/evloop.h"

static char dir[] = "/tmp/vmon-test-sock-XXXXXX";
static char sock[100];

/* The event loop the server runs on, on its own thread (vmon's main thread). */
static struct evloop *el;
static pthread_t loop_thread;

static void *loop_main(void *arg)
{
	(void)arg;
	evloop_run(el);
	return NULL;
}

static void loop_start(void)
{
	el = evloop_create();
	if (!el || pthread_create(&loop_thread, NULL, loop_main, NULL))
		abort();
}

static void loop_end(void)
{
	evloop_stop(el);
	pthread_join(loop_thread, NULL);
	evloop_destroy(el);
	el = NULL;
}

static int http(const char *req, size_t req_len, char *reply, size_t reply_len);

/* req - an HTTP/1.1 request with Connection: close and @body (may be NULL). */
static int req(const char *method, const char *path, const char *body, char *reply,
	       size_t reply_len)
{
	char buf[1024];
	int n;

	n = snprintf(buf, sizeof(buf), "%s %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n",
		     method, path);
	if (body)
		n += snprintf(buf + n, sizeof(buf) - (size_t)n,
			      "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
			      strlen(body), body);
	else
		n += snprintf(buf + n, sizeof(buf) - (size_t)n, "\r\n");
	return http(buf, (size_t)n, reply, reply_len);
}

/* http - send @req raw, read the reply until the server closes; returns the status or -1. */
static int http(const char *req, size_t req_len, char *reply, size_t reply_len)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t got = 0;
	ssize_t n;
	int fd, status = -1;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	while (req_len) {
		n = send(fd, req, req_len, MSG_NOSIGNAL);
		if (n <= 0)
			break; /* the server may refuse before reading it all */
		req += n;
		req_len -= (size_t)n;
	}
	while (got + 1 < reply_len && (n = read(fd, reply + got, reply_len - got - 1)) > 0)
		got += (size_t)n;
	reply[got] = '\0';
	close(fd);
	sscanf(reply, "HTTP/1.1 %d", &status);
	return status;
}

static const char *body_of(const char *reply)
{
	const char *b = strstr(reply, "\r\n\r\n");

	return b ? b + 4 : "";
}

TEST(api_server_end_to_end)
{
	struct api a;
	struct api_server srv = { 0 };
	char err[256], reply[8192];
	static const char two[] = "GET /version HTTP/1.1\r\nHost: x\r\n\r\n"
				  "PUT /actions HTTP/1.1\r\nHost: x\r\nConnection: "
				  "close\r\nContent-Length: 31\r\n\r\n"
				  "{\"action_type\":\"InstanceStart\"}";
	static const char big[] = "PUT /machine-config HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
				  "Content-Length: 10000000\r\n\r\n{";

	REQUIRE(mkdtemp(dir));
	loop_start();
	snprintf(sock, sizeof(sock), "%s/api.sock", dir);
	fresh(&a);
	REQUIRE(api_server_start(&srv, &a, sock, el, err, sizeof(err)) == 0);

	CHECK_EQ(req("GET", "/", NULL, reply, sizeof(reply)), 200);
	CHECK(strstr(reply, "Content-Type: application/json") != NULL);
	CHECK(strstr(body_of(reply), "\"state\":\"Not started\"") != NULL);

	CHECK_EQ(req("PUT", "/machine-config", "{\"vcpu_count\":2,\"mem_size_mib\":64}", reply,
		     sizeof(reply)),
		 204);
	api_server_lock(&srv);
	CHECK_EQ(a.cfg.cpus, 2);
	api_server_unlock(&srv);

	CHECK_EQ(req("GET", "/machine-config", NULL, reply, sizeof(reply)), 200);
	CHECK(!strcmp(body_of(reply), "{\"vcpu_count\":2,\"mem_size_mib\":64,\"smt\":false,"
				      "\"track_dirty_pages\":false,\"huge_pages\":\"None\"}"));

	CHECK_EQ(req("PUT", "/nothing", "{}", reply, sizeof(reply)), 400);
	CHECK(!strcmp(body_of(reply), FAULT("Invalid request method and/or path: PUT /nothing.")));

	/* an oversize body is refused from its Content-Length, unread */
	CHECK_EQ(http(big, sizeof(big) - 1, reply, sizeof(reply)), 400);
	CHECK(!strcmp(
		body_of(reply),
		FAULT("The request body of 10000000 bytes exceeds the limit of 65536 bytes.")));

	/* two requests on one keep-alive connection */
	CHECK_EQ(http(two, sizeof(two) - 1, reply, sizeof(reply)), 200);
	CHECK(strstr(reply, "HTTP/1.1 204") != NULL);
	CHECK_EQ(fake.starts, 1);
	/* served on the event loop's thread: the API has no thread of its own */
	CHECK(pthread_equal(fake.start_thread, loop_thread));

	/* a second server on the same live socket is refused */
	{
		struct api_server other = { 0 };

		CHECK_EQ(api_server_start(&other, &a, sock, el, err, sizeof(err)), -EADDRINUSE);
	}
	api_server_stop(&srv);
	CHECK(access(sock, F_OK) != 0); /* unlinked */
	api_server_stop(&srv); /* twice is harmless */
	loop_end();
	api_destroy(&a);
}

TEST(api_server_socket_path_rules)
{
	struct api a;
	struct api_server srv = { 0 };
	char err[256], path[200];
	FILE *f;
	int fd;

	fresh(&a);
	loop_start();
	/* an existing regular file is never removed */
	snprintf(path, sizeof(path), "%s/file", dir);
	f = fopen(path, "w");
	REQUIRE(f);
	fclose(f);
	CHECK_EQ(api_server_start(&srv, &a, path, el, err, sizeof(err)), -EEXIST);
	CHECK(access(path, F_OK) == 0);
	unlink(path);
	/* a stale socket (nobody listening) is replaced */
	fd = api_socket_create(sock, 0600, err, sizeof(err));
	REQUIRE(fd >= 0);
	close(fd);
	CHECK_EQ(api_server_start(&srv, &a, sock, el, err, sizeof(err)), 0);
	api_server_stop(&srv);
	/* too long a path */
	memset(path, 'a', sizeof(path) - 1);
	path[0] = '/';
	path[sizeof(path) - 1] = '\0';
	CHECK_EQ(api_server_start(&srv, &a, path, el, err, sizeof(err)), -ENAMETOOLONG);
	loop_end();
	api_destroy(&a);
}

TEST(api_client_request_speaks_to_the_server_and_names_each_failure)
{
	struct api a;
	struct api_server srv = { 0 };
	char err[256], reply[4096], path[200];
	int fd;

	fresh(&a);
	loop_start();
	REQUIRE(api_server_start(&srv, &a, sock, el, err, sizeof(err)) == 0);
	CHECK_EQ(api_client_request(sock, "GET", "/", NULL, reply, sizeof(reply), 5000, err,
				    sizeof(err)),
		 200);
	CHECK(strstr(reply, "\"state\":\"Not started\"") != NULL);
	CHECK_EQ(api_client_request(sock, "PUT", "/machine-config",
				    "{\"vcpu_count\":3,\"mem_size_mib\":64}", reply, sizeof(reply),
				    5000, err, sizeof(err)),
		 204);
	CHECK(!strcmp(reply, ""));
	api_server_lock(&srv);
	CHECK_EQ(a.cfg.cpus, 3);
	api_server_unlock(&srv);
	CHECK_EQ(api_client_request(sock, "PUT", "/migration/send", "{\"destination\":\"unix:/m\"}",
				    reply, sizeof(reply), 5000, err, sizeof(err)),
		 400);
	CHECK(strstr(reply, "only a running or paused microVM can be migrated") != NULL);
	/* a reply longer than the room is cut, NUL-terminated */
	CHECK_EQ(api_client_request(sock, "GET", "/", NULL, reply, 8, 5000, err, sizeof(err)), 200);
	CHECK_EQ(strlen(reply), 7);
	api_server_stop(&srv);

	/* nothing at the path; a socket nobody listens on; one that never answers */
	CHECK_EQ(api_client_request(sock, "GET", "/", NULL, reply, sizeof(reply), 1000, err,
				    sizeof(err)),
		 -ENOENT);
	CHECK(strstr(err, "cannot connect to") != NULL);
	fd = api_socket_create(sock, 0600, err, sizeof(err));
	REQUIRE(fd >= 0);
	CHECK_EQ(api_client_request(sock, "GET", "/", NULL, reply, sizeof(reply), 100, err,
				    sizeof(err)),
		 -ETIMEDOUT);
	CHECK(strstr(err, "no whole reply") != NULL);
	close(fd);
	CHECK_EQ(api_client_request(sock, "GET", "/", NULL, reply, sizeof(reply), 1000, err,
				    sizeof(err)),
		 -ECONNREFUSED);
	unlink(sock);
	memset(path, 'a', sizeof(path) - 1);
	path[sizeof(path) - 1] = '\0';
	CHECK_EQ(api_client_request(path, "GET", "/", NULL, reply, sizeof(reply), 100, err,
				    sizeof(err)),
		 -ENAMETOOLONG);
	loop_end();
	api_destroy(&a);
}

TEST(api_server_flushes_metrics_periodically)
{
	struct api a;
	struct api_server srv = { .metrics_period_ms = 20 };
	char err[256], reply[4096], body[256], metrics[160], line[4096];
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	int lines = 0;
	FILE *f;

	fresh(&a);
	loop_start();
	a.host_files = true;
	snprintf(sock, sizeof(sock), "%s/api2.sock", dir);
	snprintf(metrics, sizeof(metrics), "%s/metrics", dir);
	REQUIRE(api_server_start(&srv, &a, sock, el, err, sizeof(err)) == 0);
	snprintf(body, sizeof(body), "{\"metrics_path\":\"%s\"}", metrics);
	CHECK_EQ(req("PUT", "/metrics", body, reply, sizeof(reply)), 204);
	for (int i = 0; i < 200 && lines < 2; i++) {
		nanosleep(&ts, NULL);
		lines = 0;
		f = fopen(metrics, "r");
		while (f && fgets(line, sizeof(line), f))
			lines++;
		if (f)
			fclose(f);
	}
	CHECK(lines >= 2);
	api_server_stop(&srv);
	loop_end();
	api_destroy(&a);
	unlink(metrics);
	rmdir(dir);
}

// clang-format off
HARNESS_MAIN(
	HARNESS_T(api_server_end_to_end)
	HARNESS_T(api_server_socket_path_rules)
	HARNESS_T(api_client_request_speaks_to_the_server_and_names_each_failure)
	HARNESS_T(api_server_flushes_metrics_periodically)
)
// clang-format on
