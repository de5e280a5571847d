/* test_serial8250.c — the 16550A model against the PC16550D datasheet. */
#include <errno.h>
#include <linux/serial_reg.h>
#include <pthread.h>

#include "backends/chardev_buffer.h"
#include "devices/serial8250.h"
#include "fake_platform.h"
#include "harness.h"

struct rig {
	struct fake_irq irq;
	struct chardev_buffer *buf;
	struct serial8250 *s;
};

static void rig_init(struct rig *r, size_t in_cap)
{
	fake_irq_init(&r->irq);
	r->buf = chardev_buffer_create(in_cap, 4096);
	REQUIRE(r->buf);
	r->s = serial8250_create(&r->irq.line, chardev_buffer_chardev(r->buf), 0);
	REQUIRE(r->s);
}

static void rig_fini(struct rig *r)
{
	serial8250_destroy(r->s);
	chardev_destroy(chardev_buffer_chardev(r->buf));
}

static uint8_t rd(struct rig *r, unsigned reg)
{
	return (uint8_t)serial8250_ops.read(r->s, reg, 1);
}

static void wr(struct rig *r, unsigned reg, uint8_t v)
{
	serial8250_ops.write(r->s, reg, v, 1);
}

static void push(struct rig *r, const char *str, size_t n)
{
	chardev_buffer_push(r->buf, (const uint8_t *)str, n);
}

TEST(serial8250_power_on_state)
{
	struct rig r;

	rig_init(&r, 64);
	CHECK_EQ(rd(&r, UART_IIR), UART_IIR_NO_INT);
	CHECK_EQ(rd(&r, UART_LSR), UART_LSR_THRE | UART_LSR_TEMT);
	CHECK_EQ(rd(&r, UART_IER), 0);
	CHECK_EQ(rd(&r, UART_LCR), 0);
	CHECK_EQ(rd(&r, UART_MCR), 0);
	CHECK_EQ(rd(&r, UART_MSR) & 0xf0, UART_MSR_DCD | UART_MSR_DSR | UART_MSR_CTS);
	CHECK_EQ(r.irq.level, 0);
	rig_fini(&r);
}

TEST(serial8250_tx_reaches_backend)
{
	struct rig r;
	const uint8_t *out;
	size_t len;

	rig_init(&r, 64);
	wr(&r, UART_TX, 'h');
	wr(&r, UART_TX, 'i');
	out = chardev_buffer_output(r.buf, &len);
	CHECK_EQ(len, 2);
	CHECK(len == 2 && out[0] == 'h' && out[1] == 'i');
	CHECK_EQ(rd(&r, UART_LSR) & (UART_LSR_THRE | UART_LSR_TEMT), UART_LSR_THRE | UART_LSR_TEMT);
	rig_fini(&r);
}

TEST(serial8250_lsr_dr_tracks_rx)
{
	struct rig r;

	rig_init(&r, 64);
	CHECK_EQ(rd(&r, UART_LSR) & UART_LSR_DR, 0);
	push(&r, "ab", 2);
	/* FIFO disabled: the holding register takes one byte at a time */
	CHECK_EQ(rd(&r, UART_LSR) & UART_LSR_DR, UART_LSR_DR);
	CHECK_EQ(rd(&r, UART_RX), 'a');
	CHECK_EQ(rd(&r, UART_LSR) & UART_LSR_DR, UART_LSR_DR);
	CHECK_EQ(rd(&r, UART_RX), 'b');
	CHECK_EQ(rd(&r, UART_LSR) & UART_LSR_DR, 0);
	rig_fini(&r);
}

