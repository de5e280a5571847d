/*
 * test_vsock_mux.c — hybrid vsock's host end (backends/vsock/vsock_mux.h): the guest side is
 * played by calls (vsock_mux_guest_pkt / vsock_mux_host_pkt), the host side by real Unix
 * sockets, the event loop on its own thread as in vmon.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <linux/virtio_vsock.h>

#include "backends/vsock/vsock_mux.h"
#include "harness.h"
#include "util/log.h"

#define CID 3
#define GPORT 1234 /* the guest's port */

struct fix {
	char dir[64], path[128];
	struct evloop *el;
	pthread_t loop;
	struct vsock_mux *m;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned notified;
	uint8_t buf[VSOCK_MAX_PKT];
};

static void notify(void *opaque)
{
	struct fix *f = opaque;

	pthread_mutex_lock(&f->lock);
	f->notified++;
	pthread_cond_broadcast(&f->cond);
	pthread_mutex_unlock(&f->lock);
}

static void *loop_main(void *arg)
{
	evloop_run(arg);
	return NULL;
}

static void fix_up(struct fix *f)
{
	char err[256] = "";

	memset(f, 0, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/vmon-vsock-XXXXXX");
	REQUIRE(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/v.sock", f->dir);
	pthread_mutex_init(&f->lock, NULL);
	pthread_cond_init(&f->cond, NULL);
	REQUIRE((f->el = evloop_create()) != NULL);
	REQUIRE(vsock_mux_create(&f->m, CID, f->path, f->el, notify, f, err, sizeof(err)) == 0);
	REQUIRE(pthread_create(&f->loop, NULL, loop_main, f->el) == 0);
}

static void fix_down(struct fix *f)
{
	char cmd[128];

	evloop_stop(f->el);
	pthread_join(f->loop, NULL);
	vsock_mux_destroy(f->m);
	evloop_destroy(f->el);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	if (system(cmd) != 0)
		printf("#   could not remove %s\n", f->dir);
}

/* A guest packet with @len payload bytes from @data. */
static void guest(struct fix *f, uint16_t op, uint32_t hport, const void *data, uint32_t len,
		  uint32_t buf_alloc, uint32_t fwd_cnt, uint32_t flags)
{
	struct vsock_hdr h = { .src_cid = CID,
			       .dst_cid = VSOCK_HOST_CID,
			       .src_port = GPORT,
			       .dst_port = hport,
			       .len = len,
			       .type = VIRTIO_VSOCK_TYPE_STREAM,
			       .op = op,
			       .flags = flags,
			       .buf_alloc = buf_alloc,
			       .fwd_cnt = fwd_cnt };
	struct iovec iov = { (void *)data, len };

	vsock_mux_guest_pkt(f->m, &h, &iov, len ? 1 : 0, len);
}

/* The next packet for the guest, waiting up to 5 s for one (into f->buf, at most @cap). */
static bool host(struct fix *f, struct vsock_hdr *h, size_t cap)
{
	struct iovec iov = { f->buf, cap };

	for (int i = 0; i < 500; i++) {
		unsigned seen;

		pthread_mutex_lock(&f->lock);
		seen = f->notified;
		pthread_mutex_unlock(&f->lock);
		if (vsock_mux_host_pkt(f->m, h, &iov, 1, cap))
			return true;
		pthread_mutex_lock(&f->lock);
		if (f->notified == seen) {
			struct timespec ts;

			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += 10 * 1000000;
			if (ts.tv_nsec >= 1000000000)
				ts.tv_sec++, ts.tv_nsec -= 1000000000;
			pthread_cond_timedwait(&f->cond, &f->lock, &ts);
		}
		pthread_mutex_unlock(&f->lock);
	}
	return false;
}

/* No packet for the guest now (after the loop had 50 ms to run). */
static bool host_idle(struct fix *f)
{
	struct vsock_hdr h;
	struct iovec iov = { f->buf, sizeof(f->buf) };

	usleep(50000);
	return !vsock_mux_host_pkt(f->m, &h, &iov, 1, sizeof(f->buf));
}

static int listen_on(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 4096))
		return -1;
	return fd;
}

