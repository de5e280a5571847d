/*
 * test_vm_snapshot.c — what a restore checks before any VM exists, on a real
 * state file (data/ticker-2cpu.state: the ticker guest on 2 vCPUs, paused and
 * saved by vmon): it is accepted whole; a truncation at every section
 * boundary, a flipped byte in every section, malformed configuration, vCPU
 * and VM payloads, and a snapshot of another CPU are each refused with their
 * line. No /dev/kvm needed: all of it happens before KVM is opened.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/state.h"
#include "harness.h"
#include "snapshot/snapfile.h"
#include "vm/vm_snapshot.h"

static uint8_t *file;
static size_t file_len;

static void load_fixture(void)
{
	static uint8_t buf[1 << 20];
	int fd = open(VMON_TEST_DATA "/ticker-2cpu.state", O_RDONLY);
	ssize_t n;

	REQUIRE(fd >= 0);
	n = read(fd, buf, sizeof(buf));
	close(fd);
	REQUIRE(n > 0);
	file = buf;
	file_len = (size_t)n;
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p)
{
	return le32(p) | (uint64_t)le32(p + 4) << 32;
}

/* Section boundaries of the fixture: offsets[i] is where section i starts; the last is the trailer.
 */
static unsigned sections(size_t *offsets, char (*tags)[17], unsigned max)
{
	size_t pos = le32(file + 12); /* header_length */
	unsigned n = 0;

	while (pos + 4 < file_len && n < max) {
		offsets[n] = pos;
		memcpy(tags[n], file + pos, 16);
		tags[n][16] = '\0';
		pos += STATE_SECTION_HDR_LEN + le64(file + pos + 24) + STATE_SECTION_CRC_LEN;
		n++;
	}
	offsets[n] = pos;
	return n;
}

static int check_copy(const uint8_t *buf, size_t len, char *err, size_t err_len)
{
	uint8_t *copy = malloc(len ? len : 1);
	int ret;

	memcpy(copy, buf, len);
	err[0] = '\0';
	ret = vm_snapshot_check(copy, len, err, err_len);
	free(copy);
	return ret;
}

TEST(vm_snapshot_check_accepts_a_real_state_file)
{
	size_t off[64];
	char tags[64][17], err[256] = "";
	unsigned n;

	load_fixture();
	n = sections(off, tags, 63);
	CHECK_EQ(check_copy(file, file_len, err, sizeof(err)), 0);
	CHECK(n >= 5);
	CHECK(!strcmp(tags[0], "vm_config"));
	CHECK(!strcmp(tags[1], "vcpu") && !strcmp(tags[2], "vcpu"));
	CHECK(!strcmp(tags[3], "kvm_vm"));
	CHECK_EQ(off[n], file_len - 4);
	if (err[0])
		printf("#   %s\n", err);
}

TEST(vm_snapshot_check_refuses_a_truncation_at_every_section_boundary)
{
	size_t off[64];
	char tags[64][17], err[256];
	unsigned n;

	load_fixture();
	n = sections(off, tags, 63);
	for (unsigned i = 0; i <= n; i++) {
		for (size_t cut = off[i] - 1; cut <= off[i] + 1; cut++) {
			int ret = check_copy(file, cut, err, sizeof(err));

			CHECK(ret < 0);
			CHECK(err[0] != '\0');
			if (ret >= 0 || !err[0])
				printf("#   cut at %zu (section %u '%s') accepted\n", cut, i,
				       i < n ? tags[i] : "trailer");
		}
	}
}

TEST(vm_snapshot_check_refuses_a_flipped_byte_in_every_section)
{
	static uint8_t copy[1 << 20];
	size_t off[64];
	char tags[64][17], err[256];
	unsigned n;

	load_fixture();
	n = sections(off, tags, 63);
	for (unsigned i = 0; i < n; i++) {
		size_t at = off[i] + (off[i + 1] - off[i]) / 2;

		memcpy(copy, file, file_len);
		copy[at] ^= 0x40;
		CHECK(check_copy(copy, file_len, err, sizeof(err)) < 0);
		CHECK(strstr(err, "checksum") != NULL);
		if (!strstr(err, "checksum"))
			printf("#   byte %zu of section '%s': \"%s\"\n", at, tags[i], err);
	}
}

/* The payload of the fixture's section @idx. */
static const uint8_t *payload(unsigned idx, size_t *len)
{
	size_t off[64];
	char tags[64][17];

	sections(off, tags, 63);
	*len = le64(file + off[idx] + 24);
	return file + off[idx] + STATE_SECTION_HDR_LEN;
}

