/*
 * test_api_snapshot.c — PUT /snapshot/create and /snapshot/load against a fake
 * VM: Firecracker's bodies (and the older fields its Go SDK sends), the states
 * each is allowed in, refused bodies that change nothing, and a failed load
 * that leaves the process ready for another.
 */
#include <errno.h>

#include "api/api_json.h"
#include "api_test_util.h"

struct fake_snap {
	int creates, loads;
	int load_ret;
	enum vm_snapshot_type type;
	char state_path[64], mem_path[64], uffd_path[64];
	struct vm_restore_opts o;
	char override_id[16], override_tap[16];
};
static struct fake_snap snap;

static int fake_snapshot_create(void *opaque, enum vm_snapshot_type type, const char *state_path,
				const char *mem_path, char *err, size_t err_len)
{
	snap.creates++;
	snap.type = type;
	snprintf(snap.state_path, sizeof(snap.state_path), "%s", state_path);
	snprintf(snap.mem_path, sizeof(snap.mem_path), "%s", mem_path);
	return 0;
}

static int fake_snapshot_load(void *opaque, const struct vm_restore_opts *o, struct vm_config *cfg,
			      char *err, size_t err_len)
{
	snap.loads++;
	snap.o = *o;
	snprintf(snap.state_path, sizeof(snap.state_path), "%s", o->state_path);
	snprintf(snap.mem_path, sizeof(snap.mem_path), "%s", o->mem_path ? o->mem_path : "");
	snprintf(snap.uffd_path, sizeof(snap.uffd_path), "%s", o->uffd_path ? o->uffd_path : "");
	if (o->nr_net_overrides) {
		snprintf(snap.override_id, sizeof(snap.override_id), "%s", o->net_overrides[0].id);
		snprintf(snap.override_tap, sizeof(snap.override_tap), "%s",
			 o->net_overrides[0].tap);
	}
	if (snap.load_ret) {
		snprintf(err, err_len, "snapshot truncated in section 'vcpu' #0");
		return snap.load_ret;
	}
	vm_config_init(cfg);
	cfg->cpus = 3;
	return 0;
}

static struct api_vm_ops snap_ops;

static void fresh_snap(struct api *a)
{
	fresh(a);
	memset(&snap, 0, sizeof(snap));
	snap_ops = fake_ops;
	snap_ops.snapshot_create = fake_snapshot_create;
	snap_ops.snapshot_load = fake_snapshot_load;
	a->ops = &snap_ops;
}

#define LOAD_BODY(extra)                                                                           \
	"{\"snapshot_path\": \"/s\", \"mem_backend\": {\"backend_type\": \"File\", "               \
	"\"backend_path\": \"/m\"}" extra "}"

TEST(api_snapshot_load_takes_firecrackers_body)
{
	struct api a;
	char out[256];

	fresh_snap(&a);
	EXPECT(&a, "PUT", "/snapshot/load",
	       LOAD_BODY(", \"track_dirty_pages\": true, \"resume_vm\": true, \"clock_realtime\": "
			 "true, \"network_overrides\": [{\"iface_id\": \"eth0\", "
			 "\"host_dev_name\": \"tap7\"}]"),
	       204, "");
	CHECK_EQ(snap.loads, 1);
	CHECK(!strcmp(snap.state_path, "/s") && !strcmp(snap.mem_path, "/m"));
	CHECK(snap.o.resume && snap.o.track_dirty && snap.o.clock_realtime);
	CHECK_EQ(snap.o.nr_net_overrides, 1);
	CHECK(!strcmp(snap.override_id, "eth0") && !strcmp(snap.override_tap, "tap7"));
	CHECK_EQ(a.state, API_RUNNING);
	CHECK_EQ(a.cfg.cpus, 3); /* the restored configuration is what GET /vm/config shows */
	call(&a, "GET", "/", NULL, out, sizeof(out));
	CHECK(strstr(out, "\"Running\"") != NULL);
	api_destroy(&a);
}

TEST(api_snapshot_load_uffd_names_the_handlers_socket)
{
	struct api a;

	fresh_snap(&a);
	EXPECT(&a, "PUT", "/snapshot/load",
	       "{\"snapshot_path\": \"/s\", \"mem_backend\": {\"backend_type\": \"Uffd\", "
	       "\"backend_path\": \"/uffd.sock\"}, \"resume_vm\": true}",
	       204, "");
	CHECK_EQ(snap.loads, 1);
	CHECK(!strcmp(snap.uffd_path, "/uffd.sock") && !snap.mem_path[0]);
	api_destroy(&a);
}

TEST(api_snapshot_load_takes_the_go_sdks_older_fields)
{
	struct api a;

	fresh_snap(&a);
	EXPECT(&a, "PUT", "/snapshot/load",
	       "{\"snapshot_path\": \"/s\", \"mem_file_path\": \"/m\", \"enable_diff_snapshots\": "
	       "true}",
	       204, "");
	CHECK(!strcmp(snap.mem_path, "/m"));
	CHECK(snap.o.track_dirty && !snap.o.resume);
	CHECK_EQ(a.state, API_PAUSED); /* without resume_vm the microVM is restored paused */
	api_destroy(&a);
}

