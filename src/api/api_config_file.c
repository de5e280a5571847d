/* api_config_file.c — loading Firecracker's --config-file JSON through the endpoint parsers. */
#include "api/api_config_file.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/api.h"
#include "api/api_balloon.h"
#include "api/api_json.h"
#include "api/api_mmds.h"
#include "api/api_resources.h"
#include "util/compiler.h"

/* api_config_file_read: see api_config_file.h */
int api_config_file_read(const char *path, char **text, size_t *len, char *err, size_t err_len)
{
	struct stat st;
	ssize_t n;
	size_t got = 0;
	char *buf;
	int fd, e;

	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		e = errno;
		snprintf(err, err_len, "%s: %s", path, strerror(e));
		return -e;
	}
	if (fstat(fd, &st)) {
		e = errno;
		close(fd);
		snprintf(err, err_len, "%s: %s", path, strerror(e));
		return -e;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		snprintf(err, err_len, "%s: not a regular file", path);
		return -EINVAL;
	}
	if (st.st_size > (off_t)API_BODY_MAX_BYTES) {
		close(fd);
		snprintf(err, err_len, "%s: the file is larger than 64 KiB", path);
		return -EFBIG;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		close(fd);
		snprintf(err, err_len, "%s: %s", path, strerror(ENOMEM));
		return -ENOMEM;
	}
	while (got < (size_t)st.st_size) {
		n = read(fd, buf + got, (size_t)st.st_size - got);
		if (n <= 0) {
			e = n < 0 ? errno : EIO;
			free(buf);
			close(fd);
			snprintf(err, err_len, "%s: %s", path, strerror(e));
			return -e;
		}
		got += (size_t)n;
	}
	close(fd);
	buf[got] = '\0';
	*text = buf;
	*len = got;
	return 0;
}

typedef int (*res_fn)(struct api *, struct json_object *, char *, size_t);

static int each_in_array(struct api *api, const char *key, struct json_object *arr,
			 int (*put)(struct api *, const char *, struct json_object *, char *,
				    size_t),
			 char *err, size_t err_len)
{
	char why[512];
	int r;

	if (!json_object_is_type(arr, json_type_array)) {
		snprintf(err, err_len, "`%s` must be an array.", key);
		return -EINVAL;
	}
	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		r = put(api, NULL, json_object_array_get_idx(arr, i), why, sizeof(why));
		if (r) {
			snprintf(err, err_len, "%s[%zu]: %s", key, i, why);
			return r;
		}
	}
	return 0;
}

static int machine_put(struct api *api, struct json_object *o, char *err, size_t err_len)
{
	return api_res_machine_config(api, o, false, err, err_len);
}

static const struct {
	const char *key;
	res_fn fn;
} sections[] = {
	{ "boot-source", api_res_boot_source }, { "machine-config", machine_put },
	{ "logger", api_res_logger },		{ "metrics", api_res_metrics },
	{ "balloon", api_balloon_put },		{ "vsock", api_res_vsock },
};

static const char *const unsupported_sections[] = {
	"cpu-config", "snapshot", "pmem", "serial", "memory-hotplug",
};

static int apply_object(struct api *api, struct json_object *root, char *err, size_t err_len)
{
	struct json_object *mmds = NULL;
	char why[512];
	int r;

	if (!json_object_is_type(root, json_type_object)) {
		snprintf(err, err_len, "the file must hold one JSON object.");
		return -EINVAL;
	}
	json_object_object_foreach(root, key, val)
	{
		bool known = false;

		if (!strcmp(key, "mmds-config")) {
			mmds = val; /* after the NICs it names, wherever the file has it */
			continue;
		}

		if (!strcmp(key, "drives") || !strcmp(key, "network-interfaces")) {
			if (json_object_is_type(val, json_type_null))
				continue;
			r = each_in_array(api, key, val,
					  key[0] == 'd' ? api_res_drive_put : api_res_net_put, err,
					  err_len);
			if (r)
				return r;
			continue;
		}
		for (size_t i = 0; i < ARRAY_SIZE(sections); i++) {
			if (strcmp(key, sections[i].key))
				continue;
			known = true;
			if (json_object_is_type(val, json_type_null))
				break;
			r = sections[i].fn(api, val, why, sizeof(why));
			if (r) {
				snprintf(err, err_len, "%s: %s", key, why);
				return r;
			}
		}
		const struct virtio_class *cls = known ? NULL : virtio_class_find_api(key);

		if (cls) {
			known = true;
			if (!json_object_is_type(val, json_type_null) &&
			    (r = api_res_class(api, cls, val, why, sizeof(why)))) {
				snprintf(err, err_len, "%s: %s", key, why);
				return r;
			}
		}
		for (size_t i = 0; i < ARRAY_SIZE(unsupported_sections); i++) {
			if (strcmp(key, unsupported_sections[i]))
				continue;
			known = true;
			if (!json_object_is_type(val, json_type_null)) {
				snprintf(err, err_len, "%s: " API_NOT_SUPPORTED_FMT, key,
					 "This section");
				return -EOPNOTSUPP;
			}
		}
		if (!known) {
			snprintf(err, err_len, "unknown section `%.64s`.", key);
			return -EINVAL;
		}
	}
	if (mmds && !json_object_is_type(mmds, json_type_null) &&
	    (r = api_mmds_config(api, mmds, why, sizeof(why)))) {
		snprintf(err, err_len, "mmds-config: %s", why);
		return r;
	}
	return 0;
}

int api_config_file_apply(struct api *api, const char *path, char *err, size_t err_len)
{
	struct json_object *root;
	char why[768];
	char *text = NULL;
	size_t len = 0;
	int r;

	if (api->state != API_NOT_STARTED) {
		snprintf(err, err_len, "%s: the microVM has already started.", path);
		return -EBUSY;
	}
	r = api_config_file_read(path, &text, &len, err, err_len);
	if (r)
		return r;
	root = api_json_parse(text, len, why, sizeof(why));
	free(text);
	if (!root) {
		snprintf(err, err_len, "%s: %s", path, why);
		return -EINVAL;
	}
	r = apply_object(api, root, why, sizeof(why));
	json_object_put(root);
	if (r)
		snprintf(err, err_len, "%s: %s", path, why);
	return r;
}

int api_config_file_load(const char *path, struct vm_config *cfg, char *err, size_t err_len)
{
	struct api tmp;
	int r;

	api_init(&tmp, NULL, NULL);
	tmp.apply_logger = false;
	r = api_config_file_apply(&tmp, path, err, err_len);
	if (!r) {
		vm_config_free(cfg);
		*cfg = tmp.cfg;
		vm_config_init(&tmp.cfg);
	}
	api_destroy(&tmp);
	return r;
}
