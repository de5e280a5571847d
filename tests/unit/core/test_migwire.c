/*
 * test_migwire.c — the live-migration stream: every message through a real
 * socket and back, then frames cut, corrupted and sent out of order, and
 * pages aimed outside guest RAM, each refused with a line naming the problem;
 * the migration address syntax. With MIGWIRE_SEED_DIR set it also writes the
 * fuzz seeds (tests/fuzz/corpus/migwire/) there.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"
#include "mem/gmem.h"
#include "snapshot/migwire.h"
#include "vm/vm_migrate.h"

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}

/* A whole frame of @type around @payload, as migwire_send writes it. */
static size_t frame(uint8_t *out, uint32_t type, const void *payload, uint32_t len)
{
	migwire_put_header(out, type, len);
	if (len)
		memcpy(out + MIGWIRE_FRAME_HEADER, payload, len);
	put32(out + MIGWIRE_FRAME_HEADER + len, migwire_crc(out, payload, len));
	return MIGWIRE_FRAME_HEADER + len + MIGWIRE_FRAME_TRAILER;
}

static size_t pages_payload(uint8_t *p, uint32_t region, uint64_t first, uint32_t count,
			    uint8_t fill)
{
	migwire_put_pages(p, region, first, count);
	memset(p + MIGWIRE_PAGES_HEADER, fill, (size_t)count * GMEM_PAGE_SIZE);
	return MIGWIRE_PAGES_HEADER + (size_t)count * GMEM_PAGE_SIZE;
}

static void write_seed(const char *name, const void *buf, size_t len)
{
	const char *dir = getenv("MIGWIRE_SEED_DIR");
	char path[512];
	FILE *fp;

	if (!dir)
		return;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fp = fopen(path, "wb");
	REQUIRE(fp);
	CHECK_EQ(fwrite(buf, 1, len, fp), len);
	fclose(fp);
}

TEST(migwire_every_message_goes_through_a_socket_and_back)
{
	static const uint32_t types[] = { MIGWIRE_ACCEPT, MIGWIRE_PAGES, MIGWIRE_ZEROS,
					  MIGWIRE_STATE,  MIGWIRE_READY, MIGWIRE_GO,
					  MIGWIRE_DONE,	  MIGWIRE_ERROR, MIGWIRE_SYNC };
	static uint8_t payload[MIGWIRE_PAGES_HEADER + 2 * GMEM_PAGE_SIZE];
	struct migwire_buf b = { 0 };
	char err[256];
	int sv[2];

	REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	for (unsigned i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		uint32_t t = types[i];
		size_t len = t == MIGWIRE_PAGES	  ? pages_payload(payload, 0, 7, 2, (uint8_t)i)
			     : t == MIGWIRE_ZEROS ? MIGWIRE_ZEROS_LEN
			     : t == MIGWIRE_STATE ? 100
			     : t == MIGWIRE_ERROR ? 5
			     : t == MIGWIRE_GO	  ? MIGWIRE_GO_LEN
						  : 0;
		struct migwire_msg m;

		if (t == MIGWIRE_ERROR)
			memcpy(payload, "nope!", 5);
		/* split in two parts, as the sender sends a header and a page run */
		CHECK_EQ(migwire_send(sv[0], t, payload, len / 2, payload + len / 2, len - len / 2,
				      err, sizeof(err)),
			 0);
		CHECK_EQ(migwire_recv(sv[1], &b, &m, 1000, err, sizeof(err)), 0);
		CHECK_EQ(m.type, t);
		CHECK_EQ(m.len, len);
		CHECK(len == 0 || !memcmp(m.payload, payload, len));
	}
	migwire_buf_free(&b);
	close(sv[0]);
	close(sv[1]);
}

TEST(migwire_parse_wants_more_for_every_cut_and_refuses_every_flipped_byte)
{
	static uint8_t payload[MIGWIRE_PAGES_HEADER + GMEM_PAGE_SIZE];
	static uint8_t buf[sizeof(payload) + 16];
	struct migwire_msg m;
	size_t used, n;
	char err[256];

	n = frame(buf, MIGWIRE_PAGES, payload, (uint32_t)pages_payload(payload, 1, 3, 1, 0xab));
	CHECK_EQ(migwire_parse(buf, n, &m, &used, err, sizeof(err)), 0);
	CHECK_EQ(used, n);
	for (size_t cut = 0; cut < n; cut += cut < 64 ? 1 : 509)
		CHECK_EQ(migwire_parse(buf, cut, &m, &used, err, sizeof(err)), -EAGAIN);
	for (size_t at = 0; at < n; at += at < 64 ? 1 : 37) {
		for (unsigned bitno = 0; bitno < 8; bitno += 3) {
			int rc;

			buf[at] ^= (uint8_t)(1u << bitno);
			err[0] = 0;
			rc = migwire_parse(buf, n, &m, &used, err, sizeof(err));
			/* a longer length wants more bytes; anything else is refused with a reason
			 */
			CHECK(rc == -EAGAIN || (rc == -EINVAL && err[0]));
			buf[at] ^= (uint8_t)(1u << bitno);
		}
	}
	write_seed("pages", buf, n);
}