static int connect_to(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
		return -1;
	return fd;
}

/* read exactly @len bytes within 5 s; the count read */
static size_t read_all(int fd, void *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t r;

		if (poll(&p, 1, 5000) <= 0)
			break;
		r = read(fd, (char *)buf + got, len - got);
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	return got;
}

/* The other end closed: EOF, or ECONNRESET when it left bytes unread. */
static bool sees_eof(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char c;
	ssize_t r;

	if (poll(&p, 1, 5000) != 1)
		return false;
	r = read(fd, &c, 1);
	return r == 0 || (r < 0 && errno == ECONNRESET);
}

/* A host-initiated connection to guest port GPORT, accepted by the guest: the client's fd and
 * the host port the mux gave it (*@hport). */
static int host_connect(struct fix *f, uint32_t *hport)
{
	struct vsock_hdr h;
	char ok[32] = "", want[32];
	int fd = connect_to(f->path);

	if (fd < 0 || write(fd, "CONNECT 1234\n", 13) != 13 || !host(f, &h, 0) ||
	    h.op != VIRTIO_VSOCK_OP_REQUEST || h.dst_port != GPORT || h.src_cid != VSOCK_HOST_CID ||
	    h.dst_cid != CID)
		return -1;
	*hport = h.src_port;
	guest(f, VIRTIO_VSOCK_OP_RESPONSE, *hport, NULL, 0, 65536, 0, 0);
	snprintf(want, sizeof(want), "OK %u\n", *hport);
	if (read_all(fd, ok, strlen(want)) != strlen(want) || strcmp(ok, want))
		return -1;
	return fd;
}

TEST(vsock_mux_guest_connects_to_uds_port_and_streams)
{
	struct fix f;
	struct vsock_hdr h;
	char path[160], got[16] = "";
	int lfd, cfd;

	fix_up(&f);
	snprintf(path, sizeof(path), "%s_5000", f.path);
	REQUIRE((lfd = listen_on(path)) >= 0);
	guest(&f, VIRTIO_VSOCK_OP_REQUEST, 5000, NULL, 0, 65536, 0, 0);
	REQUIRE(host(&f, &h, sizeof(f.buf)));
	CHECK_EQ(h.op, VIRTIO_VSOCK_OP_RESPONSE);
	CHECK_EQ(h.src_port, 5000);
	CHECK_EQ(h.dst_port, GPORT);
	CHECK_EQ(h.buf_alloc, VSOCK_CONN_BUF);
	REQUIRE((cfd = accept(lfd, NULL, NULL)) >= 0);
	guest(&f, VIRTIO_VSOCK_OP_RW, 5000, "hello", 5, 65536, 0, 0);
	CHECK_EQ(read_all(cfd, got, 5), 5);
	CHECK(!memcmp(got, "hello", 5));
	REQUIRE(write(cfd, "world!", 6) == 6);
	REQUIRE(host(&f, &h, sizeof(f.buf)));
	CHECK_EQ(h.op, VIRTIO_VSOCK_OP_RW);
	CHECK_EQ(h.len, 6);
	CHECK(!memcmp(f.buf, "world!", 6));
	CHECK_EQ(h.fwd_cnt, 5); /* the guest's 5 bytes went on to the socket */
	/* half-close from the guest: the host end reads EOF and may still write */
	guest(&f, VIRTIO_VSOCK_OP_SHUTDOWN, 5000, NULL, 0, 65536, 6, VIRTIO_VSOCK_SHUTDOWN_SEND);
	CHECK(sees_eof(cfd));
	REQUIRE(write(cfd, "late", 4) == 4);
	REQUIRE(host(&f, &h, sizeof(f.buf)));
	CHECK_EQ(h.op, VIRTIO_VSOCK_OP_RW);
	CHECK_EQ(h.len, 4);
	/* the host end closes: SHUTDOWN(SEND) to the guest, then the RST that ends it */
	close(cfd);
	REQUIRE(host(&f, &h, sizeof(f.buf)));
	CHECK_EQ(h.op, VIRTIO_VSOCK_OP_SHUTDOWN);
	CHECK_EQ(h.flags, VIRTIO_VSOCK_SHUTDOWN_SEND);
	REQUIRE(host(&f, &h, sizeof(f.buf)));
	CHECK_EQ(h.op, VIRTIO_VSOCK_OP_RST);
	CHECK_EQ(vsock_mux_conns(f.m), 0);
	close(lfd);
	fix_down(&f);
}

