/* test_virtqueue.c — the split-ring walk against well-formed and hostile rings. */
#include <errno.h>

#include "harness.h"
#include "vq_fake.h"

static struct virtq_elem elem;

TEST(virtq_pops_simple_chain)
{
	struct fake_guest g;
	struct virtq vq;

	fg_init(&g, &vq, 16);
	CHECK(virtq_ready(&vq));
	CHECK_EQ(virtq_pop(&vq, &elem), 0);
	fg_desc(&g, FAKE_DESC, 3, FAKE_BUF, 100, VRING_DESC_F_NEXT, 7);
	fg_desc(&g, FAKE_DESC, 7, FAKE_BUF + 0x1000, 200, VRING_DESC_F_NEXT, 1);
	fg_desc(&g, FAKE_DESC, 1, FAKE_BUF + 0x2000, 1, VRING_DESC_F_WRITE, 0);
	fg_avail(&g, 3);
	REQUIRE(virtq_pop(&vq, &elem) == 1);
	CHECK_EQ(elem.head, 3);
	CHECK_EQ(elem.out_num, 2);
	CHECK_EQ(elem.in_num, 1);
	CHECK_EQ(elem.out_len, 300);
	CHECK_EQ(elem.in_len, 1);
	CHECK(elem.iov[0].iov_base == fg_ptr(&g, FAKE_BUF));
	CHECK(elem.iov[2].iov_base == fg_ptr(&g, FAKE_BUF + 0x2000));
	CHECK_EQ(virtq_pop(&vq, &elem), 0);
	CHECK_EQ(virtq_push(&vq, 3, 1), 0);
	CHECK_EQ(fg_used_idx(&g), 1);
	CHECK_EQ(fg_used(&g, 0).id, 3);
	CHECK_EQ(fg_used(&g, 0).len, 1);
	CHECK(!vq.broken);
	fg_fini(&g);
}

TEST(virtq_refuses_head_out_of_range)
{
	struct fake_guest g;
	struct virtq vq;

	fg_init(&g, &vq, 16);
	fg_avail(&g, 16);
	CHECK_EQ(virtq_pop(&vq, &elem), -EINVAL);
	CHECK(vq.broken);
	/* a broken queue stays broken until reset */
	CHECK_EQ(virtq_pop(&vq, &elem), -EINVAL);
	virtq_reset(&vq);
	CHECK(!vq.broken);
	fg_fini(&g);
}

/* One descriptor the fake driver writes: entry @i of the table at @table. */
struct desc_spec {
	uint64_t table;
	unsigned i;
	uint64_t addr;
	uint32_t len;
	uint16_t flags, next;
};

/* A chain that breaks a rule of §2.7.5 / §2.7.5.3: popping it must fail and break the queue. */
struct bad_chain {
	const char *what;
	uint16_t qsize;
	bool indirect;
	uint16_t head;
	unsigned n;
	struct desc_spec d[3];
};

static const struct bad_chain bad_chains[] = {
	{ "next out of range",
	  16,
	  false,
	  0,
	  1,
	  { { FAKE_DESC, 0, FAKE_BUF, 10, VRING_DESC_F_NEXT, 200 } } },
	{ "descriptor loop",
	  16,
	  false,
	  0,
	  2,
	  { { FAKE_DESC, 0, FAKE_BUF, 10, VRING_DESC_F_NEXT, 1 },
	    { FAKE_DESC, 1, FAKE_BUF, 10, VRING_DESC_F_NEXT, 0 } } },
	{ "self loop", 256, false, 5, 1, { { FAKE_DESC, 5, FAKE_BUF, 10, VRING_DESC_F_NEXT, 5 } } },
	{ "buffer past RAM",
	  16,
	  false,
	  0,
	  1,
	  { { FAKE_DESC, 0, FAKE_RAM_GPA + FAKE_RAM_LEN - 8, 16, 0, 0 } } },
	{ "buffer wrapping the address space",
	  16,
	  false,
	  0,
	  1,
	  { { FAKE_DESC, 0, 0xfffffffffffffff0ull, 0x20, 0, 0 } } },
	/* addr + len wraps to FAKE_BUF: must not be taken as in range */
	{ "buffer wrapping into RAM",
	  16,
	  false,
	  0,
	  1,
	  { { FAKE_DESC, 0, 0xfffffffffffff000ull, (uint32_t)(0x1000 + FAKE_BUF), 0, 0 } } },
	{ "readable after writable",
	  16,
	  false,
	  0,
	  2,
	  { { FAKE_DESC, 0, FAKE_BUF, 10, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 1 },
	    { FAKE_DESC, 1, FAKE_BUF, 10, 0, 0 } } },
	{ "loop inside an indirect table",
	  16,
	  true,
	  0,
	  3,
	  { { FAKE_INDIRECT, 0, FAKE_BUF, 16, VRING_DESC_F_NEXT, 1 },
	    { FAKE_INDIRECT, 1, FAKE_BUF, 16, VRING_DESC_F_NEXT, 0 },
	    { FAKE_DESC, 0, FAKE_INDIRECT, 32, VRING_DESC_F_INDIRECT, 0 } } },
	{ "next beyond the indirect table's 2 entries",
	  16,
	  true,
	  0,
	  2,
	  { { FAKE_INDIRECT, 0, FAKE_BUF, 16, VRING_DESC_F_NEXT, 2 },
	    { FAKE_DESC, 0, FAKE_INDIRECT, 32, VRING_DESC_F_INDIRECT, 0 } } },
	{ "indirect table past RAM",
	  16,
	  true,
	  0,
	  1,
	  { { FAKE_DESC, 0, FAKE_RAM_GPA + FAKE_RAM_LEN - 16, 32, VRING_DESC_F_INDIRECT, 0 } } },
};

