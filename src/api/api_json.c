/* api_json.c — strict parsing of untrusted JSON bodies and table-driven object reading. */
#include "api/api_json.h"

#include <ctype.h>
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/compiler.h"

/*
 * struct lex_keys - the member count of each object, in the order of their
 * '{', as written in the text: json-c keeps only the last of duplicate keys,
 * so comparing with the parsed objects finds duplicates.
 */
struct lex_keys {
	uint32_t *count;
	size_t nr;
};

/*
 * lex_check - what json-c accepts beyond RFC 8259 even in strict mode:
 * single-quoted strings, NaN/Infinity, comments, NUL bytes and raw control
 * characters in strings. Also counts object members into @keys.
 * Returns the offset of the first bad byte, or -1 when the text is clean.
 */
static long lex_check(const char *text, size_t len, struct lex_keys *keys)
{
	long stack[API_JSON_MAX_DEPTH + 2]; /* object index, or -1 for an array */
	int depth = 0;
	bool in_str = false;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)text[i];

		if (in_str) {
			if (c < 0x20)
				return (long)i;
			if (c == '\\') {
				i++;
			} else if (c == '"') {
				size_t j = i + 1;

				in_str = false;
				while (j < len && strchr(" \t\r\n", text[j]) && text[j])
					j++;
				if (j < len && text[j] == ':' && depth > 0 &&
				    depth <= (int)ARRAY_SIZE(stack) && stack[depth - 1] >= 0)
					keys->count[stack[depth - 1]]++;
			}
			continue;
		}
		if (c == '"') {
			in_str = true;
		} else if (c == '{' || c == '[') {
			if (depth < (int)ARRAY_SIZE(stack))
				stack[depth] = c == '{' ? (long)keys->nr : -1;
			if (c == '{')
				keys->count[keys->nr++] = 0;
			depth++;
		} else if (c == '}' || c == ']') {
			if (depth > 0)
				depth--;
		} else if (!c || (!strchr(" \t\r\n:,+-.0123456789", c) && !isalpha(c))) {
			return (long)i; /* NUL, quotes, comments, ... */
		} else if (isalpha(c)) {
			size_t j = i;

			if ((c == 'e' || c == 'E') && i > 0 && text[i - 1] >= '0' &&
			    text[i - 1] <= '9')
				continue; /* exponent */
			while (j < len && isalpha((unsigned char)text[j]))
				j++;
			if (!((j - i == 4 && !memcmp(text + i, "true", 4)) ||
			      (j - i == 5 && !memcmp(text + i, "false", 5)) ||
			      (j - i == 4 && !memcmp(text + i, "null", 4))))
				return (long)i;
			i = j - 1;
		}
	}
	return -1;
}

/* has_duplicates - walk @o in document order against the counts of lex_check. */
static bool has_duplicates(struct json_object *o, const struct lex_keys *keys, size_t *next)
{
	if (json_object_is_type(o, json_type_object)) {
		size_t idx = (*next)++;

		if (idx >= keys->nr || (size_t)json_object_object_length(o) != keys->count[idx])
			return true;
		json_object_object_foreach(o, k, v)
		{
			(void)k;
			if (has_duplicates(v, keys, next))
				return true;
		}
	} else if (json_object_is_type(o, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(o); i++)
			if (has_duplicates(json_object_array_get_idx(o, i), keys, next))
				return true;
	}
	return false;
}

static struct json_object *tokenize(struct json_tokener *tok, const char *text, size_t len,
				    char *err, size_t err_len);

struct json_object *api_json_parse(const char *text, size_t len, char *err, size_t err_len)
{
	struct lex_keys keys = { 0 };
	size_t next = 0;
	long bad;
	struct json_tokener *tok;
	struct json_object *obj;

