/* test_mmds.c — the metadata service's answers to the guest: JSON pointers, the JSON and IMDS
 * formats, version 2's session tokens, and every malformed or partial request. */
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "mmds/mmds.h"

static uint64_t fake_now;

static uint64_t fake_clock(void)
{
	return fake_now;
}

static void store(struct mmds *m, const char *json)
{
	struct json_object *o = json_tokener_parse(json);
	const char *fault = "";

	mmds_init(m);
	m->now_ns = fake_clock;
	REQUIRE(o);
	REQUIRE(mmds_put(m, o, &fault) == 0);
	json_object_put(o);
}

/* One request through mmds_answer: its return, the response (NUL-terminated) in @out. */
static int ask(struct mmds *m, unsigned version, bool compat, const char *req, size_t *consumed,
	       char *out, size_t out_len)
{
	struct mmds_guest_ctx c = { .m = m, .opts = { .version = version, .imds_compat = compat } };
	uint8_t *resp = NULL;
	size_t resp_len = 0;
	int rc;

	*consumed = 0;
	out[0] = '\0';
	rc = mmds_answer(&c, (const uint8_t *)req, strlen(req), consumed, &resp, &resp_len);
	if (rc > 0) {
		size_t n = resp_len < out_len - 1 ? resp_len : out_len - 1;

		memcpy(out, resp, n);
		out[n] = '\0';
		free(resp);
	}
	return rc;
}

/* the body of the response in @resp */
static const char *body(const char *resp)
{
	const char *b = strstr(resp, "\r\n\r\n");

	return b ? b + 4 : "";
}

#define DATA "{\"latest\":{\"meta-data\":{\"ami-id\":\"ami-1\",\"n\":5,\"net\":{\"a\":\"b\"}}}}"

TEST(mmds_answers_json_pointers_in_json_and_imds)
{
	struct mmds m;
	char out[4096];
	size_t used;
	const char *q;

	store(&m, DATA);
	q = "GET /latest/meta-data HTTP/1.1\r\nHost: x\r\n\r\n";
	CHECK_EQ(ask(&m, 1, false, q, &used, out, sizeof(out)), 1);
	CHECK_EQ(used, strlen(q));
	CHECK(!strncmp(out, "HTTP/1.1 200 OK\r\n", 17));
	CHECK(strstr(out, "Content-Type: text/plain\r\n") && strstr(out, "Content-Length: 13\r\n"));
	CHECK(!strcmp(body(out), "ami-id\nn\nnet/"));
	/* a string as itself; a trailing slash and doubled slashes do not matter */
	CHECK_EQ(ask(&m, 1, false, "GET //latest//meta-data/ami-id/ HTTP/1.1\r\n\r\n", &used, out,
		     sizeof(out)),
		 1);
	CHECK(!strcmp(body(out), "ami-1"));
	/* JSON when asked for, with the absolute form and a query */
	CHECK_EQ(ask(&m, 1, false,
		     "GET http://169.254.169.254/latest/meta-data/net?x=1 HTTP/1.1\r\n"
		     "Accept: application/json\r\n\r\n",
		     &used, out, sizeof(out)),
		 1);
	CHECK(strstr(out, "Content-Type: application/json"));
	CHECK(!strcmp(body(out), "{\"a\":\"b\"}"));
	/* imds_compat: IMDS whatever Accept says */
	CHECK_EQ(ask(&m, 1, true, "GET /latest HTTP/1.1\r\nAccept: application/json\r\n\r\n", &used,
		     out, sizeof(out)),
		 1);
	CHECK(!strcmp(body(out), "meta-data/"));
	/* a number has no IMDS form; a path that is not there */
	CHECK_EQ(ask(&m, 1, false, "GET /latest/meta-data/n HTTP/1.1\r\n\r\n", &used, out,
		     sizeof(out)),
		 1);
	CHECK(!strncmp(out, "HTTP/1.1 501 ", 13));
	CHECK_EQ(ask(&m, 1, false, "GET /latest/nope HTTP/1.1\r\n\r\n", &used, out, sizeof(out)),
		 1);
	CHECK(!strncmp(out, "HTTP/1.1 404 ", 13));
	CHECK_EQ(ask(&m, 1, false, "GET / HTTP/1.1\r\nAccept: application/json\r\n\r\n", &used, out,
		     sizeof(out)),
		 1);
	CHECK(!strcmp(body(out), DATA));
	mmds_fini(&m);
	/* nothing stored: every path is not found */
	mmds_init(&m);
	CHECK_EQ(ask(&m, 1, false, "GET / HTTP/1.1\r\n\r\n", &used, out, sizeof(out)), 1);
	CHECK(!strncmp(out, "HTTP/1.1 404 ", 13));
	mmds_fini(&m);
}

