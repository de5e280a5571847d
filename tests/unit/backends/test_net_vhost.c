/*
 * test_net_vhost.c — vhost-net over a TAP in a private network namespace: the
 * test plays the guest driver, laying out split rings in fake guest RAM, and
 * checks that a frame posted on the transmit ring leaves through the TAP and
 * that a frame sent to the TAP lands in a receive buffer. Skips where
 * /dev/vhost-net is missing (tests/unit/backends/vhost_in_qemu.sh runs it in
 * a QEMU guest whose kernel has vhost_net).
 */
#include <linux/if_packet.h>
#include <linux/virtio_config.h>
#include <linux/virtio_net.h>
#include <linux/virtio_ring.h>
#include <stdlib.h>
#include <sys/eventfd.h>

#include "backends/net/net_tap.h"
#include "backends/net/net_vhost.h"
#include "harness.h"
#include "mem/gmem.h"
#include "tap_netns.h"

#define RAM_BYTES (1u << 20)
#define QSIZE 8

/* Ring layout in guest RAM: queue 0 receives, queue 1 transmits. */
static const uint64_t desc_gpa[2] = { 0x1000, 0x5000 };
static const uint64_t avail_gpa[2] = { 0x2000, 0x6000 };
static const uint64_t used_gpa[2] = { 0x3000, 0x7000 };
#define RX_BUF_GPA 0x10000 /* QSIZE buffers of 2048 bytes */
#define TX_BUF_GPA 0x20000

struct rig {
	struct gmem gm;
	struct net_tap *tap;
	struct net_vhost *v;
	struct net_vhost_vring vr[2];
	int sock;
};

static void need_vhost(void)
{
	if (!net_vhost_available())
		SKIP("/dev/vhost-net is not available (no vhost_net module in this kernel)");
}

/* Post descriptor @id on @q's available ring (the driver side, virtio 1.2 §2.7.13). */
static void post(struct rig *r, unsigned q, uint16_t id, uint64_t addr, uint32_t len,
		 uint16_t flags)
{
	struct vring_desc *d = gmem_ptr(&r->gm, desc_gpa[q] + 16u * id, 16);
	struct vring_avail *a = gmem_ptr(&r->gm, avail_gpa[q], 4 + 2 * QSIZE);

	d->addr = addr;
	d->len = len;
	d->flags = flags;
	d->next = 0;
	a->ring[a->idx % QSIZE] = id;
	__atomic_store_n(&a->idx, (uint16_t)(a->idx + 1), __ATOMIC_RELEASE);
}

static struct vring_used *used(struct rig *r, unsigned q)
{
	return gmem_ptr(&r->gm, used_gpa[q], 4 + 8 * QSIZE);
}

static void rig_up(struct rig *r)
{
	struct sockaddr_ll sll = { 0 };
	char err[256];

	need_vhost();
	need_netns();
	memset(r, 0, sizeof(*r));
	gmem_init(&r->gm);
	REQUIRE(gmem_add_ram(&r->gm, 0, RAM_BYTES) == 0);
	REQUIRE(net_tap_open(&r->tap, TAP_NAME, err, sizeof(err)) == 0);
	REQUIRE(set_up(TAP_NAME) == 0);
	r->sock = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(TEST_ETHERTYPE));
	REQUIRE(r->sock >= 0);
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = htons(TEST_ETHERTYPE);
	sll.sll_ifindex = (int)if_nametoindex(TAP_NAME);
	REQUIRE(bind(r->sock, (struct sockaddr *)&sll, sizeof(sll)) == 0);
	if (net_vhost_open(&r->v, err, sizeof(err)) < 0)
		printf("# %s\n", err);
	REQUIRE(r->v);
	for (unsigned q = 0; q < 2; q++) {
		r->vr[q] = (struct net_vhost_vring){
			.num = QSIZE,
			.desc_gpa = desc_gpa[q],
			.avail_gpa = avail_gpa[q],
			.used_gpa = used_gpa[q],
			.kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK),
			.call_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK),
		};
		REQUIRE(r->vr[q].kick_fd >= 0 && r->vr[q].call_fd >= 0);
	}
}

static void rig_down(struct rig *r)
{
	net_vhost_close(r->v);
	for (unsigned q = 0; q < 2; q++) {
		close(r->vr[q].kick_fd);
		close(r->vr[q].call_fd);
	}
	close(r->sock);
	net_tap_close(r->tap);
	gmem_destroy(&r->gm);
}

TEST(net_vhost_missing_gives_clear_error)
{
	struct net_vhost *v;
	char err[256];

	if (net_vhost_available())
		SKIP("/dev/vhost-net exists here");
	CHECK(net_vhost_open(&v, err, sizeof(err)) < 0);
	printf("# %s\n", err);
	CHECK(strstr(err, "vhost-net"));
}