	if (len > API_BODY_MAX_BYTES) {
		snprintf(err, err_len,
			 "The request body of %zu bytes exceeds the limit of %u bytes.", len,
			 API_BODY_MAX_BYTES);
		return NULL;
	}
	keys.count = calloc(len + 1, sizeof(*keys.count)); /* at most one object per byte */
	if (!keys.count) {
		snprintf(err, err_len, "Out of memory while parsing the request body.");
		return NULL;
	}
	bad = lex_check(text, len, &keys);
	if (bad >= 0) {
		free(keys.count);
		snprintf(err, err_len, API_JSON_FAULT "invalid JSON syntax at byte %ld.", bad);
		return NULL;
	}
	tok = json_tokener_new_ex(API_JSON_MAX_DEPTH);
	if (!tok) {
		free(keys.count);
		snprintf(err, err_len, "Out of memory while parsing the request body.");
		return NULL;
	}
	obj = tokenize(tok, text, len, err, err_len);
	json_tokener_free(tok);
	if (obj && has_duplicates(obj, &keys, &next)) {
		json_object_put(obj);
		obj = NULL;
		snprintf(err, err_len, API_JSON_FAULT "duplicate field in an object.");
	}
	free(keys.count);
	return obj;
}

/* tokenize - json-c's strict parse of the whole text; NULL with a fault in @err. */
static struct json_object *tokenize(struct json_tokener *tok, const char *text, size_t len,
				    char *err, size_t err_len)
{
	struct json_object *obj;
	enum json_tokener_error jerr;
	size_t end;

	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	obj = json_tokener_parse_ex(tok, text, (int)len);
	jerr = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	if (jerr == json_tokener_continue) {
		/* a bare literal or number at the end: tell json-c the input is over */
		obj = json_tokener_parse_ex(tok, "", 1);
		jerr = json_tokener_get_error(tok);
		if (jerr == json_tokener_success)
			end = len;
		else
			jerr = json_tokener_continue; /* an unfinished value */
	}
	if (!obj && jerr == json_tokener_success) {
		snprintf(err, err_len, API_JSON_FAULT "invalid type: null, expected an object.");
		return NULL;
	}
	if (jerr != json_tokener_success) {
		json_object_put(obj);
		if (jerr == json_tokener_continue)
			snprintf(err, err_len, API_JSON_FAULT "EOF while parsing a value.");
		else
			snprintf(err, err_len, API_JSON_FAULT "%s at byte %zu.",
				 json_tokener_error_desc(jerr), end);
		return NULL;
	}
	for (size_t i = end; i < len; i++) {
		if (text[i] != ' ' && text[i] != '\t' && text[i] != '\r' && text[i] != '\n') {
			json_object_put(obj);
			snprintf(err, err_len, API_JSON_FAULT "trailing characters at byte %zu.",
				 i);
			return NULL;
		}
	}
	return obj;
}

static const char *type_name(enum api_field_type t)
{
	switch (t) {
	case API_F_STRING:
		return "a string";
	case API_F_BOOL:
		return "a boolean";
	case API_F_U64:
		return "a non-negative integer";
	case API_F_ANY:
		break;
	}
	return "a value";
}

static const char *json_type_desc(struct json_object *v)
{
	switch (json_object_get_type(v)) {
	case json_type_null:
		return "null";
	case json_type_boolean:
		return "a boolean";
	case json_type_double:
		return "a floating point number";
	case json_type_int:
		return "an integer";
	case json_type_object:
		return "an object";
	case json_type_array:
		return "an array";
	case json_type_string:
		return "a string";
	}
	return "a value";
}

static int bad_type(const struct api_field *f, struct json_object *v, char *err, size_t err_len)
{
	snprintf(err, err_len, API_JSON_FAULT "invalid type for `%s`: %s, expected %s.", f->name,
		 json_type_desc(v), type_name(f->type));
	return -EINVAL;
}