TEST(mmds_v2_wants_a_live_session_token)
{
	struct mmds m;
	char out[4096], tok[MMDS_TOKEN_CHARS + 1], req[512];
	size_t used;

	store(&m, DATA);
	fake_now = 1000000000ull;
	CHECK_EQ(ask(&m, 2, false, "GET /latest HTTP/1.1\r\n\r\n", &used, out, sizeof(out)), 1);
	CHECK(!strncmp(out, "HTTP/1.1 401 ", 13));
	CHECK_EQ(ask(&m, 2, false,
		     "PUT /latest/api/token HTTP/1.1\r\nX-metadata-token-ttl-seconds: 60\r\n\r\n",
		     &used, out, sizeof(out)),
		 1);
	CHECK(!strncmp(out, "HTTP/1.1 200 ", 13));
	CHECK(strstr(out, "X-metadata-token-ttl-seconds: 60\r\n") != NULL);
	REQUIRE(strlen(body(out)) == MMDS_TOKEN_CHARS);
	memcpy(tok, body(out), sizeof(tok));
	snprintf(req, sizeof(req), "GET /latest HTTP/1.1\r\nX-metadata-token: %s\r\n\r\n", tok);
	CHECK_EQ(ask(&m, 2, false, req, &used, out, sizeof(out)), 1);
	CHECK(!strcmp(body(out), "meta-data/"));
	/* the EC2 header name works too; a wrong token does not */
	snprintf(req, sizeof(req), "GET /latest HTTP/1.1\r\nX-aws-ec2-metadata-token: %s\r\n\r\n",
		 tok);
	CHECK_EQ(ask(&m, 2, false, req, &used, out, sizeof(out)), 1);
	CHECK(!strncmp(out, "HTTP/1.1 200 ", 13));
	tok[0] = tok[0] == 'A' ? 'B' : 'A';
	snprintf(req, sizeof(req), "GET /latest HTTP/1.1\r\nX-metadata-token: %s\r\n\r\n", tok);
	CHECK_EQ(ask(&m, 2, false, req, &used, out, sizeof(out)), 1);
	CHECK(!strncmp(out, "HTTP/1.1 401 ", 13));
	tok[0] = tok[0] == 'A' ? 'B' : 'A';
	/* 61 s later it has expired */
	fake_now += 61000000000ull;
	snprintf(req, sizeof(req), "GET /latest HTTP/1.1\r\nX-metadata-token: %s\r\n\r\n", tok);
	CHECK_EQ(ask(&m, 2, false, req, &used, out, sizeof(out)), 1);
	CHECK(!strncmp(out, "HTTP/1.1 401 ", 13));
	/* V1 answers with or without one */
	CHECK_EQ(ask(&m, 1, false, req, &used, out, sizeof(out)), 1);
	CHECK(!strncmp(out, "HTTP/1.1 200 ", 13));
	mmds_fini(&m);
}

TEST(mmds_token_requests_are_checked)
{
	static const char *const bad[] = {
		"PUT /latest/api/token HTTP/1.1\r\n\r\n", /* no lifetime */
		"PUT /latest/api/token HTTP/1.1\r\nX-metadata-token-ttl-seconds: 0\r\n\r\n",
		"PUT /latest/api/token HTTP/1.1\r\nX-metadata-token-ttl-seconds: 21601\r\n\r\n",
		"PUT /latest/api/token HTTP/1.1\r\nX-metadata-token-ttl-seconds: 9x\r\n\r\n",
		"PUT /latest/api/token HTTP/1.1\r\nX-metadata-token-ttl-seconds: "
		"99999999999\r\n\r\n",
		"PUT /latest/api/token HTTP/1.1\r\nX-Forwarded-For: 1.2.3.4\r\n"
		"X-metadata-token-ttl-seconds: 5\r\n\r\n",
	};
	struct mmds m;
	char out[4096];
	size_t used;

	store(&m, DATA);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK_EQ(ask(&m, 2, false, bad[i], &used, out, sizeof(out)), 1);
		CHECK(!strncmp(out, "HTTP/1.1 400 ", 13));
	}
	CHECK_EQ(ask(&m, 2, false,
		     "PUT /latest/api/tok HTTP/1.1\r\nX-metadata-token-ttl-seconds: 5\r\n\r\n",
		     &used, out, sizeof(out)),
		 1);
	CHECK(!strncmp(out, "HTTP/1.1 404 ", 13));
	CHECK_EQ(ask(&m, 2, false, "POST /latest HTTP/1.1\r\n\r\n", &used, out, sizeof(out)), 1);
	CHECK(!strncmp(out, "HTTP/1.1 405 ", 13) && strstr(out, "Allow: GET, PUT\r\n"));
	/* far more sessions than slots: each new one still works, the table stays bounded */
	for (unsigned i = 0; i < 3 * MMDS_MAX_TOKENS; i++)
		CHECK_EQ(ask(&m, 2, false,
			     "PUT /latest/api/token HTTP/1.1\r\nX-metadata-token-ttl-seconds: "
			     "5\r\n\r\n",
			     &used, out, sizeof(out)),
			 1);
	mmds_fini(&m);
}