TEST(virtq_refuses_malformed_chains)
{
	for (unsigned i = 0; i < ARRAY_SIZE(bad_chains); i++) {
		const struct bad_chain *c = &bad_chains[i];
		int failed = harness.failed;
		struct fake_guest g;
		struct virtq vq;

		fg_init(&g, &vq, c->qsize);
		vq.indirect = c->indirect;
		for (unsigned j = 0; j < c->n; j++)
			fg_desc(&g, c->d[j].table, c->d[j].i, c->d[j].addr, c->d[j].len,
				c->d[j].flags, c->d[j].next);
		fg_avail(&g, c->head);
		CHECK_EQ(virtq_pop(&vq, &elem), -EINVAL);
		CHECK(vq.broken);
		if (harness.failed != failed)
			printf("#   in case: %s\n", c->what);
		fg_fini(&g);
	}
}

TEST(virtq_allows_chain_of_queue_size)
{
	struct fake_guest g;
	struct virtq vq;

	fg_init(&g, &vq, 8);
	for (unsigned i = 0; i < 8; i++)
		fg_desc(&g, FAKE_DESC, i, FAKE_BUF + i * 16, 16, i < 7 ? VRING_DESC_F_NEXT : 0,
			(uint16_t)(i + 1));
	fg_avail(&g, 0);
	REQUIRE(virtq_pop(&vq, &elem) == 1);
	CHECK_EQ(elem.out_num, 8);
	CHECK_EQ(elem.out_len, 128);
	fg_fini(&g);
}

TEST(virtq_zero_length_and_huge_lengths)
{
	struct fake_guest g;
	struct virtq vq;

	fg_init(&g, &vq, 16);
	/* zero length: accepted, nothing mapped */
	fg_desc(&g, FAKE_DESC, 0, FAKE_BUF, 0, VRING_DESC_F_NEXT, 1);
	fg_desc(&g, FAKE_DESC, 1, FAKE_BUF, 4, 0, 0);
	fg_avail(&g, 0);
	REQUIRE(virtq_pop(&vq, &elem) == 1);
	CHECK_EQ(elem.out_num, 1);
	CHECK_EQ(elem.out_len, 4);
	/* huge length past RAM */
	fg_desc(&g, FAKE_DESC, 2, FAKE_BUF, 0xffffffffu, 0, 0);
	fg_avail(&g, 2);
	CHECK_EQ(virtq_pop(&vq, &elem), -EINVAL);
	fg_fini(&g);
}

TEST(virtq_refuses_avail_idx_jump)
{
	struct fake_guest g;
	struct virtq vq;

	fg_init(&g, &vq, 16);
	fg_desc(&g, FAKE_DESC, 0, FAKE_BUF, 10, 0, 0);
	fg_set_avail_idx(&g, 17);
	CHECK_EQ(virtq_pop(&vq, &elem), -EINVAL);
	/* exactly the queue size is fine */
	fg_fini(&g);
	fg_init(&g, &vq, 16);
	fg_desc(&g, FAKE_DESC, 0, FAKE_BUF, 10, 0, 0);
	fg_set_avail_idx(&g, 16);
	CHECK_EQ(virtq_pop(&vq, &elem), 1);
	fg_fini(&g);
}