TEST(serial8250_dlab_switches_register_map)
{
	struct rig r;
	const uint8_t *out;
	size_t len;

	rig_init(&r, 64);
	wr(&r, UART_IER, UART_IER_RDI);
	wr(&r, UART_LCR, UART_LCR_DLAB | 0x03);
	wr(&r, UART_DLL, 0x01);
	wr(&r, UART_DLM, 0x02);
	CHECK_EQ(rd(&r, UART_DLL), 0x01);
	CHECK_EQ(rd(&r, UART_DLM), 0x02);
	wr(&r, UART_LCR, 0x03);
	CHECK_EQ(rd(&r, UART_IER), UART_IER_RDI); /* IER untouched by the DLM write */
	CHECK_EQ(rd(&r, UART_LCR), 0x03);
	out = chardev_buffer_output(r.buf, &len);
	CHECK_EQ(len, 0); /* the DLL write was not transmitted */
	(void)out;
	rig_fini(&r);
}

TEST(serial8250_fcr_enables_and_resets_fifo)
{
	struct rig r;

	rig_init(&r, 64);
	CHECK_EQ(rd(&r, UART_IIR) & 0xc0, 0);
	wr(&r, UART_FCR, UART_FCR_ENABLE_FIFO);
	CHECK_EQ(rd(&r, UART_IIR) & 0xc0, 0xc0);
	push(&r, "0123456789abcdefXYZ", 19);
	CHECK_EQ(chardev_buffer_pending(r.buf), 3); /* 16 in the FIFO, 3 wait in the backend */
	wr(&r, UART_FCR, UART_FCR_ENABLE_FIFO | UART_FCR_CLEAR_RCVR);
	/* cleared, then refilled from the backend */
	CHECK_EQ(rd(&r, UART_RX), 'X');
	CHECK_EQ(rd(&r, UART_RX), 'Y');
	CHECK_EQ(rd(&r, UART_RX), 'Z');
	CHECK_EQ(rd(&r, UART_LSR) & UART_LSR_DR, 0);
	wr(&r, UART_FCR, 0);
	CHECK_EQ(rd(&r, UART_IIR) & 0xc0, 0);
	rig_fini(&r);
}

TEST(serial8250_backpressure_holds_backend)
{
	struct rig r;
	char in[40];
	unsigned reads;

	rig_init(&r, 64);
	wr(&r, UART_FCR, UART_FCR_ENABLE_FIFO);
	for (unsigned i = 0; i < sizeof(in); i++)
		in[i] = (char)('A' + i);
	push(&r, in, sizeof(in));
	CHECK_EQ(chardev_buffer_pending(r.buf), sizeof(in) - SERIAL8250_FIFO_LEN);
	reads = chardev_buffer_reads(r.buf);
	/* more notifications while full do not drain the backend */
	serial8250_input_ready(r.s);
	push(&r, "", 0);
	CHECK_EQ(chardev_buffer_pending(r.buf), sizeof(in) - SERIAL8250_FIFO_LEN);
	CHECK_EQ(chardev_buffer_reads(r.buf), reads);
	CHECK_EQ(rd(&r, UART_LSR) & UART_LSR_OE, 0); /* and nothing overran */
	/* every byte arrives, in order, as the guest reads */
	for (unsigned i = 0; i < sizeof(in); i++)
		CHECK_EQ(rd(&r, UART_RX), (uint8_t)in[i]);
	CHECK_EQ(chardev_buffer_pending(r.buf), 0);
	CHECK_EQ(rd(&r, UART_LSR) & UART_LSR_DR, 0);
	rig_fini(&r);
}

