/* api_test_util.h — a fake VM behind struct api_vm_ops and request/response helpers for the API
 * tests. */
#ifndef VMON_TESTS_API_TEST_UTIL_H
#define VMON_TESTS_API_TEST_UTIL_H

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <pthread.h>

#include "api/api.h"
#include "virtio/virtio_balloon.h"
#include "vm/vm_migrate.h"
#include "harness.h"

struct fake_vm {
	int starts, pauses, resumes, cad;
	int start_ret, pause_ret;
	pthread_t start_thread; /* the thread the last start ran on */
	unsigned started_cpus;
	const char *stats; /* returned (copied) by stats_json, or NULL */
	int limits, limit_ret; /* set_disk_limit / set_net_limit calls, and what they return */
	char limit_id[32];
	int paths, path_ret; /* set_disk_path calls, and what they return */
	char path_id[32], path[64]; /* the last drive and file asked for */
	struct rate_limit_config limit, tx_limit; /* the last ones asked for (disk, or rx and tx) */
	int migrations, migrate_ret; /* migrate_send calls, and what they return */
	struct vm_migrate_params mig; /* the last migration asked for */
	const char *mig_status; /* returned (copied) by migration_json, or NULL */
	int receives; /* migrate_receive calls */
	char listen[64];
	unsigned nr_overrides;
	int balloon_calls, balloon_ret; /* balloon_set_target / _set_interval calls, their result */
	uint32_t balloon_mib, balloon_interval; /* the last target and interval asked for */
};

static struct fake_vm fake;

static int fake_start(void *opaque, const struct vm_config *cfg, char *err, size_t err_len)
{
	fake.starts++;
	fake.start_thread = pthread_self();
	if (fake.start_ret) {
		snprintf(err, err_len, "no KVM here");
		return fake.start_ret;
	}
	fake.started_cpus = cfg->cpus;
	return 0;
}

static int fake_pause(void *opaque)
{
	fake.pauses++;
	return fake.pause_ret;
}

static int fake_resume(void *opaque)
{
	fake.resumes++;
	return 0;
}

static int fake_cad(void *opaque)
{
	fake.cad++;
	return 0;
}

static char *fake_stats(void *opaque)
{
	return fake.stats ? strdup(fake.stats) : NULL;
}

static int fake_disk_limit(void *opaque, const char *id, const struct rate_limit_config *c,
			   char *err, size_t err_len)
{
	fake.limits++;
	snprintf(fake.limit_id, sizeof(fake.limit_id), "%s", id);
	fake.limit = *c;
	if (fake.limit_ret)
		snprintf(err, err_len, "the device said no");
	return fake.limit_ret;
}

static int fake_disk_path(void *opaque, const char *id, const char *path, char *err, size_t err_len)
{
	fake.paths++;
	snprintf(fake.path_id, sizeof(fake.path_id), "%s", id);
	snprintf(fake.path, sizeof(fake.path), "%s", path);
	if (fake.path_ret)
		snprintf(err, err_len, "Cannot change the file of the block device %s: locked.",
			 id);
	return fake.path_ret;
}

static int fake_net_limit(void *opaque, const char *id, const struct rate_limit_config *rx,
			  const struct rate_limit_config *tx, char *err, size_t err_len)
{
	fake.tx_limit = *tx;
	return fake_disk_limit(opaque, id, rx, err, err_len);
}

static int fake_migrate(void *opaque, const struct vm_migrate_params *p, char *err, size_t err_len)
{
	fake.migrations++;
	fake.mig = *p;
	if (fake.migrate_ret)
		snprintf(err, err_len, "the destination said no");
	return fake.migrate_ret;
}

static char *fake_mig_status(void *opaque)
{
	return fake.mig_status ? strdup(fake.mig_status) : NULL;
}

static int fake_receive(void *opaque, const char *listen, const struct vm_net_override *ov,
			unsigned nr_ov, char *err, size_t err_len)
{
	fake.receives++;
	snprintf(fake.listen, sizeof(fake.listen), "%s", listen);
	fake.nr_overrides = nr_ov;
	return 0;
}

static int fake_balloon_target(void *opaque, uint32_t mib, char *err, size_t err_len)
{
	fake.balloon_calls++;
	if (fake.balloon_ret) {
		snprintf(err, err_len, "Cannot update the balloon: no.");
		return fake.balloon_ret;
	}
	fake.balloon_mib = mib; /* the device's target: unchanged by a refusal */
	return 0;
}