TEST(migwire_check_header_refuses_unknown_types_and_wrong_lengths)
{
	static const struct {
		uint32_t type, len;
	} bad[] = {
		{ 0, 0 },
		{ 99, 4 },
		{ MIGWIRE_GO, 0 }, /* protocol 2's empty GO */
		{ MIGWIRE_GO, 1 },
		{ MIGWIRE_GO, MIGWIRE_GO_LEN + 1 },
		{ MIGWIRE_READY, 4 },
		{ MIGWIRE_ZEROS, MIGWIRE_ZEROS_LEN - 1 },
		{ MIGWIRE_PAGES, MIGWIRE_PAGES_HEADER },
		{ MIGWIRE_PAGES, MIGWIRE_PAGES_HEADER + (MIGWIRE_MAX_PAGES + 1) * GMEM_PAGE_SIZE },
		{ MIGWIRE_HELLO, 11 },
		{ MIGWIRE_HELLO, MIGWIRE_MAX_HELLO + 1 },
		{ MIGWIRE_STATE, 0 },
		{ MIGWIRE_STATE, MIGWIRE_MAX_STATE + 1 },
		{ MIGWIRE_ERROR, 0 },
		{ MIGWIRE_ERROR, MIGWIRE_MAX_REASON + 1 },
	};
	uint8_t hdr[MIGWIRE_FRAME_HEADER];
	uint32_t t, l;
	char err[256];

	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = 0;
		migwire_put_header(hdr, bad[i].type, bad[i].len);
		CHECK_EQ(migwire_check_header(hdr, &t, &l, err, sizeof(err)), -EINVAL);
		CHECK(err[0] != 0);
	}
	migwire_put_header(hdr, MIGWIRE_ZEROS, MIGWIRE_ZEROS_LEN);
	CHECK_EQ(migwire_check_header(hdr, &t, &l, err, sizeof(err)), 0);
	CHECK_EQ(strcmp(migwire_type_name(77), "unknown"), 0);
}

TEST(migwire_decode_pages_refuses_counts_that_do_not_match)
{
	static uint8_t payload[MIGWIRE_PAGES_HEADER + 2 * GMEM_PAGE_SIZE];
	struct migwire_msg m = { .type = MIGWIRE_PAGES, .payload = payload };
	struct migwire_pages p;
	uint8_t z[MIGWIRE_ZEROS_LEN];
	char err[256];

	m.len = (uint32_t)pages_payload(payload, 0, 0, 2, 1);
	CHECK_EQ(migwire_decode_pages(&m, &p, err, sizeof(err)), 0);
	CHECK_EQ(p.count, 2);
	put32(payload + 12, 3); /* says 3, carries 2 */
	CHECK_EQ(migwire_decode_pages(&m, &p, err, sizeof(err)), -EINVAL);
	put32(payload + 12, 0);
	CHECK_EQ(migwire_decode_pages(&m, &p, err, sizeof(err)), -EINVAL);
	put32(z, 0);
	put64(z + 4, 5);
	put64(z + 12, 0);
	m = (struct migwire_msg){ .type = MIGWIRE_ZEROS, .len = sizeof(z), .payload = z };
	CHECK_EQ(migwire_decode_pages(&m, &p, err, sizeof(err)), -EINVAL);
	put64(z + 12, 9);
	CHECK_EQ(migwire_decode_pages(&m, &p, err, sizeof(err)), 0);
	CHECK(p.data == NULL && p.first == 5 && p.count == 9);
}

TEST(migwire_decode_hello_refuses_another_protocol_and_magic)
{
	uint8_t hello[20];
	struct migwire_msg m = { .type = MIGWIRE_HELLO, .len = sizeof(hello), .payload = hello };
	const uint8_t *snap;
	size_t snap_len;
	char err[256];

	memcpy(hello, MIGWIRE_HELLO_MAGIC, 8);
	put32(hello + 8, MIGWIRE_PROTOCOL);
	CHECK_EQ(migwire_decode_hello(&m, &snap, &snap_len, err, sizeof(err)), 0);
	CHECK(snap == hello + 12 && snap_len == 8);
	put32(hello + 8, MIGWIRE_PROTOCOL + 1);
	CHECK_EQ(migwire_decode_hello(&m, &snap, &snap_len, err, sizeof(err)), -EPROTO);
	CHECK(strstr(err, "protocol") != NULL);
	put32(hello + 8, MIGWIRE_PROTOCOL);
	hello[0] = 'X';
	CHECK_EQ(migwire_decode_hello(&m, &snap, &snap_len, err, sizeof(err)), -EINVAL);
}

