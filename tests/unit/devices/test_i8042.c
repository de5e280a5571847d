/* test_i8042.c — keyboard controller: status, command byte, self-tests, reset pulse. */
#include <errno.h>

#include "devices/i8042.h"
#include "fake_platform.h"
#include "harness.h"

struct rig {
	struct fake_irq kbd, aux;
	struct fake_power power;
	struct i8042 *k;
};

static void rig_init(struct rig *r)
{
	fake_irq_init(&r->kbd);
	fake_irq_init(&r->aux);
	fake_power_init(&r->power);
	r->k = i8042_create(&r->kbd.line, &r->aux.line, &r->power.sink);
	REQUIRE(r->k);
}

static uint8_t status(struct rig *r)
{
	return (uint8_t)i8042_cmd_ops.read(r->k, 0, 1);
}

static void cmd(struct rig *r, uint8_t v)
{
	i8042_cmd_ops.write(r->k, 0, v, 1);
}

static uint8_t data(struct rig *r)
{
	return (uint8_t)i8042_data_ops.read(r->k, 0, 1);
}

static void put(struct rig *r, uint8_t v)
{
	i8042_data_ops.write(r->k, 0, v, 1);
}

TEST(i8042_reset_command_reaches_power_sink)
{
	struct rig r;

	rig_init(&r);
	CHECK_EQ(r.power.events, 0);
	cmd(&r, 0xfe);
	CHECK_EQ(r.power.events, 1);
	CHECK_EQ(r.power.last, POWER_RESET);
	cmd(&r, 0xff); /* pulse nothing: no reset */
	CHECK_EQ(r.power.events, 1);
	i8042_destroy(r.k);
}

TEST(i8042_output_port_reset_bit)
{
	struct rig r;

	rig_init(&r);
	cmd(&r, 0xd0);
	CHECK_EQ(data(&r) & 0x01, 0x01);
	cmd(&r, 0xd1);
	put(&r, 0x03); /* reset line stays high */
	CHECK_EQ(r.power.events, 0);
	cmd(&r, 0xd1);
	put(&r, 0x02); /* bit 0 low: CPU reset */
	CHECK_EQ(r.power.events, 1);
	CHECK_EQ(r.power.last, POWER_RESET);
	i8042_destroy(r.k);
}

TEST(i8042_self_tests_answer)
{
	struct rig r;

	rig_init(&r);
	CHECK_EQ(status(&r) & 0x01, 0);
	cmd(&r, 0xaa);
	CHECK_EQ(status(&r) & 0x05, 0x05); /* OBF, system flag */
	CHECK_EQ(data(&r), 0x55);
	CHECK_EQ(status(&r) & 0x01, 0);
	cmd(&r, 0xab);
	CHECK_EQ(data(&r), 0x00);
	cmd(&r, 0xa9);
	CHECK_EQ(data(&r), 0x00);
	i8042_destroy(r.k);
}

TEST(i8042_command_byte_read_write)
{
	struct rig r;

	rig_init(&r);
	cmd(&r, 0x20);
	CHECK_EQ(data(&r), 0x45); /* kbd int, system flag, translate */
	cmd(&r, 0x60);
	put(&r, 0x47);
	cmd(&r, 0x20);
	CHECK_EQ(data(&r), 0x47);
	cmd(&r, 0xad);
	cmd(&r, 0xa7);
	cmd(&r, 0x20);
	CHECK_EQ(data(&r), 0x47 | 0x30);
	cmd(&r, 0xae);
	cmd(&r, 0xa8);
	cmd(&r, 0x20);
	CHECK_EQ(data(&r), 0x47);
	i8042_destroy(r.k);
}

TEST(i8042_keyboard_acks_and_irq)
{
	struct rig r;

	rig_init(&r);
	put(&r, 0xff); /* keyboard reset */
	CHECK_EQ(r.kbd.level, 1);
	CHECK_EQ(data(&r), 0xfa);
	CHECK_EQ(data(&r), 0xaa);
	CHECK_EQ(r.kbd.level, 0);
	put(&r, 0xf2);
	CHECK_EQ(data(&r), 0xfa);
	CHECK_EQ(data(&r), 0xab);
	CHECK_EQ(data(&r), 0x83);
	/* with the keyboard interrupt disabled the line stays low */
	cmd(&r, 0x60);
	put(&r, 0x44);
	put(&r, 0xf4);
	CHECK_EQ(r.kbd.level, 0);
	CHECK_EQ(status(&r) & 0x01, 0x01);
	CHECK_EQ(data(&r), 0xfa);
	i8042_destroy(r.k);
}