TEST(serial8250_loopback_msr_and_data)
{
	struct rig r;
	const uint8_t *out;
	size_t len;

	rig_init(&r, 64);
	rd(&r, UART_MSR);
	wr(&r, UART_MCR, UART_MCR_LOOP);
	/* lines follow MCR: all low now, with deltas for the ones that dropped */
	CHECK_EQ(rd(&r, UART_MSR), UART_MSR_DCTS | UART_MSR_DDSR | UART_MSR_DDCD);
	CHECK_EQ(rd(&r, UART_MSR), 0); /* deltas clear on read */
	wr(&r, UART_MCR, UART_MCR_LOOP | UART_MCR_RTS);
	CHECK_EQ(rd(&r, UART_MSR), UART_MSR_CTS | UART_MSR_DCTS);
	wr(&r, UART_MCR, UART_MCR_LOOP | UART_MCR_DTR | UART_MCR_OUT1 | UART_MCR_OUT2);
	CHECK_EQ(rd(&r, UART_MSR), UART_MSR_DSR | UART_MSR_RI | UART_MSR_DCD | UART_MSR_DCTS |
					   UART_MSR_DDSR | UART_MSR_DDCD);
	wr(&r, UART_MCR, UART_MCR_LOOP | UART_MCR_DTR | UART_MCR_OUT2); /* RI falls: TERI */
	CHECK_EQ(rd(&r, UART_MSR), UART_MSR_DSR | UART_MSR_DCD | UART_MSR_TERI);
	/* Linux's probe: LOOP | OUT2 | RTS reads back DCD | CTS */
	wr(&r, UART_MCR, UART_MCR_LOOP | UART_MCR_OUT2 | UART_MCR_RTS);
	CHECK_EQ(rd(&r, UART_MSR) & 0xf0, UART_MSR_DCD | UART_MSR_CTS);
	/* transmitted bytes come back, and do not reach the backend */
	wr(&r, UART_TX, 0x5a);
	CHECK_EQ(rd(&r, UART_LSR) & UART_LSR_DR, UART_LSR_DR);
	CHECK_EQ(rd(&r, UART_RX), 0x5a);
	out = chardev_buffer_output(r.buf, &len);
	CHECK_EQ(len, 0);
	(void)out;
	rig_fini(&r);
}

TEST(serial8250_overrun_sets_oe)
{
	struct rig r;

	rig_init(&r, 64);
	wr(&r, UART_MCR, UART_MCR_LOOP);
	wr(&r, UART_TX, 1);
	wr(&r, UART_TX, 2); /* FIFO off: the holding register is full */
	CHECK_EQ(rd(&r, UART_LSR) & (UART_LSR_OE | UART_LSR_DR), UART_LSR_OE | UART_LSR_DR);
	CHECK_EQ(rd(&r, UART_LSR) & UART_LSR_OE, 0); /* OE clears on read */
	CHECK_EQ(rd(&r, UART_RX), 1);
	wr(&r, UART_FCR, UART_FCR_ENABLE_FIFO);
	for (unsigned i = 0; i < SERIAL8250_FIFO_LEN; i++)
		wr(&r, UART_TX, (uint8_t)i);
	CHECK_EQ(rd(&r, UART_LSR) & UART_LSR_OE, 0);
	wr(&r, UART_TX, 0xee);
	CHECK_EQ(rd(&r, UART_LSR) & UART_LSR_OE, UART_LSR_OE);
	for (unsigned i = 0; i < SERIAL8250_FIFO_LEN; i++)
		CHECK_EQ(rd(&r, UART_RX), i);
	CHECK_EQ(rd(&r, UART_LSR) & UART_LSR_DR, 0);
	rig_fini(&r);
}

TEST(serial8250_irq_needs_out2)
{
	struct rig r;

	rig_init(&r, 64);
	wr(&r, UART_IER, UART_IER_THRI);
	CHECK_EQ(rd(&r, UART_IIR) & UART_IIR_ID, UART_IIR_THRI); /* pending ... */
	wr(&r, UART_IER, 0);
	wr(&r, UART_IER, UART_IER_THRI);
	CHECK_EQ(r.irq.level, 0); /* ... but gated without OUT2 */
	wr(&r, UART_MCR, UART_MCR_OUT2);
	CHECK_EQ(r.irq.level, 1);
	wr(&r, UART_MCR, 0);
	CHECK_EQ(r.irq.level, 0);
	rig_fini(&r);
}

