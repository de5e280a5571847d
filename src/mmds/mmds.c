/* mmds.c — the metadata service's store, sessions and HTTP answers (see mmds.h). */
#include "mmds/mmds.h"

#include <errno.h>
#include <json-c/json.h>
#include <json-c/json_pointer.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include "util/token_bucket.h"

#define FAULT_TOO_BIG "The MMDS patch request doesn't fit."
#define FAULT_NOT_INIT "The MMDS data store is not initialized."
#define FAULT_OOM "Out of memory."
#define HEAD_MAX 8192 /* request line and headers */
#define BODY_MAX 4096 /* a request body is read and ignored */
#define TOKEN_PATH "/latest/api/token"

void mmds_init(struct mmds *m)
{
	memset(m, 0, sizeof(*m));
	m->now_ns = monotonic_ns;
}

void mmds_fini(struct mmds *m)
{
	json_object_put(m->data);
	m->data = NULL;
	m->set = false;
	memset(m->tokens, 0, sizeof(m->tokens));
}

/* ---- the store ---- */

static bool fits(const struct mmds *m, struct json_object *o)
{
	const char *text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);

	return text && strlen(text) <= (m->limit ? m->limit : MMDS_DEFAULT_LIMIT);
}

/* RFC 7396: @patch merged into @target (a reference it takes); the result, a new reference, or
 * NULL (JSON null, or memory ran out: *@oom). */
static struct json_object *merge_patch(struct json_object *target, struct json_object *patch,
				       bool *oom)
{
	if (!json_object_is_type(patch, json_type_object)) {
		struct json_object *copy = NULL;

		json_object_put(target);
		if (patch && json_object_deep_copy(patch, &copy, NULL))
			*oom = true;
		return copy;
	}
	if (!json_object_is_type(target, json_type_object)) {
		json_object_put(target);
		target = json_object_new_object();
		if (!target) {
			*oom = true;
			return NULL;
		}
	}
	json_object_object_foreach(patch, key, val)
	{
		struct json_object *old = NULL, *merged;

		if (!val) {
			json_object_object_del(target, key);
			continue;
		}
		if (json_object_object_get_ex(target, key, &old))
			json_object_get(old);
		merged = merge_patch(old, val, oom);
		if (*oom || json_object_object_add(target, key, merged)) {
			json_object_put(merged);
			json_object_put(target);
			*oom = true;
			return NULL;
		}
	}
	return target;
}

int mmds_put(struct mmds *m, struct json_object *obj, const char **fault)
{
	struct json_object *copy = NULL;

	if (obj && json_object_deep_copy(obj, &copy, NULL)) {
		*fault = FAULT_OOM;
		return -ENOMEM;
	}
	if (!fits(m, copy)) {
		json_object_put(copy);
		*fault = FAULT_TOO_BIG;
		return -EFBIG;
	}
	json_object_put(m->data);
	m->data = copy;
	m->set = true;
	return 0;
}

int mmds_patch(struct mmds *m, struct json_object *obj, const char **fault)
{
	struct json_object *copy = NULL, *merged;
	bool oom = false;

	if (!m->set) {
		*fault = FAULT_NOT_INIT;
		return -EINVAL;
	}
	if (m->data && json_object_deep_copy(m->data, &copy, NULL)) {
		*fault = FAULT_OOM;
		return -ENOMEM;
	}
	merged = merge_patch(copy, obj, &oom);
	if (oom) {
		*fault = FAULT_OOM;
		return -ENOMEM;
	}
	if (!fits(m, merged)) {
		json_object_put(merged);
		*fault = FAULT_TOO_BIG;
		return -EFBIG;
	}
	json_object_put(m->data);
	m->data = merged;
	return 0;
}

struct json_object *mmds_get(const struct mmds *m)
{
	struct json_object *copy = NULL;

	if (!m->data || json_object_deep_copy(m->data, &copy, NULL))
		return NULL;
	return copy;
}

