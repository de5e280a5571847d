/* jailer_args.c — vmon-jailer's command line (see jailer_args.h). */
#include "jailer/jailer_args.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *jailer_usage(void)
{
	return "usage: vmon-jailer --id ID --exec-file FILE --uid UID --gid GID [options] [-- "
	       "ARGS]\n"
	       "  --id ID                 the VM's id: 1-64 letters, digits or '-'\n"
	       "  --exec-file FILE        the monitor to jail (copied into the jail)\n"
	       "  --uid UID, --gid GID    who it runs as (no capabilities, no_new_privs)\n"
	       "  --chroot-base-dir DIR   where jails are made (default /srv/jailer): the jail\n"
	       "                          is DIR/<exec file name>/ID/root\n"
	       "  --netns PATH            join this network namespace (e.g. /var/run/netns/N)\n"
	       "  --daemonize             setsid, standard I/O on /dev/null\n"
	       "  --new-pid-ns            run the monitor as pid 1 of a new pid namespace\n"
	       "  --cgroup-version 1|2    the cgroup hierarchy for --cgroup (default 1)\n"
	       "  --cgroup FILE=VALUE     write VALUE to FILE (e.g. cpu.max) of the VM's cgroup,\n"
	       "                          <hierarchy>/<parent cgroup>/ID (repeatable)\n"
	       "  --parent-cgroup PATH    the parent cgroup, relative (default: the exec file's\n"
	       "                          name); with v2 and no --cgroup, joined if it exists\n"
	       "  --resource-limit fsize=N|no-file=N   setrlimit (repeatable; no-file 2048 unless\n"
	       "                          given)\n"
	       "The arguments after -- go to the monitor, after --id ID and the start times.\n"
	       "Exit status: 0 the monitor was started (or daemonized); 1 a step failed (its\n"
	       "line names it); 2 a bad argument.\n";
}

int jailer_check_id(const char *id, char *err, size_t err_len)
{
	size_t n = strlen(id);

	if (n < 1 || n > JAILER_MAX_ID) {
		snprintf(err, err_len, "--id: '%s' has %zu characters; an id has 1 to %d", id, n,
			 JAILER_MAX_ID);
		return -EINVAL;
	}
	for (size_t i = 0; i < n; i++) {
		if (!isalnum((unsigned char)id[i]) && id[i] != '-') {
			snprintf(err, err_len,
				 "--id: '%s' has '%c'; an id has only letters, digits and '-'", id,
				 id[i]);
			return -EINVAL;
		}
	}
	return 0;
}

bool jailer_check_relative(const char *path)
{
	const char *p = path;

	if (!*path || *path == '/')
		return false;
	while (*p) {
		size_t n = strcspn(p, "/");

		if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return false;
		p += n;
		while (*p == '/')
			p++;
	}
	return true;
}

/* a decimal number without sign or suffix, up to @max */
static int parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

static int parse_cgroup(struct jailer_args *a, const char *arg, char *err, size_t err_len)
{
	const char *eq = strchr(arg, '=');
	struct jailer_cgroup *cg;
	size_t flen, clen;

	if (a->nr_cgroups == JAILER_MAX_CGROUPS) {
		snprintf(err, err_len, "--cgroup: at most %d", JAILER_MAX_CGROUPS);
		return -EINVAL;
	}
	if (!eq || eq == arg || !eq[1] || strchr(eq + 1, '=')) {
		snprintf(err, err_len,
			 "--cgroup: expected FILE=VALUE (e.g. cpu.max=50000), got '%s'", arg);
		return -EINVAL;
	}
	flen = (size_t)(eq - arg);
	cg = &a->cgroups[a->nr_cgroups];
	if (flen >= sizeof(cg->file) || memchr(arg, '/', flen) || !memchr(arg, '.', flen)) {
		snprintf(err, err_len,
			 "--cgroup: '%.*s' is not a cgroup file name (CONTROLLER.PROPERTY, no '/')",
			 (int)flen, arg);
		return -EINVAL;
	}
	clen = (size_t)((const char *)memchr(arg, '.', flen) - arg);
	if (!clen || clen >= sizeof(cg->controller)) {
		snprintf(err, err_len, "--cgroup: '%.*s' names no controller before its '.'",
			 (int)flen, arg);
		return -EINVAL;
	}
	memcpy(cg->file, arg, flen);
	cg->file[flen] = 0;
	memcpy(cg->controller, arg, clen);
	cg->controller[clen] = 0;
	cg->value = eq + 1;
	a->nr_cgroups++;
	return 0;
}

static int parse_limit(struct jailer_args *a, const char *arg, char *err, size_t err_len)
{
	uint64_t v;

	if (!strncmp(arg, "fsize=", 6) && !parse_u64(arg + 6, INT64_MAX, &v)) {
		a->has_fsize = true;
		a->fsize = v;
		return 0;
	}
	if (!strncmp(arg, "no-file=", 8) && !parse_u64(arg + 8, 1u << 30, &v)) {
		a->nofile = v;
		return 0;
	}
	snprintf(err, err_len,
		 "--resource-limit: expected fsize=BYTES or no-file=N (a number), got '%s'", arg);
	return -EINVAL;
}