TEST(vm_snapshot_decoders_refuse_malformed_payloads)
{
	static uint8_t buf[1 << 16];
	static const char *const tags[] = { "vm_config", "vcpu", "vcpu", "kvm_vm" };
	size_t len;
	const uint8_t *p;

	load_fixture();
	for (unsigned s = 0; s < 4; s++) {
		p = payload(s, &len);
		REQUIRE(len < sizeof(buf));
		CHECK_EQ(vm_snapshot_decode_section(tags[s], 1, p, len), 0);
		CHECK(vm_snapshot_decode_section(tags[s], 99, p, len) < 0); /* a newer version */
		for (size_t cut = 0; cut < len; cut += (len > 64 ? len / 64 : 1))
			CHECK(vm_snapshot_decode_section(tags[s], 1, p, cut) < 0);
		memcpy(buf, p, len);
		buf[len] = 0;
		CHECK(vm_snapshot_decode_section(tags[s], 1, buf, len + 1) <
		      0); /* a byte too many */
	}
	/* vm_config: vCPUs 0 and 65, a console kind that does not exist, a string without its end
	 */
	p = payload(0, &len);
	memcpy(buf, p, len);
	memset(buf, 0, 4);
	CHECK(vm_snapshot_decode_section("vm_config", 1, buf, len) < 0);
	buf[0] = 65;
	CHECK(vm_snapshot_decode_section("vm_config", 1, buf, len) < 0);
	memcpy(buf, p, len);
	buf[12] = 7; /* console, after cpus u32 and mem_bytes u64 */
	CHECK(vm_snapshot_decode_section("vm_config", 1, buf, len) < 0);
	memcpy(buf, p, len);
	buf[16] = 0xff; /* kernel_path's length, u32 after its presence byte: huge */
	buf[17] = 0xff;
	CHECK(vm_snapshot_decode_section("vm_config", 1, buf, len) < 0);
	CHECK(vm_snapshot_decode_section("rtc_cmos", 1, buf, len) < 0); /* not a restore decoder */
}

static void w_str(struct state_writer *w, const char *s)
{
	state_put_u8(w, 1);
	state_put_u32(w, (uint32_t)strlen(s));
	state_put_bytes(w, s, strlen(s));
}

/* A version-2 "vm_config" payload: one disk and one NIC, each limiter's refill time @refill. */
static void v2_config(struct state_writer *w, uint64_t refill)
{
	uint8_t mac[6] = { 2, 0, 0, 0, 0, 1 };

	state_writer_init(w);
	state_put_u32(w, 1);
	state_put_u64(w, 64ull << 20);
	state_put_u8(w, 0);
	state_put_u8(w, 0);
	state_put_u8(w, 0);
	w_str(w, "/k");
	w_str(w, "console=ttyS0");
	state_put_u32(w, 1);
	w_str(w, "rootfs");
	w_str(w, "/r.img");
	state_put_u8(w, 0);
	state_put_u8(w, 1);
	for (unsigned i = 0; i < 6; i++) /* bandwidth, then ops: size, burst, refill */
		state_put_u64(w, i % 3 == 2 ? refill : 100);
	state_put_u32(w, 1);
	w_str(w, "eth0");
	w_str(w, "tap0");
	state_put_bytes(w, mac, 6);
	state_put_u8(w, 1);
	state_put_u8(w, 0);
	for (unsigned i = 0; i < 12; i++)
		state_put_u64(w, i % 3 == 2 ? refill : 0);
}

TEST(vm_snapshot_config_keeps_rate_limiters_and_checks_them)
{
	struct state_writer w;

	v2_config(&w, 1000);
	REQUIRE(!state_writer_error(&w));
	CHECK_EQ(vm_snapshot_decode_section("vm_config", 2, w.buf, w.len), 0);
	/* version 1 had no limiters: the same bytes are too many for it */
	CHECK(vm_snapshot_decode_section("vm_config", 1, w.buf, w.len) < 0);
	for (size_t cut = 0; cut < w.len; cut++)
		CHECK(vm_snapshot_decode_section("vm_config", 2, w.buf, cut) < 0);
	state_writer_free(&w);
	/* a refill time that overflows nanoseconds is refused, as the API refuses it */
	v2_config(&w, UINT64_MAX / 1000000ull + 1);
	CHECK(vm_snapshot_decode_section("vm_config", 2, w.buf, w.len) < 0);
	state_writer_free(&w);
}

