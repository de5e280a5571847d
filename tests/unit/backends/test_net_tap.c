/*
 * test_net_tap.c — the TAP backend inside a private network namespace: open
 * with vnet headers, offloads, frames in both directions (checked through an
 * AF_PACKET socket on the same interface), and the errors a user sees.
 * Skips with a reason where namespaces or /dev/net/tun are not available.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "backends/net/net_tap.h"
#include "harness.h"
#include "tap_netns.h"

TEST(net_tap_missing_gives_clear_error)
{
	struct net_tap *t = (struct net_tap *)1;
	char err[256];

	CHECK_EQ(net_tap_open(&t, "vmon-nosuch0", err, sizeof(err)), -ENODEV);
	CHECK(t == NULL);
	printf("# %s\n", err);
	CHECK(strstr(err, "does not exist"));
	CHECK(strstr(err, "vmon-nosuch0"));
}

TEST(net_tap_refuses_bad_names)
{
	struct net_tap *t;
	char err[256];

	CHECK_EQ(net_tap_open(&t, "", err, sizeof(err)), -EINVAL);
	CHECK_EQ(net_tap_open(&t, "a-name-far-too-long-for-linux", err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "invalid TAP name"));
}

TEST(net_tap_open_sets_vnet_hdr_and_nonblocking)
{
	struct net_tap *t, *t2;
	char err[256], buf[2048];
	struct iovec iov = { buf, sizeof(buf) };
	int hdr_len = 0;

	need_netns();
	REQUIRE(net_tap_open(&t, TAP_NAME, err, sizeof(err)) == 0);
	CHECK(!strcmp(net_tap_ifname(t), TAP_NAME));
	CHECK(net_tap_has_vnet_hdr(t));
	CHECK(ioctl(net_tap_fd(t), TUNGETVNETHDRSZ, &hdr_len) == 0);
	CHECK_EQ(hdr_len, sizeof(struct virtio_net_hdr_v1));
	CHECK(fcntl(net_tap_fd(t), F_GETFL) & O_NONBLOCK);
	CHECK(fcntl(net_tap_fd(t), F_GETFD) & FD_CLOEXEC);
	/* The interface is down: nothing to read, and the read does not block. */
	CHECK_EQ(net_tap_readv(t, &iov, 1), -EAGAIN);
	/* A single-queue TAP takes one user at a time. */
	CHECK_EQ(net_tap_open(&t2, TAP_NAME, err, sizeof(err)), -EBUSY);
	printf("# %s\n", err);
	CHECK(strstr(err, "already attached"));
	net_tap_close(t);
	/* Closed: it can be attached again, and the persistent TAP is still there. */
	REQUIRE(net_tap_open(&t, TAP_NAME, err, sizeof(err)) == 0);
	net_tap_close(t);
	net_tap_close(NULL);
}

TEST(net_tap_set_offload_accepts_flags)
{
	struct net_tap *t;
	char err[256];

	need_netns();
	REQUIRE(net_tap_open(&t, TAP_NAME, err, sizeof(err)) == 0);
	CHECK_EQ(net_tap_set_offload(t, TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN), 0);
	CHECK_EQ(net_tap_set_offload(t, 0), 0);
	CHECK_EQ(net_tap_set_offload(t, 1u << 30), -EINVAL);
	net_tap_close(t);
}

TEST(net_tap_refuses_non_tap_interfaces)
{
	struct net_tap *t;
	char err[256];

	need_netns();
	CHECK_EQ(net_tap_open(&t, "lo", err, sizeof(err)), -EINVAL);
	printf("# %s\n", err);
	CHECK(strstr(err, "not a single-queue TAP"));
	CHECK_EQ(net_tap_open(&t, TUN_NAME, err, sizeof(err)), -EINVAL);
}