TEST(migwire_expect_takes_messages_only_in_the_protocol_order)
{
	enum migwire_phase ph = MIGWIRE_WANT_HELLO;
	char err[256];

	CHECK_EQ(migwire_expect(&ph, MIGWIRE_PAGES, err, sizeof(err)), -EPROTO);
	CHECK_EQ(migwire_expect(&ph, MIGWIRE_GO, err, sizeof(err)), -EPROTO);
	CHECK_EQ(migwire_expect(&ph, MIGWIRE_HELLO, err, sizeof(err)), 0);
	CHECK_EQ(migwire_expect(&ph, MIGWIRE_HELLO, err, sizeof(err)), -EPROTO);
	CHECK_EQ(migwire_expect(&ph, MIGWIRE_GO, err, sizeof(err)), -EPROTO);
	CHECK_EQ(migwire_expect(&ph, MIGWIRE_PAGES, err, sizeof(err)), 0);
	CHECK_EQ(migwire_expect(&ph, MIGWIRE_ZEROS, err, sizeof(err)), 0);
	CHECK_EQ(migwire_expect(&ph, MIGWIRE_SYNC, err, sizeof(err)), 0);
	CHECK_EQ(ph, MIGWIRE_WANT_MEMORY);
	CHECK_EQ(migwire_expect(&ph, MIGWIRE_STATE, err, sizeof(err)), 0);
	CHECK_EQ(ph, MIGWIRE_WANT_GO);
	CHECK_EQ(migwire_expect(&ph, MIGWIRE_SYNC, err, sizeof(err)), -EPROTO);
	CHECK_EQ(migwire_expect(&ph, MIGWIRE_PAGES, err, sizeof(err)), -EPROTO);
	CHECK_EQ(migwire_expect(&ph, MIGWIRE_STATE, err, sizeof(err)), -EPROTO);
	CHECK_EQ(migwire_expect(&ph, MIGWIRE_ERROR, err, sizeof(err)), 0);
	CHECK_EQ(ph, MIGWIRE_WANT_GO);
	CHECK_EQ(migwire_expect(&ph, MIGWIRE_GO, err, sizeof(err)), 0);
	CHECK_EQ(ph, MIGWIRE_FINISHED);
	CHECK_EQ(migwire_expect(&ph, MIGWIRE_PAGES, err, sizeof(err)), -EPROTO);
	CHECK(strstr(err, "after GO") != NULL);
}

TEST(migwire_apply_pages_writes_only_inside_the_named_region)
{
	static uint8_t data[3 * GMEM_PAGE_SIZE];
	struct gmem gm;
	struct migwire_pages p;
	char err[256];
	uint8_t *hva;

	gmem_init(&gm);
	REQUIRE(gmem_add_ram(&gm, 0, 16 * GMEM_PAGE_SIZE) == 0);
	hva = gm.regions[0].hva;
	memset(data, 0x5a, sizeof(data));
	p = (struct migwire_pages){ .region = 0, .first = 14, .count = 2, .data = data };
	CHECK_EQ(migwire_apply_pages(&gm, &p, err, sizeof(err)), 0);
	CHECK(hva[14 * GMEM_PAGE_SIZE] == 0x5a && hva[16 * GMEM_PAGE_SIZE - 1] == 0x5a);
	CHECK(hva[13 * GMEM_PAGE_SIZE + 4095] == 0);
	p.first = 15; /* one page past the end */
	CHECK_EQ(migwire_apply_pages(&gm, &p, err, sizeof(err)), -EINVAL);
	p.first = UINT64_MAX - 1; /* first + count wraps */
	p.count = 3;
	CHECK_EQ(migwire_apply_pages(&gm, &p, err, sizeof(err)), -EINVAL);
	p = (struct migwire_pages){ .region = 1, .first = 0, .count = 1, .data = data };
	CHECK_EQ(migwire_apply_pages(&gm, &p, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "region 1") != NULL);
	/* ZEROS: the pages read back as zero */
	p = (struct migwire_pages){ .region = 0, .first = 14, .count = 2 };
	CHECK_EQ(migwire_apply_pages(&gm, &p, err, sizeof(err)), 0);
	CHECK(hva[14 * GMEM_PAGE_SIZE] == 0 && hva[16 * GMEM_PAGE_SIZE - 1] == 0);
	gmem_destroy(&gm);
}