/* ---- V2 sessions ---- */

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* A new token living @ttl seconds into @out (MMDS_TOKEN_CHARS + 1). 0 or -errno. */
static int token_new(struct mmds *m, unsigned ttl, char *out)
{
	uint8_t raw[MMDS_TOKEN_CHARS / 4 * 3];
	uint64_t now = m->now_ns();
	struct mmds_token *slot = &m->tokens[0];

	if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
		return -EIO;
	for (size_t i = 0, o = 0; i < sizeof(raw); i += 3) {
		uint32_t v = (uint32_t)raw[i] << 16 | (uint32_t)raw[i + 1] << 8 | raw[i + 2];

		for (int k = 3; k >= 0; k--)
			out[o++] = b64url[(v >> (6 * k)) & 63];
	}
	out[MMDS_TOKEN_CHARS] = '\0';
	/* a free or expired slot, else the one that expires first */
	for (unsigned i = 0; i < MMDS_MAX_TOKENS; i++) {
		struct mmds_token *t = &m->tokens[i];

		if (!t->text[0] || t->expires_ns <= now) {
			slot = t;
			break;
		}
		if (t->expires_ns < slot->expires_ns)
			slot = t;
	}
	memcpy(slot->text, out, sizeof(slot->text));
	slot->expires_ns = now + (uint64_t)ttl * 1000000000ull;
	return 0;
}

static bool same_token(const char *a, const char *b, size_t len)
{
	unsigned diff = 0;

	for (size_t i = 0; i < len; i++)
		diff |= (unsigned)(a[i] ^ b[i]);
	return !diff;
}

static bool token_valid(const struct mmds *m, const char *tok, size_t len)
{
	uint64_t now = m->now_ns();
	bool ok = false;

	if (len != MMDS_TOKEN_CHARS)
		return false;
	for (unsigned i = 0; i < MMDS_MAX_TOKENS; i++) {
		const struct mmds_token *t = &m->tokens[i];

		ok |= t->text[0] && t->expires_ns > now && same_token(t->text, tok, len);
	}
	return ok;
}

/* ---- HTTP ---- */

struct request {
	const char *method;
	size_t method_len;
	char path[1024]; /* the JSON pointer, sanitised */
	bool http10, close, json;
	const char *token, *ttl;
	size_t token_len, ttl_len;
	bool forwarded, chunked;
	size_t body_len;
};

static const char *reason(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 501:
		return "Not Implemented";
	default:
		return "Internal Server Error";
	}
}

/* A whole response into *@resp. 0 or -1 (memory). */
static int respond(int status, bool json, const char *extra, const char *body, size_t body_len,
		   uint8_t **resp, size_t *resp_len)
{
	char head[256];
	int n = snprintf(head, sizeof(head),
			 "HTTP/1.1 %d %s\r\nServer: vmon MMDS\r\nContent-Type: %s\r\n%s"
			 "Content-Length: %zu\r\n\r\n",
			 status, reason(status), json ? "application/json" : "text/plain",
			 extra ? extra : "", body_len);
	uint8_t *out;

	if (n < 0 || (size_t)n >= sizeof(head))
		return -1;
	out = malloc((size_t)n + body_len);
	if (!out)
		return -1;
	memcpy(out, head, (size_t)n);
	memcpy(out + n, body, body_len);
	*resp = out;
	*resp_len = (size_t)n + body_len;
	return 0;
}

static int respond_text(int status, const char *text, uint8_t **resp, size_t *resp_len)
{
	return respond(status, false, NULL, text, strlen(text), resp, resp_len);
}

/* @s (@len bytes) equals @lit, ignoring case. */
static bool is(const char *s, size_t len, const char *lit)
{
	return len == strlen(lit) && !strncasecmp(s, lit, len);
}

/* The request target into @r->path: origin or absolute form, no query, "//" collapsed, no
 * trailing "/" (the root is ""). false when it cannot be a path. */
static bool parse_target(const char *t, size_t len, struct request *r)
{
	size_t o = 0;

	if (len > 7 && !strncasecmp(t, "http://", 7)) {
		const char *slash = memchr(t + 7, '/', len - 7);

		if (!slash)
			return false;
		len -= (size_t)(slash - t);
		t = slash;
	}
	if (!len || t[0] != '/')
		return false;
	for (size_t i = 0; i < len && t[i] != '?' && t[i] != '#'; i++) {
		if ((unsigned char)t[i] < 0x21 || (unsigned char)t[i] == 0x7f)
			return false;
		if (t[i] == '/' && o && r->path[o - 1] == '/')
			continue;
		if (o + 1 >= sizeof(r->path))
			return false;
		r->path[o++] = t[i];
	}
	if (o && r->path[o - 1] == '/')
		o--;
	r->path[o] = '\0';
	return true;
}