TEST(vsock_mux_host_connect_handshake_answers_ok_port)
{
	struct fix f;
	struct vsock_hdr h;
	uint32_t hport = 0;
	char got[8] = "";
	int fd;

	fix_up(&f);
	REQUIRE((fd = host_connect(&f, &hport)) >= 0);
	CHECK(hport >= 1u << 30);
	REQUIRE(write(fd, "ping", 4) == 4);
	REQUIRE(host(&f, &h, sizeof(f.buf)));
	CHECK_EQ(h.op, VIRTIO_VSOCK_OP_RW);
	CHECK_EQ(h.src_port, hport);
	CHECK_EQ(h.len, 4);
	guest(&f, VIRTIO_VSOCK_OP_RW, hport, "pong", 4, 65536, 4, 0);
	CHECK_EQ(read_all(fd, got, 4), 4);
	CHECK(!memcmp(got, "pong", 4));
	/* the guest closes both ways: the client sees EOF, the guest gets its RST */
	guest(&f, VIRTIO_VSOCK_OP_SHUTDOWN, hport, NULL, 0, 65536, 4,
	      VIRTIO_VSOCK_SHUTDOWN_RCV | VIRTIO_VSOCK_SHUTDOWN_SEND);
	CHECK(sees_eof(fd));
	REQUIRE(host(&f, &h, sizeof(f.buf)));
	CHECK_EQ(h.op, VIRTIO_VSOCK_OP_RST);
	CHECK_EQ(vsock_mux_conns(f.m), 0);
	close(fd);
	fix_down(&f);
}

TEST(vsock_mux_bad_handshakes_are_disconnected)
{
	static const char *const bad[] = {
		"HELLO\n",	 "CONNECT\n",
		"CONNECT x\n",	 "CONNECT 99999999999\n",
		"CONNECT 5 6\n", "CONNECT 123456789012345678901234567890"
	};
	struct fix f;

	fix_up(&f);
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int fd = connect_to(f.path);

		REQUIRE(fd >= 0);
		REQUIRE(write(fd, bad[i], strlen(bad[i])) == (ssize_t)strlen(bad[i]));
		if (!sees_eof(fd)) {
			printf("#   '%s' was not disconnected\n", bad[i]);
			harness.failed++;
		}
		close(fd);
	}
	CHECK(host_idle(&f)); /* nothing reached the guest */
	CHECK_EQ(vsock_mux_conns(f.m), 0);
	fix_down(&f);
}

TEST(vsock_mux_unanswered_request_times_out_with_rst)
{
	struct fix f;
	struct vsock_hdr h;
	int fd, silent;

	fix_up(&f);
	REQUIRE((fd = connect_to(f.path)) >= 0);
	REQUIRE(write(fd, "CONNECT 77\n", 11) == 11);
	REQUIRE(host(&f, &h, 0));
	CHECK_EQ(h.op, VIRTIO_VSOCK_OP_REQUEST);
	REQUIRE((silent = connect_to(f.path)) >= 0); /* never writes its CONNECT line */
	usleep(50000);
	vsock_mux_expire(f.m, VSOCK_REQUEST_TIMEOUT_MS + 1);
	CHECK(sees_eof(fd));
	CHECK(sees_eof(silent));
	REQUIRE(host(&f, &h, 0));
	CHECK_EQ(h.op, VIRTIO_VSOCK_OP_RST);
	CHECK_EQ(h.dst_port, 77);
	CHECK_EQ(vsock_mux_conns(f.m), 0);
	close(fd);
	close(silent);
	fix_down(&f);
}