TEST(vm_snapshot_config_v4_keeps_the_balloon_and_checks_it)
{
	struct state_writer w;
	size_t v3;

	v2_config(&w, 1000);
	state_put_u8(&w, 1); /* version 3: the transport (PCI) */
	v3 = w.len;
	state_put_u8(&w,
		     1); /* version 4: balloon on, 32 MiB, deflate_on_oom, stats 1 s, reporting */
	state_put_u32(&w, 32);
	state_put_u8(&w, 1);
	state_put_u32(&w, 1);
	state_put_u8(&w, 1);
	REQUIRE(!state_writer_error(&w));
	CHECK_EQ(vm_snapshot_decode_section("vm_config", 4, w.buf, w.len), 0);
	CHECK_EQ(vm_snapshot_decode_section("vm_config", 3, w.buf, v3), 0);
	CHECK(vm_snapshot_decode_section("vm_config", 3, w.buf, w.len) < 0);
	for (size_t cut = v3; cut < w.len; cut++)
		CHECK(vm_snapshot_decode_section("vm_config", 4, w.buf, cut) < 0);
	/* a balloon larger than the 64 MiB of RAM, or a flag that is no bool, is refused */
	w.buf[v3 + 1] = 65;
	CHECK(vm_snapshot_decode_section("vm_config", 4, w.buf, w.len) < 0);
	w.buf[v3 + 1] = 32;
	w.buf[v3 + 5] = 2;
	CHECK(vm_snapshot_decode_section("vm_config", 4, w.buf, w.len) < 0);
	state_writer_free(&w);
}

/* A version-4 payload: v2_config's, the PCI transport (version 3), no balloon (version 4). */
static void v4_config(struct state_writer *w)
{
	v2_config(w, 1000);
	state_put_u8(w, 1);
	state_put_u8(w, 0);
	state_put_u32(w, 0);
	state_put_u8(w, 0);
	state_put_u32(w, 0);
	state_put_u8(w, 0);
}

TEST(vm_snapshot_config_v5_keeps_vsock_and_checks_its_cid)
{
	struct state_writer w;
	size_t v4, cid_at;

	v4_config(&w);
	v4 = w.len;
	w_str(&w, "/run/v.sock"); /* version 5: vsock at /run/v.sock, no vsock_id, CID 3 */
	state_put_u8(&w, 0);
	state_put_u32(&w, 0);
	cid_at = w.len;
	state_put_u64(&w, 3);
	state_put_u8(&w, 1); /* and the boot timer */
	REQUIRE(!state_writer_error(&w));
	CHECK_EQ(vm_snapshot_decode_section("vm_config", 5, w.buf, w.len), 0);
	CHECK_EQ(vm_snapshot_decode_section("vm_config", 4, w.buf, v4), 0);
	CHECK(vm_snapshot_decode_section("vm_config", 4, w.buf, w.len) < 0);
	for (size_t cut = v4; cut < w.len; cut++)
		CHECK(vm_snapshot_decode_section("vm_config", 5, w.buf, cut) < 0);
	w.buf[cid_at + 8] = 2; /* no bool */
	CHECK(vm_snapshot_decode_section("vm_config", 5, w.buf, w.len) < 0);
	w.buf[cid_at + 8] = 1;
	w.buf[cid_at] = 2; /* the host's CID */
	CHECK(vm_snapshot_decode_section("vm_config", 5, w.buf, w.len) < 0);
	state_writer_free(&w);
}

TEST(vm_snapshot_config_v6_keeps_the_cpu_template_and_checks_it)
{
	struct state_writer w;
	size_t v5;

	v4_config(&w);
	state_put_u8(&w, 0); /* version 5: no vsock (no path, no id), CID 0, no boot timer */
	state_put_u32(&w, 0);
	state_put_u8(&w, 0);
	state_put_u32(&w, 0);
	state_put_u64(&w, 0);
	state_put_u8(&w, 0);
	v5 = w.len;
	state_put_u8(&w, CPU_TEMPLATE_T2CL); /* version 6: the CPU template */
	REQUIRE(!state_writer_error(&w));
	CHECK_EQ(vm_snapshot_decode_section("vm_config", 6, w.buf, w.len), 0);
	CHECK_EQ(vm_snapshot_decode_section("vm_config", 5, w.buf, v5), 0);
	CHECK(vm_snapshot_decode_section("vm_config", 5, w.buf, w.len) < 0);
	CHECK(vm_snapshot_decode_section("vm_config", 6, w.buf, v5) < 0);
	w.buf[v5] = CPU_TEMPLATE_NR; /* no such template */
	CHECK(vm_snapshot_decode_section("vm_config", 6, w.buf, w.len) < 0);
	state_writer_free(&w);
}

