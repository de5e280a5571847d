/* chardev_stdio.c — console backend on stdin/stdout: raw terminal, escapes, bounded input, robust
 * output. */
#include "backends/chardev_stdio.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <termios.h>
#include <unistd.h>

#include "util/compiler.h"
#include "util/log.h"

#define OUT_WAIT_MS 1000

struct chardev_stdio {
	struct chardev cd;
	int in_fd, out_fd;
	struct evloop *el;
	void (*quit)(void *opaque);
	void *quit_opaque;
	bool escape_on;

	/* arm_lock serializes watch changes (never held while notifying) */
	pthread_mutex_t arm_lock;
	bool armed; /* stdin registered on el; under arm_lock */
	bool pollable; /* epoll accepted stdin; set at start */

	pthread_mutex_t lock; /* the input ring and input flags */
	uint8_t ring[CHARDEV_STDIO_BUF];
	size_t head, count;
	bool started, eof, in_escape;

	pthread_mutex_t out_lock;
	bool out_broken;
	unsigned long long dropped;
};

/*
 * The terminal is process-wide, and so are the hooks that restore it: one
 * saved termios, restored by whoever gets there first.
 */
static struct termios term_saved;
static int term_fd = -1;
static volatile sig_atomic_t term_raw;
static bool hooks_installed;
static struct sigaction old_actions[4];
static const int restore_signals[4] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };

void chardev_stdio_restore_terminal(void)
{
	if (term_raw) {
		term_raw = 0;
		tcsetattr(term_fd, TCSAFLUSH, &term_saved);
	}
}

static void restore_at_exit(void)
{
	chardev_stdio_restore_terminal();
}

static void restore_on_signal(int sig, siginfo_t *info, void *uc)
{
	int saved_errno = errno;

	chardev_stdio_restore_terminal();
	for (unsigned i = 0; i < ARRAY_SIZE(restore_signals); i++) {
		struct sigaction *old = &old_actions[i];

		if (restore_signals[i] != sig)
			continue;
		if (old->sa_flags & SA_SIGINFO) {
			if (old->sa_sigaction)
				old->sa_sigaction(sig, info, uc);
		} else if (old->sa_handler == SIG_DFL) {
			/* the default action (terminate): take it now */
			sigaction(sig, old, NULL);
			raise(sig);
		} else if (old->sa_handler != SIG_IGN) {
			old->sa_handler(sig);
		}
	}
	errno = saved_errno;
}

static void install_hooks(void)
{
	struct sigaction sa;

	if (hooks_installed)
		return;
	hooks_installed = true;
	atexit(restore_at_exit);
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = restore_on_signal;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	for (unsigned i = 0; i < ARRAY_SIZE(restore_signals); i++) {
		/* an ignored signal (nohup's SIGHUP) does not end vmon: it stays ignored */
		if (sigaction(restore_signals[i], NULL, &old_actions[i]) == 0 &&
		    !(old_actions[i].sa_flags & SA_SIGINFO) && old_actions[i].sa_handler == SIG_IGN)
			continue;
		sigaction(restore_signals[i], &sa, &old_actions[i]);
	}
}

/* enter_raw - raw input on a terminal @fd, output processing kept (as QEMU's stdio does). */
static int enter_raw(int fd)
{
	struct termios t;

	if (term_raw)
		return 0;
	if (tcgetattr(fd, &term_saved) < 0)
		return -errno;
	t = term_saved;
	t.c_iflag &= ~(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL | IXON);
	t.c_lflag &= ~(ECHO | ECHONL | ICANON | ISIG | IEXTEN);
	t.c_cflag &= ~(CSIZE | PARENB);
	t.c_cflag |= CS8;
	t.c_cc[VMIN] = 1;
	t.c_cc[VTIME] = 0;
	term_fd = fd;
	install_hooks();
	if (tcsetattr(fd, TCSANOW, &t) < 0)
		return -errno;
	term_raw = 1;
	return 0;
}

static struct chardev_stdio *to_stdio(struct chardev *cd)
{
	return container_of(cd, struct chardev_stdio, cd);
}

static size_t ring_space(const struct chardev_stdio *s)
{
	return CHARDEV_STDIO_BUF - s->count;
}

static void ring_put(struct chardev_stdio *s, uint8_t b)
{
	s->ring[(s->head + s->count) % CHARDEV_STDIO_BUF] = b;
	s->count++;
}

/*
 * ingest - run @n host bytes through the escape state machine into the ring.
 * The caller guarantees room for n + 1 bytes (an escape can add one).
 * Returns true when Ctrl-A x was seen.
 */
