// sbxrun: runs one VM monitor inside the sandbox's L1 and reports what happened, for the sandbox
// tests (tests/sandbox/run) and the boot benchmark (bench/boot/run). Built statically into the L1
// initramfs by tests/sandbox/build-initramfs; busybox has no millisecond clock and no way to read a
// child's /proc while watching its output, hence this small program.
//
// clang-format off
//   sbxrun [-o FILE] [-t SECS] [-q] [-m MARKER] [-g MIB] [-k] [-x CMD] [-s WAIT=SEND]... -- CMD [ARGS...]
//
//   -o FILE       copy the child's stdout to FILE and its stderr to FILE.err (carriage returns dropped)
//   -t SECS       SIGKILL the child (its process group) after SECS seconds (reported as timeout=1)
//   -q            at the timeout, send SIGUSR2 first and wait 2 s before the SIGKILL (vmon then
//                 writes its vCPUs' state to stderr: what a hung guest was doing)
//   -m MARKER     note the milliseconds from launch to the first stdout line containing MARKER
//   -g MIB        at the marker, read /proc/PID/status VmHWM and /proc/PID/smaps; the guest RAM is every
//                 mapping whose Size is at least MIB MiB; overhead = VmHWM - Rss of those mappings
//   -k            SIGKILL the child right after the marker (benchmark: only the boot is measured)
//   -x CMD        at the marker (before -k's kill), run `sh -c CMD` with SBX_PID set to the child's
//                 pid and wait for it (e.g. to read the KVM debugfs statistics of the child's VM);
//                 its stdout goes to sbxrun's stderr, so that sbxrun's own stdout stays one line
//   -s WAIT=SEND  once a stdout line contains WAIT, write SEND and a newline to the child's stdin;
//                 several -s are handled in order. The child's stdin is a pipe kept open until it
//                 exits.
//
// Prints one line on stdout:
//   status=N timeout=0|1 marker_ms=N|-1 total_ms=N hwm_kb=N guest_rss_kb=N guest_maps=N
//   overhead_kb=N
// clang-format on
// status is the exit code, or 128+signal when the child was killed by a signal.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SBX_MAX_SENDS 8
#define SBX_LINE_BYTES 4096

struct sbx_send {
	const char *wait;
	const char *send;
};

struct sbx_stream {
	int fd;
	FILE *copy;
	char line[SBX_LINE_BYTES];
	size_t line_len;
};

struct sbx_state {
	const char *marker;
	long marker_ms;
	long guest_mib;
	bool kill_at_marker;
	const char *at_marker_cmd;
	struct sbx_send sends[SBX_MAX_SENDS];
	unsigned int n_sends, next_send;
	int stdin_fd;
	pid_t pid;
	struct timespec start;
	long hwm_kb, guest_rss_kb, guest_maps;
	bool killed_at_marker;
};

static long sbx_elapsed_ms(const struct timespec *start)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - start->tv_sec) * 1000 + (now.tv_nsec - start->tv_nsec) / 1000000;
}

// Reads VmHWM from /proc/PID/status and sums the Rss of the guest-RAM-sized mappings in smaps.
static void sbx_sample_memory(struct sbx_state *st)
{
	char path[64], buf[512];
	FILE *f;
	long size_kb = 0, rss_kb;
	bool in_guest = false;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)st->pid);
	f = fopen(path, "r");
	if (f) {
		while (fgets(buf, sizeof(buf), f))
			if (sscanf(buf, "VmHWM: %ld kB", &st->hwm_kb) == 1)
				break;
		fclose(f);
	}
	if (st->guest_mib <= 0)
		return;
	snprintf(path, sizeof(path), "/proc/%d/smaps", (int)st->pid);
	f = fopen(path, "r");
	if (!f)
		return;
	while (fgets(buf, sizeof(buf), f)) {
		if (sscanf(buf, "Size: %ld kB", &size_kb) == 1) {
			in_guest = size_kb >= st->guest_mib * 1024;
			if (in_guest)
				st->guest_maps++;
		} else if (in_guest && sscanf(buf, "Rss: %ld kB", &rss_kb) == 1) {
			st->guest_rss_kb += rss_kb;
			in_guest = false;
		}
	}
	fclose(f);
}

static void sbx_write_all(int fd, const char *s, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, s, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		s += n;
		len -= (size_t)n;
	}
}