TEST(api_snapshot_load_refuses_bad_bodies_and_changes_nothing)
{
	static const struct refusal t[] = {
		REFUSAL("PUT", "/snapshot/load", "{\"snapshot_path\": \"/s\"}",
			"Load snapshot error: give either mem_backend or mem_file_path, not "
			"neither."),
		REFUSAL("PUT", "/snapshot/load", LOAD_BODY(", \"mem_file_path\": \"/m\""),
			"Load snapshot error: give either mem_backend or mem_file_path, not both."),
		REFUSAL("PUT", "/snapshot/load",
			"{\"snapshot_path\": \"/s\", \"mem_backend\": {\"backend_type\": \"Disk\", "
			"\"backend_path\": \"/m\"}}",
			API_JSON_FAULT
			"unknown variant `Disk` for `backend_type`, expected one of `File`, "
			"`Uffd`."),
		REFUSAL("PUT", "/snapshot/load", LOAD_BODY(", \"bogus\": 1"),
			API_JSON_FAULT "unknown field `bogus`, expected one of `snapshot_path`, "
				       "`mem_backend`, `mem_file_path`, `track_dirty_pages`, "
				       "`enable_diff_snapshots`, `resume_vm`, `network_overrides`, "
				       "`clock_realtime`."),
		REFUSAL("PUT", "/snapshot/load", LOAD_BODY(", \"network_overrides\": {}"),
			API_JSON_FAULT "network_overrides: expected an array."),
		REFUSAL("PUT", "/snapshot/load",
			LOAD_BODY(", \"network_overrides\": [{\"iface_id\": \"eth0\"}]"),
			API_JSON_FAULT "missing field `host_dev_name`."),
	};
	struct api a;

	fresh_snap(&a);
	REFUSED_ALL(&a, t);
	CHECK_EQ(snap.loads, 0);
	api_destroy(&a);
}

TEST(api_snapshot_load_refused_after_boot_source)
{
	struct api a;

	fresh_snap(&a);
	EXPECT(&a, "PUT", "/boot-source", "{\"kernel_image_path\": \"/k\"}", 204, "");
	REFUSED(&a, "PUT", "/snapshot/load", LOAD_BODY(""),
		"Load snapshot error: loading a snapshot is not allowed after configuring "
		"boot-specific resources.");
	CHECK_EQ(snap.loads, 0);
	api_destroy(&a);
}

TEST(api_snapshot_failed_load_leaves_the_process_ready)
{
	struct api a;

	fresh_snap(&a);
	snap.load_ret = -EINVAL;
	REFUSED(&a, "PUT", "/snapshot/load", LOAD_BODY(""),
		"Load snapshot error: snapshot truncated in section 'vcpu' #0.");
	CHECK_EQ(a.state, API_NOT_STARTED);
	snap.load_ret = 0;
	EXPECT(&a, "PUT", "/snapshot/load", LOAD_BODY(", \"resume_vm\": true"), 204, "");
	CHECK_EQ(snap.loads, 2);
	CHECK_EQ(a.state, API_RUNNING);
	REFUSED(&a, "PUT", "/snapshot/load", LOAD_BODY(""),
		"Load snapshot error: a microVM is already running.");
	api_destroy(&a);
}

TEST(api_snapshot_create_needs_a_paused_microvm)
{
	static const char body[] = "{\"snapshot_type\": \"Diff\", \"snapshot_path\": \"/s\", "
				   "\"mem_file_path\": \"/m\"}";
	struct api a;

	fresh_snap(&a);
	REFUSED(&a, "PUT", "/snapshot/create", body,
		"Create snapshot error: the microVM must be paused to create a snapshot.");
	EXPECT(&a, "PUT", "/boot-source", "{\"kernel_image_path\": \"/k\"}", 204, "");
	EXPECT(&a, "PUT", "/actions", "{\"action_type\": \"InstanceStart\"}", 204, "");
	REFUSED(&a, "PUT", "/snapshot/create", body,
		"Create snapshot error: the microVM must be paused to create a snapshot.");
	EXPECT(&a, "PATCH", "/vm", "{\"state\": \"Paused\"}", 204, "");
	EXPECT(&a, "PUT", "/snapshot/create", body, 204, "");
	CHECK_EQ(snap.creates, 1);
	CHECK_EQ(snap.type, VM_SNAPSHOT_DIFF);
	CHECK(!strcmp(snap.state_path, "/s") && !strcmp(snap.mem_path, "/m"));
	EXPECT(&a, "PUT", "/snapshot/create",
	       "{\"snapshot_path\": \"/s\", \"mem_file_path\": \"/m\"}", 204, "");
	CHECK_EQ(snap.type, VM_SNAPSHOT_FULL); /* Full when snapshot_type is left out */
	REFUSED(&a, "PUT", "/snapshot/create",
		"{\"snapshot_type\": \"Half\", \"snapshot_path\": \"/s\", \"mem_file_path\": "
		"\"/m\"}",
		API_JSON_FAULT
		"unknown variant `Half` for `snapshot_type`, expected one of `Full`, `Diff`.");
	REFUSED(&a, "PUT", "/snapshot/create", "{\"snapshot_path\": \"/s\"}",
		API_JSON_FAULT "missing field `mem_file_path`.");
	REFUSED(&a, "GET", "/snapshot/create", NULL,
		"Invalid request method and/or path: GET /snapshot/create.");
	api_destroy(&a);
}

// clang-format off
HARNESS_MAIN(
	HARNESS_T(api_snapshot_load_takes_firecrackers_body)
	HARNESS_T(api_snapshot_load_takes_the_go_sdks_older_fields)
	HARNESS_T(api_snapshot_load_uffd_names_the_handlers_socket)
	HARNESS_T(api_snapshot_load_refuses_bad_bodies_and_changes_nothing)
	HARNESS_T(api_snapshot_load_refused_after_boot_source)
	HARNESS_T(api_snapshot_failed_load_leaves_the_process_ready)
	HARNESS_T(api_snapshot_create_needs_a_paused_microvm)
)
// clang-format on