TEST(vsock_mux_packets_without_connection_get_rst)
{
	struct fix f;
	struct vsock_hdr h;
	struct iovec iov = { f.buf, 0 };

	fix_up(&f);
	guest(&f, VIRTIO_VSOCK_OP_REQUEST, 6000, NULL, 0, 65536, 0, 0); /* nobody at _6000 */
	REQUIRE(host(&f, &h, 0));
	CHECK_EQ(h.op, VIRTIO_VSOCK_OP_RST);
	CHECK_EQ(h.src_port, 6000);
	CHECK_EQ(h.dst_port, GPORT);
	guest(&f, VIRTIO_VSOCK_OP_RW, 6000, "x", 1, 65536, 0, 0);
	REQUIRE(host(&f, &h, 0));
	CHECK_EQ(h.op, VIRTIO_VSOCK_OP_RST);
	guest(&f, VIRTIO_VSOCK_OP_RST, 6000, NULL, 0, 0, 0, 0); /* an RST is never answered */
	CHECK(host_idle(&f));
	/* a packet from another CID, or to another, is dropped */
	h = (struct vsock_hdr){ .src_cid = CID + 1,
				.dst_cid = VSOCK_HOST_CID,
				.type = VIRTIO_VSOCK_TYPE_STREAM,
				.op = VIRTIO_VSOCK_OP_REQUEST };
	vsock_mux_guest_pkt(f.m, &h, &iov, 0, 0);
	h.src_cid = CID, h.dst_cid = 7;
	vsock_mux_guest_pkt(f.m, &h, &iov, 0, 0);
	CHECK(host_idle(&f));
	/* a datagram (type 2, SEQPACKET is 2 too: neither is offered) is refused */
	h = (struct vsock_hdr){
		.src_cid = CID, .dst_cid = VSOCK_HOST_CID, .type = 2, .op = VIRTIO_VSOCK_OP_REQUEST
	};
	vsock_mux_guest_pkt(f.m, &h, &iov, 0, 0);
	REQUIRE(host(&f, &h, 0));
	CHECK_EQ(h.op, VIRTIO_VSOCK_OP_RST);
	CHECK_EQ(vsock_mux_conns(f.m), 0);
	fix_down(&f);
}

TEST(vsock_mux_host_data_waits_for_guest_credit)
{
	struct fix f;
	struct vsock_hdr h;
	uint32_t hport;
	char data[100];
	int fd;

	fix_up(&f);
	REQUIRE((fd = host_connect(&f, &hport)) >= 0);
	guest(&f, VIRTIO_VSOCK_OP_CREDIT_UPDATE, hport, NULL, 0, 8, 0, 0); /* 8 bytes of room */
	memset(data, 'a', sizeof(data));
	REQUIRE(write(fd, data, sizeof(data)) == sizeof(data));
	REQUIRE(host(&f, &h, sizeof(f.buf)));
	CHECK_EQ(h.op, VIRTIO_VSOCK_OP_RW);
	CHECK_EQ(h.len, 8);
	/* no more data while the guest has no room; it is asked for its credit once */
	REQUIRE(host(&f, &h, sizeof(f.buf)));
	CHECK_EQ(h.op, VIRTIO_VSOCK_OP_CREDIT_REQUEST);
	CHECK(host_idle(&f));
	/* the guest read its 8 bytes: 8 more */
	guest(&f, VIRTIO_VSOCK_OP_CREDIT_UPDATE, hport, NULL, 0, 8, 8, 0);
	REQUIRE(host(&f, &h, sizeof(f.buf)));
	CHECK_EQ(h.op, VIRTIO_VSOCK_OP_RW);
	CHECK_EQ(h.len, 8);
	/* a guest asking for credit gets a CREDIT_UPDATE */
	guest(&f, VIRTIO_VSOCK_OP_CREDIT_REQUEST, hport, NULL, 0, 8, 16, 0);
	REQUIRE(host(&f, &h, 0));
	CHECK(h.op == VIRTIO_VSOCK_OP_CREDIT_UPDATE || h.op == VIRTIO_VSOCK_OP_RW);
	close(fd);
	fix_down(&f);
}