/* A version-6 payload (v4_config's, no vsock, no boot timer, no template); rng byte @rng. */
static size_t v6_config(struct state_writer *w, uint8_t rng)
{
	v4_config(w);
	state_put_u8(w, 0);
	state_put_u32(w, 0);
	state_put_u8(w, 0);
	state_put_u32(w, 0);
	state_put_u64(w, 0);
	state_put_u8(w, 0);
	state_put_u8(w, 0);
	w->buf[13] = rng; /* after cpus u32, mem_bytes u64 and console u8 */
	return w->len;
}

TEST(vm_snapshot_config_v7_names_the_class_table_devices)
{
	struct state_writer w;
	struct vm_config c;
	size_t v6;

	/* what vmon writes comes back: the devices of the class table, by name */
	vm_config_init(&c);
	vm_config_add_class(&c, &virtio_rng_class);
	vm_config_add_class(&c, &virtio_echo_class);
	state_writer_init(&w);
	vm_state_config(&c, &w);
	vm_config_free(&c);
	REQUIRE(!state_writer_error(&w));
	CHECK_EQ(vm_snapshot_decode_config(8, w.buf + STATE_SECTION_HDR_LEN,
					   w.len - STATE_SECTION_HDR_LEN - STATE_SECTION_CRC_LEN,
					   &c),
		 0);
	CHECK(vm_config_has_class(&c, "rng"));
	CHECK(vm_config_has_class(&c, "echo"));
	CHECK_EQ(vm_config_class_count(&c), 2);
	vm_config_free(&c);
	state_writer_free(&w);

	/* before version 7, entropy was a byte of its own */
	v6 = v6_config(&w, 1);
	CHECK_EQ(vm_snapshot_decode_config(6, w.buf, v6, &c), 0);
	CHECK(vm_config_has_class(&c, "rng"));
	CHECK(!vm_config_has_class(&c, "echo"));
	vm_config_free(&c);
	state_put_u32(&w, 1); /* version 7: one device, "echo" */
	w_str(&w, "echo");
	REQUIRE(!state_writer_error(&w));
	CHECK(vm_snapshot_decode_config(7, w.buf, w.len, &c) < 0); /* the old byte set in v7 */
	vm_config_free(&c);
	w.buf[13] = 0;
	CHECK_EQ(vm_snapshot_decode_config(7, w.buf, w.len, &c), 0);
	CHECK(vm_config_has_class(&c, "echo"));
	CHECK(!vm_config_has_class(&c, "rng"));
	vm_config_free(&c);
	for (size_t cut = v6; cut < w.len; cut++)
		CHECK(vm_snapshot_decode_section("vm_config", 7, w.buf, cut) < 0);
	w.buf[w.len - 1] = 'x'; /* "echx": a class this vmon does not have */
	CHECK(vm_snapshot_decode_section("vm_config", 7, w.buf, w.len) < 0);
	w.buf[w.len - 1] = 'o';
	w.buf[v6] = VIRTIO_NR_CLASSES + 1; /* more devices than classes */
	CHECK(vm_snapshot_decode_section("vm_config", 7, w.buf, w.len) < 0);
	state_writer_free(&w);
}