TEST(net_vhost_frames_both_directions)
{
	const uint64_t features = 1ull << VIRTIO_F_VERSION_1;
	const size_t hdr_len = sizeof(struct virtio_net_hdr_v1);
	uint8_t frame[100], got[2048];
	uint16_t last[2] = { 0, 0 };
	struct rig r;
	int found = 0;

	rig_up(&r);
	REQUIRE((net_vhost_features(r.v) & features) == features);
	/* The driver makes receive buffers available before traffic starts. */
	for (uint16_t i = 0; i < QSIZE; i++)
		post(&r, 0, i, RX_BUF_GPA + 2048u * i, 2048, VRING_DESC_F_WRITE);
	REQUIRE(net_vhost_start(r.v, features, &r.gm, r.vr, r.tap) == 0);
	CHECK(eventfd_write(r.vr[0].kick_fd, 1) == 0);

	/* Transmit: header + frame in one descriptor, then a kick. */
	fill_frame(frame, sizeof(frame), 3);
	memset(gmem_ptr(&r.gm, TX_BUF_GPA, hdr_len), 0, hdr_len);
	REQUIRE(gmem_write(&r.gm, TX_BUF_GPA + hdr_len, frame, sizeof(frame)) == 0);
	post(&r, 1, 0, TX_BUF_GPA, (uint32_t)(hdr_len + sizeof(frame)), 0);
	CHECK(eventfd_write(r.vr[1].kick_fd, 1) == 0);
	REQUIRE(readable(r.sock));
	CHECK_EQ(recv(r.sock, got, sizeof(got), 0), sizeof(frame));
	CHECK(memcmp(got, frame, sizeof(frame)) == 0);
	CHECK(readable(r.vr[1].call_fd));
	CHECK_EQ(__atomic_load_n(&used(&r, 1)->idx, __ATOMIC_ACQUIRE), 1);
	CHECK_EQ(used(&r, 1)->ring[0].id, 0);

	/* Receive: a frame the host sends on the TAP arrives in a posted buffer. */
	fill_frame(frame, sizeof(frame), 4);
	{
		struct sockaddr_ll sll = { .sll_family = AF_PACKET,
					   .sll_protocol = htons(TEST_ETHERTYPE),
					   .sll_ifindex = (int)if_nametoindex(TAP_NAME) };

		CHECK_EQ(sendto(r.sock, frame, sizeof(frame), 0, (struct sockaddr *)&sll,
				sizeof(sll)),
			 sizeof(frame));
	}
	CHECK(readable(r.vr[0].call_fd));
	for (uint16_t i = 0; i < __atomic_load_n(&used(&r, 0)->idx, __ATOMIC_ACQUIRE); i++) {
		struct vring_used_elem *e = &used(&r, 0)->ring[i % QSIZE];
		const uint8_t *buf = gmem_ptr(&r.gm, RX_BUF_GPA + 2048u * e->id, 2048);

		if (e->len == hdr_len + sizeof(frame) &&
		    !memcmp(buf + hdr_len, frame, sizeof(frame)))
			found = 1;
	}
	CHECK(found);

	CHECK_EQ(net_vhost_stop(r.v, last), 0);
	CHECK_EQ(last[1], 1);
	CHECK_EQ(last[0], used(&r, 0)->idx);
	rig_down(&r);
}

TEST(net_vhost_refuses_rings_outside_ram)
{
	const uint64_t features = 1ull << VIRTIO_F_VERSION_1;
	struct rig r;

	rig_up(&r);
	r.vr[1].used_gpa = RAM_BYTES - 8; /* the used ring would run past the end */
	CHECK_EQ(net_vhost_start(r.v, features, &r.gm, r.vr, r.tap), -EINVAL);
	r.vr[1].used_gpa = used_gpa[1];
	r.vr[0].num = 6; /* not a power of two */
	CHECK_EQ(net_vhost_start(r.v, features, &r.gm, r.vr, r.tap), -EINVAL);
	r.vr[0].num = QSIZE;
	CHECK_EQ(net_vhost_start(r.v, ~0ull, &r.gm, r.vr, r.tap), -EOPNOTSUPP);
	/* Nothing was left half attached: a correct start works. */
	CHECK_EQ(net_vhost_start(r.v, features, &r.gm, r.vr, r.tap), 0);
	CHECK_EQ(net_vhost_stop(r.v, NULL), 0);
	rig_down(&r);
}

/* clang-format off */
HARNESS_MAIN(
	HARNESS_T(net_vhost_missing_gives_clear_error)
	HARNESS_T(net_vhost_frames_both_directions)
	HARNESS_T(net_vhost_refuses_rings_outside_ram)
)
/* clang-format on */