// Runs -x's command with SBX_PID in its environment and waits for it.
static void sbx_run_at_marker(const struct sbx_state *st)
{
	char pid[24];
	pid_t p;

	snprintf(pid, sizeof(pid), "%d", (int)st->pid);
	fflush(stdout);
	p = fork();
	if (p == 0) {
		dup2(STDERR_FILENO, STDOUT_FILENO);
		setenv("SBX_PID", pid, 1);
		execl("/bin/sh", "sh", "-c", st->at_marker_cmd, (char *)NULL);
		_exit(127);
	}
	if (p > 0)
		waitpid(p, NULL, 0);
}

// Handles one complete line of the child's stdout.
static void sbx_stdout_line(struct sbx_state *st, const char *line)
{
	if (st->marker && st->marker_ms < 0 && strstr(line, st->marker)) {
		st->marker_ms = sbx_elapsed_ms(&st->start);
		sbx_sample_memory(st);
		if (st->at_marker_cmd)
			sbx_run_at_marker(st);
		if (st->kill_at_marker) {
			/* its process group: a wrapper script's children too */
			kill(-st->pid, SIGKILL);
			st->killed_at_marker = true;
		}
	}
	if (st->next_send < st->n_sends && strstr(line, st->sends[st->next_send].wait)) {
		const char *s = st->sends[st->next_send++].send;

		usleep(300 * 1000); // let the guest shell reach its read()
		sbx_write_all(st->stdin_fd, s, strlen(s));
		sbx_write_all(st->stdin_fd, "\n", 1);
	}
}

// Reads what is available on one stream; returns false at end of file.
static bool sbx_pump(struct sbx_state *st, struct sbx_stream *s, bool is_stdout)
{
	char buf[4096];
	ssize_t n = read(s->fd, buf, sizeof(buf));

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return true;
	if (n <= 0)
		return false;
	for (ssize_t i = 0; i < n; i++) {
		char c = buf[i];

		if (c == '\r')
			continue;
		if (s->copy)
			fputc(c, s->copy);
		if (c == '\n' || s->line_len == sizeof(s->line) - 1) {
			s->line[s->line_len] = '\0';
			if (is_stdout)
				sbx_stdout_line(st, s->line);
			s->line_len = 0;
			if (c == '\n')
				continue;
		}
		s->line[s->line_len++] = c;
	}
	if (s->copy)
		fflush(s->copy);
	// A marker or prompt without a newline yet (e.g. a shell prompt) still counts.
	if (is_stdout && s->line_len > 0) {
		s->line[s->line_len] = '\0';
		if (st->next_send < st->n_sends && strstr(s->line, st->sends[st->next_send].wait)) {
			sbx_stdout_line(st, s->line);
			s->line_len = 0;
		}
	}
	return true;
}

