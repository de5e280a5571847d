/*
 * tap_netns.h — test helpers shared by the TAP and vhost-net tests: a private
 * network namespace holding a persistent TAP and TUN, and test frames.
 */
#ifndef VMON_TESTS_UNIT_BACKENDS_TAP_NETNS_H
#define VMON_TESTS_UNIT_BACKENDS_TAP_NETNS_H

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"

#define TAP_NAME "vmtap0"
#define TUN_NAME "vmtun0"
#define TEST_ETHERTYPE 0x88B5 /* IEEE 802 local experimental */

static int netns_state; /* 0 not tried, 1 ready, -1 unavailable */
static const char *netns_why;

/*
 * Create a persistent TUN/TAP named @name with @flags, owned by root (test
 * setup, like `ip tuntap add ... user root`): without an owner anyone may attach.
 */
static inline int create_persistent(const char *name, short flags)
{
	struct ifreq ifr = { 0 };
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	int ret = 0;

	if (fd < 0)
		return -errno;
	ifr.ifr_flags = flags;
	strcpy(ifr.ifr_name, name);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0 || ioctl(fd, TUNSETOWNER, 0) < 0 ||
	    ioctl(fd, TUNSETPERSIST, 1) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

static inline int set_up(const char *name)
{
	struct ifreq ifr = { 0 };
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int ret = 0;

	if (s < 0)
		return -errno;
	strcpy(ifr.ifr_name, name);
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		ret = -errno;
	ifr.ifr_flags |= IFF_UP;
	if (!ret && ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
		ret = -errno;
	close(s);
	return ret;
}

/* Enter a private network namespace holding TAP_NAME and TUN_NAME, or SKIP. */
static inline void need_netns(void)
{
	if (netns_state == 0) {
		netns_state = -1;
		if (access("/dev/net/tun", R_OK | W_OK) < 0)
			netns_why = "/dev/net/tun is not available";
		else if (unshare(CLONE_NEWNET) < 0)
			netns_why =
				"cannot create a private network namespace (needs CAP_SYS_ADMIN)";
		else if (create_persistent(TAP_NAME, IFF_TAP | IFF_NO_PI) < 0 ||
			 create_persistent(TUN_NAME, IFF_TUN | IFF_NO_PI) < 0)
			netns_why = "cannot create a TAP in the private namespace";
		else
			netns_state = 1;
		if (netns_state == 1) {
			/* Fewer unsolicited IPv6 frames on the TAP; not required, frames are
			 * filtered. */
			FILE *f = fopen("/proc/sys/net/ipv6/conf/" TAP_NAME "/disable_ipv6", "w");

			if (f) {
				fputs("1\n", f);
				fclose(f);
			}
		}
	}
	if (netns_state < 0)
		SKIP(netns_why);
}

static inline void fill_frame(uint8_t *f, size_t len, uint8_t tag)
{
	memset(f, 0xff, 6); /* broadcast destination */
	memcpy(f + 6, "\x02\x00\x00\x00\x00\x01", 6); /* locally administered source */
	f[12] = TEST_ETHERTYPE >> 8;
	f[13] = TEST_ETHERTYPE & 0xff;
	for (size_t i = 14; i < len; i++)
		f[i] = (uint8_t)(tag + i);
}

/* Wait up to 2 s for @fd to be readable. */
static inline bool readable(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, 2000) == 1;
}

#endif
