/* serial8250.c — 16550A UART model: registers, FIFOs, interrupt priority, backend flow control. */
#include "devices/serial8250.h"

#include <errno.h>
#include <linux/serial_reg.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"

#define SERIAL8250_VERSION 1

/* Bits a guest can set in each register (PC16550D section 8.4). */
#define IER_MASK (UART_IER_RDI | UART_IER_THRI | UART_IER_RLSI | UART_IER_MSI)
#define FCR_KEPT (UART_FCR_ENABLE_FIFO | UART_FCR_TRIGGER_MASK)
#define MCR_MASK (UART_MCR_DTR | UART_MCR_RTS | UART_MCR_OUT1 | UART_MCR_OUT2 | UART_MCR_LOOP)
#define LSR_ERRORS UART_LSR_BRK_ERROR_BITS
/* Modem inputs seen when not in loopback: the host end is always "connected". */
#define MSR_HOST_LINES (UART_MSR_DCD | UART_MSR_DSR | UART_MSR_CTS)
#define MSR_LINES (UART_MSR_DCD | UART_MSR_RI | UART_MSR_DSR | UART_MSR_CTS)

struct serial8250 {
	pthread_mutex_t lock;
	struct irq_line *irq;
	struct chardev *cd;
	uint32_t instance;

	uint8_t rx[SERIAL8250_FIFO_LEN]; /* ring: rx_head is the oldest byte */
	uint8_t rx_head;
	uint8_t rx_count;
	uint8_t ier;
	uint8_t fcr; /* FCR_KEPT bits of the last FCR write */
	uint8_t lcr;
	uint8_t mcr;
	uint8_t lsr_err; /* LSR_ERRORS latched until LSR is read */
	uint8_t msr; /* lines (7:4) and deltas (3:0) */
	uint8_t scr;
	uint8_t dll, dlm;
	bool thri_pending; /* THRE interrupt source armed (cleared by IIR read / THR write) */

	int irq_level; /* last level driven on @irq */
	struct ratelimit rl;
};

static unsigned rx_capacity(const struct serial8250 *s)
{
	return (s->fcr & UART_FCR_ENABLE_FIFO) ? SERIAL8250_FIFO_LEN : 1;
}

/* rx_trigger - the RX FIFO trigger level (FCR bits 7:6: 1, 4, 8, 14 bytes). */
static unsigned rx_trigger(const struct serial8250 *s)
{
	static const uint8_t levels[4] = { 1, 4, 8, 14 };

	if (!(s->fcr & UART_FCR_ENABLE_FIFO))
		return 1;
	return levels[(s->fcr & UART_FCR_TRIGGER_MASK) >> 6];
}

static uint8_t lsr_value(const struct serial8250 *s)
{
	uint8_t lsr = s->lsr_err | UART_LSR_THRE | UART_LSR_TEMT;

	if (s->rx_count)
		lsr |= UART_LSR_DR;
	return lsr;
}

/*
 * iir_id - the highest-priority pending interrupt (PC16550D table 4):
 * receiver line status > received data / character timeout > THR empty >
 * modem status; UART_IIR_NO_INT when none.
 */
static uint8_t iir_id(const struct serial8250 *s)
{
	if ((s->ier & UART_IER_RLSI) && (s->lsr_err & LSR_ERRORS))
		return UART_IIR_RLSI;
	if ((s->ier & UART_IER_RDI) && s->rx_count)
		return s->rx_count >= rx_trigger(s) ? UART_IIR_RDI : UART_IIR_RX_TIMEOUT;
	if ((s->ier & UART_IER_THRI) && s->thri_pending)
		return UART_IIR_THRI;
	if ((s->ier & UART_IER_MSI) && (s->msr & UART_MSR_ANY_DELTA))
		return UART_IIR_MSI;
	return UART_IIR_NO_INT;
}

/* update_irq - drive the line: an interrupt is pending and OUT2 gates it through. */
static void update_irq(struct serial8250 *s)
{
	int level = iir_id(s) != UART_IIR_NO_INT && (s->mcr & UART_MCR_OUT2);

	if (level != s->irq_level) {
		s->irq_level = level;
		irq_line_set(s->irq, level);
	}
}

