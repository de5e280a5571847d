/* i8042.c — PC keyboard controller: command byte, self-tests, reset pulse, a minimal keyboard. */
#include "devices/i8042.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"

#define I8042_VERSION 1
#define I8042_QUEUE_LEN 16

/* Status register (port 0x64 read). */
#define STR_OBF 0x01 /* output buffer full */
#define STR_SYSFLAG 0x04 /* self-test passed */
#define STR_CMDDAT 0x08 /* last write was a command */
#define STR_KEYLOCK 0x10 /* 1 = keyboard not inhibited */
#define STR_AUXDATA 0x20 /* the byte in the output buffer is from the aux port */
#define STR_TIMEOUT 0x40

/* Command byte (controller RAM 0). */
#define CTR_KBDINT 0x01
#define CTR_AUXINT 0x02
#define CTR_SYSFLAG 0x04
#define CTR_KBDDIS 0x10
#define CTR_AUXDIS 0x20
#define CTR_XLATE 0x40
#define CTR_MASK 0x77

/* Controller commands (port 0x64 write). */
#define CMD_READ_RAM 0x20 /* 0x20-0x3f */
#define CMD_WRITE_RAM 0x60 /* 0x60-0x7f */
#define CMD_AUX_DISABLE 0xa7
#define CMD_AUX_ENABLE 0xa8
#define CMD_AUX_TEST 0xa9
#define CMD_SELF_TEST 0xaa
#define CMD_KBD_TEST 0xab
#define CMD_KBD_DISABLE 0xad
#define CMD_KBD_ENABLE 0xae
#define CMD_READ_INPUT 0xc0
#define CMD_READ_OUTPUT 0xd0
#define CMD_WRITE_OUTPUT 0xd1
#define CMD_WRITE_KBD_OBUF 0xd2
#define CMD_WRITE_AUX_OBUF 0xd3
#define CMD_WRITE_AUX 0xd4
#define CMD_PULSE 0xf0 /* 0xf0-0xff: pulse output lines whose bit is 0; bit 0 = reset */

/* Output port bits. */
#define OUT_RESET 0x01 /* 0 = hold the CPU in reset */
#define OUT_A20 0x02

struct i8042_byte {
	uint8_t data;
	uint8_t aux;
};

struct i8042 {
	pthread_mutex_t lock;
	struct irq_line *kbd_irq, *aux_irq;
	const struct power_sink *power;

	uint8_t ram[32]; /* ram[0] is the command byte */
	uint8_t status_extra; /* STR_SYSFLAG, STR_CMDDAT, STR_TIMEOUT */
	uint8_t pending_cmd; /* command waiting for its data byte, or 0 */
	uint8_t outport;
	struct i8042_byte q[I8042_QUEUE_LEN]; /* output buffer + queued replies */
	uint8_t q_head, q_count;

	int kbd_level, aux_level;
	bool reset_pending; /* a reset pulse to report after unlocking */
	struct ratelimit rl;
};

static void update_irqs(struct i8042 *k)
{
	int kbd = 0, aux = 0;

	if (k->q_count) {
		if (k->q[k->q_head].aux)
			aux = !!(k->ram[0] & CTR_AUXINT);
		else
			kbd = !!(k->ram[0] & CTR_KBDINT);
	}
	if (kbd != k->kbd_level) {
		k->kbd_level = kbd;
		irq_line_set(k->kbd_irq, kbd);
	}
	if (aux != k->aux_level) {
		k->aux_level = aux;
		irq_line_set(k->aux_irq, aux);
	}
}

static void queue_byte(struct i8042 *k, uint8_t data, bool aux)
{
	if (k->q_count == I8042_QUEUE_LEN) {
		log_guest(&k->rl, "i8042: output queue full, byte %#x dropped", data);
		return;
	}
	k->q[(k->q_head + k->q_count) % I8042_QUEUE_LEN] = (struct i8042_byte){ data, aux };
	k->q_count++;
}