static int parse_id_num(const char *flag, const char *arg, uint32_t *out, char *err, size_t err_len)
{
	uint64_t v;

	if (parse_u64(arg, UINT32_MAX - 1, &v)) {
		snprintf(err, err_len, "--%s: '%s' is not a number", flag, arg);
		return -EINVAL;
	}
	*out = (uint32_t)v;
	return 0;
}

int jailer_parse(int argc, char **argv, struct jailer_args *a, char *err, size_t err_len)
{
	enum {
		O_ID = 1,
		O_EXEC,
		O_UID,
		O_GID,
		O_BASE,
		O_NETNS,
		O_DAEMON,
		O_PIDNS,
		O_CGVER,
		O_CGROUP,
		O_PARENT,
		O_LIMIT,
		O_HELP
	};
	static const struct option opts[] = {
		{ "id", required_argument, NULL, O_ID },
		{ "exec-file", required_argument, NULL, O_EXEC },
		{ "uid", required_argument, NULL, O_UID },
		{ "gid", required_argument, NULL, O_GID },
		{ "chroot-base-dir", required_argument, NULL, O_BASE },
		{ "netns", required_argument, NULL, O_NETNS },
		{ "daemonize", no_argument, NULL, O_DAEMON },
		{ "new-pid-ns", no_argument, NULL, O_PIDNS },
		{ "cgroup-version", required_argument, NULL, O_CGVER },
		{ "cgroup", required_argument, NULL, O_CGROUP },
		{ "parent-cgroup", required_argument, NULL, O_PARENT },
		{ "resource-limit", required_argument, NULL, O_LIMIT },
		{ "help", no_argument, NULL, O_HELP },
		{ NULL, 0, NULL, 0 },
	};
	bool have_uid = false, have_gid = false;
	uint32_t v;
	int c;

	memset(a, 0, sizeof(*a));
	a->chroot_base = JAILER_DEFAULT_BASE;
	a->cgroup_version = 1;
	a->nofile = JAILER_DEFAULT_NOFILE;
	optind = 1;
	opterr = 0;
	/* '+': the first word that is not an option ends them (it is refused below) */
	while ((c = getopt_long(argc, argv, "+:", opts, NULL)) != -1) {
		switch (c) {
		case O_ID:
			a->id = optarg;
			break;
		case O_EXEC:
			a->exec_file = optarg;
			break;
		case O_UID:
			if (parse_id_num("uid", optarg, &v, err, err_len))
				return -EINVAL;
			a->uid = (uid_t)v;
			have_uid = true;
			break;
		case O_GID:
			if (parse_id_num("gid", optarg, &v, err, err_len))
				return -EINVAL;
			a->gid = (gid_t)v;
			have_gid = true;
			break;
		case O_BASE:
			a->chroot_base = optarg;
			break;
		case O_NETNS:
			a->netns = optarg;
			break;
		case O_DAEMON:
			a->daemonize = true;
			break;
		case O_PIDNS:
			a->new_pid_ns = true;
			break;
		case O_CGVER:
			if (strcmp(optarg, "1") && strcmp(optarg, "2")) {
				snprintf(err, err_len, "--cgroup-version: '%s' is not 1 or 2",
					 optarg);
				return -EINVAL;
			}
			a->cgroup_version = optarg[0] - '0';
			break;
		case O_CGROUP:
			if (parse_cgroup(a, optarg, err, err_len))
				return -EINVAL;
			break;
		case O_PARENT:
			if (!jailer_check_relative(optarg)) {
				snprintf(err, err_len,
					 "--parent-cgroup: '%s' is not a relative path without '.' "
					 "or '..'",
					 optarg);
				return -EINVAL;
			}
			a->parent_cgroup = optarg;
			break;
		case O_LIMIT:
			if (parse_limit(a, optarg, err, err_len))
				return -EINVAL;
			break;
		case O_HELP:
			snprintf(err, err_len, "help");
			return -EINVAL;
		case ':':
			snprintf(err, err_len, "option '%s' needs a value", argv[optind - 1]);
			return -EINVAL;
		default:
			snprintf(err, err_len, "unknown option '%s' (try 'vmon-jailer --help')",
				 argv[optind - 1]);
			return -EINVAL;
		}
	}
	if (optind < argc && strcmp(argv[optind - 1], "--")) {
		snprintf(err, err_len,
			 "unexpected argument '%s' (the monitor's arguments go after --)",
			 argv[optind]);
		return -EINVAL;
	}
	a->extra = argv + optind;
	a->nr_extra = argc - optind;
	if (!a->id || !a->exec_file || !have_uid || !have_gid) {
		snprintf(err, err_len, "missing %s (--id, --exec-file, --uid and --gid are needed)",
			 !a->id		 ? "--id"
			 : !a->exec_file ? "--exec-file"
			 : !have_uid	 ? "--uid"
					 : "--gid");
		return -EINVAL;
	}
	if (jailer_check_id(a->id, err, err_len))
		return -EINVAL;
	if (!*a->chroot_base) {
		snprintf(err, err_len, "--chroot-base-dir: an empty path");
		return -EINVAL;
	}
	return 0;
}