/*
 * msr_lines - the modem input lines for @mcr: in loopback RTS->CTS, DTR->DSR,
 * OUT1->RI, OUT2->DCD (PC16550D 8.6.4); otherwise the host's fixed lines.
 */
static uint8_t msr_lines(uint8_t mcr)
{
	uint8_t lines = 0;

	if (!(mcr & UART_MCR_LOOP))
		return MSR_HOST_LINES;
	if (mcr & UART_MCR_RTS)
		lines |= UART_MSR_CTS;
	if (mcr & UART_MCR_DTR)
		lines |= UART_MSR_DSR;
	if (mcr & UART_MCR_OUT1)
		lines |= UART_MSR_RI;
	if (mcr & UART_MCR_OUT2)
		lines |= UART_MSR_DCD;
	return lines;
}

/* update_msr - recompute the modem lines from MCR (loopback) or the host, latching deltas. */
static void update_msr(struct serial8250 *s)
{
	uint8_t old = s->msr & MSR_LINES, lines = msr_lines(s->mcr), changed;

	changed = old ^ lines;
	s->msr = (s->msr & UART_MSR_ANY_DELTA) | lines;
	if (changed & UART_MSR_CTS)
		s->msr |= UART_MSR_DCTS;
	if (changed & UART_MSR_DSR)
		s->msr |= UART_MSR_DDSR;
	if (changed & UART_MSR_DCD)
		s->msr |= UART_MSR_DDCD;
	if ((old & UART_MSR_RI) && !(lines & UART_MSR_RI)) /* trailing edge only */
		s->msr |= UART_MSR_TERI;
}

static void rx_push(struct serial8250 *s, uint8_t b)
{
	s->rx[(s->rx_head + s->rx_count) % SERIAL8250_FIFO_LEN] = b;
	s->rx_count++;
}

/* pull_input - take backend bytes while the RX FIFO has room (not in loopback). */
static void pull_input(struct serial8250 *s)
{
	uint8_t buf[SERIAL8250_FIFO_LEN];

	if (!s->cd || (s->mcr & UART_MCR_LOOP))
		return;
	while (s->rx_count < rx_capacity(s)) {
		size_t n = chardev_read(s->cd, buf, rx_capacity(s) - s->rx_count);

		if (n == 0)
			break;
		for (size_t i = 0; i < n; i++)
			rx_push(s, buf[i]);
	}
}

static void clear_rx(struct serial8250 *s)
{
	s->rx_head = 0;
	s->rx_count = 0;
}

static void serial_reset_locked(struct serial8250 *s)
{
	clear_rx(s);
	s->ier = 0;
	s->fcr = 0;
	s->lcr = 0;
	s->mcr = 0;
	s->lsr_err = 0;
	s->msr = MSR_HOST_LINES;
	s->scr = 0;
	s->dll = 0x0c; /* 9600 baud from 1.8432 MHz */
	s->dlm = 0;
	s->thri_pending = false;
	pull_input(s);
	update_irq(s);
}

static uint8_t serial_read_reg(struct serial8250 *s, unsigned reg)
{
	uint8_t v, id;

	switch (reg) {
	case UART_RX:
		if (s->lcr & UART_LCR_DLAB)
			return s->dll;
		if (!s->rx_count)
			return 0; /* empty: the last byte on real parts; 0 here */
		v = s->rx[s->rx_head];
		s->rx_head = (s->rx_head + 1) % SERIAL8250_FIFO_LEN;
		s->rx_count--;
		pull_input(s);
		return v;
	case UART_IER:
		return (s->lcr & UART_LCR_DLAB) ? s->dlm : s->ier;
	case UART_IIR:
		id = iir_id(s);
		if (id == UART_IIR_THRI) /* reading IIR clears a THRE interrupt it reports */
			s->thri_pending = false;
		return id | ((s->fcr & UART_FCR_ENABLE_FIFO) ? 0xc0 : 0);
	case UART_LCR:
		return s->lcr;
	case UART_MCR:
		return s->mcr;
	case UART_LSR:
		v = lsr_value(s);
		s->lsr_err = 0; /* OE, PE, FE, BI clear on read */
		return v;
	case UART_MSR:
		v = s->msr;
		s->msr &= ~UART_MSR_ANY_DELTA;
		return v;
	case UART_SCR:
		return s->scr;
	}
	return 0xff;
}