static bool ingest(struct chardev_stdio *s, const uint8_t *buf, size_t n)
{
	bool quit = false;

	for (size_t i = 0; i < n; i++) {
		uint8_t b = buf[i];

		if (!s->escape_on) {
			ring_put(s, b);
		} else if (s->in_escape) {
			s->in_escape = false;
			if (b == 'x' || b == 'X') {
				quit = true;
			} else if (b == CHARDEV_STDIO_ESCAPE) {
				ring_put(s, b);
			} else {
				ring_put(s, CHARDEV_STDIO_ESCAPE);
				ring_put(s, b);
			}
		} else if (b == CHARDEV_STDIO_ESCAPE) {
			s->in_escape = true;
		} else {
			ring_put(s, b);
		}
	}
	return quit;
}

/*
 * read_host - one read() of stdin into the ring, under s->lock. Returns true
 * when Ctrl-A x was read. Sets eof on end of input or a hard error.
 */
static bool read_host(struct chardev_stdio *s)
{
	uint8_t buf[CHARDEV_STDIO_BUF];
	size_t room = ring_space(s);
	ssize_t n;

	if (s->eof || room < 2)
		return false;
	n = read(s->in_fd, buf, room - 1);
	if (n > 0)
		return ingest(s, buf, (size_t)n);
	if (n == 0) {
		s->eof = true; /* input ends; the VM does not */
	} else if (errno != EINTR && errno != EAGAIN) {
		log_warn("console: reading stdin failed (%s); console input stops",
			 strerror(errno));
		s->eof = true;
	}
	return false;
}

static void on_stdin(void *opaque, uint32_t events);

/*
 * sync_watch - watch stdin exactly while it is pollable, started, not at
 * EOF and the ring has room for a read. Called with no s->lock held.
 */
static void sync_watch(struct chardev_stdio *s)
{
	bool want;
	int err;

	pthread_mutex_lock(&s->arm_lock);
	pthread_mutex_lock(&s->lock);
	want = s->pollable && s->started && !s->eof && ring_space(s) >= 2;
	pthread_mutex_unlock(&s->lock);
	if (want && !s->armed) {
		err = evloop_add(s->el, s->in_fd, EPOLLIN, on_stdin, s);
		if (err)
			log_warn("console: cannot watch stdin (%s); console input stops",
				 strerror(-err));
		else
			s->armed = true;
	} else if (!want && s->armed) {
		evloop_del(s->el, s->in_fd);
		s->armed = false;
	}
	pthread_mutex_unlock(&s->arm_lock);
}

/* on_stdin - stdin is readable (or hung up): one read, then wake the frontend. */
static void on_stdin(void *opaque, uint32_t events)
{
	struct chardev_stdio *s = opaque;
	bool quit, have;

	pthread_mutex_lock(&s->lock);
	quit = read_host(s);
	have = s->count > 0;
	pthread_mutex_unlock(&s->lock);
	sync_watch(s); /* full or ended: stop watching until the frontend pulls */
	if (quit && s->quit)
		s->quit(s->quit_opaque);
	if (have)
		chardev_notify(&s->cd);
}

static size_t stdio_read(struct chardev *cd, uint8_t *buf, size_t len)
{
	struct chardev_stdio *s = to_stdio(cd);
	bool quit = false, rearm;
	size_t n = 0;

	pthread_mutex_lock(&s->lock);
	if (s->started && !s->pollable && s->count == 0)
		quit = read_host(s); /* a regular file: reading never blocks */
	while (n < len && s->count) {
		buf[n++] = s->ring[s->head];
		s->head = (s->head + 1) % CHARDEV_STDIO_BUF;
		s->count--;
	}
	rearm = s->pollable && n > 0;
	pthread_mutex_unlock(&s->lock);
	if (rearm)
		sync_watch(s);
	if (quit && s->quit)
		s->quit(s->quit_opaque);
	return n;
}

/* write_all - write @len bytes to @fd, riding out EINTR, short writes and a bounded EAGAIN. */
static size_t write_all(int fd, const uint8_t *buf, size_t len, bool *broken)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = write(fd, buf + done, len - done);

		if (n > 0) {
			done += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			struct pollfd p = { .fd = fd, .events = POLLOUT };
			int r;

			do
				r = poll(&p, 1, OUT_WAIT_MS);
			while (r < 0 && errno == EINTR);
			if (r > 0)
				continue;
			break; /* stuck: drop the rest, try again next time */
		}
		*broken = true; /* EPIPE, EIO, ...: the console is gone */
		break;
	}
	return done;
}