TEST(mmds_waits_for_whole_requests_and_reads_them_one_at_a_time)
{
	struct mmds m;
	char out[4096], big[9000];
	size_t used;
	const char *two =
		"GET /latest HTTP/1.1\r\n\r\nGET /latest/meta-data/ami-id HTTP/1.1\r\n\r\n";

	store(&m, DATA);
	CHECK_EQ(ask(&m, 1, false, "GET /latest HTTP/1.1\r\nHost:", &used, out, sizeof(out)), 0);
	CHECK_EQ(ask(&m, 1, false, "GET /latest HTTP/1.1\r\nContent-Length: 5\r\n\r\nab", &used,
		     out, sizeof(out)),
		 0); /* the body is still coming */
	CHECK_EQ(ask(&m, 1, false, "GET /latest HTTP/1.1\r\nContent-Length: 5\r\n\r\nabcde", &used,
		     out, sizeof(out)),
		 1);
	CHECK_EQ(used, strlen("GET /latest HTTP/1.1\r\nContent-Length: 5\r\n\r\nabcde"));
	/* pipelined: the first request only */
	CHECK_EQ(ask(&m, 1, false, two, &used, out, sizeof(out)), 1);
	CHECK_EQ(used, strlen("GET /latest HTTP/1.1\r\n\r\n"));
	CHECK(!strcmp(body(out), "meta-data/"));
	/* closing requests */
	CHECK_EQ(ask(&m, 1, false, "GET /latest HTTP/1.1\r\nConnection: close\r\n\r\n", &used, out,
		     sizeof(out)),
		 2);
	CHECK_EQ(ask(&m, 1, false, "GET /latest HTTP/1.0\r\n\r\n", &used, out, sizeof(out)), 2);
	CHECK_EQ(ask(&m, 1, false, "GET /latest HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", &used,
		     out, sizeof(out)),
		 1);
	/* headers that never end */
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	CHECK_EQ(ask(&m, 1, false, big, &used, out, sizeof(out)), 2);
	CHECK(!strncmp(out, "HTTP/1.1 400 ", 13));
	CHECK_EQ(used, strlen(big));
	mmds_fini(&m);
}

TEST(mmds_refuses_malformed_requests_and_closes)
{
	static const char *const bad[] = {
		"GET\r\n\r\n",
		"GET /latest\r\n\r\n",
		"GET /latest HTTP/2.0\r\n\r\n",
		"get /latest HTTP/1.1\r\n\r\n",
		" /latest HTTP/1.1\r\n\r\n",
		"GET latest HTTP/1.1\r\n\r\n",
		"GET http://host HTTP/1.1\r\n\r\n",
		"GET /a\x01 HTTP/1.1\r\n\r\n",
		"GET /latest HTTP/1.1\r\nno colon\r\n\r\n",
		"GET /latest HTTP/1.1\r\n: empty name\r\n\r\n",
		"GET /latest HTTP/1.1\r\nContent-Length: 5000\r\n\r\n",
		"GET /latest HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
		"GET /latest HTTP/1.1\r\nContent-Length: \r\n\r\n",
		"GET /latest HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
	};
	struct mmds m;
	char out[4096], longpath[1200];
	size_t used;

	store(&m, DATA);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK_EQ(ask(&m, 1, false, bad[i], &used, out, sizeof(out)), 2);
		CHECK(!strncmp(out, "HTTP/1.1 400 ", 13));
		CHECK_EQ(used, strlen(bad[i]));
	}
	memcpy(longpath, "GET /", 5);
	memset(longpath + 5, 'p', 1100);
	strcpy(longpath + 1105, " HTTP/1.1\r\n\r\n");
	CHECK_EQ(ask(&m, 1, false, longpath, &used, out, sizeof(out)), 2);
	CHECK(!strncmp(out, "HTTP/1.1 400 ", 13));
	mmds_fini(&m);
}

// clang-format off
HARNESS_MAIN(
	HARNESS_T(mmds_answers_json_pointers_in_json_and_imds)
	HARNESS_T(mmds_v2_wants_a_live_session_token)
	HARNESS_T(mmds_token_requests_are_checked)
	HARNESS_T(mmds_waits_for_whole_requests_and_reads_them_one_at_a_time)
	HARNESS_T(mmds_refuses_malformed_requests_and_closes)
)
// clang-format on
