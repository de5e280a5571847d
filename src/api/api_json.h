/*
 * api_json.h — strict JSON for the control plane: parse an untrusted body with
 * json-c (size and depth limited, strict grammar, UTF-8 checked, no trailing
 * bytes) and read an object against a table of fields: unknown fields, wrong
 * types and missing required fields are refused with one fault line, the way
 * Firecracker's deny_unknown_fields deserialisation does.
 */
#ifndef VMON_API_API_JSON_H
#define VMON_API_API_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct json_object;

#define API_BODY_MAX_BYTES (64u * 1024u) /* larger bodies are refused unparsed */
#define API_JSON_MAX_DEPTH 16

/* Prefix of every deserialisation fault, as in Firecracker's responses. */
#define API_JSON_FAULT "An error occurred when deserializing the json body of a request: "

enum api_field_type {
	API_F_STRING, /* a JSON string without NUL characters */
	API_F_BOOL, /* true / false */
	API_F_U64, /* a non-negative integer (no fraction, no exponent) */
	API_F_ANY, /* any value (e.g. a rate limiter object): kept as json */
};

struct api_field {
	const char *name;
	enum api_field_type type;
	bool required;
};

/* One parsed field; present is false when absent or null (optional fields). */
struct api_value {
	bool present;
	const char *s; /* API_F_STRING: points into the json object */
	bool b;
	uint64_t u;
	struct json_object *j; /* the raw value when present */
};

/*
 * api_json_parse - parse @len bytes of @text as one JSON value. Refuses more
 * than API_BODY_MAX_BYTES, nesting deeper than API_JSON_MAX_DEPTH, invalid
 * UTF-8, non-standard syntax and anything but whitespace after the value.
 * Returns a new reference (json_object_put it) or NULL with a full fault
 * sentence in @err.
 */
struct json_object *api_json_parse(const char *text, size_t len, char *err, size_t err_len);

/*
 * api_json_fields - read object @obj against @fields (@n of them) into
 * @out[0..n). Refuses a non-object, an unknown member, a member of the wrong
 * type (null counts as absent for optional fields only) and a missing required
 * member.
 * Returns 0, or -EINVAL with a full fault sentence in @err.
 */
int api_json_fields(struct json_object *obj, const struct api_field *fields, size_t n,
		    struct api_value *out, char *err, size_t err_len);

/*
 * api_json_enum - @s must be one of the NULL-terminated @names; returns its
 * index, or -EINVAL with "unknown variant `x`, expected one of ..." in @err.
 */
int api_json_enum(const char *field, const char *s, const char *const *names, char *err,
		  size_t err_len);

#endif
