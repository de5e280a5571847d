/*
 * mmds.h — the metadata service's data store and its answers to the guest:
 * one JSON value (at most a size limit serialised) that the host replaces
 * and patches through the API (api/api_mmds.c), and that a guest reads over
 * HTTP through a NIC (mmds_stack.h carries the bytes). Firecracker's
 * semantics: paths are JSON pointers; answers are JSON or the IMDS text
 * format (an object's keys one per line, "/" after those holding objects; a
 * string as itself); version 2 wants a session token, from
 * PUT /latest/api/token with a lifetime header, on every GET.
 *
 * One thread (the event loop) uses a store: the API and the virtio-net
 * queues both run there.
 */
#ifndef VMON_MMDS_MMDS_H
#define VMON_MMDS_MMDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct json_object;

#define MMDS_DEFAULT_LIMIT 51200 /* bytes: Firecracker's default --mmds-size-limit */
#define MMDS_MAX_TOKENS 128 /* V2 sessions alive at once; the one expiring first gives way */
#define MMDS_TOKEN_CHARS 44 /* base64url of 33 random bytes */
#define MMDS_TOKEN_TTL_MAX 21600 /* seconds */

struct mmds_token {
	char text[MMDS_TOKEN_CHARS + 1]; /* "" when free */
	uint64_t expires_ns; /* CLOCK_MONOTONIC */
};

struct mmds {
	struct json_object *data; /* NULL: never set, or set to null */
	bool set;
	size_t limit; /* 0: MMDS_DEFAULT_LIMIT */
	struct mmds_token tokens[MMDS_MAX_TOKENS];
	uint64_t (*now_ns)(void); /* the clock tokens expire by (tests replace it) */
};

/* How the guest's requests are answered (vm_config's MMDS settings). */
struct mmds_guest_opts {
	unsigned version; /* 1 or 2 */
	bool imds_compat; /* always the IMDS format, whatever Accept says */
};

void mmds_init(struct mmds *m);
void mmds_fini(struct mmds *m);

/* mmds_put - @obj (a copy; NULL is JSON null) becomes the store. 0, or -errno with a fault. */
int mmds_put(struct mmds *m, struct json_object *obj, const char **fault);

/* mmds_patch - @obj merged into the store (RFC 7396). 0, or -errno with a fault. */
int mmds_patch(struct mmds *m, struct json_object *obj, const char **fault);

/* mmds_get - a new reference to a copy of the store; NULL when it is null or memory ran out. */
struct json_object *mmds_get(const struct mmds *m);

/*
 * mmds_answer - the guest's side, as a mmds_stack_handler: the bytes a TCP
 * connection received (@req, @len) hold an HTTP request (line, headers and
 * any body its Content-Length gives)? Returns 0 when not yet; 1 with the
 * request's *@consumed bytes and its answer (a whole HTTP/1.1 response,
 * malloc'd) in *@resp, *@resp_len; 2 as 1 when the connection is to close
 * after it (Connection: close, HTTP/1.0, or a request that cannot be read);
 * -1 when no answer can be made (memory). @opaque is a struct mmds_guest_ctx.
 */
struct mmds_guest_ctx {
	struct mmds *m;
	struct mmds_guest_opts opts;
};
int mmds_answer(void *opaque, const uint8_t *req, size_t len, size_t *consumed, uint8_t **resp,
		size_t *resp_len);

#endif