TEST(net_tap_not_permitted_gives_clear_error)
{
	char err[256] = "";
	int pfd[2], ret = 1, status;
	pid_t pid;

	need_netns();
	if (geteuid() != 0)
		SKIP("the privileged part of this test needs root");
	REQUIRE(pipe(pfd) == 0);
	pid = fork();
	if (pid == 0) {
		struct net_tap *t;

		close(pfd[0]);
		if (setgid(65534) == 0 && setuid(65534) == 0)
			ret = net_tap_open(&t, TAP_NAME, err, sizeof(err));
		if (write(pfd[1], &ret, sizeof(ret)) != sizeof(ret) ||
		    write(pfd[1], err, sizeof(err)) != sizeof(err))
			_exit(1);
		_exit(0);
	}
	close(pfd[1]);
	CHECK(read(pfd[0], &ret, sizeof(ret)) == sizeof(ret));
	CHECK(read(pfd[0], err, sizeof(err)) == sizeof(err));
	close(pfd[0]);
	waitpid(pid, &status, 0);
	CHECK_EQ(ret, -EPERM);
	printf("# %s\n", err);
	CHECK(strstr(err, "not permitted"));
}

TEST(net_tap_frames_both_directions)
{
	uint8_t frame[100], got[2048];
	struct virtio_net_hdr_v1 hdr = { 0 }, rhdr;
	struct iovec wv[2] = { { &hdr, sizeof(hdr) }, { frame, sizeof(frame) } };
	struct iovec rv[2] = { { &rhdr, sizeof(rhdr) }, { got, sizeof(got) } };
	struct sockaddr_ll sll = { 0 };
	struct net_tap *t;
	char err[256];
	ssize_t n;
	int s, found = 0;

	need_netns();
	REQUIRE(net_tap_open(&t, TAP_NAME, err, sizeof(err)) == 0);
	REQUIRE(set_up(TAP_NAME) == 0);
	s = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(TEST_ETHERTYPE));
	REQUIRE(s >= 0);
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = htons(TEST_ETHERTYPE);
	sll.sll_ifindex = (int)if_nametoindex(TAP_NAME);
	REQUIRE(bind(s, (struct sockaddr *)&sll, sizeof(sll)) == 0);

	/* Guest -> host: a frame written to the TAP is received by the kernel on the interface. */
	fill_frame(frame, sizeof(frame), 1);
	CHECK_EQ(net_tap_writev(t, wv, 2), sizeof(hdr) + sizeof(frame));
	REQUIRE(readable(s));
	n = recv(s, got, sizeof(got), 0);
	CHECK_EQ(n, sizeof(frame));
	CHECK(memcmp(got, frame, sizeof(frame)) == 0);

	/* Host -> guest: a frame the kernel sends on the interface is read from the TAP. */
	fill_frame(frame, sizeof(frame), 2);
	CHECK_EQ(sendto(s, frame, sizeof(frame), 0, (struct sockaddr *)&sll, sizeof(sll)),
		 sizeof(frame));
	for (int tries = 0; tries < 50 && !found && readable(net_tap_fd(t)); tries++) {
		n = net_tap_readv(t, rv, 2);
		if (n < (ssize_t)sizeof(rhdr) + 14)
			continue;
		if (got[12] != (TEST_ETHERTYPE >> 8) || got[13] != (TEST_ETHERTYPE & 0xff))
			continue; /* someone else's frame (IPv6 autoconfiguration, ...) */
		found = 1;
		CHECK_EQ(n, sizeof(rhdr) + sizeof(frame));
		CHECK(memcmp(got, frame, sizeof(frame)) == 0);
		CHECK_EQ(rhdr.gso_type, VIRTIO_NET_HDR_GSO_NONE);
	}
	CHECK(found);
	close(s);
	net_tap_close(t);
}

/* clang-format off */
HARNESS_MAIN(
	HARNESS_T(net_tap_missing_gives_clear_error)
	HARNESS_T(net_tap_refuses_bad_names)
	HARNESS_T(net_tap_open_sets_vnet_hdr_and_nonblocking)
	HARNESS_T(net_tap_set_offload_accepts_flags)
	HARNESS_T(net_tap_refuses_non_tap_interfaces)
	HARNESS_T(net_tap_not_permitted_gives_clear_error)
	HARNESS_T(net_tap_frames_both_directions)
)
/* clang-format on */