static void i8042_reset_locked(struct i8042 *k)
{
	memset(k->ram, 0, sizeof(k->ram));
	k->ram[0] = CTR_KBDINT | CTR_SYSFLAG | CTR_XLATE;
	k->status_extra = 0;
	k->pending_cmd = 0;
	k->outport = OUT_RESET | OUT_A20;
	k->q_head = 0;
	k->q_count = 0;
	update_irqs(k);
}

/* cpu_reset - pulse the reset line: sent to the power sink once the lock is dropped. */
static void cpu_reset(struct i8042 *k)
{
	k->reset_pending = true;
}

/* unlock_and_report - drop the lock, then send a reset the access asked for. */
static void unlock_and_report(struct i8042 *k)
{
	bool reset = k->reset_pending;

	k->reset_pending = false;
	pthread_mutex_unlock(&k->lock);
	if (reset)
		power_sink_send(k->power, POWER_RESET, 0);
}

/* keyboard_byte - a byte sent to the keyboard: answer as a PS/2 keyboard would. */
static void keyboard_byte(struct i8042 *k, uint8_t v)
{
	switch (v) {
	case 0xee: /* echo */
		queue_byte(k, 0xee, false);
		break;
	case 0xff: /* reset: ACK, then BAT passed */
		queue_byte(k, 0xfa, false);
		queue_byte(k, 0xaa, false);
		break;
	case 0xf2: /* identify: MF2 keyboard, translated */
		queue_byte(k, 0xfa, false);
		queue_byte(k, 0xab, false);
		queue_byte(k, 0x83, false);
		break;
	default: /* every other command and parameter byte is acknowledged */
		queue_byte(k, 0xfa, false);
		break;
	}
}

static void i8042_command(struct i8042 *k, uint8_t cmd)
{
	k->status_extra |= STR_CMDDAT;
	k->pending_cmd = 0;
	if (cmd >= CMD_READ_RAM && cmd < CMD_READ_RAM + 0x20) {
		queue_byte(k, k->ram[cmd - CMD_READ_RAM], false);
		return;
	}
	if (cmd >= CMD_WRITE_RAM && cmd < CMD_WRITE_RAM + 0x20) {
		k->pending_cmd = cmd;
		return;
	}
	if (cmd >= CMD_PULSE) {
		if (!(cmd & OUT_RESET))
			cpu_reset(k);
		return;
	}
	switch (cmd) {
	case CMD_AUX_DISABLE:
		k->ram[0] |= CTR_AUXDIS;
		break;
	case CMD_AUX_ENABLE:
		k->ram[0] &= ~CTR_AUXDIS;
		break;
	case CMD_AUX_TEST:
	case CMD_KBD_TEST:
		queue_byte(k, 0x00, false); /* interface OK */
		break;
	case CMD_SELF_TEST:
		k->status_extra |= STR_SYSFLAG;
		queue_byte(k, 0x55, false);
		break;
	case CMD_KBD_DISABLE:
		k->ram[0] |= CTR_KBDDIS;
		break;
	case CMD_KBD_ENABLE:
		k->ram[0] &= ~CTR_KBDDIS;
		break;
	case CMD_READ_INPUT:
		queue_byte(k, 0x00, false);
		break;
	case CMD_READ_OUTPUT:
		queue_byte(k, k->outport, false);
		break;
	case CMD_WRITE_OUTPUT:
	case CMD_WRITE_KBD_OBUF:
	case CMD_WRITE_AUX_OBUF:
	case CMD_WRITE_AUX:
		k->pending_cmd = cmd;
		break;
	default:
		log_guest(&k->rl, "i8042: unknown command %#x ignored", cmd);
		break;
	}
}