TEST(i8042_aux_loop_and_absent_mouse)
{
	struct rig r;

	rig_init(&r);
	cmd(&r, 0x60);
	put(&r, 0x47); /* both interrupts on */
	cmd(&r, 0xd3);
	put(&r, 0x5a);
	CHECK_EQ(status(&r) & 0x21, 0x21); /* OBF from aux */
	CHECK_EQ(r.aux.level, 1);
	CHECK_EQ(data(&r), 0x5a);
	CHECK_EQ(r.aux.level, 0);
	cmd(&r, 0xd4);
	put(&r, 0xf2);
	CHECK_EQ(status(&r) & 0x61, 0x61); /* timeout: no mouse */
	CHECK_EQ(data(&r), 0xfe);
	i8042_destroy(r.k);
}

TEST(i8042_save_load_roundtrip_and_refusal)
{
	struct rig a, b;
	struct state_writer w;
	struct state_reader r, p;
	struct state_section sec;

	rig_init(&a);
	rig_init(&b);
	cmd(&a, 0x60);
	put(&a, 0x07);
	cmd(&a, 0xaa);
	state_writer_init(&w);
	i8042_device_ops.save(a.k, &w);
	state_reader_init(&r, w.buf, w.len);
	REQUIRE(state_next_section(&r, &sec) == 1);
	CHECK(strcmp(sec.tag, "i8042") == 0);
	for (size_t cut = 0; cut < sec.payload.len; cut++) {
		state_reader_init(&p, sec.payload.buf, cut);
		CHECK_EQ(i8042_device_ops.load(b.k, &p), -EINVAL);
	}
	CHECK_EQ(status(&b) & 0x01, 0);
	CHECK_EQ(i8042_device_ops.load(b.k, &sec.payload), 0);
	CHECK_EQ(data(&b), 0x55);
	cmd(&b, 0x20);
	CHECK_EQ(data(&b), 0x07);
	state_writer_free(&w);
	i8042_destroy(a.k);
	i8042_destroy(b.k);
}

TEST(i8042_unknown_accesses_are_harmless)
{
	struct rig r;

	rig_init(&r);
	CHECK_EQ(i8042_data_ops.read(r.k, 1, 1), ~0ull);
	CHECK_EQ(i8042_cmd_ops.read(r.k, 0, 4), ~0ull);
	i8042_cmd_ops.write(r.k, 0, 0xfe, 2); /* wrong size: ignored */
	CHECK_EQ(r.power.events, 0);
	for (unsigned v = 0; v < 0xf0; v++)
		cmd(&r, (uint8_t)v);
	for (int i = 0; i < 64; i++)
		put(&r, 0xff); /* floods the output queue: bounded */
	for (int i = 0; i < 64; i++)
		data(&r);
	CHECK_EQ(status(&r) & 0x01, 0);
	i8042_destroy(r.k);
}

TEST(i8042_ctrl_alt_del_scan_codes)
{
	static const uint8_t set1[] = { 0x1d, 0x38, 0xe0, 0x53, 0xe0, 0xd3, 0xb8, 0x9d };
	struct rig r;

	rig_init(&r);
	CHECK_EQ(i8042_press_ctrl_alt_del(r.k), 0);
	CHECK_EQ(r.kbd.level, 1);
	for (unsigned i = 0; i < sizeof(set1); i++)
		CHECK_EQ(data(&r), set1[i]); /* translated: scan code set 1 */
	CHECK_EQ(r.kbd.level, 0);
	CHECK_EQ(status(&r) & 0x01, 0);
	/* an undrained buffer refuses a second press rather than dropping codes */
	CHECK_EQ(i8042_press_ctrl_alt_del(r.k), 0);
	CHECK_EQ(i8042_press_ctrl_alt_del(r.k), 0); /* 16 bytes of queue: two presses */
	CHECK_EQ(i8042_press_ctrl_alt_del(r.k), -EBUSY);
	for (unsigned i = 0; i < 2 * sizeof(set1); i++)
		CHECK_EQ(data(&r), set1[i % sizeof(set1)]);
	i8042_destroy(r.k);
}

/* clang-format off */
HARNESS_MAIN(
	HARNESS_T(i8042_reset_command_reaches_power_sink)
	HARNESS_T(i8042_output_port_reset_bit)
	HARNESS_T(i8042_self_tests_answer)
	HARNESS_T(i8042_command_byte_read_write)
	HARNESS_T(i8042_keyboard_acks_and_irq)
	HARNESS_T(i8042_aux_loop_and_absent_mouse)
	HARNESS_T(i8042_save_load_roundtrip_and_refusal)
	HARNESS_T(i8042_unknown_accesses_are_harmless)
	HARNESS_T(i8042_ctrl_alt_del_scan_codes)
)
/* clang-format on */
