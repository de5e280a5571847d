/*
 * mmds_stack.h — the guest's way to the metadata service: a minimal endpoint
 * at one IPv4 address on a guest's Ethernet link (as Firecracker's "dumbo"):
 * it answers ARP for that address, and speaks just enough TCP (port 80) to
 * carry HTTP requests to a handler and its answers back. Frames for anything
 * else pass through untouched. Everything a guest sends here is untrusted.
 *
 * No timers: frames for the guest are produced when the receive path asks
 * (mmds_stack_rx), so none is ever dropped on the way; a lost segment is sent
 * again when the guest repeats an acknowledgement. One thread (the event
 * loop) calls every function.
 */
#ifndef VMON_MMDS_MMDS_STACK_H
#define VMON_MMDS_MMDS_STACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* the MAC address the endpoint answers from (locally administered, as Firecracker's) */
#define MMDS_STACK_MAC                                                                             \
	{                                                                                          \
		0x06, 0x01, 0x23, 0x45, 0x67, 0x01                                                 \
	}
#define MMDS_STACK_PORT 80
#define MMDS_STACK_MAX_CONNS 32
#define MMDS_STACK_REQ_MAX 16384 /* bytes of request a connection buffers */

struct mmds_stack;

/*
 * mmds_stack_handler - the bytes a connection received and has not consumed
 * yet (@req, @len). Returns 0: a request is not complete yet; 1: *@consumed
 * bytes make a request, and *@resp (malloc'd; the stack frees it) of
 * *@resp_len bytes is its answer; 2: as 1, and the connection closes after the
 * answer; -1: a request that cannot be answered, reset the connection.
 */
typedef int (*mmds_stack_handler)(void *opaque, const uint8_t *req, size_t len, size_t *consumed,
				  uint8_t **resp, size_t *resp_len);

/* mmds_stack_create - an endpoint at @ipv4 (host byte order). 0 and *@out, or -ENOMEM. */
int mmds_stack_create(struct mmds_stack **out, uint32_t ipv4, mmds_stack_handler fn, void *opaque);
void mmds_stack_destroy(struct mmds_stack *s);

/*
 * mmds_stack_tx - a frame the guest sent (@len bytes from the Ethernet header
 * on). @csum_partial: the guest left the TCP checksum to the device
 * (VIRTIO_NET_HDR_F_NEEDS_CSUM), so it is not checked. Returns true when the
 * frame was for the endpoint (ARP for its address, IPv4 to it): taken, and
 * not to go on to the host's link; false for every other frame.
 */
bool mmds_stack_tx(struct mmds_stack *s, const uint8_t *frame, size_t len, bool csum_partial);

/* mmds_stack_has_rx - a frame for the guest is ready. */
bool mmds_stack_has_rx(const struct mmds_stack *s);

/*
 * mmds_stack_rx - the next frame for the guest (Ethernet, checksums filled
 * in) into @buf of @cap bytes (at least 1514). Its length, or 0 when none.
 */
size_t mmds_stack_rx(struct mmds_stack *s, uint8_t *buf, size_t cap);

#endif