TEST(serial8250_thre_irq_raised_and_lowered)
{
	struct rig r;

	rig_init(&r, 64);
	wr(&r, UART_MCR, UART_MCR_OUT2);
	CHECK_EQ(r.irq.level, 0);
	wr(&r, UART_IER, UART_IER_THRI); /* enabling with THR empty raises it */
	CHECK_EQ(r.irq.level, 1);
	CHECK_EQ(rd(&r, UART_IIR), UART_IIR_THRI); /* reading IIR clears THRE... */
	CHECK_EQ(r.irq.level, 0);
	CHECK_EQ(rd(&r, UART_IIR), UART_IIR_NO_INT);
	wr(&r, UART_TX, 'x'); /* ...and transmitting re-arms it */
	CHECK_EQ(r.irq.level, 1);
	wr(&r, UART_IER, 0); /* disabling drops the line */
	CHECK_EQ(r.irq.level, 0);
	rig_fini(&r);
}

TEST(serial8250_rx_irq_raised_and_lowered)
{
	struct rig r;

	rig_init(&r, 64);
	wr(&r, UART_MCR, UART_MCR_OUT2);
	wr(&r, UART_IER, UART_IER_RDI);
	CHECK_EQ(r.irq.level, 0);
	push(&r, "q", 1);
	CHECK_EQ(r.irq.level, 1);
	CHECK_EQ(rd(&r, UART_IIR), UART_IIR_RDI);
	CHECK_EQ(rd(&r, UART_RX), 'q');
	CHECK_EQ(r.irq.level, 0);
	CHECK_EQ(rd(&r, UART_IIR), UART_IIR_NO_INT);
	rig_fini(&r);
}

TEST(serial8250_fifo_trigger_and_timeout)
{
	struct rig r;

	rig_init(&r, 64);
	wr(&r, UART_MCR, UART_MCR_OUT2);
	wr(&r, UART_IER, UART_IER_RDI);
	wr(&r, UART_FCR, UART_FCR_ENABLE_FIFO | UART_FCR_TRIGGER_8);
	push(&r, "abc", 3);
	/* below the trigger level: character timeout */
	CHECK_EQ(rd(&r, UART_IIR), 0xc0 | UART_IIR_RX_TIMEOUT);
	CHECK_EQ(r.irq.level, 1);
	push(&r, "defgh", 5);
	CHECK_EQ(rd(&r, UART_IIR), 0xc0 | UART_IIR_RDI);
	for (int i = 0; i < 8; i++)
		rd(&r, UART_RX);
	CHECK_EQ(rd(&r, UART_IIR), 0xc0 | UART_IIR_NO_INT);
	CHECK_EQ(r.irq.level, 0);
	rig_fini(&r);
}

TEST(serial8250_iir_priority_order)
{
	struct rig r;

	rig_init(&r, 64);
	wr(&r, UART_MCR, UART_MCR_LOOP | UART_MCR_OUT2);
	rd(&r, UART_MSR);
	wr(&r, UART_IER, UART_IER_RDI | UART_IER_THRI | UART_IER_RLSI | UART_IER_MSI);
	wr(&r, UART_MCR, UART_MCR_LOOP | UART_MCR_OUT2 | UART_MCR_RTS); /* modem status delta */
	wr(&r, UART_TX, 1);
	wr(&r, UART_TX, 2); /* overrun: line status; byte 1 waits: data; THR empty */
	CHECK_EQ(rd(&r, UART_IIR), UART_IIR_RLSI);
	rd(&r, UART_LSR);
	CHECK_EQ(rd(&r, UART_IIR), UART_IIR_RDI);
	rd(&r, UART_RX);
	CHECK_EQ(rd(&r, UART_IIR), UART_IIR_THRI);
	CHECK_EQ(rd(&r, UART_IIR), UART_IIR_MSI); /* the IIR read cleared THRE */
	rd(&r, UART_MSR);
	CHECK_EQ(rd(&r, UART_IIR), UART_IIR_NO_INT);
	rig_fini(&r);
}

