/*
 * cmd_migrate.c — `vmon migrate --api-sock SOCK --to ADDR [...]`: the one-line user view
 * of a live migration. It asks the source's API (PUT /migration/send), then follows
 * GET /migration to the end: a line on stderr per state or round, the outcome on
 * stdout. Status 0: the guest runs at the destination; 1: the migration failed or was
 * cancelled (the source says whether its guest runs on); 2: refused; 4: the source's
 * API could not be reached.
 */
#include "cmd_migrate.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/api_client.h"
#include "vm/exit_status.h"

#define REQUEST_MS 10000 /* one request's limit: the API answers at once */
#define POLL_MS 100

enum { MIGRATE_FAILED = 1 };

struct mig_view {
	char state[32];
	unsigned round;
	double mib, downtime_ms, total_ms;
	long long last_dirty; /* pages dirtied in the round before @round, or -1 */
	long long dirty[64]; /* pages dirtied per finished round (the first 64) */
	unsigned nr_dirty;
	bool resumed;
	char error[600];
};

static const char *str_of(struct json_object *o, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string)
		       ? json_object_get_string(v)
		       : "";
}

static double num_of(struct json_object *o, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) ? json_object_get_double(v) : 0;
}

/* GET /migration's body into @v: 0, or -EPROTO when it is not the source's status. */
static int parse_view(const char *body, struct mig_view *v)
{
	struct json_object *o = json_tokener_parse(body), *d;

	memset(v, 0, sizeof(*v));
	v->last_dirty = -1;
	if (!o || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return -EPROTO;
	}
	snprintf(v->state, sizeof(v->state), "%s", str_of(o, "state"));
	snprintf(v->error, sizeof(v->error), "%s", str_of(o, "error"));
	v->round = (unsigned)num_of(o, "round");
	v->mib = num_of(o, "transferred_bytes") / 1048576.0;
	v->downtime_ms = num_of(o, "downtime_ms");
	v->total_ms = num_of(o, "total_ms");
	if (json_object_object_get_ex(o, "dirty_pages_per_round", &d) &&
	    json_object_is_type(d, json_type_array) && v->round > 0 &&
	    json_object_array_length(d) >= v->round)
		v->last_dirty = json_object_get_int64(json_object_array_get_idx(d, v->round - 1));
	if (d && json_object_is_type(d, json_type_array))
		for (size_t i = 0; i < json_object_array_length(d) && v->nr_dirty < 64; i++)
			v->dirty[v->nr_dirty++] =
				json_object_get_int64(json_object_array_get_idx(d, i));
	v->resumed = json_object_get_boolean(json_object_object_get(o, "source_resumed"));
	json_object_put(o);
	return v->state[0] ? 0 : -EPROTO;
}

/* a fault body's message ({"fault_message": "..."}), or the body itself */
static void fault_of(const char *body, char *out, size_t len)
{
	struct json_object *o = json_tokener_parse(body);
	const char *m = o ? str_of(o, "fault_message") : "";

	snprintf(out, len, "%.*s", (int)(len - 1), m[0] ? m : body);
	json_object_put(o);
}

static char *send_body(const struct cli *cli)
{
	struct json_object *o = json_object_new_object();
	char *text;

	json_object_object_add(o, "destination", json_object_new_string(cli->mig.to));
	if (cli->mig.max_downtime_ms)
		json_object_object_add(o, "max_downtime_ms",
				       json_object_new_int64(cli->mig.max_downtime_ms));
	if (cli->mig.max_bandwidth_mib_s)
		json_object_object_add(o, "max_bandwidth_mib_s",
				       json_object_new_int64(cli->mig.max_bandwidth_mib_s));
	if (cli->mig.timeout_s)
		json_object_object_add(o, "timeout_s", json_object_new_int64(cli->mig.timeout_s));
	if (cli->mig.on_timeout)
		json_object_object_add(o, "on_timeout",
				       json_object_new_string(cli->mig.on_timeout));
	text = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	return text;
}