static void serial_write_reg(struct serial8250 *s, unsigned reg, uint8_t v)
{
	uint8_t old;

	switch (reg) {
	case UART_TX:
		if (s->lcr & UART_LCR_DLAB) {
			s->dll = v;
			break;
		}
		if (s->mcr & UART_MCR_LOOP) {
			if (s->rx_count < rx_capacity(s))
				rx_push(s, v);
			else
				s->lsr_err |= UART_LSR_OE; /* overrun: the new byte is lost */
		} else {
			chardev_write(s->cd, &v, 1);
		}
		/* sent at once: THR is empty again and its interrupt re-arms */
		s->thri_pending = true;
		break;
	case UART_IER:
		if (s->lcr & UART_LCR_DLAB) {
			s->dlm = v;
			break;
		}
		old = s->ier;
		s->ier = v & IER_MASK;
		if ((s->ier & ~old) & UART_IER_THRI) /* enabling it with THR empty raises it */
			s->thri_pending = true;
		break;
	case UART_FCR:
		old = s->fcr;
		/* FCR bits other than 0 are written only together with bit 0 */
		s->fcr = (v & UART_FCR_ENABLE_FIFO) ? (v & FCR_KEPT) : 0;
		if (((old ^ s->fcr) & UART_FCR_ENABLE_FIFO) || (v & UART_FCR_CLEAR_RCVR)) {
			clear_rx(s);
			pull_input(s);
		}
		/* UART_FCR_CLEAR_XMIT: the TX FIFO is always empty here */
		break;
	case UART_LCR:
		s->lcr = v;
		break;
	case UART_MCR:
		old = s->mcr;
		s->mcr = v & MCR_MASK;
		update_msr(s);
		if ((old & UART_MCR_LOOP) && !(s->mcr & UART_MCR_LOOP))
			pull_input(s);
		break;
	case UART_SCR:
		s->scr = v;
		break;
	default: /* LSR, MSR: read-only (factory test writes are ignored) */
		break;
	}
}

static uint64_t serial_read(void *opaque, uint64_t offset, unsigned size)
{
	struct serial8250 *s = opaque;
	uint8_t v;

	if (size != 1 || offset >= SERIAL8250_REGS_LEN) {
		log_guest(&s->rl, "serial8250: %u-byte read at offset %#llx", size,
			  (unsigned long long)offset);
		return ~0ull;
	}
	pthread_mutex_lock(&s->lock);
	v = serial_read_reg(s, (unsigned)offset);
	update_irq(s);
	pthread_mutex_unlock(&s->lock);
	return v;
}

static void serial_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
	struct serial8250 *s = opaque;

	if (size != 1 || offset >= SERIAL8250_REGS_LEN) {
		log_guest(&s->rl, "serial8250: %u-byte write at offset %#llx ignored", size,
			  (unsigned long long)offset);
		return;
	}
	pthread_mutex_lock(&s->lock);
	serial_write_reg(s, (unsigned)offset, (uint8_t)value);
	update_irq(s);
	pthread_mutex_unlock(&s->lock);
}

const struct bus_region_ops serial8250_ops = {
	.read = serial_read,
	.write = serial_write,
};

void serial8250_input_ready(void *opaque)
{
	struct serial8250 *s = opaque;

	pthread_mutex_lock(&s->lock);
	pull_input(s);
	update_irq(s);
	pthread_mutex_unlock(&s->lock);
}

struct serial8250 *serial8250_create(struct irq_line *irq, struct chardev *cd, uint32_t instance)
{
	struct serial8250 *s = calloc(1, sizeof(*s));
	int err;

	if (!s) {
		errno = ENOMEM;
		return NULL;
	}
	err = pthread_mutex_init(&s->lock, NULL);
	if (err) {
		free(s);
		errno = err;
		return NULL;
	}
	s->irq = irq;
	s->cd = cd;
	s->instance = instance;
	if (cd)
		chardev_attach(cd, serial8250_input_ready, s);
	pthread_mutex_lock(&s->lock);
	serial_reset_locked(s);
	pthread_mutex_unlock(&s->lock);
	return s;
}