static size_t stdio_write(struct chardev *cd, const uint8_t *buf, size_t len)
{
	struct chardev_stdio *s = to_stdio(cd);
	size_t done = 0;

	pthread_mutex_lock(&s->out_lock);
	if (!s->out_broken && s->out_fd >= 0)
		done = write_all(s->out_fd, buf, len, &s->out_broken);
	s->dropped += len - done;
	pthread_mutex_unlock(&s->out_lock);
	return len;
}

static void stdio_destroy(struct chardev *cd)
{
	struct chardev_stdio *s = to_stdio(cd);

	chardev_stdio_stop(s);
	pthread_mutex_destroy(&s->lock);
	pthread_mutex_destroy(&s->arm_lock);
	pthread_mutex_destroy(&s->out_lock);
	free(s);
}

static const struct chardev_ops stdio_ops = {
	.write = stdio_write,
	.read = stdio_read,
	.destroy = stdio_destroy,
};

struct chardev_stdio *chardev_stdio_create(int in_fd, int out_fd)
{
	struct chardev_stdio *s = calloc(1, sizeof(*s));

	if (!s) {
		errno = ENOMEM;
		return NULL;
	}
	s->cd.ops = &stdio_ops;
	s->in_fd = in_fd;
	s->out_fd = out_fd;
	s->escape_on = true;
	pthread_mutex_init(&s->lock, NULL);
	pthread_mutex_init(&s->arm_lock, NULL);
	pthread_mutex_init(&s->out_lock, NULL);
	return s;
}

struct chardev *chardev_stdio_chardev(struct chardev_stdio *s)
{
	return &s->cd;
}

void chardev_stdio_set_quit(struct chardev_stdio *s, void (*quit)(void *opaque), void *opaque)
{
	s->quit = quit;
	s->quit_opaque = opaque;
}

void chardev_stdio_set_escape(struct chardev_stdio *s, bool on)
{
	s->escape_on = on;
}

/* in_background - @fd is our controlling terminal and another process group owns it. */
static bool in_background(int fd)
{
	pid_t fg = tcgetpgrp(fd);

	return fg >= 0 && fg != getpgrp();
}

int chardev_stdio_start(struct chardev_stdio *s, struct evloop *el)
{
	struct sigaction sa;
	bool file_input = false;
	int err;

	if (s->started)
		return -EBUSY;
	/* a closed stdout must not kill vmon: drop console output instead */
	if (sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL)
		signal(SIGPIPE, SIG_IGN);
	if (s->in_fd < 0) {
		pthread_mutex_lock(&s->lock);
		s->started = true;
		s->eof = true;
		pthread_mutex_unlock(&s->lock);
		return 0;
	}
	if (isatty(s->in_fd) && in_background(s->in_fd)) {
		/* reading it would stop vmon with SIGTTIN: leave the terminal alone */
		log_info("console: vmon runs in the background of its terminal; console input is "
			 "off");
		pthread_mutex_lock(&s->lock);
		s->started = true;
		s->eof = true;
		pthread_mutex_unlock(&s->lock);
		return 0;
	}
	if (isatty(s->in_fd)) {
		err = enter_raw(s->in_fd);
		if (err)
			return err;
	}
	s->el = el;
	pthread_mutex_lock(&s->arm_lock);
	err = evloop_add(el, s->in_fd, EPOLLIN, on_stdin, s);
	if (err == 0) {
		s->armed = true;
		s->pollable = true;
	} else if (err == -EPERM) {
		file_input = true; /* a regular file or /dev/null: epoll refuses it */
	} else {
		pthread_mutex_unlock(&s->arm_lock);
		chardev_stdio_restore_terminal();
		return err;
	}
	pthread_mutex_lock(&s->lock);
	s->started = true;
	pthread_mutex_unlock(&s->lock);
	pthread_mutex_unlock(&s->arm_lock);
	if (file_input)
		chardev_notify(&s->cd); /* the frontend pulls; reads happen then */
	return 0;
}

void chardev_stdio_stop(struct chardev_stdio *s)
{
	pthread_mutex_lock(&s->arm_lock);
	pthread_mutex_lock(&s->lock);
	s->started = false;
	pthread_mutex_unlock(&s->lock);
	if (s->armed) {
		evloop_del(s->el, s->in_fd);
		s->armed = false;
	}
	pthread_mutex_unlock(&s->arm_lock);
	if (s->in_fd >= 0 && s->in_fd == term_fd)
		chardev_stdio_restore_terminal();
}

unsigned long long chardev_stdio_dropped(struct chardev_stdio *s)
{
	unsigned long long n;

	pthread_mutex_lock(&s->out_lock);
	n = s->dropped;
	pthread_mutex_unlock(&s->out_lock);
	return n;
}