TEST(vsock_mux_guest_past_its_credit_is_reset)
{
	struct fix f;
	struct vsock_hdr h;
	uint32_t hport, sent = 0;
	static uint8_t chunk[VSOCK_MAX_PKT];
	bool rst = false;
	int fd;

	fix_up(&f);
	REQUIRE((fd = host_connect(&f, &hport)) >= 0);
	/* the client reads nothing: the socket fills, then the mux's buffer, then the guest has
	 * sent more than the credit it was given */
	while (sent < 64u << 20 && !rst) {
		struct iovec iov = { f.buf, sizeof(f.buf) };

		guest(&f, VIRTIO_VSOCK_OP_RW, hport, chunk, sizeof(chunk), 65536, 0, 0);
		sent += sizeof(chunk);
		while (vsock_mux_host_pkt(f.m, &h, &iov, 1, sizeof(f.buf)))
			rst |= h.op == VIRTIO_VSOCK_OP_RST;
	}
	CHECK(rst);
	CHECK(sent <= 8u << 20); /* the socket's buffer and VSOCK_CONN_BUF, not more */
	CHECK_EQ(vsock_mux_conns(f.m), 0);
	close(fd);
	fix_down(&f);
}

TEST(vsock_mux_short_packet_resets_connection_only)
{
	struct fix f;
	struct vsock_hdr h = { 0 };
	uint32_t a, b;
	struct iovec iov = { (void *)"abc", 3 };
	char got[4] = "";
	int fa, fb;

	fix_up(&f);
	REQUIRE((fa = host_connect(&f, &a)) >= 0);
	REQUIRE((fb = host_connect(&f, &b)) >= 0);
	h = (struct vsock_hdr){ .src_cid = CID,
				.dst_cid = VSOCK_HOST_CID,
				.src_port = GPORT,
				.dst_port = a,
				.len = 1000,
				.type = VIRTIO_VSOCK_TYPE_STREAM,
				.op = VIRTIO_VSOCK_OP_RW,
				.buf_alloc = 65536 };
	vsock_mux_guest_pkt(f.m, &h, &iov, 1, 3); /* says 1000 bytes, carries 3 */
	REQUIRE(host(&f, &h, 0));
	CHECK_EQ(h.op, VIRTIO_VSOCK_OP_RST);
	CHECK_EQ(h.src_port, a);
	CHECK(sees_eof(fa));
	guest(&f, VIRTIO_VSOCK_OP_RW, b, "ok", 2, 65536, 0, 0);
	CHECK_EQ(read_all(fb, got, 2), 2);
	CHECK(!memcmp(got, "ok", 2));
	CHECK_EQ(vsock_mux_conns(f.m), 1);
	close(fa);
	close(fb);
	fix_down(&f);
}

TEST(vsock_mux_reset_closes_every_connection)
{
	struct fix f;
	uint32_t p1, p2;
	int a, b;

	fix_up(&f);
	REQUIRE((a = host_connect(&f, &p1)) >= 0);
	REQUIRE((b = host_connect(&f, &p2)) >= 0);
	CHECK(p1 != p2);
	CHECK_EQ(vsock_mux_conns(f.m), 2);
	vsock_mux_reset(f.m);
	CHECK(sees_eof(a));
	CHECK(sees_eof(b));
	CHECK_EQ(vsock_mux_conns(f.m), 0);
	CHECK(host_idle(&f));
	close(a);
	close(b);
	/* the listener stays: a new client is served */
	REQUIRE((a = host_connect(&f, &p1)) >= 0);
	close(a);
	fix_down(&f);
}