/* Request line and headers (@head, @len bytes, without the blank line). false: malformed. */
static bool parse_head(const char *head, size_t len, struct request *r)
{
	const char *end = head + len, *line = head, *eol, *sp1, *sp2;

	if (!head || !len)
		return false;
	eol = memmem(line, (size_t)(end - line), "\r\n", 2);
	if (!eol)
		eol = end;
	sp1 = memchr(line, ' ', (size_t)(eol - line));
	if (!sp1 || sp1 == line)
		return false;
	sp2 = memchr(sp1 + 1, ' ', (size_t)(eol - sp1 - 1));
	if (!sp2)
		return false;
	r->method = line;
	r->method_len = (size_t)(sp1 - line);
	for (size_t i = 0; i < r->method_len; i++)
		if (line[i] < 'A' || line[i] > 'Z')
			return false;
	if (is(sp2 + 1, (size_t)(eol - sp2 - 1), "HTTP/1.0"))
		r->http10 = r->close = true;
	else if (!is(sp2 + 1, (size_t)(eol - sp2 - 1), "HTTP/1.1"))
		return false;
	if (!parse_target(sp1 + 1, (size_t)(sp2 - sp1 - 1), r))
		return false;
	for (line = eol + 2; line < end; line = eol + 2) {
		const char *colon, *v, *ve;

		eol = memmem(line, (size_t)(end - line), "\r\n", 2);
		if (!eol)
			eol = end;
		colon = memchr(line, ':', (size_t)(eol - line));
		if (!colon || colon == line)
			return false;
		for (v = colon + 1; v < eol && (*v == ' ' || *v == '\t'); v++)
			;
		for (ve = eol; ve > v && (ve[-1] == ' ' || ve[-1] == '\t'); ve--)
			;
		size_t nl = (size_t)(colon - line), vl = (size_t)(ve - v);

		if (is(line, nl, "Content-Length")) {
			size_t n = 0;

			if (!vl || vl > 6)
				return false;
			for (size_t i = 0; i < vl; i++) {
				if (v[i] < '0' || v[i] > '9')
					return false;
				n = n * 10 + (size_t)(v[i] - '0');
			}
			if (n > BODY_MAX)
				return false;
			r->body_len = n;
		} else if (is(line, nl, "Transfer-Encoding")) {
			r->chunked = true;
		} else if (is(line, nl, "Connection")) {
			r->close = is(v, vl, "close") || (r->http10 && !is(v, vl, "keep-alive"));
		} else if (is(line, nl, "Accept")) {
			r->json = vl >= 16 && memmem(v, vl, "application/json", 16);
		} else if (is(line, nl, "X-metadata-token") ||
			   is(line, nl, "X-aws-ec2-metadata-token")) {
			r->token = v;
			r->token_len = vl;
		} else if (is(line, nl, "X-metadata-token-ttl-seconds") ||
			   is(line, nl, "X-aws-ec2-metadata-token-ttl-seconds")) {
			r->ttl = v;
			r->ttl_len = vl;
		} else if (is(line, nl, "X-Forwarded-For")) {
			r->forwarded = true;
		}
	}
	return true;
}

/* @v in IMDS text: an object's keys ("/" after objects), a string itself. 0, or 501 / -1. */
static int imds_text(struct json_object *v, char **out, size_t *out_len)
{
	size_t len = 0, cap = 256;
	char *buf;

	if (json_object_is_type(v, json_type_string)) {
		*out_len = (size_t)json_object_get_string_len(v);
		*out = malloc(*out_len + 1);
		if (!*out)
			return -1;
		memcpy(*out, json_object_get_string(v), *out_len);
		return 0;
	}
	if (!json_object_is_type(v, json_type_object))
		return 501;
	buf = malloc(cap);
	if (!buf)
		return -1;
	json_object_object_foreach(v, key, val)
	{
		size_t kl = strlen(key);

		while (len + kl + 2 > cap) {
			char *b = realloc(buf, cap * 2);

			if (!b) {
				free(buf);
				return -1;
			}
			buf = b;
			cap *= 2;
		}
		if (len)
			buf[len++] = '\n';
		memcpy(buf + len, key, kl);
		len += kl;
		if (json_object_is_type(val, json_type_object))
			buf[len++] = '/';
	}
	*out = buf;
	*out_len = len;
	return 0;
}