TEST(serial8250_scr_and_unknown_accesses)
{
	struct rig r;

	rig_init(&r, 64);
	wr(&r, UART_SCR, 0xa5);
	CHECK_EQ(rd(&r, UART_SCR), 0xa5);
	CHECK_EQ(serial8250_ops.read(r.s, 8, 1), ~0ull);
	CHECK_EQ(serial8250_ops.read(r.s, 0, 2), ~0ull);
	serial8250_ops.write(r.s, 100, 1, 1);
	serial8250_ops.write(r.s, UART_SCR, 0x1234, 2);
	CHECK_EQ(rd(&r, UART_SCR), 0xa5);
	wr(&r, UART_LSR, 0xff); /* read-only */
	CHECK_EQ(rd(&r, UART_LSR), UART_LSR_THRE | UART_LSR_TEMT);
	rig_fini(&r);
}

static int save_to(struct serial8250 *s, struct state_writer *w, struct state_section *sec,
		   struct state_reader *r)
{
	state_writer_init(w);
	serial8250_device_ops.save(s, w);
	if (state_writer_error(w))
		return -1;
	state_reader_init(r, w->buf, w->len);
	return state_next_section(r, sec);
}

TEST(serial8250_save_load_roundtrip)
{
	struct rig a, b;
	struct state_writer w;
	struct state_reader r;
	struct state_section sec;

	rig_init(&a, 64);
	wr(&a, UART_FCR, UART_FCR_ENABLE_FIFO | UART_FCR_TRIGGER_4);
	wr(&a, UART_LCR, UART_LCR_DLAB);
	wr(&a, UART_DLL, 3);
	wr(&a, UART_LCR, 0x1b);
	wr(&a, UART_SCR, 0x77);
	wr(&a, UART_MCR, UART_MCR_OUT2 | UART_MCR_DTR);
	wr(&a, UART_IER, UART_IER_RDI);
	push(&a, "xyz", 3);
	CHECK_EQ(a.irq.level, 1);

	REQUIRE(save_to(a.s, &w, &sec, &r) == 1);
	CHECK(strcmp(sec.tag, "serial8250") == 0);
	CHECK_EQ(sec.version, serial8250_device_ops.version);
	rig_init(&b, 64);
	CHECK_EQ(serial8250_device_ops.load(b.s, &sec.payload), 0);
	CHECK_EQ(b.irq.level, 1); /* the line follows the loaded state */
	CHECK_EQ(rd(&b, UART_SCR), 0x77);
	CHECK_EQ(rd(&b, UART_LCR), 0x1b);
	CHECK_EQ(rd(&b, UART_MCR), UART_MCR_OUT2 | UART_MCR_DTR);
	CHECK_EQ(rd(&b, UART_IIR), 0xc0 | UART_IIR_RX_TIMEOUT);
	CHECK_EQ(rd(&b, UART_RX), 'x');
	CHECK_EQ(rd(&b, UART_RX), 'y');
	CHECK_EQ(rd(&b, UART_RX), 'z');
	wr(&b, UART_LCR, UART_LCR_DLAB);
	CHECK_EQ(rd(&b, UART_DLL), 3);
	state_writer_free(&w);
	rig_fini(&a);
	rig_fini(&b);
}

TEST(serial8250_load_refuses_bad_state)
{
	struct rig a, b;
	struct state_writer w;
	struct state_reader r, p;
	struct state_section sec;
	uint8_t bad[64];

	rig_init(&a, 64);
	rig_init(&b, 64);
	wr(&b, UART_SCR, 0x42);
	REQUIRE(save_to(a.s, &w, &sec, &r) == 1);
	/* every truncation is refused, and leaves the device untouched */
	for (size_t cut = 0; cut < sec.payload.len; cut++) {
		state_reader_init(&p, sec.payload.buf, cut);
		CHECK_EQ(serial8250_device_ops.load(b.s, &p), -EINVAL);
	}
	/* trailing bytes are refused */
	REQUIRE(sec.payload.len < sizeof(bad));
	memcpy(bad, sec.payload.buf, sec.payload.len);
	state_reader_init(&p, bad, sec.payload.len + 1);
	CHECK_EQ(serial8250_device_ops.load(b.s, &p), -EINVAL);
	/* an impossible FIFO count */
	bad[0] = 17;
	state_reader_init(&p, bad, sec.payload.len);
	CHECK_EQ(serial8250_device_ops.load(b.s, &p), -EINVAL);
	/* reserved IER bits (payload: count 0, then ier) */
	memcpy(bad, sec.payload.buf, sec.payload.len);
	bad[1] = 0xf0;
	state_reader_init(&p, bad, sec.payload.len);
	CHECK_EQ(serial8250_device_ops.load(b.s, &p), -EINVAL);
	CHECK_EQ(rd(&b, UART_SCR), 0x42);
	state_writer_free(&w);
	rig_fini(&a);
	rig_fini(&b);
}