TEST(virtq_avail_idx_wraps_at_2_16)
{
	struct fake_guest g;
	struct virtq vq;

	fg_init(&g, &vq, 4);
	vq.last_avail_idx = 0xfffe;
	fg_desc(&g, FAKE_DESC, 0, FAKE_BUF, 10, 0, 0);
	g.avail_idx = 0xfffe;
	fg_avail(&g, 0);
	fg_avail(&g, 0);
	fg_avail(&g, 0);
	CHECK_EQ(virtq_pop(&vq, &elem), 1);
	CHECK_EQ(virtq_pop(&vq, &elem), 1);
	CHECK_EQ(virtq_pop(&vq, &elem), 1);
	CHECK_EQ(virtq_pop(&vq, &elem), 0);
	CHECK_EQ(vq.last_avail_idx, 1);
	fg_fini(&g);
}

TEST(virtq_indirect_table)
{
	struct fake_guest g;
	struct virtq vq;

	fg_init(&g, &vq, 16);
	vq.indirect = true;
	fg_desc(&g, FAKE_INDIRECT, 0, FAKE_BUF, 16, VRING_DESC_F_NEXT, 2);
	fg_desc(&g, FAKE_INDIRECT, 2, FAKE_BUF + 0x100, 512, VRING_DESC_F_NEXT, 1);
	fg_desc(&g, FAKE_INDIRECT, 1, FAKE_BUF + 0x400, 1, VRING_DESC_F_WRITE, 0);
	fg_desc(&g, FAKE_DESC, 4, FAKE_INDIRECT, 3 * 16, VRING_DESC_F_INDIRECT, 0);
	fg_avail(&g, 4);
	REQUIRE(virtq_pop(&vq, &elem) == 1);
	CHECK_EQ(elem.head, 4);
	CHECK_EQ(elem.out_num, 2);
	CHECK_EQ(elem.in_num, 1);
	CHECK_EQ(elem.out_len, 528);
	fg_fini(&g);
}

TEST(virtq_direct_then_indirect)
{
	struct fake_guest g;
	struct virtq vq;

	fg_init(&g, &vq, 16);
	vq.indirect = true;
	fg_desc(&g, FAKE_INDIRECT, 0, FAKE_BUF + 0x400, 8, VRING_DESC_F_WRITE, 0);
	fg_desc(&g, FAKE_DESC, 0, FAKE_BUF, 16, VRING_DESC_F_NEXT, 1);
	fg_desc(&g, FAKE_DESC, 1, FAKE_INDIRECT, 16, VRING_DESC_F_INDIRECT, 0);
	fg_avail(&g, 0);
	REQUIRE(virtq_pop(&vq, &elem) == 1);
	CHECK_EQ(elem.out_num, 1);
	CHECK_EQ(elem.in_num, 1);
	fg_fini(&g);
}

TEST(virtq_indirect_rules)
{
	static const struct {
		uint32_t len;
		uint16_t flags;
		bool feature;
		bool nested;
	} bad[] = {
		{ 48, VRING_DESC_F_INDIRECT, false, false }, /* not negotiated */
		{ 48, VRING_DESC_F_INDIRECT | VRING_DESC_F_NEXT, true, false }, /* NEXT on it */
		{ 40, VRING_DESC_F_INDIRECT, true, false }, /* not a multiple of 16 */
		{ 0, VRING_DESC_F_INDIRECT, true, false }, /* empty */
		{ 48, VRING_DESC_F_INDIRECT, true, true }, /* indirect inside */
		{ 16u * 2000, VRING_DESC_F_INDIRECT, true, false }, /* too many entries */
	};

	for (unsigned i = 0; i < ARRAY_SIZE(bad); i++) {
		struct fake_guest g;
		struct virtq vq;

		fg_init(&g, &vq, 16);
		vq.indirect = bad[i].feature;
		fg_desc(&g, FAKE_INDIRECT, 0, FAKE_BUF, 16, VRING_DESC_F_NEXT, 1);
		fg_desc(&g, FAKE_INDIRECT, 1, bad[i].nested ? FAKE_INDIRECT : FAKE_BUF, 16,
			bad[i].nested ? VRING_DESC_F_INDIRECT : 0, 0);
		fg_desc(&g, FAKE_DESC, 0, FAKE_INDIRECT, bad[i].len, bad[i].flags, 1);
		fg_desc(&g, FAKE_DESC, 1, FAKE_BUF, 16, 0, 0);
		fg_avail(&g, 0);
		CHECK_EQ(virtq_pop(&vq, &elem), -EINVAL);
		fg_fini(&g);
	}
}

