/*
 * fuzz_mmds_http.c — the metadata service's HTTP answers to the guest.
 * Input: 1 byte of options (version 2, IMDS compatibility), then the bytes a
 * connection received; answered as the TCP endpoint would, request after
 * request, over a small store (and a live session token, for version 2).
 */
#include <json-c/json.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mmds/mmds.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char tok_req[] =
		"PUT /latest/api/token HTTP/1.1\r\nX-metadata-token-ttl-seconds: 60\r\n\r\n";
	struct mmds m;
	struct mmds_guest_ctx c = { .m = &m };
	struct json_object *o;
	const char *fault;
	size_t off = 1, used;
	uint8_t *resp;
	size_t resp_len;

	if (size < 1)
		return 0;
	mmds_init(&m);
	o = json_tokener_parse("{\"latest\":{\"meta-data\":{\"a\":\"b\",\"n\":[1,{\"x\":null}]}}}");
	mmds_put(&m, o, &fault);
	json_object_put(o);
	c.opts.version = 1 + (data[0] & 1);
	c.opts.imds_compat = data[0] & 2;
	if (mmds_answer(&c, (const uint8_t *)tok_req, sizeof(tok_req) - 1, &used, &resp,
			&resp_len) > 0)
		free(resp);
	while (off < size) {
		int rc = mmds_answer(&c, data + off, size - off, &used, &resp, &resp_len);

		if (rc <= 0)
			break;
		free(resp);
		if (!used || used > size - off)
			abort(); /* a request must consume what it read, and no more */
		off += used;
		if (rc == 2)
			break;
	}
	mmds_fini(&m);
	return 0;
}