static void i8042_data(struct i8042 *k, uint8_t v)
{
	uint8_t cmd = k->pending_cmd;

	k->status_extra &= ~(STR_CMDDAT | STR_TIMEOUT);
	k->pending_cmd = 0;
	if (cmd >= CMD_WRITE_RAM && cmd < CMD_WRITE_RAM + 0x20) {
		k->ram[cmd - CMD_WRITE_RAM] = cmd == CMD_WRITE_RAM ? (v & CTR_MASK) : v;
		return;
	}
	switch (cmd) {
	case CMD_WRITE_OUTPUT:
		k->outport = v;
		if (!(v & OUT_RESET))
			cpu_reset(k);
		break;
	case CMD_WRITE_KBD_OBUF:
		queue_byte(k, v, false);
		break;
	case CMD_WRITE_AUX_OBUF:
		queue_byte(k, v, true);
		break;
	case CMD_WRITE_AUX: /* no mouse: answer with a timeout */
		k->status_extra |= STR_TIMEOUT;
		queue_byte(k, 0xfe, true);
		break;
	default:
		keyboard_byte(k, v);
		break;
	}
}

static uint8_t i8042_status(const struct i8042 *k)
{
	uint8_t st = k->status_extra | STR_KEYLOCK;

	if (k->q_count) {
		st |= STR_OBF;
		if (k->q[k->q_head].aux)
			st |= STR_AUXDATA;
	}
	return st;
}

static uint64_t data_read(void *opaque, uint64_t offset, unsigned size)
{
	struct i8042 *k = opaque;
	uint8_t v;

	if (offset != 0 || size != 1)
		return ~0ull;
	pthread_mutex_lock(&k->lock);
	if (k->q_count) {
		v = k->q[k->q_head].data;
		k->q_head = (k->q_head + 1) % I8042_QUEUE_LEN;
		k->q_count--;
	} else {
		v = 0; /* empty: real controllers repeat the last byte; none is pending */
	}
	update_irqs(k);
	pthread_mutex_unlock(&k->lock);
	return v;
}

static void data_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
	struct i8042 *k = opaque;

	if (offset != 0 || size != 1)
		return;
	pthread_mutex_lock(&k->lock);
	i8042_data(k, (uint8_t)value);
	update_irqs(k);
	unlock_and_report(k);
}

static uint64_t cmd_read(void *opaque, uint64_t offset, unsigned size)
{
	struct i8042 *k = opaque;
	uint8_t v;

	if (offset != 0 || size != 1)
		return ~0ull;
	pthread_mutex_lock(&k->lock);
	v = i8042_status(k);
	pthread_mutex_unlock(&k->lock);
	return v;
}

static void cmd_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
	struct i8042 *k = opaque;

	if (offset != 0 || size != 1)
		return;
	pthread_mutex_lock(&k->lock);
	i8042_command(k, (uint8_t)value);
	update_irqs(k);
	unlock_and_report(k);
}

const struct bus_region_ops i8042_data_ops = { .read = data_read, .write = data_write };
const struct bus_region_ops i8042_cmd_ops = { .read = cmd_read, .write = cmd_write };

struct i8042 *i8042_create(struct irq_line *kbd_irq, struct irq_line *aux_irq,
			   const struct power_sink *power)
{
	struct i8042 *k = calloc(1, sizeof(*k));
	int err;

	if (!k) {
		errno = ENOMEM;
		return NULL;
	}
	err = pthread_mutex_init(&k->lock, NULL);
	if (err) {
		free(k);
		errno = err;
		return NULL;
	}
	k->kbd_irq = kbd_irq;
	k->aux_irq = aux_irq;
	k->power = power;
	i8042_reset_locked(k);
	return k;
}

void i8042_destroy(struct i8042 *k)
{
	if (!k)
		return;
	pthread_mutex_destroy(&k->lock);
	free(k);
}

static void i8042_dev_reset(void *dev)
{
	struct i8042 *k = dev;

	pthread_mutex_lock(&k->lock);
	i8042_reset_locked(k);
	pthread_mutex_unlock(&k->lock);
}

/* Payload v1: ram[32], status_extra, pending_cmd, outport, q_count u8, then
 * q_count x {data u8, aux u8} oldest first. */