TEST(migwire_recv_reports_a_silent_a_closed_and_a_lying_peer)
{
	struct migwire_buf b = { 0 };
	struct migwire_msg m;
	uint8_t buf[64];
	char err[256];
	int sv[2];

	REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	CHECK_EQ(migwire_recv(sv[1], &b, &m, 50, err, sizeof(err)), -ETIMEDOUT);
	CHECK(strstr(err, "sent nothing") != NULL);
	/* a frame whose CRC is wrong */
	frame(buf, MIGWIRE_ERROR, "abc", 3);
	buf[MIGWIRE_FRAME_HEADER] ^= 1;
	REQUIRE(write(sv[0], buf, MIGWIRE_FRAME_HEADER + 3 + MIGWIRE_FRAME_TRAILER) > 0);
	CHECK_EQ(migwire_recv(sv[1], &b, &m, 1000, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "checksum") != NULL);
	/* half a frame, then the peer goes */
	frame(buf, MIGWIRE_ERROR, "abc", 3);
	REQUIRE(write(sv[0], buf, 10) == 10);
	close(sv[0]);
	CHECK_EQ(migwire_recv(sv[1], &b, &m, 1000, err, sizeof(err)), -ECONNRESET);
	CHECK_EQ(migwire_send(sv[1], MIGWIRE_GO, NULL, 0, NULL, 0, err, sizeof(err)), -EPIPE);
	migwire_buf_free(&b);
	close(sv[1]);
}

TEST(migwire_recv_ram_lands_pages_in_guest_ram_and_checks_them_there)
{
	static uint8_t payload[MIGWIRE_PAGES_HEADER + 2 * GMEM_PAGE_SIZE], src[2 * GMEM_PAGE_SIZE],
		bounce[2 * GMEM_PAGE_SIZE], buf[sizeof(payload) + 16];
	struct migwire_buf b = { 0 };
	struct migwire_msg m;
	struct gmem gm;
	bool in_ram;
	char err[256];
	uint8_t *hva;
	size_t n;
	int sv[2];

	gmem_init(&gm);
	REQUIRE(gmem_add_ram(&gm, 0, 16 * GMEM_PAGE_SIZE) == 0);
	hva = gm.regions[0].hva;
	REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	/* sent through the fused copy, received in place: the pages are in RAM, nowhere else */
	memset(src, 0x3c, sizeof(src));
	migwire_put_pages(payload, 0, 3, 2);
	CHECK_EQ(migwire_send_copy(sv[0], MIGWIRE_PAGES, payload, MIGWIRE_PAGES_HEADER, bounce, src,
				   sizeof(src), err, sizeof(err)),
		 0);
	CHECK_EQ(migwire_recv_ram(sv[1], &b, &gm, &m, &in_ram, 1000, err, sizeof(err)), 0);
	CHECK(in_ram && m.type == MIGWIRE_PAGES && m.len == sizeof(payload));
	CHECK(hva[3 * GMEM_PAGE_SIZE] == 0x3c && hva[5 * GMEM_PAGE_SIZE - 1] == 0x3c);
	CHECK(hva[5 * GMEM_PAGE_SIZE] == 0 && hva[3 * GMEM_PAGE_SIZE - 1] == 0);
	CHECK(!memcmp(bounce, src, sizeof(src)));
	/* other messages, and PAGES without a RAM to land in, come whole as from migwire_recv */
	CHECK_EQ(migwire_send(sv[0], MIGWIRE_READY, NULL, 0, NULL, 0, err, sizeof(err)), 0);
	CHECK_EQ(migwire_recv_ram(sv[1], &b, &gm, &m, &in_ram, 1000, err, sizeof(err)), 0);
	CHECK(!in_ram && m.type == MIGWIRE_READY);
	n = frame(buf, MIGWIRE_PAGES, payload, (uint32_t)pages_payload(payload, 0, 1, 1, 7));
	REQUIRE(write(sv[0], buf, n) == (ssize_t)n);
	CHECK_EQ(migwire_recv_ram(sv[1], &b, NULL, &m, &in_ram, 1000, err, sizeof(err)), 0);
	CHECK(!in_ram && m.payload[MIGWIRE_PAGES_HEADER] == 7 && hva[GMEM_PAGE_SIZE] == 0);
	/* a flipped byte in the pages: refused after they landed */
	n = frame(buf, MIGWIRE_PAGES, payload, (uint32_t)pages_payload(payload, 0, 8, 1, 9));
	buf[MIGWIRE_FRAME_HEADER + MIGWIRE_PAGES_HEADER + 100] ^= 1;
	REQUIRE(write(sv[0], buf, n) == (ssize_t)n);
	CHECK_EQ(migwire_recv_ram(sv[1], &b, &gm, &m, &in_ram, 1000, err, sizeof(err)), -EINVAL);
	CHECK(!in_ram && strstr(err, "checksum") != NULL);
	/* pages aimed past the end of RAM: refused before a byte of them is read */
	n = frame(buf, MIGWIRE_PAGES, payload, (uint32_t)pages_payload(payload, 0, 15, 2, 9));
	REQUIRE(write(sv[0], buf, n) == (ssize_t)n);
	CHECK_EQ(migwire_recv_ram(sv[1], &b, &gm, &m, &in_ram, 1000, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "outside region 0") != NULL);
	CHECK(hva[15 * GMEM_PAGE_SIZE] == 0);
	migwire_buf_free(&b);
	close(sv[0]);
	close(sv[1]);
	gmem_destroy(&gm);
}

