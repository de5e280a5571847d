/*
 * test_console_threads.c — the console path with real threads: the VM's event
 * loop (base/evloop.c) on its own thread feeding chardev_stdio from a pipe, a
 * writer thread pushing input, and the test thread acting as a vCPU reading
 * the 8250's RBR. Every byte must arrive once, in order, with no overrun,
 * while stdin's watch is dropped and re-armed across threads.
 */
#include <fcntl.h>
#include <linux/serial_reg.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include "backends/chardev_stdio.h"
#include "devices/serial8250.h"
#include "harness.h"
#include "base/evloop.h"

#define TOTAL 20000

static void *run_loop(void *arg)
{
	evloop_run(arg);
	return NULL;
}

static void *writer(void *arg)
{
	int fd = *(int *)arg;
	uint8_t buf[97];
	unsigned sent = 0;

	while (sent < TOTAL) {
		size_t n = 0;
		ssize_t w;

		while (n < sizeof(buf) && sent + n < TOTAL) {
			buf[n] = (uint8_t)((sent + n) % 251 + 2); /* never Ctrl-A */
			n++;
		}
		w = write(fd, buf, n);
		if (w <= 0)
			break;
		sent += (unsigned)w;
	}
	close(fd);
	return NULL;
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

TEST(chardev_stdio_feeds_uart_across_threads)
{
	struct evloop *el = evloop_create();
	struct chardev_stdio *cs;
	struct serial8250 *uart;
	pthread_t loop_t, writer_t;
	int in[2], out_fd = open("/dev/null", O_WRONLY);
	unsigned got = 0, bad = 0;
	int64_t deadline = mono_ms() + 20000;

	REQUIRE(el && out_fd >= 0);
	REQUIRE(pipe(in) == 0);
	cs = chardev_stdio_create(in[0], out_fd);
	REQUIRE(cs);
	uart = serial8250_create(NULL, chardev_stdio_chardev(cs), 0);
	REQUIRE(uart);
	serial8250_ops.write(uart, UART_FCR, UART_FCR_ENABLE_FIFO, 1);
	REQUIRE(chardev_stdio_start(cs, el) == 0);
	REQUIRE(pthread_create(&loop_t, NULL, run_loop, el) == 0);
	REQUIRE(pthread_create(&writer_t, NULL, writer, &in[1]) == 0);
	while (got < TOTAL && mono_ms() < deadline) {
		if (serial8250_ops.read(uart, UART_LSR, 1) & UART_LSR_DR) {
			if (serial8250_ops.read(uart, UART_RX, 1) != (got % 251 + 2))
				bad++;
			got++;
			if (got % 64 == 0)
				serial8250_ops.write(uart, UART_TX, 'o', 1); /* output meanwhile */
		} else {
			sched_yield();
		}
	}
	CHECK_EQ(got, TOTAL);
	CHECK_EQ(bad, 0);
	CHECK_EQ(serial8250_ops.read(uart, UART_LSR, 1) & UART_LSR_OE, 0);
	pthread_join(writer_t, NULL);
	evloop_stop(el);
	pthread_join(loop_t, NULL);
	chardev_stdio_stop(cs);
	serial8250_destroy(uart);
	chardev_destroy(chardev_stdio_chardev(cs));
	evloop_destroy(el);
	close(in[0]);
	close(out_fd);
}

/* clang-format off */
HARNESS_MAIN(
	HARNESS_T(chardev_stdio_feeds_uart_across_threads)
)
/* clang-format on */