TEST(vm_snapshot_config_v8_keeps_mmds_config_and_checks_it)
{
	struct state_writer w;
	struct vm_config c;
	size_t v7, on_at;

	v6_config(&w, 0);
	state_put_u32(&w, 0); /* version 7: no class-table devices */
	v7 = w.len;
	on_at = w.len;
	state_put_u8(&w, 1); /* version 8: MMDS V2 at 169.254.170.2, IMDS format, on the NIC */
	state_put_u8(&w, 2);
	state_put_u32(&w, 0xa9feaa02u);
	state_put_u8(&w, 1);
	state_put_u8(&w, 1);
	REQUIRE(!state_writer_error(&w));
	vm_config_init(&c);
	CHECK_EQ(vm_snapshot_decode_config(8, w.buf, w.len, &c), 0);
	CHECK(c.mmds.on && c.mmds.version == 2 && c.mmds.imds_compat && c.nets[0].mmds);
	CHECK_EQ(c.mmds.ipv4, 0xa9feaa02u);
	vm_config_free(&c);
	CHECK_EQ(vm_snapshot_decode_section("vm_config", 7, w.buf, v7), 0);
	CHECK(vm_snapshot_decode_section("vm_config", 7, w.buf, w.len) < 0);
	for (size_t cut = v7; cut < w.len; cut++)
		CHECK(vm_snapshot_decode_section("vm_config", 8, w.buf, cut) < 0);
	w.buf[on_at + 1] = 3; /* no such version */
	CHECK(vm_snapshot_decode_section("vm_config", 8, w.buf, w.len) < 0);
	w.buf[on_at + 1] = 2;
	w.buf[on_at + 4] = 0; /* 169.0.170.2: not link local */
	CHECK(vm_snapshot_decode_section("vm_config", 8, w.buf, w.len) < 0);
	w.buf[on_at + 4] = 0xfe;
	w.buf[on_at + 7] = 0; /* on, but no NIC */
	CHECK(vm_snapshot_decode_section("vm_config", 8, w.buf, w.len) < 0);
	w.buf[on_at] = 0; /* off, with settings left over */
	CHECK(vm_snapshot_decode_section("vm_config", 8, w.buf, w.len) < 0);
	memset(w.buf + on_at, 0, w.len - on_at); /* off and nothing set */
	CHECK_EQ(vm_snapshot_decode_section("vm_config", 8, w.buf, w.len), 0);
	state_writer_free(&w);
}

TEST(vm_restore_refuses_a_snapshot_of_another_cpu)
{
	struct state_writer sections_w, out;
	struct snapfile f;
	struct vm_restore_opts o = { 0 };
	struct vm_config cfg;
	struct vm *vm = NULL;
	char err[512] = "", path[] = "/tmp/vmon-test-cpu-XXXXXX";
	bool user_error = false;
	uint8_t *copy;
	int fd;

	load_fixture();
	copy = malloc(file_len);
	memcpy(copy, file, file_len);
	REQUIRE(snapfile_parse(copy, file_len, &f, err, sizeof(err)) == 0);
	/* the same sections under a header naming another vendor */
	snprintf(f.hdr.cpu_vendor, sizeof(f.hdr.cpu_vendor), "%s",
		 strcmp(f.hdr.cpu_vendor, "AuthenticAMD") ? "AuthenticAMD" : "GenuineIntel");
	state_writer_init(&sections_w);
	state_put_bytes(&sections_w, f.sections.buf + f.sections.pos,
			f.sections.len - f.sections.pos);
	state_writer_init(&out);
	REQUIRE(snapfile_encode(&f.hdr, &sections_w, &out, err, sizeof(err)) == 0);
	fd = mkstemp(path);
	REQUIRE(fd >= 0);
	REQUIRE(write(fd, out.buf, out.len) == (ssize_t)out.len);
	close(fd);
	o.state_path = path;
	o.mem_path = "/nonexistent";
	CHECK(vm_restore(&vm, &o, NULL, &cfg, &user_error, err, sizeof(err)) < 0);
	CHECK(strstr(err, "taken on a CPU of vendor") != NULL);
	CHECK(user_error);
	CHECK(vm == NULL);
	printf("#   %s\n", err);
	unlink(path);
	state_writer_free(&sections_w);
	state_writer_free(&out);
	snapfile_free(&f);
	free(copy);
}

// clang-format off
HARNESS_MAIN(
	HARNESS_T(vm_snapshot_check_accepts_a_real_state_file)
	HARNESS_T(vm_snapshot_check_refuses_a_truncation_at_every_section_boundary)
	HARNESS_T(vm_snapshot_check_refuses_a_flipped_byte_in_every_section)
	HARNESS_T(vm_snapshot_decoders_refuse_malformed_payloads)
	HARNESS_T(vm_snapshot_config_keeps_rate_limiters_and_checks_them)
	HARNESS_T(vm_snapshot_config_v4_keeps_the_balloon_and_checks_it)
	HARNESS_T(vm_snapshot_config_v5_keeps_vsock_and_checks_its_cid)
	HARNESS_T(vm_snapshot_config_v6_keeps_the_cpu_template_and_checks_it)
	HARNESS_T(vm_snapshot_config_v7_names_the_class_table_devices)
	HARNESS_T(vm_snapshot_config_v8_keeps_mmds_config_and_checks_it)
	HARNESS_T(vm_restore_refuses_a_snapshot_of_another_cpu)
)
// clang-format on