TEST(virtq_indirect_chain_longer_than_queue_ok_up_to_cap)
{
	struct fake_guest g;
	struct virtq vq;

	/* An indirect table may hold more entries than the queue size (bounded by VIRTQ_MAX_SEGS).
	 */
	fg_init(&g, &vq, 4);
	vq.indirect = true;
	for (unsigned i = 0; i < 64; i++)
		fg_desc(&g, FAKE_INDIRECT, i, FAKE_BUF, 8, i < 63 ? VRING_DESC_F_NEXT : 0,
			(uint16_t)(i + 1));
	fg_desc(&g, FAKE_DESC, 0, FAKE_INDIRECT, 64 * 16, VRING_DESC_F_INDIRECT, 0);
	fg_avail(&g, 0);
	REQUIRE(virtq_pop(&vq, &elem) == 1);
	CHECK_EQ(elem.out_num, 64);
	fg_fini(&g);
}

TEST(virtq_total_length_capped)
{
	struct fake_guest g;
	struct virtq vq;

	/* Many descriptors of the same buffer adding past 4 GiB. */
	fg_init(&g, &vq, 4);
	vq.indirect = true;
	for (unsigned i = 0; i < 600; i++)
		fg_desc(&g, FAKE_INDIRECT, i, FAKE_BUF, 0x800000, i < 599 ? VRING_DESC_F_NEXT : 0,
			(uint16_t)(i + 1));
	fg_desc(&g, FAKE_DESC, 0, FAKE_INDIRECT, 600 * 16, VRING_DESC_F_INDIRECT, 0);
	fg_avail(&g, 0);
	/* 8 MiB buffers do not fit in our 1 MiB RAM either; make them fit: */
	for (unsigned i = 0; i < 600; i++)
		fg_desc(&g, FAKE_INDIRECT, i, FAKE_RAM_GPA, 0x80000,
			i < 599 ? VRING_DESC_F_NEXT : 0, (uint16_t)(i + 1));
	REQUIRE(virtq_pop(&vq, &elem) == 1); /* 600 * 512 KiB = 300 MiB: fine */
	CHECK_EQ(elem.out_len, 600ull * 0x80000);
	fg_fini(&g);
}

TEST(virtq_rings_outside_ram_not_ready)
{
	struct fake_guest g;
	struct virtq vq;

	fg_init(&g, &vq, 256);
	vq.used_gpa = FAKE_RAM_GPA + FAKE_RAM_LEN - 8;
	CHECK(!virtq_ready(&vq));
	CHECK_EQ(virtq_pop(&vq, &elem), 0);
	vq.used_gpa = FAKE_USED;
	vq.desc_gpa = FAKE_DESC + 8; /* misaligned */
	CHECK(!virtq_ready(&vq));
	vq.desc_gpa = FAKE_DESC;
	vq.size = 3; /* not a power of two */
	CHECK(!virtq_ready(&vq));
	fg_fini(&g);
}

TEST(virtq_no_interrupt_flag)
{
	struct fake_guest g;
	struct virtq vq;
	uint16_t *avail;

	fg_init(&g, &vq, 16);
	avail = fg_ptr(&g, FAKE_AVAIL);
	CHECK_EQ(virtq_push(&vq, 0, 0), 0);
	CHECK(virtq_should_notify(&vq));
	avail[0] = VRING_AVAIL_F_NO_INTERRUPT;
	CHECK_EQ(virtq_push(&vq, 0, 0), 0);
	CHECK(!virtq_should_notify(&vq));
	fg_fini(&g);
}

TEST(virtq_event_idx_suppression)
{
	struct fake_guest g;
	struct virtq vq;
	uint16_t *used_event, *avail_event;

	fg_init(&g, &vq, 16);
	vq.event_idx = true;
	used_event = (uint16_t *)fg_ptr(&g, FAKE_AVAIL) + 2 + 16;
	avail_event = (uint16_t *)((uint8_t *)fg_ptr(&g, FAKE_USED) + 4 + 8 * 16);
	*used_event = 2; /* interrupt when used idx passes 2 */
	CHECK_EQ(virtq_push(&vq, 0, 0), 0);
	CHECK(virtq_should_notify(&vq)); /* first one always */
	CHECK_EQ(virtq_push(&vq, 0, 0), 0); /* idx 2 */
	CHECK(!virtq_should_notify(&vq));
	CHECK_EQ(virtq_push(&vq, 0, 0), 0); /* idx 3: crosses used_event 2 */
	CHECK(virtq_should_notify(&vq));
	CHECK_EQ(virtq_push(&vq, 0, 0), 0);
	CHECK(!virtq_should_notify(&vq));
	vq.last_avail_idx = 5;
	virtq_publish_avail_event(&vq);
	CHECK_EQ(*avail_event, 5);
	fg_fini(&g);
}