static int fake_balloon_interval(void *opaque, uint32_t s, char *err, size_t err_len)
{
	fake.balloon_calls++;
	fake.balloon_interval = s;
	return 0;
}

/* statistics: the target asked for last, 3/4 of it reached, free memory 123456 bytes */
static int fake_balloon_stats(void *opaque, struct virtio_balloon_stats *out, char *err,
			      size_t err_len)
{
	memset(out, 0, sizeof(*out));
	out->target_pages = fake.balloon_mib * 256;
	out->actual_pages = out->target_pages / 4 * 3;
	out->valid = 1u << 4;
	out->value[4] = 123456;
	return 0;
}

static const struct api_vm_ops fake_ops = {
	.balloon_set_target = fake_balloon_target,
	.balloon_set_interval = fake_balloon_interval,
	.balloon_stats = fake_balloon_stats,
	.migrate_receive = fake_receive,
	.migrate_send = fake_migrate,
	.migration_json = fake_mig_status,
	.start = fake_start,
	.pause = fake_pause,
	.resume = fake_resume,
	.ctrl_alt_del = fake_cad,
	.stats_json = fake_stats,
	.set_disk_limit = fake_disk_limit,
	.set_disk_path = fake_disk_path,
	.set_net_limit = fake_net_limit,
};

/* A fresh API on the fake VM; host files off unless a test turns them on. */
static inline void fresh(struct api *api)
{
	memset(&fake, 0, sizeof(fake));
	api_init(api, &fake_ops, NULL);
	api->host_files = false;
	api->apply_logger = false;
}

/* call - one request; returns status, copies the body (or "") into @out. */
static inline int call(struct api *api, const char *m, const char *p, const char *body, char *out,
		       size_t out_len)
{
	struct api_response r = { 0 };

	api_handle(api, m, p, body, body ? strlen(body) : 0, &r);
	snprintf(out, out_len, "%s", r.body ? r.body : "");
	api_response_free(&r);
	return r.status;
}

static inline bool expect_(struct api *api, const char *m, const char *p, const char *body,
			   int status, const char *want, int line)
{
	char got[8192];
	int s = call(api, m, p, body, got, sizeof(got));

	if (s != status || strcmp(got, want ? want : "")) {
		printf("#   line %d: %s %s -> %d %s\n#   wanted %d %s\n", line, m, p, s, got,
		       status, want ? want : "");
		return false;
	}
	return true;
}

/* EXPECT - request, exact status and exact body ("" / NULL for 204). */
#define EXPECT(api, m, p, body, status, want)                                                      \
	CHECK(expect_((api), (m), (p), (body), (status), (want), __LINE__))

#define FAULT(msg) "{\"fault_message\":\"" msg "\"}"

/* refused_ - a 400 with @fault that leaves the whole configuration and state as they were. */
static inline bool refused_(struct api *api, const char *m, const char *p, const char *body,
			    const char *fault, int line)
{
	char before[8192], after[8192], want[2048];
	enum api_instance_state st = api->state;
	bool ok;

	call(api, "GET", "/vm/config", NULL, before, sizeof(before));
	snprintf(want, sizeof(want), "{\"fault_message\":\"%s\"}", fault);
	ok = expect_(api, m, p, body, 400, want, line);
	call(api, "GET", "/vm/config", NULL, after, sizeof(after));
	if (strcmp(before, after) || st != api->state) {
		printf("#   line %d: state changed by a refused request\n#   %s\n#   %s\n", line,
		       before, after);
		return false;
	}
	return ok;
}

#define REFUSED(api, m, p, body, fault) CHECK(refused_((api), (m), (p), (body), (fault), __LINE__))

/* One row of a table of refused requests (REFUSED_ALL); failures name the row's line. */
struct refusal {
	int line;
	const char *m, *p, *body, *fault;
};
#define REFUSAL(m, p, body, fault)                                                                 \
	{                                                                                          \
		__LINE__, (m), (p), (body), (fault)                                                \
	}

/* REFUSED_ALL - REFUSED for each row of the array @table, in order. */
#define REFUSED_ALL(api, table)                                                                    \
	for (size_t i_ = 0; i_ < sizeof(table) / sizeof((table)[0]); i_++)                         \
	CHECK(refused_((api), (table)[i_].m, (table)[i_].p, (table)[i_].body, (table)[i_].fault,   \
		       (table)[i_].line))

#define JF "An error occurred when deserializing the json body of a request: "

#endif