TEST(vsock_mux_holds_1024_connections_and_refuses_the_next)
{
	struct fix f;
	struct vsock_hdr h;
	struct rlimit rl;
	char path[160];
	static int accepted[VSOCK_MAX_CONNS];
	unsigned ok = 0, nacc = 0;
	int lfd;

	if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_max < 2 * VSOCK_MAX_CONNS + 64)
		SKIP("needs 2112 open files (RLIMIT_NOFILE)");
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
	fix_up(&f);
	snprintf(path, sizeof(path), "%s_9", f.path);
	REQUIRE((lfd = listen_on(path)) >= 0);
	for (unsigned i = 0; i <= VSOCK_MAX_CONNS; i++) {
		struct vsock_hdr g = { .src_cid = CID,
				       .dst_cid = VSOCK_HOST_CID,
				       .src_port = 10000 + i,
				       .dst_port = 9,
				       .type = VIRTIO_VSOCK_TYPE_STREAM,
				       .op = VIRTIO_VSOCK_OP_REQUEST,
				       .buf_alloc = 4096 };
		struct iovec iov = { f.buf, 0 };

		vsock_mux_guest_pkt(f.m, &g, &iov, 0, 0);
		if (!host(&f, &h, 0))
			break;
		if (i < VSOCK_MAX_CONNS) {
			ok += h.op == VIRTIO_VSOCK_OP_RESPONSE;
			if (h.op == VIRTIO_VSOCK_OP_RESPONSE) /* keep the backlog short */
				accepted[nacc++] = accept(lfd, NULL, NULL);
		} else
			CHECK_EQ(h.op, VIRTIO_VSOCK_OP_RST); /* the 1025th */
	}
	CHECK_EQ(ok, VSOCK_MAX_CONNS);
	CHECK_EQ(vsock_mux_conns(f.m), VSOCK_MAX_CONNS);
	vsock_mux_reset(f.m);
	for (unsigned i = 0; i < nacc; i++)
		close(accepted[i]);
	close(lfd);
	fix_down(&f);
}

TEST(vsock_mux_refuses_a_live_uds_path)
{
	struct fix f;
	struct vsock_mux *m2;
	char err[256] = "", other[160];
	int fd;

	fix_up(&f);
	CHECK(vsock_mux_create(&m2, CID, f.path, f.el, notify, &f, err, sizeof(err)) ==
	      -EADDRINUSE);
	CHECK(strstr(err, "in use") != NULL);
	snprintf(other, sizeof(other), "%s/file", f.dir);
	fd = open(other, O_CREAT | O_WRONLY, 0600);
	close(fd);
	CHECK(vsock_mux_create(&m2, CID, other, f.el, notify, &f, err, sizeof(err)) == -EEXIST);
	CHECK(vsock_mux_create(&m2, 2, f.path, f.el, notify, &f, err, sizeof(err)) == -EINVAL);
	fix_down(&f);
	/* a socket file left by a process that died is replaced */
	REQUIRE(mkdir(f.dir, 0700) == 0);
	fd = listen_on(f.path);
	close(fd);
	REQUIRE((f.el = evloop_create()) != NULL);
	CHECK(vsock_mux_create(&m2, CID, f.path, f.el, notify, &f, err, sizeof(err)) == 0);
	vsock_mux_destroy(m2);
	CHECK(access(f.path, F_OK) != 0); /* and removed when the mux goes */
	evloop_destroy(f.el);
	rmdir(f.dir);
}

// clang-format off
HARNESS_MAIN(
	HARNESS_T(vsock_mux_guest_connects_to_uds_port_and_streams)
	HARNESS_T(vsock_mux_host_connect_handshake_answers_ok_port)
	HARNESS_T(vsock_mux_bad_handshakes_are_disconnected)
	HARNESS_T(vsock_mux_unanswered_request_times_out_with_rst)
	HARNESS_T(vsock_mux_packets_without_connection_get_rst)
	HARNESS_T(vsock_mux_host_data_waits_for_guest_credit)
	HARNESS_T(vsock_mux_guest_past_its_credit_is_reset)
	HARNESS_T(vsock_mux_short_packet_resets_connection_only)
	HARNESS_T(vsock_mux_reset_closes_every_connection)
	HARNESS_T(vsock_mux_holds_1024_connections_and_refuses_the_next)
	HARNESS_T(vsock_mux_refuses_a_live_uds_path)
)
// clang-format on