static int read_one(const struct api_field *f, struct json_object *v, struct api_value *out,
		    char *err, size_t err_len)
{
	if (json_object_is_type(v, json_type_null)) {
		if (f->required)
			return bad_type(f, v, err, err_len);
		return 0; /* an optional null is an absent field */
	}
	switch (f->type) {
	case API_F_STRING: {
		const char *s;

		if (!json_object_is_type(v, json_type_string))
			return bad_type(f, v, err, err_len);
		s = json_object_get_string(v);
		if (strlen(s) != (size_t)json_object_get_string_len(v)) {
			snprintf(err, err_len, API_JSON_FAULT "`%s` contains a NUL character.",
				 f->name);
			return -EINVAL;
		}
		out->s = s;
		break;
	}
	case API_F_BOOL:
		if (!json_object_is_type(v, json_type_boolean))
			return bad_type(f, v, err, err_len);
		out->b = json_object_get_boolean(v);
		break;
	case API_F_U64: {
		int64_t i;

		if (!json_object_is_type(v, json_type_int))
			return bad_type(f, v, err, err_len);
		i = json_object_get_int64(v);
		if (i < 0) {
			snprintf(err, err_len,
				 API_JSON_FAULT "invalid value for `%s`: %lld, expected %s.",
				 f->name, (long long)i, type_name(f->type));
			return -EINVAL;
		}
		out->u = i == INT64_MAX ? json_object_get_uint64(v) : (uint64_t)i;
		break;
	}
	case API_F_ANY:
		break;
	}
	out->present = true;
	out->j = v;
	return 0;
}

int api_json_fields(struct json_object *obj, const struct api_field *fields, size_t n,
		    struct api_value *out, char *err, size_t err_len)
{
	memset(out, 0, n * sizeof(*out));
	if (!json_object_is_type(obj, json_type_object)) {
		snprintf(err, err_len, API_JSON_FAULT "invalid type: %s, expected an object.",
			 json_type_desc(obj));
		return -EINVAL;
	}
	json_object_object_foreach(obj, key, val)
	{
		size_t i;

		for (i = 0; i < n; i++)
			if (!strcmp(key, fields[i].name))
				break;
		if (i == n && !n) {
			snprintf(err, err_len,
				 API_JSON_FAULT "unknown field `%.64s`, expected none.", key);
			return -EINVAL;
		}
		if (i == n) {
			char list[512];
			size_t used = 0;

			list[0] = '\0';
			for (size_t k = 0; k < n && used < sizeof(list); k++) {
				int w = snprintf(list + used, sizeof(list) - used, "%s`%s`",
						 k ? ", " : "", fields[k].name);
				if (w < 0)
					break;
				used += (size_t)w;
			}
			snprintf(err, err_len,
				 API_JSON_FAULT "unknown field `%.64s`, expected %s%s.", key,
				 n == 1 ? "" : "one of ", list);
			return -EINVAL;
		}
		if (read_one(&fields[i], val, &out[i], err, err_len))
			return -EINVAL;
	}
	for (size_t i = 0; i < n; i++) {
		if (fields[i].required && !out[i].present) {
			snprintf(err, err_len, API_JSON_FAULT "missing field `%s`.",
				 fields[i].name);
			return -EINVAL;
		}
	}
	return 0;
}

int api_json_enum(const char *field, const char *s, const char *const *names, char *err,
		  size_t err_len)
{
	char list[256];
	size_t used = 0;

	for (int i = 0; names[i]; i++)
		if (!strcmp(s, names[i]))
			return i;
	list[0] = '\0';
	for (int i = 0; names[i] && used < sizeof(list); i++) {
		int w = snprintf(list + used, sizeof(list) - used, "%s`%s`", i ? ", " : "",
				 names[i]);
		if (w < 0)
			break;
		used += (size_t)w;
	}
	snprintf(err, err_len,
		 API_JSON_FAULT "unknown variant `%.64s` for `%s`, expected one of %s.", s, field,
		 list);
	return -EINVAL;
}
