/* test_state.c — section writer/reader: round trip, truncation, leftovers. */
#include <errno.h>

#include "harness.h"
#include "snapshot/state.h"

TEST(state_roundtrips_fields_in_sections)
{
	struct state_writer w;
	struct state_reader r;
	struct state_section s;
	uint8_t bytes[3];

	state_writer_init(&w);
	state_begin(&w, "serial8250", 0, 1);
	state_put_u8(&w, 0xab);
	state_put_u16(&w, 0x1234);
	state_put_u32(&w, 0xdeadbeef);
	state_put_u64(&w, 0x0102030405060708ull);
	state_put_bytes(&w, "xyz", 3);
	state_end(&w);
	state_begin(&w, "rtc", 2, 7);
	state_end(&w);
	REQUIRE(state_writer_error(&w) == 0);

	state_reader_init(&r, w.buf, w.len);
	REQUIRE(state_next_section(&r, &s) == 1);
	CHECK(strcmp(s.tag, "serial8250") == 0);
	CHECK_EQ(s.instance, 0);
	CHECK_EQ(s.version, 1);
	CHECK_EQ(state_get_u8(&s.payload), 0xab);
	CHECK_EQ(state_get_u16(&s.payload), 0x1234);
	CHECK_EQ(state_get_u32(&s.payload), 0xdeadbeef);
	CHECK_EQ(state_get_u64(&s.payload), 0x0102030405060708ull);
	state_get_bytes(&s.payload, bytes, 3);
	CHECK(memcmp(bytes, "xyz", 3) == 0);
	CHECK_EQ(state_done(&s.payload), 0);
	REQUIRE(state_next_section(&r, &s) == 1);
	CHECK(strcmp(s.tag, "rtc") == 0);
	CHECK_EQ(s.instance, 2);
	CHECK_EQ(s.version, 7);
	CHECK_EQ(state_next_section(&r, &s), 0);
	state_writer_free(&w);
}

TEST(state_reader_refuses_truncated_input)
{
	struct state_writer w;
	struct state_reader r;
	struct state_section s;

	state_writer_init(&w);
	state_begin(&w, "dev", 0, 1);
	state_put_u64(&w, 42);
	state_end(&w);
	/* every strict prefix is refused: no partial section is ever returned */
	for (size_t cut = 1; cut < w.len; cut++) {
		state_reader_init(&r, w.buf, cut);
		CHECK_EQ(state_next_section(&r, &s), -EINVAL);
	}
	state_writer_free(&w);
}

TEST(state_get_past_end_is_sticky_error)
{
	uint8_t buf[3] = { 1, 2, 3 };
	struct state_reader r;

	state_reader_init(&r, buf, sizeof(buf));
	CHECK_EQ(state_get_u16(&r), 0x0201);
	CHECK_EQ(state_get_u32(&r), 0);
	CHECK_EQ(state_error(&r), -EINVAL);
	CHECK_EQ(state_get_u8(&r), 0); /* still failing, even though a byte is left */
	state_reader_init(&r, buf, sizeof(buf));
	state_get_u8(&r);
	CHECK_EQ(state_done(&r), -EINVAL); /* bytes left over */
}

TEST(state_writer_refuses_nested_sections)
{
	struct state_writer w;

	state_writer_init(&w);
	state_begin(&w, "a", 0, 1);
	state_begin(&w, "b", 0, 1);
	CHECK_EQ(state_writer_error(&w), -EINVAL);
	state_writer_free(&w);
}

// clang-format off
HARNESS_MAIN(
	HARNESS_T(state_roundtrips_fields_in_sections)
	HARNESS_T(state_reader_refuses_truncated_input)
	HARNESS_T(state_get_past_end_is_sticky_error)
	HARNESS_T(state_writer_refuses_nested_sections)
)
// clang-format on