TEST(vm_migrate_addr_check_takes_tcp_and_unix_addresses_only)
{
	static const char *const good[] = { "tcp:127.0.0.1:4444", "tcp:[::1]:1", "unix:/tmp/m.sock",
					    "tcp:10.0.0.2:65535" };
	static const char *const bad[] = { "",
					   "127.0.0.1:4444",
					   "tcp:127.0.0.1",
					   "tcp:127.0.0.1:0",
					   "tcp:127.0.0.1:65536",
					   "tcp:127.0.0.1:44x",
					   "tcp:localhost:4444",
					   "tcp::4444",
					   "tcp:[::1:4444",
					   "unix:",
					   "udp:1.2.3.4:5" };
	char err[256];

	for (unsigned i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		CHECK_EQ(vm_migrate_addr_check(good[i], err, sizeof(err)), 0);
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = 0;
		CHECK_EQ(vm_migrate_addr_check(bad[i], err, sizeof(err)), -EINVAL);
		CHECK(strstr(err, "migration address") != NULL);
	}
}

/* The fuzz seeds: a destination's whole exchange, as one stream. */
TEST(migwire_writes_a_whole_stream_as_a_seed)
{
	static uint8_t stream[MIGWIRE_PAGES_HEADER + GMEM_PAGE_SIZE + 512];
	static uint8_t payload[MIGWIRE_PAGES_HEADER + GMEM_PAGE_SIZE];
	uint8_t hello[MIGWIRE_HELLO_HEAD], z[MIGWIRE_ZEROS_LEN];
	size_t n = 0;

	migwire_put_hello(hello);
	n += frame(stream + n, MIGWIRE_HELLO, hello, sizeof(hello));
	n += frame(stream + n, MIGWIRE_PAGES, payload,
		   (uint32_t)pages_payload(payload, 0, 1, 1, 0x11));
	migwire_put_zeros(z, 0, 2, 3);
	n += frame(stream + n, MIGWIRE_ZEROS, z, sizeof(z));
	n += frame(stream + n, MIGWIRE_SYNC, NULL, 0);
	n += frame(stream + n, MIGWIRE_STATE, "x", 1);
	n += frame(stream + n, MIGWIRE_GO, "\1\0\0\0", MIGWIRE_GO_LEN);
	CHECK(n <= sizeof(stream));
	write_seed("stream", stream, n);
}

// clang-format off
HARNESS_MAIN(
	HARNESS_T(migwire_every_message_goes_through_a_socket_and_back)
	HARNESS_T(migwire_parse_wants_more_for_every_cut_and_refuses_every_flipped_byte)
	HARNESS_T(migwire_check_header_refuses_unknown_types_and_wrong_lengths)
	HARNESS_T(migwire_decode_pages_refuses_counts_that_do_not_match)
	HARNESS_T(migwire_decode_hello_refuses_another_protocol_and_magic)
	HARNESS_T(migwire_expect_takes_messages_only_in_the_protocol_order)
	HARNESS_T(migwire_apply_pages_writes_only_inside_the_named_region)
	HARNESS_T(migwire_recv_reports_a_silent_a_closed_and_a_lying_peer)
	HARNESS_T(migwire_recv_ram_lands_pages_in_guest_ram_and_checks_them_there)
	HARNESS_T(vm_migrate_addr_check_takes_tcp_and_unix_addresses_only)
	HARNESS_T(migwire_writes_a_whole_stream_as_a_seed)
)
// clang-format on