static int answer_get(struct mmds_guest_ctx *c, const struct request *r, uint8_t **resp,
		      size_t *resp_len)
{
	struct json_object *v = NULL;
	char *text;
	size_t text_len;
	int rc;

	if (c->opts.version == 2) {
		if (!r->token)
			return respond_text(401,
					    "No MMDS token provided. Use `X-metadata-token` "
					    "header to specify the session token.",
					    resp, resp_len);
		if (!token_valid(c->m, r->token, r->token_len))
			return respond_text(401, "MMDS token not valid.", resp, resp_len);
	}
	if (!c->m->data || json_pointer_get(c->m->data, r->path, &v)) {
		char msg[1100];

		snprintf(msg, sizeof(msg), "Resource not found: %s.", *r->path ? r->path : "/");
		return respond_text(404, msg, resp, resp_len);
	}
	if (r->json && !c->opts.imds_compat) {
		const char *j = json_object_to_json_string_ext(
			v, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);

		if (!j)
			return -1;
		return respond(200, true, NULL, j, strlen(j), resp, resp_len);
	}
	rc = imds_text(v, &text, &text_len);
	if (rc == 501)
		return respond_text(501,
				    "Cannot retrieve value. The value has an unsupported type.",
				    resp, resp_len);
	if (rc)
		return -1;
	rc = respond(200, false, NULL, text, text_len, resp, resp_len);
	free(text);
	return rc;
}

static int answer_put(struct mmds_guest_ctx *c, const struct request *r, uint8_t **resp,
		      size_t *resp_len)
{
	char tok[MMDS_TOKEN_CHARS + 1], extra[64];
	unsigned ttl = 0;

	if (r->forwarded)
		return respond_text(400,
				    "Invalid header. Reason: Unsupported header name. Key: "
				    "X-Forwarded-For.",
				    resp, resp_len);
	if (strcmp(r->path, TOKEN_PATH)) {
		char msg[1100];

		snprintf(msg, sizeof(msg), "Resource not found: %s.", *r->path ? r->path : "/");
		return respond_text(404, msg, resp, resp_len);
	}
	if (!r->ttl)
		return respond_text(400,
				    "Token time to live value not found. Use "
				    "`X-metadata-token-ttl-seconds` header to specify the "
				    "token's lifetime.",
				    resp, resp_len);
	for (size_t i = 0; i < r->ttl_len; i++) {
		if (r->ttl[i] < '0' || r->ttl[i] > '9' || ttl > MMDS_TOKEN_TTL_MAX) {
			ttl = 0;
			break;
		}
		ttl = ttl * 10 + (unsigned)(r->ttl[i] - '0');
	}
	if (!ttl || ttl > MMDS_TOKEN_TTL_MAX)
		return respond_text(400,
				    "Invalid time to live value provided for token: it must "
				    "be between 1 and 21600 seconds.",
				    resp, resp_len);
	if (token_new(c->m, ttl, tok))
		return -1;
	snprintf(extra, sizeof(extra), "X-metadata-token-ttl-seconds: %u\r\n", ttl);
	return respond(200, false, extra, tok, MMDS_TOKEN_CHARS, resp, resp_len);
}

int mmds_answer(void *opaque, const uint8_t *req, size_t len, size_t *consumed, uint8_t **resp,
		size_t *resp_len)
{
	struct mmds_guest_ctx *c = opaque;
	const char *text = (const char *)req;
	const char *end = memmem(text, len, "\r\n\r\n", 4);
	struct request r;
	size_t head_len;
	int rc;

	if (!end) {
		if (len < HEAD_MAX)
			return 0;
		*consumed = len;
		return respond_text(400, "Request headers too large.", resp, resp_len) ? -1 : 2;
	}
	head_len = (size_t)(end - text);
	memset(&r, 0, sizeof(r));
	if (!parse_head(text, head_len, &r) || r.chunked) {
		*consumed = len;
		return respond_text(400, "Malformed request.", resp, resp_len) ? -1 : 2;
	}
	if (len - head_len - 4 < r.body_len)
		return 0; /* the body is still coming */
	*consumed = head_len + 4 + r.body_len;
	if (is(r.method, r.method_len, "GET"))
		rc = answer_get(c, &r, resp, resp_len);
	else if (is(r.method, r.method_len, "PUT"))
		rc = answer_put(c, &r, resp, resp_len);
	else
		rc = respond(405, false, "Allow: GET, PUT\r\n", "Not allowed HTTP method.", 24,
			     resp, resp_len);
	if (rc)
		return -1;
	return r.close ? 2 : 1;
}