TEST(virtq_too_many_segments)
{
	struct fake_guest g;
	struct virtq vq;

	fg_init(&g, &vq, 256);
	vq.indirect = true;
	/* 255 direct descriptors then an indirect table of 1000: 1255 > VIRTQ_MAX_SEGS */
	for (unsigned i = 0; i < 255; i++)
		fg_desc(&g, FAKE_DESC, i, FAKE_BUF, 8, VRING_DESC_F_NEXT, (uint16_t)(i + 1));
	fg_desc(&g, FAKE_DESC, 255, FAKE_INDIRECT, 1000 * 16, VRING_DESC_F_INDIRECT, 0);
	for (unsigned i = 0; i < 1000; i++)
		fg_desc(&g, FAKE_INDIRECT, i, FAKE_BUF, 8, i < 999 ? VRING_DESC_F_NEXT : 0,
			(uint16_t)(i + 1));
	fg_avail(&g, 0);
	CHECK_EQ(virtq_pop(&vq, &elem), -EINVAL);
	fg_fini(&g);
}

TEST(virtq_buffer_across_adjacent_regions)
{
	struct fake_guest g;
	struct virtq vq;
	static uint8_t more[0x2000] __attribute__((aligned(4096)));

	fg_init(&g, &vq, 16);
	/* a second region right after the first, and a hole after it */
	REQUIRE(gmem_add_hva(&g.gm, FAKE_RAM_GPA + FAKE_RAM_LEN, sizeof(more), more) == 0);
	fg_desc(&g, FAKE_DESC, 0, FAKE_RAM_GPA + FAKE_RAM_LEN - 0x100, 0x200, VRING_DESC_F_WRITE,
		0);
	fg_avail(&g, 0);
	REQUIRE(virtq_pop(&vq, &elem) == 1);
	CHECK_EQ(elem.in_num, 2);
	CHECK_EQ(elem.in_len, 0x200);
	CHECK_EQ(elem.iov[0].iov_len, 0x100);
	CHECK(elem.iov[1].iov_base == more);
	CHECK_EQ(elem.iov[1].iov_len, 0x100);
	/* running past the second region into the hole */
	fg_desc(&g, FAKE_DESC, 1, FAKE_RAM_GPA + FAKE_RAM_LEN + 0x1f00, 0x200, VRING_DESC_F_WRITE,
		0);
	fg_avail(&g, 1);
	CHECK_EQ(virtq_pop(&vq, &elem), -EINVAL);
	fg_fini(&g);
}

TEST(virtq_iov_helpers)
{
	uint8_t a[4] = { 1, 2, 3, 4 }, b[3] = { 5, 6, 7 }, out[8] = { 0 };
	struct iovec iov[2] = { { a, 4 }, { b, 3 } }, sl[2];

	CHECK_EQ(virtq_iov_to_buf(iov, 2, 2, out, 8), 5);
	CHECK_EQ(out[0], 3);
	CHECK_EQ(out[4], 7);
	CHECK_EQ(virtq_iov_slice(iov, 2, 3, 2, sl, 2), 2);
	CHECK_EQ(sl[0].iov_len, 1);
	CHECK_EQ(*(uint8_t *)sl[1].iov_base, 5);
	CHECK_EQ(virtq_buf_to_iov(iov, 2, 6, "xy", 2), 1);
	CHECK_EQ(b[2], 'x');
}

// clang-format off
HARNESS_MAIN(
	HARNESS_T(virtq_pops_simple_chain)
	HARNESS_T(virtq_refuses_head_out_of_range)
	HARNESS_T(virtq_refuses_malformed_chains)
	HARNESS_T(virtq_allows_chain_of_queue_size)
	HARNESS_T(virtq_zero_length_and_huge_lengths)
	HARNESS_T(virtq_refuses_avail_idx_jump)
	HARNESS_T(virtq_avail_idx_wraps_at_2_16)
	HARNESS_T(virtq_indirect_table)
	HARNESS_T(virtq_direct_then_indirect)
	HARNESS_T(virtq_indirect_rules)
	HARNESS_T(virtq_indirect_chain_longer_than_queue_ok_up_to_cap)
	HARNESS_T(virtq_total_length_capped)
	HARNESS_T(virtq_rings_outside_ram_not_ready)
	HARNESS_T(virtq_no_interrupt_flag)
	HARNESS_T(virtq_event_idx_suppression)
	HARNESS_T(virtq_too_many_segments)
	HARNESS_T(virtq_buffer_across_adjacent_regions)
	HARNESS_T(virtq_iov_helpers)
)
// clang-format on