static void i8042_dev_save(void *dev, struct state_writer *w)
{
	struct i8042 *k = dev;

	pthread_mutex_lock(&k->lock);
	state_begin(w, i8042_device_ops.name, 0, I8042_VERSION);
	state_put_bytes(w, k->ram, sizeof(k->ram));
	state_put_u8(w, k->status_extra);
	state_put_u8(w, k->pending_cmd);
	state_put_u8(w, k->outport);
	state_put_u8(w, k->q_count);
	for (unsigned i = 0; i < k->q_count; i++) {
		const struct i8042_byte *b = &k->q[(k->q_head + i) % I8042_QUEUE_LEN];

		state_put_u8(w, b->data);
		state_put_u8(w, b->aux);
	}
	state_end(w);
	pthread_mutex_unlock(&k->lock);
}

static bool pending_cmd_valid(uint8_t cmd)
{
	return cmd == 0 || (cmd >= CMD_WRITE_RAM && cmd < CMD_WRITE_RAM + 0x20) ||
	       cmd == CMD_WRITE_OUTPUT || cmd == CMD_WRITE_KBD_OBUF || cmd == CMD_WRITE_AUX_OBUF ||
	       cmd == CMD_WRITE_AUX;
}

static int i8042_dev_load(void *dev, struct state_reader *r)
{
	struct i8042 *k = dev;
	uint8_t ram[32], status_extra, pending_cmd, outport, q_count;
	struct i8042_byte q[I8042_QUEUE_LEN];

	state_get_bytes(r, ram, sizeof(ram));
	status_extra = state_get_u8(r);
	pending_cmd = state_get_u8(r);
	outport = state_get_u8(r);
	q_count = state_get_u8(r);
	if (q_count > I8042_QUEUE_LEN)
		return -EINVAL;
	for (unsigned i = 0; i < q_count; i++) {
		q[i].data = state_get_u8(r);
		q[i].aux = state_get_u8(r);
		if (q[i].aux > 1)
			return -EINVAL;
	}
	if (state_done(r))
		return -EINVAL;
	if ((ram[0] & ~CTR_MASK) || (status_extra & ~(STR_SYSFLAG | STR_CMDDAT | STR_TIMEOUT)) ||
	    !pending_cmd_valid(pending_cmd))
		return -EINVAL;

	pthread_mutex_lock(&k->lock);
	memcpy(k->ram, ram, sizeof(ram));
	k->status_extra = status_extra;
	k->pending_cmd = pending_cmd;
	k->outport = outport;
	k->q_head = 0;
	k->q_count = q_count;
	memcpy(k->q, q, q_count * sizeof(q[0]));
	k->kbd_level = k->aux_level = -1;
	update_irqs(k);
	pthread_mutex_unlock(&k->lock);
	return 0;
}

static void i8042_dev_destroy(void *dev)
{
	i8042_destroy(dev);
}

const struct device_ops i8042_device_ops = {
	.name = "i8042",
	.version = I8042_VERSION,
	.reset = i8042_dev_reset,
	.save = i8042_dev_save,
	.load = i8042_dev_load,
	.destroy = i8042_dev_destroy,
};

/*
 * Ctrl-Alt-Del as the keyboard sends it: make codes of Ctrl, Alt, Del, then
 * their break codes in reverse. Scan code set 1 when the controller translates
 * (command byte XLATE, Linux's default), set 2 otherwise.
 */
int i8042_press_ctrl_alt_del(struct i8042 *k)
{
	static const uint8_t set1[] = { 0x1d, 0x38, 0xe0, 0x53, 0xe0, 0xd3, 0xb8, 0x9d };
	static const uint8_t set2[] = { 0x14, 0x11, 0xe0, 0x71, 0xe0, 0xf0,
					0x71, 0xf0, 0x11, 0xf0, 0x14 };
	const uint8_t *codes;
	size_t n;
	int ret = 0;

	pthread_mutex_lock(&k->lock);
	if (k->ram[0] & CTR_XLATE) {
		codes = set1;
		n = sizeof(set1);
	} else {
		codes = set2;
		n = sizeof(set2);
	}
	if ((size_t)(I8042_QUEUE_LEN - k->q_count) < n) {
		ret = -EBUSY;
	} else {
		for (size_t i = 0; i < n; i++)
			queue_byte(k, codes[i], false);
		update_irqs(k);
	}
	pthread_mutex_unlock(&k->lock);
	return ret;
}
