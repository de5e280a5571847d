/* test_state.c — section writer/reader: round trip, truncation, leftovers, CRCs; CRC-32C itself. */
#include <errno.h>
#include <stdlib.h>

#include "harness.h"
#include "base/state.h"
#include "util/crc32c.h"

TEST(crc32c_matches_known_vectors)
{
	static const uint8_t zeros[32], ones[32] = { [0 ... 31] = 0xff };
	uint8_t inc[32], big[1031];

	for (int i = 0; i < 32; i++)
		inc[i] = (uint8_t)i;
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 7 + 3);
	/* RFC 3720 (iSCSI) appendix B.4 */
	CHECK_EQ(crc32c(0, "123456789", 9), 0xE3069283);
	CHECK_EQ(crc32c(0, zeros, 32), 0x8A9136AA);
	CHECK_EQ(crc32c(0, ones, 32), 0x62A8AB43);
	CHECK_EQ(crc32c(0, inc, 32), 0x46DD794E);
	CHECK_EQ(crc32c(0, NULL, 0), 0);
	CHECK_EQ(crc32c_portable(0, "123456789", 9), 0xE3069283);
	CHECK_EQ(crc32c_portable(0, inc, 32), 0x46DD794E);
	/* chaining, at every split and every alignment, and both implementations agree */
	for (size_t split = 0; split <= sizeof(big); split += 13) {
		uint32_t whole = crc32c(0, big, sizeof(big));

		CHECK_EQ(crc32c(crc32c(0, big, split), big + split, sizeof(big) - split), whole);
		CHECK_EQ(crc32c_portable(crc32c(0, big, split), big + split, sizeof(big) - split),
			 whole);
	}
	for (size_t off = 0; off < 9; off++)
		CHECK_EQ(crc32c(0, big + off, 1000), crc32c_portable(0, big + off, 1000));
}

TEST(crc32c_copy_copies_and_sums_in_one_pass)
{
	uint8_t src[1031], dst[1040];

	for (size_t i = 0; i < sizeof(src); i++)
		src[i] = (uint8_t)(i * 13 + 1);
	for (size_t off = 0; off < 9; off++) {
		for (size_t len = 0; len < sizeof(src) - 8; len += 97) {
			memset(dst, 0xee, sizeof(dst));
			CHECK_EQ(crc32c_copy(5, dst + off, src + off, len),
				 crc32c(5, src + off, len));
			CHECK(!memcmp(dst + off, src + off, len));
			CHECK(dst[off + len] == 0xee); /* nothing past the end */
		}
	}
}

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

TEST(state_section_carries_crc_of_header_and_payload)
{
	struct state_writer w;
	struct state_reader r;
	struct state_section s;
	uint32_t crc;

	state_writer_init(&w);
	state_begin(&w, "vcpu", 1, 3);
	state_put_u32(&w, 0x11223344);
	state_end(&w);
	REQUIRE(w.len == STATE_SECTION_HDR_LEN + 4 + STATE_SECTION_CRC_LEN);
	crc = crc32c(0, w.buf, STATE_SECTION_HDR_LEN + 4);
	CHECK_EQ(w.buf[w.len - 4] | w.buf[w.len - 3] << 8 | w.buf[w.len - 2] << 16 |
			 (uint32_t)w.buf[w.len - 1] << 24,
		 crc);
	state_reader_init(&r, w.buf, w.len);
	CHECK_EQ(state_next_section(&r, &s), 1);
	CHECK_EQ(state_get_u32(&s.payload), 0x11223344);
	state_writer_free(&w);
}

TEST(state_reader_detects_crc_mismatch)
{
	struct state_writer w;
	struct state_reader r;
	struct state_section s;

	state_writer_init(&w);
	state_begin(&w, "rtc", 0, 1);
	state_put_u64(&w, 7);
	state_end(&w);
	state_begin(&w, "vcpu", 1, 2);
	state_put_u64(&w, 42);
	state_put_u32(&w, 43);
	state_end(&w);
	REQUIRE(state_writer_error(&w) == 0);
	size_t first = STATE_SECTION_HDR_LEN + 8 + STATE_SECTION_CRC_LEN;

	/* A flipped bit anywhere in the second section but its length field is a CRC
	 * mismatch, reported with the section's tag and instance; the first still reads. */
	for (size_t i = first; i < w.len; i++) {
		if (i >= first + STATE_TAG_LEN + 8 && i < first + STATE_SECTION_HDR_LEN)
			continue; /* the length: may read as truncation instead, below */
		uint8_t *copy = malloc(w.len);

		REQUIRE(copy);
		memcpy(copy, w.buf, w.len);
		copy[i] ^= 0x10;
		state_reader_init(&r, copy, w.len);
		CHECK_EQ(state_next_section(&r, &s), 1);
		CHECK_EQ(state_next_section(&r, &s), -EBADMSG);
		if (i >= first + STATE_TAG_LEN) {
			CHECK(strcmp(s.tag, "vcpu") == 0);
			CHECK_EQ(s.instance, i < first + STATE_TAG_LEN + 4
						     ? 1 ^ (0x10 << 8 * (i - first - 16))
						     : 1);
		}
		CHECK_EQ(state_error(&r), -EBADMSG); /* sticky */
		CHECK(strcmp(state_section_error(-EBADMSG), "checksum mismatch") == 0);
		free(copy);
	}
	/* A length grown past the end is truncation, shrunk is a mismatch: both refused. */
	w.buf[first + STATE_TAG_LEN + 8] += 1;
	state_reader_init(&r, w.buf, w.len);
	CHECK_EQ(state_next_section(&r, &s), 1);
	CHECK_EQ(state_next_section(&r, &s), -EINVAL);
	CHECK(strcmp(s.tag, "vcpu") == 0);
	CHECK(strcmp(state_section_error(-EINVAL), "truncated") == 0);
	w.buf[first + STATE_TAG_LEN + 8] -= 2;
	state_reader_init(&r, w.buf, w.len);
	CHECK_EQ(state_next_section(&r, &s), 1);
	CHECK(state_next_section(&r, &s) < 0);
	state_writer_free(&w);
}

// clang-format off
HARNESS_MAIN(
	HARNESS_T(crc32c_matches_known_vectors)
	HARNESS_T(crc32c_copy_copies_and_sums_in_one_pass)
	HARNESS_T(state_roundtrips_fields_in_sections)
	HARNESS_T(state_reader_refuses_truncated_input)
	HARNESS_T(state_get_past_end_is_sticky_error)
	HARNESS_T(state_writer_refuses_nested_sections)
	HARNESS_T(state_section_carries_crc_of_header_and_payload)
	HARNESS_T(state_reader_detects_crc_mismatch)
)
// clang-format on