TEST(serial8250_reset_restores_power_on)
{
	struct rig r;

	rig_init(&r, 64);
	wr(&r, UART_MCR, UART_MCR_OUT2);
	wr(&r, UART_IER, UART_IER_THRI);
	CHECK_EQ(r.irq.level, 1);
	wr(&r, UART_SCR, 9);
	serial8250_device_ops.reset(r.s);
	CHECK_EQ(r.irq.level, 0);
	CHECK_EQ(rd(&r, UART_IER), 0);
	CHECK_EQ(rd(&r, UART_SCR), 0);
	rig_fini(&r);
}

struct feeder {
	struct chardev_buffer *buf;
	unsigned total;
};

static void *feed(void *arg)
{
	struct feeder *f = arg;
	unsigned sent = 0;

	while (sent < f->total) {
		uint8_t b[7];
		size_t n = 0;

		while (n < sizeof(b) && sent + n < f->total) {
			b[n] = (uint8_t)((sent + n) * 7);
			n++;
		}
		sent += (unsigned)chardev_buffer_push(f->buf, b, n);
	}
	return NULL;
}

TEST(serial8250_concurrent_input_loses_nothing)
{
	struct rig r;
	struct feeder f;
	pthread_t t;
	unsigned got = 0, bad = 0, spins = 0;

	rig_init(&r, 32);
	wr(&r, UART_FCR, UART_FCR_ENABLE_FIFO);
	f.buf = r.buf;
	f.total = 5000;
	REQUIRE(pthread_create(&t, NULL, feed, &f) == 0);
	while (got < f.total && spins < 100000000u) {
		if (rd(&r, UART_LSR) & UART_LSR_DR) {
			if (rd(&r, UART_RX) != (uint8_t)(got * 7))
				bad++;
			got++;
		} else {
			spins++;
		}
	}
	pthread_join(t, NULL);
	CHECK_EQ(got, f.total);
	CHECK_EQ(bad, 0);
	CHECK_EQ(rd(&r, UART_LSR) & UART_LSR_OE, 0);
	rig_fini(&r);
}

/* clang-format off */
HARNESS_MAIN(
	HARNESS_T(serial8250_power_on_state)
	HARNESS_T(serial8250_tx_reaches_backend)
	HARNESS_T(serial8250_lsr_dr_tracks_rx)
	HARNESS_T(serial8250_dlab_switches_register_map)
	HARNESS_T(serial8250_fcr_enables_and_resets_fifo)
	HARNESS_T(serial8250_backpressure_holds_backend)
	HARNESS_T(serial8250_loopback_msr_and_data)
	HARNESS_T(serial8250_overrun_sets_oe)
	HARNESS_T(serial8250_irq_needs_out2)
	HARNESS_T(serial8250_thre_irq_raised_and_lowered)
	HARNESS_T(serial8250_rx_irq_raised_and_lowered)
	HARNESS_T(serial8250_fifo_trigger_and_timeout)
	HARNESS_T(serial8250_iir_priority_order)
	HARNESS_T(serial8250_scr_and_unknown_accesses)
	HARNESS_T(serial8250_save_load_roundtrip)
	HARNESS_T(serial8250_load_refuses_bad_state)
	HARNESS_T(serial8250_reset_restores_power_on)
	HARNESS_T(serial8250_concurrent_input_loses_nothing)
)
/* clang-format on */