static void sbx_usage(void)
{
	fprintf(stderr,
		"usage: sbxrun [-o FILE] [-t SECS] [-q] [-m MARKER] [-g MIB] [-k] [-x CMD] [-s "
		"WAIT=SEND]... -- CMD [ARGS...]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct sbx_state st = { .marker_ms = -1, .stdin_fd = -1 };
	struct sbx_stream out = { .fd = -1 }, err = { .fd = -1 };
	const char *copy_path = NULL;
	long timeout_s = 0, kill_at_ms = -1;
	bool dump_first = false;
	int opt, in_pipe[2], out_pipe[2], err_pipe[2], wstatus = 0, status;
	bool timed_out = false;

	while ((opt = getopt(argc, argv, "+o:t:qm:g:ks:x:")) != -1) {
		switch (opt) {
		case 'o':
			copy_path = optarg;
			break;
		case 't':
			timeout_s = strtol(optarg, NULL, 10);
			break;
		case 'q':
			dump_first = true;
			break;
		case 'm':
			st.marker = optarg;
			break;
		case 'g':
			st.guest_mib = strtol(optarg, NULL, 10);
			break;
		case 'k':
			st.kill_at_marker = true;
			break;
		case 'x':
			st.at_marker_cmd = optarg;
			break;
		case 's': {
			char *eq = strchr(optarg, '=');

			if (!eq || st.n_sends == SBX_MAX_SENDS)
				sbx_usage();
			*eq = '\0';
			st.sends[st.n_sends].wait = optarg;
			st.sends[st.n_sends++].send = eq + 1;
			break;
		}
		default:
			sbx_usage();
		}
	}
	if (optind >= argc)
		sbx_usage();
	if (copy_path) {
		char err_path[4096];

		snprintf(err_path, sizeof(err_path), "%s.err", copy_path);
		out.copy = fopen(copy_path, "w");
		err.copy = fopen(err_path, "w");
		if (!out.copy || !err.copy) {
			perror("sbxrun: output file");
			return 2;
		}
	}
	if (pipe2(in_pipe, O_CLOEXEC) || pipe2(out_pipe, O_CLOEXEC) || pipe2(err_pipe, O_CLOEXEC)) {
		perror("sbxrun: pipe");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	clock_gettime(CLOCK_MONOTONIC, &st.start);
	st.pid = fork();
	if (st.pid < 0) {
		perror("sbxrun: fork");
		return 2;
	}
	if (st.pid == 0) {
		/* a group of its own, so that a kill reaches everything it started */
		setpgid(0, 0);
		dup2(in_pipe[0], 0);
		dup2(out_pipe[1], 1);
		dup2(err_pipe[1], 2);
		execvp(argv[optind], argv + optind);
		fprintf(stderr, "sbxrun: exec %s: %s\n", argv[optind], strerror(errno));
		_exit(127);
	}
	setpgid(st.pid, st.pid); /* as the child does: whichever runs first */
	close(in_pipe[0]);
	close(out_pipe[1]);
	close(err_pipe[1]);
	st.stdin_fd = in_pipe[1];
	out.fd = out_pipe[0];
	err.fd = err_pipe[0];
	fcntl(out.fd, F_SETFL, O_NONBLOCK);
	fcntl(err.fd, F_SETFL, O_NONBLOCK);

	while (out.fd >= 0 || err.fd >= 0) {
		struct pollfd pfd[2] = { { .fd = out.fd, .events = POLLIN },
					 { .fd = err.fd, .events = POLLIN } };
		long left_ms = 1000;

		if (timeout_s > 0 && !timed_out) {
			left_ms = timeout_s * 1000 - sbx_elapsed_ms(&st.start);
			if (left_ms <= 0) {
				timed_out = true;
				if (dump_first) {
					kill(st.pid, SIGUSR2);
					kill_at_ms = sbx_elapsed_ms(&st.start) + 2000;
				} else {
					kill(-st.pid, SIGKILL);
				}
				left_ms = 1000;
			}
		}
		if (kill_at_ms >= 0 && sbx_elapsed_ms(&st.start) >= kill_at_ms) {
			kill(-st.pid, SIGKILL);
			kill_at_ms = -1;
		}
		if (poll(pfd, 2, (int)(left_ms > 1000 ? 1000 : left_ms)) < 0 && errno != EINTR)
			break;
		if (pfd[0].revents && !sbx_pump(&st, &out, true)) {
			close(out.fd);
			out.fd = -1;
		}
		if (pfd[1].revents && !sbx_pump(&st, &err, false)) {
			close(err.fd);
			err.fd = -1;
		}
		// A monitor that exited but left a grandchild holding the pipes must not hang us.
		if (waitpid(st.pid, &wstatus, WNOHANG) == st.pid) {
			st.pid = -1;
			break;
		}
	}
	if (st.pid > 0)
		waitpid(st.pid, &wstatus, 0);
	else {
		// drain what is left in the pipes
		struct sbx_stream *ss[2] = { &out, &err };

		for (int i = 0; i < 2; i++) {
			while (ss[i]->fd >= 0) {
				struct pollfd p = { .fd = ss[i]->fd, .events = POLLIN };

				if (poll(&p, 1, 100) <= 0 || !sbx_pump(&st, ss[i], i == 0))
					break;
			}
		}
	}
	if (out.copy && out.line_len)
		fputc('\n', out.copy);
	if (out.copy)
		fclose(out.copy);
	if (err.copy)
		fclose(err.copy);
	status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
	printf("status=%d timeout=%d marker_ms=%ld total_ms=%ld hwm_kb=%ld guest_rss_kb=%ld "
	       "guest_maps=%ld overhead_kb=%ld\n",
	       status, timed_out ? 1 : 0, st.marker_ms, sbx_elapsed_ms(&st.start), st.hwm_kb,
	       st.guest_rss_kb, st.guest_maps, st.hwm_kb - st.guest_rss_kb);
	return 0;
}