int cmd_migrate(const struct cli *cli)
{
	char reply[8192], err[512], msg[600], *body = send_body(cli);
	struct mig_view v, seen = { .state = "" };
	unsigned printed = 0; /* rounds whose dirty count is on stderr */
	bool round_line;
	int st, misses = 0;

	if (!body) {
		fprintf(stderr, "vmon: out of memory\n");
		return VMON_EXIT_HOST;
	}
	st = api_client_request(cli->api_sock, "PUT", "/migration/send", body, reply, sizeof(reply),
				REQUEST_MS, err, sizeof(err));
	free(body);
	if (st < 0) {
		fprintf(stderr, "vmon: %s\n", err);
		return VMON_EXIT_HOST;
	}
	if (st != 204) {
		fault_of(reply, msg, sizeof(msg));
		fprintf(stderr, "vmon: the source refused the migration (HTTP %d): %s\n", st, msg);
		return VMON_EXIT_USAGE;
	}
	for (bool first = true;; first = false) {
		if (!first)
			usleep(POLL_MS * 1000);
		st = api_client_request(cli->api_sock, "GET", "/migration", NULL, reply,
					sizeof(reply), REQUEST_MS, err, sizeof(err));
		if (st != 200 || parse_view(reply, &v)) {
			/* the source gone before it said how the migration ended */
			if (++misses < 3)
				continue;
			if (st < 0)
				fprintf(stderr,
					"vmon: the source's API went away during the migration "
					"(last "
					"state: %s): %s; its log says whether the guest runs at "
					"%s\n",
					seen.state[0] ? seen.state : "none", err, cli->mig.to);
			else
				fprintf(stderr, "vmon: GET /migration answered %d: %.300s\n", st,
					reply);
			return MIGRATE_FAILED;
		}
		misses = 0;
		/*
		 * Each finished round's dirty count once, also for rounds that began and
		 * ended between two polls (a small guest moves in milliseconds).
		 */
		round_line = !strcmp(v.state, "precopy") && v.last_dirty >= 0 &&
			     (strcmp(v.state, seen.state) || v.round != seen.round);
		for (unsigned upto = round_line ? v.round - 1 : v.nr_dirty;
		     printed < upto && printed < v.nr_dirty; printed++)
			fprintf(stderr, "vmon: migration: precopy round %u: %lld pages dirtied\n",
				printed, v.dirty[printed]);
		if (round_line && printed < v.round)
			printed = v.round;
		if (strcmp(v.state, seen.state) || v.round != seen.round) {
			if (!strcmp(v.state, "precopy") && v.last_dirty >= 0)
				fprintf(stderr,
					"vmon: migration: precopy round %u (%.1f MiB sent; %lld "
					"pages "
					"dirtied in round %u)\n",
					v.round, v.mib, v.last_dirty, v.round - 1);
			else
				fprintf(stderr, "vmon: migration: %s (%.1f MiB sent)\n", v.state,
					v.mib);
		}
		seen = v;
		if (!strcmp(v.state, "completed")) {
			printf("migrated to %s: %.0f ms in all, %.1f ms of downtime, %.1f MiB "
			       "sent\n",
			       cli->mig.to, v.total_ms, v.downtime_ms, v.mib);
			return 0;
		}
		if (!strcmp(v.state, "failed") || !strcmp(v.state, "cancelled")) {
			char where[64] = "";

			/* the instance's state says where the guest is: Running, or Paused */
			if (api_client_request(cli->api_sock, "GET", "/", NULL, reply,
					       sizeof(reply), REQUEST_MS, err,
					       sizeof(err)) == 200) {
				struct json_object *o = json_tokener_parse(reply);

				snprintf(where, sizeof(where), "%s", o ? str_of(o, "state") : "");
				json_object_put(o);
			}
			fprintf(stderr, "vmon: migration %s: %s; at the source the guest is %s%s\n",
				v.state, v.error[0] ? v.error : "no reason given",
				where[0] ? where : "in a state its API did not tell",
				v.resumed ? " (resumed)" : "");
			return MIGRATE_FAILED;
		}
	}
}
