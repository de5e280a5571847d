/*
 * test_chardev_stdio.c — the stdio console backend on pipes, files, /dev/null
 * and a pseudo-terminal, with an epoll-based stand-in for the VM's event loop.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <linux/serial_reg.h>

#include "backends/chardev_stdio.h"
#include "devices/serial8250.h"
#include "harness.h"

/* A minimal evloop: the real epoll, dispatched by the test itself. */
struct evloop {
	int epfd;
	int watched;
};

struct watch {
	evloop_handler fn;
	void *opaque;
};

static struct watch watches[1024];

struct evloop *evloop_create(void)
{
	struct evloop *el = calloc(1, sizeof(*el));

	if (el)
		el->epfd = epoll_create1(EPOLL_CLOEXEC);
	return el;
}

void evloop_destroy(struct evloop *el)
{
	close(el->epfd);
	free(el);
}

int evloop_add(struct evloop *el, int fd, uint32_t events, evloop_handler fn, void *opaque)
{
	struct epoll_event ev = { .events = events, .data.fd = fd };

	if (fd < 0 || fd >= 1024)
		return -EINVAL;
	if (epoll_ctl(el->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		return -errno;
	watches[fd] = (struct watch){ fn, opaque };
	el->watched++;
	return 0;
}

int evloop_del(struct evloop *el, int fd)
{
	if (epoll_ctl(el->epfd, EPOLL_CTL_DEL, fd, NULL) < 0)
		return -errno;
	el->watched--;
	return 0;
}

int evloop_run(struct evloop *el)
{
	return -ENOSYS;
}

void evloop_stop(struct evloop *el)
{
}

/* dispatch - run handlers for what is ready now; returns how many ran. */
static int dispatch(struct evloop *el)
{
	struct epoll_event ev[8];
	int n = epoll_wait(el->epfd, ev, 8, 0);

	for (int i = 0; i < n; i++)
		watches[ev[i].data.fd].fn(watches[ev[i].data.fd].opaque, ev[i].events);
	return n < 0 ? 0 : n;
}

/* A frontend that records notifications and pulls on demand. */
struct front {
	unsigned notified;
	unsigned quits;
	uint8_t got[4096];
	size_t len;
};

static void front_notify(void *opaque)
{
	((struct front *)opaque)->notified++;
}

static void front_quit(void *opaque)
{
	((struct front *)opaque)->quits++;
}

static size_t pull(struct chardev_stdio *s, struct front *f, size_t max)
{
	size_t n = chardev_read(chardev_stdio_chardev(s), f->got + f->len,
				max < sizeof(f->got) - f->len ? max : sizeof(f->got) - f->len);

	f->len += n;
	return n;
}

struct rig {
	int in[2], out[2];
	struct evloop *el;
	struct chardev_stdio *s;
	struct front f;
};

static void rig_init(struct rig *r, bool start)
{
	memset(&r->f, 0, sizeof(r->f));
	REQUIRE(pipe(r->in) == 0 && pipe(r->out) == 0);
	r->el = evloop_create();
	REQUIRE(r->el);
	r->s = chardev_stdio_create(r->in[0], r->out[1]);
	REQUIRE(r->s);
	chardev_attach(chardev_stdio_chardev(r->s), front_notify, &r->f);
	chardev_stdio_set_quit(r->s, front_quit, &r->f);
	if (start)
		REQUIRE(chardev_stdio_start(r->s, r->el) == 0);
}

static void rig_fini(struct rig *r)
{
	chardev_destroy(chardev_stdio_chardev(r->s));
	evloop_destroy(r->el);
	for (int i = 0; i < 2; i++) {
		if (r->in[i] >= 0)
			close(r->in[i]);
		if (r->out[i] >= 0)
			close(r->out[i]);
	}
}

TEST(chardev_stdio_pipe_input_reaches_frontend)
{
	struct rig r;

	rig_init(&r, true);
	CHECK_EQ(pull(r.s, &r.f, 16), 0);
	REQUIRE(write(r.in[1], "hello", 5) == 5);
	CHECK_EQ(dispatch(r.el), 1);
	CHECK(r.f.notified >= 1);
	CHECK_EQ(pull(r.s, &r.f, 3), 3);
	CHECK_EQ(pull(r.s, &r.f, 16), 2);
	CHECK(r.f.len == 5 && memcmp(r.f.got, "hello", 5) == 0);
	rig_fini(&r);
}

TEST(chardev_stdio_backpressure_bounds_buffering)
{
	struct rig r;
	uint8_t in[1000];
	int left = 0;

	rig_init(&r, true);
	for (unsigned i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)(i % 251 + 2); /* no Ctrl-A */
	REQUIRE(write(r.in[1], in, sizeof(in)) == (ssize_t)sizeof(in));
	for (int i = 0; i < 20; i++)
		dispatch(r.el);
	/* the backend took at most its buffer and stopped watching stdin */
	CHECK_EQ(r.el->watched, 0);
	REQUIRE(ioctl(r.in[0], FIONREAD, &left) == 0);
	CHECK(left >= (int)sizeof(in) - CHARDEV_STDIO_BUF);
	CHECK(left < (int)sizeof(in));
	/* pulling re-arms it; everything arrives in order */
	for (int i = 0; i < 200 && r.f.len < sizeof(in); i++) {
		pull(r.s, &r.f, 16);
		dispatch(r.el);
	}
	CHECK_EQ(r.f.len, sizeof(in));
	CHECK(memcmp(r.f.got, in, sizeof(in)) == 0);
	CHECK_EQ(r.el->watched, 1);
	rig_fini(&r);
}

TEST(chardev_stdio_escape_quit_and_literal)
{
	struct rig r;
	static const char seq[] = "a\x01\x01"
				  "b\x01"
				  "zc\x01x"
				  "d";

	rig_init(&r, true);
	REQUIRE(write(r.in[1], seq, sizeof(seq) - 1) == (ssize_t)sizeof(seq) - 1);
	dispatch(r.el);
	pull(r.s, &r.f, 64);
	CHECK_EQ(r.f.quits, 1);
	CHECK_EQ(r.f.len, 7);
	CHECK(memcmp(r.f.got,
		     "a\x01"
		     "b\x01"
		     "zcd",
		     7) == 0);
	/* an escape split across two reads still works */
	REQUIRE(write(r.in[1], "\x01", 1) == 1);
	dispatch(r.el);
	REQUIRE(write(r.in[1], "x", 1) == 1);
	dispatch(r.el);
	CHECK_EQ(r.f.quits, 2);
	rig_fini(&r);
}

TEST(chardev_stdio_escape_can_be_disabled)
{
	struct rig r;

	rig_init(&r, false);
	chardev_stdio_set_escape(r.s, false);
	REQUIRE(chardev_stdio_start(r.s, r.el) == 0);
	REQUIRE(write(r.in[1], "\x01x", 2) == 2);
	dispatch(r.el);
	pull(r.s, &r.f, 64);
	CHECK_EQ(r.f.quits, 0);
	CHECK(r.f.len == 2 && r.f.got[0] == 1 && r.f.got[1] == 'x');
	rig_fini(&r);
}

TEST(chardev_stdio_eof_stops_input_only)
{
	struct rig r;
	char buf[8];

	rig_init(&r, true);
	REQUIRE(write(r.in[1], "z", 1) == 1);
	close(r.in[1]);
	r.in[1] = -1;
	dispatch(r.el);
	dispatch(r.el);
	CHECK_EQ(r.el->watched, 0); /* no busy loop on a hung-up pipe */
	CHECK_EQ(dispatch(r.el), 0);
	CHECK_EQ(pull(r.s, &r.f, 8), 1);
	CHECK_EQ(pull(r.s, &r.f, 8), 0);
	/* output still works */
	CHECK_EQ(chardev_write(chardev_stdio_chardev(r.s), (const uint8_t *)"ok", 2), 2);
	CHECK_EQ(read(r.out[0], buf, sizeof(buf)), 2);
	rig_fini(&r);
}

TEST(chardev_stdio_devnull_and_file_input)
{
	struct evloop *el = evloop_create();
	struct chardev_stdio *s;
	struct front f = { 0 };
	char path[] = "/tmp/vmon-stdio-XXXXXX";
	int fd, null_fd = open("/dev/null", O_RDONLY);

	REQUIRE(el && null_fd >= 0);
	s = chardev_stdio_create(null_fd, -1);
	REQUIRE(s);
	chardev_attach(chardev_stdio_chardev(s), front_notify, &f);
	CHECK_EQ(chardev_stdio_start(s, el), 0);
	CHECK_EQ(pull(s, &f, 16), 0);
	CHECK_EQ(pull(s, &f, 16), 0);
	CHECK_EQ(chardev_write(chardev_stdio_chardev(s), (const uint8_t *)"x", 1), 1);
	chardev_destroy(chardev_stdio_chardev(s));
	close(null_fd);

	fd = mkstemp(path);
	REQUIRE(fd >= 0);
	unlink(path);
	REQUIRE(write(fd, "file input", 10) == 10);
	lseek(fd, 0, SEEK_SET);
	memset(&f, 0, sizeof(f));
	s = chardev_stdio_create(fd, -1);
	REQUIRE(s);
	chardev_attach(chardev_stdio_chardev(s), front_notify, &f);
	CHECK_EQ(chardev_stdio_start(s, el), 0);
	CHECK_EQ(f.notified, 1); /* told once; the frontend pulls */
	while (pull(s, &f, 4))
		;
	CHECK(f.len == 10 && memcmp(f.got, "file input", 10) == 0);
	chardev_destroy(chardev_stdio_chardev(s));
	close(fd);
	evloop_destroy(el);
}

TEST(chardev_stdio_output_survives_closed_reader)
{
	struct rig r;
	uint8_t big[256] = { 0 };

	rig_init(&r, true);
	close(r.out[0]);
	r.out[0] = -1;
	/* EPIPE, not SIGPIPE: the bytes are dropped and counted */
	CHECK_EQ(chardev_write(chardev_stdio_chardev(r.s), big, sizeof(big)), sizeof(big));
	CHECK_EQ(chardev_stdio_dropped(r.s), sizeof(big));
	rig_fini(&r);
}

TEST(chardev_stdio_output_nonblocking_full_pipe)
{
	struct rig r;
	static uint8_t big[200000];
	size_t got = 0;
	ssize_t n;

	rig_init(&r, true);
	fcntl(r.out[1], F_SETFL, O_NONBLOCK);
	memset(big, 'q', sizeof(big));
	/* nobody reads: the pipe fills, the write waits ~1 s, then drops the rest */
	CHECK_EQ(chardev_write(chardev_stdio_chardev(r.s), big, sizeof(big)), sizeof(big));
	CHECK(chardev_stdio_dropped(r.s) > 0);
	fcntl(r.out[0], F_SETFL, O_NONBLOCK);
	while ((n = read(r.out[0], big, sizeof(big))) > 0)
		got += (size_t)n;
	CHECK_EQ(got + chardev_stdio_dropped(r.s), sizeof(big));
	rig_fini(&r);
}

TEST(chardev_stdio_feeds_serial8250)
{
	struct rig r;
	struct serial8250 *uart;
	uint8_t in[600];
	size_t got = 0;
	int left = 0;
	char out[8];

	rig_init(&r, false);
	uart = serial8250_create(NULL, chardev_stdio_chardev(r.s), 0);
	REQUIRE(uart);
	REQUIRE(chardev_stdio_start(r.s, r.el) == 0);
	serial8250_ops.write(uart, UART_FCR, UART_FCR_ENABLE_FIFO, 1);
	for (unsigned i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)(i % 200 + 2);
	REQUIRE(write(r.in[1], in, sizeof(in)) == (ssize_t)sizeof(in));
	for (int i = 0; i < 10; i++)
		dispatch(r.el);
	/* 16 in the FIFO, at most a buffer in the backend, the rest still in the pipe */
	REQUIRE(ioctl(r.in[0], FIONREAD, &left) == 0);
	CHECK(left >= (int)sizeof(in) - SERIAL8250_FIFO_LEN - CHARDEV_STDIO_BUF);
	for (int i = 0; i < 10000 && got < sizeof(in); i++) {
		if (serial8250_ops.read(uart, UART_LSR, 1) & UART_LSR_DR) {
			uint8_t b = (uint8_t)serial8250_ops.read(uart, UART_RX, 1);

			CHECK_EQ(b, in[got]);
			got++;
		} else {
			dispatch(r.el);
		}
	}
	CHECK_EQ(got, sizeof(in));
	serial8250_ops.write(uart, UART_TX, 'k', 1);
	CHECK_EQ(read(r.out[0], out, sizeof(out)), 1);
	CHECK_EQ(out[0], 'k');
	serial8250_destroy(uart);
	rig_fini(&r);
}

static int open_pty(int *master)
{
	*master = posix_openpt(O_RDWR | O_NOCTTY);
	if (*master < 0 || grantpt(*master) || unlockpt(*master))
		return -1;
	return open(ptsname(*master), O_RDWR | O_NOCTTY);
}

TEST(chardev_stdio_terminal_raw_and_restored)
{
	struct evloop *el = evloop_create();
	struct chardev_stdio *s;
	struct termios t;
	int master, slave = open_pty(&master);

	if (slave < 0)
		SKIP("no pseudo-terminals");
	REQUIRE(el);
	s = chardev_stdio_create(slave, -1);
	REQUIRE(s);
	REQUIRE(chardev_stdio_start(s, el) == 0);
	REQUIRE(tcgetattr(slave, &t) == 0);
	CHECK_EQ(t.c_lflag & (ICANON | ECHO | ISIG), 0);
	CHECK(t.c_oflag & OPOST);
	chardev_stdio_stop(s);
	REQUIRE(tcgetattr(slave, &t) == 0);
	CHECK_EQ(t.c_lflag & (ICANON | ECHO | ISIG), ICANON | ECHO | ISIG);
	chardev_destroy(chardev_stdio_chardev(s));
	evloop_destroy(el);
	close(slave);
	close(master);
}

/*
 * A run under nohup or from a background job inherits SIGHUP/SIGINT ignored, and vmon rightly
 * leaves an ignored signal alone; these tests are about signals that end the process, so the
 * binary starts with the default actions (before any test installs the terminal's hooks).
 */
__attribute__((constructor)) static void default_signal_actions(void)
{
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	signal(SIGQUIT, SIG_DFL);
}

/* in a child: make the pty raw, then end by @how; the parent checks the terminal */
static int child_ends_raw(int slave, int how)
{
	pid_t pid = fork();
	int st;

	if (pid == 0) {
		struct evloop *el = evloop_create();
		struct chardev_stdio *s = chardev_stdio_create(slave, -1);

		if (!el || !s || chardev_stdio_start(s, el))
			_exit(3);
		if (how == 0)
			exit(0); /* atexit */
		raise(how);
		_exit(4);
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		return -1;
	return st;
}

TEST(chardev_stdio_terminal_restored_on_exit_and_signals)
{
	static const int hows[] = { 0, SIGTERM, SIGINT, SIGHUP };
	struct termios t;
	int master, slave = open_pty(&master);

	if (slave < 0)
		SKIP("no pseudo-terminals");
	for (unsigned i = 0; i < sizeof(hows) / sizeof(hows[0]); i++) {
		int st = child_ends_raw(slave, hows[i]);

		if (hows[i] == 0)
			CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
		else
			CHECK(WIFSIGNALED(st) && WTERMSIG(st) == hows[i]);
		REQUIRE(tcgetattr(slave, &t) == 0);
		CHECK_EQ(t.c_lflag & (ICANON | ECHO | ISIG), ICANON | ECHO | ISIG);
	}
	close(slave);
	close(master);
}

/* clang-format off */
HARNESS_MAIN(
	HARNESS_T(chardev_stdio_pipe_input_reaches_frontend)
	HARNESS_T(chardev_stdio_backpressure_bounds_buffering)
	HARNESS_T(chardev_stdio_escape_quit_and_literal)
	HARNESS_T(chardev_stdio_escape_can_be_disabled)
	HARNESS_T(chardev_stdio_eof_stops_input_only)
	HARNESS_T(chardev_stdio_devnull_and_file_input)
	HARNESS_T(chardev_stdio_feeds_serial8250)
	HARNESS_T(chardev_stdio_output_survives_closed_reader)
	HARNESS_T(chardev_stdio_output_nonblocking_full_pipe)
	HARNESS_T(chardev_stdio_terminal_raw_and_restored)
	HARNESS_T(chardev_stdio_terminal_restored_on_exit_and_signals)
)
/* clang-format on */