void serial8250_destroy(struct serial8250 *s)
{
	if (!s)
		return;
	if (s->cd)
		chardev_attach(s->cd, NULL, NULL);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

static void serial_dev_reset(void *dev)
{
	struct serial8250 *s = dev;

	pthread_mutex_lock(&s->lock);
	serial_reset_locked(s);
	pthread_mutex_unlock(&s->lock);
}

/* Section payload, version 1: rx_count u8, rx[rx_count] (oldest first), ier, fcr,
 * lcr, mcr, lsr_err, msr, scr, dll, dlm, thri_pending — all u8. */
static void serial_dev_save(void *dev, struct state_writer *w)
{
	struct serial8250 *s = dev;

	pthread_mutex_lock(&s->lock);
	state_begin(w, serial8250_device_ops.name, s->instance, SERIAL8250_VERSION);
	state_put_u8(w, s->rx_count);
	for (unsigned i = 0; i < s->rx_count; i++)
		state_put_u8(w, s->rx[(s->rx_head + i) % SERIAL8250_FIFO_LEN]);
	state_put_u8(w, s->ier);
	state_put_u8(w, s->fcr);
	state_put_u8(w, s->lcr);
	state_put_u8(w, s->mcr);
	state_put_u8(w, s->lsr_err);
	state_put_u8(w, s->msr);
	state_put_u8(w, s->scr);
	state_put_u8(w, s->dll);
	state_put_u8(w, s->dlm);
	state_put_u8(w, s->thri_pending);
	state_end(w);
	pthread_mutex_unlock(&s->lock);
}

static int serial_dev_load(void *dev, struct state_reader *r)
{
	struct serial8250 *s = dev;
	uint8_t rx[SERIAL8250_FIFO_LEN];
	uint8_t rx_count, ier, fcr, lcr, mcr, lsr_err, msr, scr, dll, dlm, thri;

	rx_count = state_get_u8(r);
	if (rx_count > SERIAL8250_FIFO_LEN)
		return -EINVAL;
	state_get_bytes(r, rx, rx_count);
	ier = state_get_u8(r);
	fcr = state_get_u8(r);
	lcr = state_get_u8(r);
	mcr = state_get_u8(r);
	lsr_err = state_get_u8(r);
	msr = state_get_u8(r);
	scr = state_get_u8(r);
	dll = state_get_u8(r);
	dlm = state_get_u8(r);
	thri = state_get_u8(r);
	if (state_done(r))
		return -EINVAL;
	if ((ier & ~IER_MASK) || (fcr & ~FCR_KEPT) || (mcr & ~MCR_MASK) ||
	    (lsr_err & ~LSR_ERRORS) || thri > 1)
		return -EINVAL;
	if (!(fcr & UART_FCR_ENABLE_FIFO) && (rx_count > 1 || (fcr & UART_FCR_TRIGGER_MASK)))
		return -EINVAL;
	if ((msr & MSR_LINES) != msr_lines(mcr)) /* the modem lines are those MCR implies */
		return -EINVAL;

	pthread_mutex_lock(&s->lock);
	s->rx_head = 0;
	s->rx_count = rx_count;
	memcpy(s->rx, rx, rx_count);
	s->ier = ier;
	s->fcr = fcr;
	s->lcr = lcr;
	s->mcr = mcr;
	s->lsr_err = lsr_err;
	s->msr = msr;
	s->scr = scr;
	s->dll = dll;
	s->dlm = dlm;
	s->thri_pending = thri;
	s->irq_level = -1; /* drive the line whatever it was */
	pull_input(s);
	update_irq(s);
	pthread_mutex_unlock(&s->lock);
	return 0;
}

static void serial_dev_destroy(void *dev)
{
	serial8250_destroy(dev);
}

const struct device_ops serial8250_device_ops = {
	.name = "serial8250",
	.version = SERIAL8250_VERSION,
	.reset = serial_dev_reset,
	.save = serial_dev_save,
	.load = serial_dev_load,
	.destroy = serial_dev_destroy,
};
