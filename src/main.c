/*
 * main.c — vmon's entry point: parse the command line, run one VM (or the API
 * server), report errors once, and turn the outcome into the exit status.
 * The only place in vmon that exits.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "cmd_migrate.h"
#include "config.h"
#ifdef HAVE_API
#include "api/api.h"
#include "api/api_config_file.h"
#include "api/api_mmds.h"
#include "api/api_migration.h"
#include "api/api_server.h"
#endif
#include "confine/seccomp.h"
#include "hv/hv.h"
#include "util/log.h"
#include "base/evloop.h"
#include "vm/vm.h"
#include "vm/vm_boot.h"
#include "vm/vm_console.h"
#include "vm/vm_migrate.h"
#include "vm/vm_snapshot.h"
#include "snapshot/memfile.h"

static int cmd_info(void)
{
	struct hv_host_info info;
	char err[256];

	if (hv_host_info(&info, err, sizeof(err))) {
		fprintf(stderr, "vmon: %s\n", err);
		return VMON_EXIT_HOST;
	}
	printf("KVM API version:        %d\n", info.api_version);
	printf("CPU vendor:             %s\n", info.vendor);
	printf("hardware extension:     %s\n", info.vmx	  ? "Intel VT-x (vmx)"
					       : info.svm ? "AMD-V (svm)"
							  : "none visible to this host");
	printf("KVM module:             %s\n", info.module[0] ? info.module : "unknown");
	if (!info.ring0_emulated) {
		bool intel = !strcmp(info.module, "kvm_intel");

		printf("%-24s%s\n",
		       intel ? "EPT:" : "NPT:", (intel ? info.ept : info.npt) ? "yes" : "no");
		printf("%-24s%s\n", intel ? "VPID:" : "ASID:", info.vpid ? "yes" : "no");
		printf("unrestricted guest:     %s\n", info.unrestricted_guest ? "yes" : "no");
		printf("APIC virtualization:    %s\n",
		       info.apicv ? (intel ? "yes (APICv)" : "yes (AVIC)") : "no");
		printf("nested virtualization:  %s\n", info.nested ? "yes" : "no");
	}
	printf("max vCPUs per VM:       %d\n", info.max_vcpus);
	printf("seccomp:                %s\n",
	       confine_setup(true, err, sizeof(err)) == 0
		       ? "available (per-thread filters, on unless --no-seccomp)"
		       : err);
	printf("capabilities:\n");
	for (unsigned i = 0; i < info.nr_caps; i++)
		printf("  %-36s %s%s\n", info.caps[i].name, info.caps[i].present ? "yes" : "NO",
		       info.caps[i].required && !info.caps[i].present
			       ? "  (required: vmon cannot run)"
		       : info.caps[i].required ? ""
					       : "  (optional)");
	if (info.ring0_emulated) {
		printf("\nwarning: this host's KVM (kvm_pvm) emulates guest ring-0 code "
		       "instruction by\n"
		       "instruction instead of running it in hardware. Guest user code runs at "
		       "full speed,\n"
		       "but a stock Linux kernel will not boot (KVM emulation failures); the "
		       "bundled demo\n"
		       "guest and small freestanding kernels do.\n");
	}
	return 0;
}

/*
 * struct runner - what the process runs: the event loop on the main thread,
 * the signals that end it, and the VM once there is one (at once for `vmon
 * run` and --config-file; at InstanceStart for the API).
 */
struct incoming;

struct runner {
	struct evloop *el;
	sigset_t sigs;
	int sigfd;
	pthread_mutex_t
		lock; /* guards vm: set by the API (on the loop) or a migration's receiver */
	struct vm *vm;
	struct vm_migration *mig; /* the latest outgoing migration (set by the API; under @lock) */
	struct incoming *incoming; /* an awaited incoming migration (set once, before it runs) */
	/* told when an incoming migration's VM arrives (the API's state): any thread, no lock held
	 */
	void (*on_arrival)(void *opaque, struct vm_config *cfg, bool paused);
	void *arrival_opaque;
	bool stats;
	bool firecracker_names; /* vCPU threads "fc_vcpu N" (the compatibility mode) */
	struct mmds *mmds; /* the API's metadata store, which every VM's NICs serve; NULL: none */
	bool boot_timer; /* --boot-timer: every VM this runner builds has the boot timer */
	int status; /* when no VM ran: how the process ends */
	/* serves the API for up to @ms once the loop has ended (runner_wait); NULL: no API */
	void (*serve)(void *opaque, unsigned ms);
	void *serve_opaque;
};

static void on_signal(void *opaque, uint32_t events)
{
	struct runner *r = opaque;
	struct signalfd_siginfo si;
	struct vm *vm;

	(void)events;
	if (read(r->sigfd, &si, sizeof(si)) != sizeof(si))
		return;
	pthread_mutex_lock(&r->lock);
	vm = r->vm;
	pthread_mutex_unlock(&r->lock);
	if (si.ssi_signo == SIGUSR2) {
		if (vm)
			vm_dump_vcpus(vm, stderr);
		return;
	}
	log_warn("%s: stopping%s", strsignal((int)si.ssi_signo), vm ? " the VM" : "");
	if (vm) {
		vm_end(vm, 128 + (int)si.ssi_signo, "signal");
	} else {
		r->status = 128 + (int)si.ssi_signo;
		evloop_stop(r->el);
	}
}

/* runner_init - event loop and signal handling; 0 or -errno with @err. */
static int runner_init(struct runner *r, char *err, size_t err_len)
{
	memset(r, 0, sizeof(*r));
	r->sigfd = -1;
	pthread_mutex_init(&r->lock, NULL);
	/*
	 * SIGINT/SIGTERM/SIGHUP end the VM cleanly through the event loop (a
	 * signalfd); SIGUSR2 dumps the vCPUs' state and lets the VM run on.
	 */
	sigemptyset(&r->sigs);
	sigaddset(&r->sigs, SIGINT);
	sigaddset(&r->sigs, SIGTERM);
	sigaddset(&r->sigs, SIGHUP);
	sigaddset(&r->sigs, SIGUSR2);
	pthread_sigmask(SIG_BLOCK, &r->sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	r->el = evloop_create();
	if (!r->el) {
		snprintf(err, err_len, "cannot create the event loop: %s", strerror(errno));
		return -errno;
	}
	r->sigfd = signalfd(-1, &r->sigs, SFD_CLOEXEC | SFD_NONBLOCK);
	if (r->sigfd < 0 || evloop_add(r->el, r->sigfd, EPOLLIN, on_signal, r)) {
		snprintf(err, err_len, "cannot watch signals: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

static void runner_destroy(struct runner *r)
{
	if (r->sigfd >= 0)
		close(r->sigfd);
	evloop_destroy(r->el);
	pthread_mutex_destroy(&r->lock);
}

/*
 * runner_start_vm - build the VM of @cfg, attach the console and start the
 * vCPUs; the event loop (runner_wait) then serves it. Any thread. Returns 0,
 * or -errno with one line in @err and *@user_error telling whose fault it was.
 */
static int runner_start_vm(struct runner *r, const struct vm_config *cfg, bool *user_error,
			   char *err, size_t err_len)
{
	struct vm *vm;
	int ret;

	struct vm_config named = *cfg; /* a shallow copy: vm_create makes its own */

	*user_error = false;
	named.firecracker_names = cfg->firecracker_names || r->firecracker_names;
	named.boot_timer = cfg->boot_timer || r->boot_timer;
	named.mmds.store = r->mmds;
	ret = vm_create(&vm, &named, r->el, user_error, err, err_len);
	if (ret)
		return ret;
	ret = vm_console_start(vm, err, err_len);
	if (ret) {
		vm_destroy(vm);
		return ret;
	}
	pthread_mutex_lock(&r->lock);
	r->vm = vm;
	r->stats = cfg->stats;
	pthread_mutex_unlock(&r->lock);
	ret = vm_start(vm);
	if (ret) {
		snprintf(err, err_len, "cannot start the VM: %s", strerror(-ret));
		vm_end(vm, VMON_EXIT_HOST, "start failed");
	}
	return 0; /* the VM exists: runner_wait reports how it ended */
}

/*
 * runner_restore_vm - build the VM of a snapshot (@o), attach the console and
 * start its vCPUs (parked unless @o->resume). Same returns as runner_start_vm;
 * *@cfg (may be NULL) receives the restored configuration.
 */
static int runner_restore_vm(struct runner *r, const struct vm_restore_opts *o,
			     struct vm_config *cfg, bool stats, bool *user_error, char *err,
			     size_t err_len)
{
	struct vm *vm;
	int ret;

	struct vm_restore_opts named = *o;

	named.firecracker_names = r->firecracker_names;
	named.mmds_store = r->mmds;
	ret = vm_restore(&vm, &named, r->el, cfg, user_error, err, err_len);
	if (ret)
		return ret;
	ret = vm_console_start(vm, err, err_len);
	if (ret) {
		vm_end(vm, VMON_EXIT_HOST, "console failed");
		vm_join(vm);
		vm_destroy(vm);
		if (cfg)
			vm_config_free(cfg);
		return ret;
	}
	pthread_mutex_lock(&r->lock);
	r->vm = vm;
	r->stats = stats;
	pthread_mutex_unlock(&r->lock);
	return 0;
}

/*
 * runner_wait - run the event loop until the VM ends (or, with no VM yet, a
 * signal arrives); then join, report and free the VM. Returns the exit
 * status; *@restart is set when the guest reset itself under --reboot restart.
 */
static int runner_wait(struct runner *r, bool *restart)
{
	struct vm_migration *mig;
	struct vm *vm;
	int ret, status;

	*restart = false;
	ret = evloop_run(r->el);
	pthread_mutex_lock(&r->lock);
	vm = r->vm;
	r->vm = NULL;
	pthread_mutex_unlock(&r->lock);
	if (!vm)
		return ret ? VMON_EXIT_HOST : r->status;
	if (ret) {
		log_error("event loop: %s", strerror(-ret));
		vm_end(vm, VMON_EXIT_HOST, "event loop failed");
	}
	status = vm_join(vm);
	/* a client following the migration that ended this VM hears its end (up to 2 s) */
	for (int i = 0; i < 40; i++) {
		pthread_mutex_lock(&r->lock);
		bool awaited = vm_migration_outcome_awaited(r->mig);
		pthread_mutex_unlock(&r->lock);
		if (!awaited)
			break;
		if (r->serve) /* the loop has ended: the API is served from here meanwhile */
			r->serve(r->serve_opaque, 50);
		else
			usleep(50 * 1000);
	}
	pthread_mutex_lock(&r->lock);
	mig = r->mig;
	r->mig = NULL;
	pthread_mutex_unlock(&r->lock);
	vm_migration_free(mig); /* its thread may still hold the VM */
	vm_console_stop(vm);
	log_info("VM ended: %s (status %d)", vm_end_reason(vm) ? vm_end_reason(vm) : "?", status);
	if (r->stats)
		vm_stats_print(vm, stderr);
	*restart = vm_restart_requested(vm);
	vm_destroy(vm);
	return status;
}

/*
 * runner_vm_late - a VM published after runner_wait found none (a migration
 * that completed as a signal stopped the loop): end, join and free it.
 * true when there was one; *@status then says how it ended.
 */
static bool runner_vm_late(struct runner *r, int *status)
{
	struct vm *vm;

	pthread_mutex_lock(&r->lock);
	vm = r->vm;
	r->vm = NULL;
	pthread_mutex_unlock(&r->lock);
	if (!vm)
		return false;
	vm_end(vm, *status ? *status : VMON_EXIT_HOST, "vmon stopping");
	*status = vm_join(vm);
	vm_console_stop(vm);
	vm_destroy(vm);
	return true;
}

/* `vmon run --restore STATE --mem-file MEM`: the VM of a snapshot, resumed. */
/* The --net-override pairs of @cli as overrides (pointing into @cli); their count. */
static unsigned cli_overrides(const struct cli *cli, struct vm_net_override ov[VM_MAX_NETS])
{
	for (unsigned i = 0; i < cli->nr_net_overrides; i++)
		ov[i] = (struct vm_net_override){ .id = cli->net_overrides[i].id,
						  .tap = cli->net_overrides[i].tap };
	return cli->nr_net_overrides;
}

static int run_restore(const struct cli *cli)
{
	struct vm_net_override ov[VM_MAX_NETS];
	struct vm_restore_opts o = { .state_path = cli->restore,
				     .mem_path = cli->mem_file,
				     .uffd_path = cli->mem_uffd,
				     .resume = true,
				     .net_overrides = ov,
				     .nr_net_overrides = cli_overrides(cli, ov) };
	struct runner r;
	char err[512] = "";
	bool restart, user_error;
	int status;

	if (runner_init(&r, err, sizeof(err))) {
		fprintf(stderr, "vmon: %s\n", err);
		runner_destroy(&r);
		return VMON_EXIT_HOST;
	}
	r.firecracker_names = cli->firecracker;

	if (runner_restore_vm(&r, &o, NULL, cli->cfg.stats, &user_error, err, sizeof(err))) {
		fprintf(stderr, "vmon: %s\n", err);
		runner_destroy(&r);
		return user_error ? VMON_EXIT_USAGE : VMON_EXIT_HOST;
	}
	status = runner_wait(&r, &restart);
	if (restart)
		log_warn("guest reset: a restored VM is not booted again; ending");
	runner_destroy(&r);
	return status;
}

/* A migration's destination: the receiving thread and what it reports. */
struct incoming {
	struct runner *r;
	struct vm_incoming *in;
	struct vm_restore_opts o;
	struct vm_net_override ov[VM_MAX_NETS]; /* their strings are the incoming's own copies */
	pthread_t thread;
	int ret;
	char err[512];
};

static void incoming_free(struct incoming *ic)
{
	vm_incoming_free(ic->in);
	for (unsigned i = 0; i < ic->o.nr_net_overrides; i++) {
		free((char *)ic->ov[i].id);
		free((char *)ic->ov[i].tap);
	}
	free(ic);
}

/* The VM is loaded, its disks locked: it becomes the process's VM, with the console. */
static int incoming_ready(void *opaque, struct vm *vm, struct vm_config *cfg, bool paused,
			  char *err, size_t err_len)
{
	struct incoming *ic = opaque;
	struct runner *r = ic->r;

	pthread_mutex_lock(&r->lock);
	r->vm = vm;
	pthread_mutex_unlock(&r->lock);
	if (r->on_arrival)
		r->on_arrival(r->arrival_opaque, cfg, paused);
	else if (paused)
		log_warn("the migrated guest arrived paused and stays so: this vmon has no API to "
			 "resume it (receive it with PUT /migration/receive instead)");
	return vm_console_start(vm, err, err_len);
}

static void *incoming_thread(void *opaque)
{
	struct incoming *ic = opaque;
	bool have_vm;

	ic->ret = vm_incoming_receive(ic->in, ic->r->el, &ic->o, incoming_ready, ic, ic->err,
				      sizeof(ic->err));
	pthread_mutex_lock(&ic->r->lock);
	have_vm = ic->r->vm != NULL;
	if (ic->ret && !have_vm && ic->ret != -ECANCELED)
		ic->r->status = VMON_EXIT_HOST;
	pthread_mutex_unlock(&ic->r->lock);
	if (ic->ret && !have_vm)
		evloop_stop(ic->r->el); /* no VM came: the process ends */
	return NULL;
}

/*
 * incoming_start - listen on @addr and wait there, on a thread, for one
 * migration whose VM becomes @r's (@ov: network overrides, copied). 0, or
 * -errno with one line in @err (nothing started).
 */
static int incoming_start(struct runner *r, const char *addr, const struct vm_net_override *ov,
			  unsigned nr_ov, char *err, size_t err_len)
{
	struct incoming *ic = calloc(1, sizeof(*ic));
	int ret;

	if (!ic || nr_ov > VM_MAX_NETS) {
		free(ic);
		snprintf(err, err_len, "out of memory");
		return -ENOMEM;
	}
	ic->r = r;
	ic->o.migrated = true;
	ic->o.firecracker_names = r->firecracker_names;
	ic->o.mmds_store = r->mmds;
	ic->o.net_overrides = ic->ov;
	for (unsigned i = 0; i < nr_ov; i++) {
		ic->ov[i] = (struct vm_net_override){ .id = strdup(ov[i].id),
						      .tap = strdup(ov[i].tap) };
		ic->o.nr_net_overrides = i + 1;
		if (!ic->ov[i].id || !ic->ov[i].tap) {
			incoming_free(ic);
			snprintf(err, err_len, "out of memory");
			return -ENOMEM;
		}
	}
	ret = vm_incoming_listen(&ic->in, addr, err, err_len);
	if (ret) {
		incoming_free(ic);
		return ret;
	}
	log_info("migration: waiting for a source on %s", addr);
	ret = pthread_create(&ic->thread, NULL, incoming_thread, ic);
	if (ret) {
		snprintf(err, err_len, "cannot start the migration thread: %s", strerror(ret));
		incoming_free(ic);
		return -ret;
	}
	r->incoming = ic;
	return 0;
}

/*
 * incoming_finish - after runner_wait: stop waiting, join, say why it failed
 * (once), end a VM that arrived too late. Updates *@status.
 */
static void incoming_finish(struct runner *r, int *status)
{
	struct incoming *ic = r->incoming;

	if (!ic)
		return;
	vm_incoming_cancel(ic->in);
	pthread_join(ic->thread, NULL);
	if (runner_vm_late(r, status))
		log_warn("migration: the guest arrived as vmon was stopping; it ended");
	if (ic->ret && ic->ret != -ECANCELED)
		fprintf(stderr, "vmon: %s\n", ic->err);
	incoming_free(ic);
	r->incoming = NULL;
}

/* `vmon run --incoming ADDR`: wait for one migration, then run its guest here. */
static int run_incoming(const struct cli *cli)
{
	struct runner r;
	char err[512] = "";
	bool restart;
	int status;

	if (runner_init(&r, err, sizeof(err))) {
		fprintf(stderr, "vmon: %s\n", err);
		runner_destroy(&r);
		return VMON_EXIT_HOST;
	}
	r.firecracker_names = cli->firecracker;

	struct vm_net_override ov[VM_MAX_NETS];

	r.stats = cli->cfg.stats;
	if (incoming_start(&r, cli->incoming, ov, cli_overrides(cli, ov), err, sizeof(err))) {
		fprintf(stderr, "vmon: %s\n", err);
		runner_destroy(&r);
		return VMON_EXIT_USAGE;
	}
	status = runner_wait(&r, &restart);
	incoming_finish(&r, &status);
	if (restart)
		log_warn("guest reset: a migrated VM is not booted again; ending");
	runner_destroy(&r);
	return status;
}

/* `vmon snapshot-merge BASE DIFF`. */
static int run_merge(const struct cli *cli)
{
	char err[512] = "";

	if (memfile_merge(cli->merge_base, cli->merge_diff, err, sizeof(err))) {
		fprintf(stderr, "vmon: %s\n", err);
		return VMON_EXIT_USAGE;
	}
	return 0;
}

/* `vmon run`: the VM of @cfg, booted again after each guest reset when asked to. */
static int run_vm(struct vm_config *cfg)
{
	struct runner r;
	char err[512] = "";
	bool restart, user_error;
	int status;

	if (vm_config_validate(cfg, err, sizeof(err))) {
		fprintf(stderr, "vmon: %s\n", err);
		return VMON_EXIT_USAGE;
	}
	if (runner_init(&r, err, sizeof(err))) {
		fprintf(stderr, "vmon: %s\n", err);
		runner_destroy(&r);
		return VMON_EXIT_HOST;
	}
	do {
		if (runner_start_vm(&r, cfg, &user_error, err, sizeof(err))) {
			fprintf(stderr, "vmon: %s\n", err);
			status = user_error ? VMON_EXIT_USAGE : VMON_EXIT_HOST;
			break;
		}
		status = runner_wait(&r, &restart);
		if (restart) {
			/* a new loop: the old one was stopped by the VM's end */
			evloop_destroy(r.el);
			r.el = evloop_create();
			if (!r.el || evloop_add(r.el, r.sigfd, EPOLLIN, on_signal, &r)) {
				fprintf(stderr, "vmon: cannot restart the event loop\n");
				return VMON_EXIT_HOST;
			}
			log_info("guest reset: booting again");
		}
	} while (restart);
	runner_destroy(&r);
	return status;
}

#ifdef HAVE_API
/* ---- the API's view of the VM (struct api_vm_ops), called under the API server's lock ---- */

static struct vm *runner_vm(struct runner *r)
{
	struct vm *vm;

	pthread_mutex_lock(&r->lock);
	vm = r->vm;
	pthread_mutex_unlock(&r->lock);
	return vm;
}

static int api_start(void *opaque, const struct vm_config *cfg, char *err, size_t err_len)
{
	bool user_error;

	return runner_start_vm(opaque, cfg, &user_error, err, err_len);
}

/* Is a migration moving the VM (its pause and resume are the migration's)? */
static bool runner_migrating(struct runner *r)
{
	bool busy;

	pthread_mutex_lock(&r->lock);
	busy = vm_migration_active(r->mig);
	pthread_mutex_unlock(&r->lock);
	return busy;
}

static int api_pause(void *opaque)
{
	struct vm *vm = runner_vm(opaque);

	if (runner_migrating(opaque))
		return -EBUSY;
	return vm ? vm_pause(vm) : -EINVAL;
}

static int api_resume(void *opaque)
{
	struct vm *vm = runner_vm(opaque);

	if (runner_migrating(opaque))
		return -EBUSY;
	return vm ? vm_resume(vm) : -EINVAL;
}

static int runner_migrate_send(void *opaque, const struct vm_migrate_params *p, char *err,
			       size_t err_len)
{
	struct runner *r = opaque;
	struct vm_migration *old, *m;
	struct vm *vm = runner_vm(r);
	int ret;

	if (!vm) {
		snprintf(err, err_len, "no microVM");
		return -EINVAL;
	}
	if (runner_migrating(r)) {
		snprintf(err, err_len, "a migration is already under way (GET /migration)");
		return -EBUSY;
	}
	pthread_mutex_lock(&r->lock);
	old = r->mig;
	r->mig = NULL;
	pthread_mutex_unlock(&r->lock);
	vm_migration_free(old); /* finished: its thread has returned */
	ret = vm_migration_start(&m, vm, p, err, err_len);
	if (ret)
		return ret;
	pthread_mutex_lock(&r->lock);
	r->mig = m;
	pthread_mutex_unlock(&r->lock);
	return 0;
}

static char *runner_migration_json(void *opaque)
{
	struct runner *r = opaque;
	char *text = NULL;

	pthread_mutex_lock(&r->lock);
	if (r->mig)
		text = vm_migration_json(r->mig);
	else if (r->incoming)
		text = vm_incoming_json(r->incoming->in);
	pthread_mutex_unlock(&r->lock);
	return text;
}

static int runner_migrate_receive(void *opaque, const char *listen,
				  const struct vm_net_override *ov, unsigned nr_ov, char *err,
				  size_t err_len)
{
	struct runner *r = opaque;
	int ret;

	if (r->incoming || runner_vm(r)) {
		snprintf(err, err_len, "this vmon already has a microVM or awaits one");
		return -EBUSY;
	}
	pthread_mutex_lock(&r->lock);
	ret = incoming_start(r, listen, ov, nr_ov, err, err_len);
	pthread_mutex_unlock(&r->lock);
	return ret;
}

static int api_ctrl_alt_del(void *opaque)
{
	struct vm *vm = runner_vm(opaque);

	return vm ? vm_ctrl_alt_del(vm) : -EINVAL;
}

static char *api_stats_json(void *opaque)
{
	struct vm *vm = runner_vm(opaque);

	return vm ? vm_stats_json(vm) : NULL;
}

static int runner_snapshot_create(void *opaque, enum vm_snapshot_type type, const char *state_path,
				  const char *mem_path, char *err, size_t err_len)
{
	struct vm *vm = runner_vm(opaque);

	if (!vm) {
		snprintf(err, err_len, "no microVM");
		return -EINVAL;
	}
	if (runner_migrating(opaque)) {
		snprintf(err, err_len, "the microVM is being migrated");
		return -EBUSY;
	}
	return vm_snapshot_create(vm, type, state_path, mem_path, err, err_len);
}

static int runner_snapshot_load(void *opaque, const struct vm_restore_opts *o,
				struct vm_config *cfg, char *err, size_t err_len)
{
	struct runner *r = opaque;
	bool user_error;

	return runner_restore_vm(r, o, cfg, false, &user_error, err, err_len);
}

/* A PATCH's new rate limiters: the fault line names what went wrong (Firecracker's wording). */
static int limit_error(int rc, const char *what, const char *id, char *err, size_t err_len)
{
	if (rc == -EOPNOTSUPP)
		snprintf(err, err_len,
			 "The %s %s is on vhost-net: vmon's rate limiters do not apply.", what, id);
	else if (rc)
		snprintf(err, err_len, "Cannot update the rate limiter of the %s %s: %s.", what, id,
			 strerror(-rc));
	return rc;
}

static int runner_set_disk_limit(void *opaque, const char *id, const struct rate_limit_config *c,
				 char *err, size_t err_len)
{
	struct vm *vm = runner_vm(opaque);

	return limit_error(vm ? vm_set_disk_limit(vm, id, c) : -EINVAL, "block device", id, err,
			   err_len);
}

static int runner_set_disk_path(void *opaque, const char *id, const char *path, char *err,
				size_t err_len)
{
	struct vm *vm = runner_vm(opaque);
	char why[320] = "";
	int rc = vm ? vm_set_disk_path(vm, id, path, why, sizeof(why)) : -EINVAL;

	if (rc)
		snprintf(err, err_len, "Cannot change the file of the block device %s: %s.", id,
			 why[0] ? why : strerror(-rc));
	return rc;
}

static int balloon_error(int rc, char *err, size_t err_len)
{
	if (rc)
		snprintf(err, err_len, "Cannot update the balloon: %s.",
			 rc == -ENODEV ? "the microVM has none" : strerror(-rc));
	return rc;
}

static int runner_balloon_set_target(void *opaque, uint32_t mib, char *err, size_t err_len)
{
	struct vm *vm = runner_vm(opaque);

	return balloon_error(vm ? vm_balloon_set_target(vm, mib) : -EINVAL, err, err_len);
}

static int runner_balloon_set_interval(void *opaque, uint32_t s, char *err, size_t err_len)
{
	struct vm *vm = runner_vm(opaque);

	return balloon_error(vm ? vm_balloon_set_interval(vm, s) : -EINVAL, err, err_len);
}

static int runner_balloon_stats(void *opaque, struct virtio_balloon_stats *out, char *err,
				size_t err_len)
{
	struct vm *vm = runner_vm(opaque);

	return balloon_error(vm ? vm_balloon_stats(vm, out) : -EINVAL, err, err_len);
}

static int runner_set_net_limit(void *opaque, const char *id, const struct rate_limit_config *rx,
				const struct rate_limit_config *tx, char *err, size_t err_len)
{
	struct vm *vm = runner_vm(opaque);

	return limit_error(vm ? vm_set_net_limit(vm, id, rx, tx) : -EINVAL, "network interface", id,
			   err, err_len);
}

static const struct api_vm_ops runner_api_ops = {
	.start = api_start,
	.pause = api_pause,
	.resume = api_resume,
	.ctrl_alt_del = api_ctrl_alt_del,
	.stats_json = api_stats_json,
	.snapshot_create = runner_snapshot_create,
	.snapshot_load = runner_snapshot_load,
	.set_disk_limit = runner_set_disk_limit,
	.set_disk_path = runner_set_disk_path,
	.balloon_set_target = runner_balloon_set_target,
	.balloon_set_interval = runner_balloon_set_interval,
	.balloon_stats = runner_balloon_stats,
	.set_net_limit = runner_set_net_limit,
	.migrate_send = runner_migrate_send,
	.migration_json = runner_migration_json,
	.migrate_receive = runner_migrate_receive,
};

/* The VM of PUT /migration/receive has arrived: the API's instance is Running, with its
 * configuration. */
struct arrival {
	struct api_server *srv;
	struct api *api;
};

static void api_arrival(void *opaque, struct vm_config *cfg, bool paused)
{
	struct arrival *a = opaque;

	api_server_lock(a->srv);
	api_migration_arrived(a->api, cfg, paused);
	api_server_unlock(a->srv);
}

static void serve_api(void *opaque, unsigned ms)
{
	api_server_serve(opaque, ms);
}

/*
 * `vmon --api-sock PATH` and/or `vmon --config-file FILE [--no-api]`: the
 * Firecracker-style process. It ends when the VM ends (or on a signal).
 */
static int run_api(const struct cli *cli)
{
	struct api_server srv = { 0 };
	struct arrival arrival = { &srv, NULL };
	struct api api;
	struct runner r;
	char err[512] = "";
	bool restart, serving = false;
	int status;

	if (runner_init(&r, err, sizeof(err))) {
		fprintf(stderr, "vmon: %s\n", err);
		runner_destroy(&r);
		return VMON_EXIT_HOST;
	}
	api_init(&api, &runner_api_ops, &r);
	if (cli->id)
		snprintf(api.id, sizeof(api.id), "%s", cli->id);
	if (cli->firecracker)
		api.version = CLI_FIRECRACKER_VERSION;
	if (cli->jailer.given) { /* as Firecracker: the time from the jailer's start to here */
		struct timespec mono, cpu;
		unsigned long long mono_us, cpu_us;

		clock_gettime(CLOCK_MONOTONIC, &mono);
		clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu);
		mono_us = (unsigned long long)mono.tv_sec * 1000000 +
			  (unsigned long long)mono.tv_nsec / 1000;
		cpu_us = (unsigned long long)cpu.tv_sec * 1000000 +
			 (unsigned long long)cpu.tv_nsec / 1000;
		if (cli->jailer.start_us && mono_us > cli->jailer.start_us)
			api.startup_us = mono_us - cli->jailer.start_us;
		if (cli->jailer.start_cpu_us && cpu_us > cli->jailer.start_cpu_us)
			api.startup_cpu_us =
				cpu_us - cli->jailer.start_cpu_us + cli->jailer.parent_cpu_us;
	}
	r.firecracker_names = cli->firecracker;
	r.boot_timer = cli->cfg.boot_timer;
	arrival.api = &api;
	r.on_arrival = api_arrival;
	r.arrival_opaque = &arrival;
	api.mmds.limit = cli->mmds_size_limit;
	r.mmds = &api.mmds;
	if (cli->metadata && api_mmds_load_file(&api, cli->metadata, err, sizeof(err))) {
		fprintf(stderr, "vmon: --metadata %s\n", err);
		status = VMON_EXIT_USAGE;
		goto out;
	}
	if (cli->config_file) {
		if (api_config_file_apply(&api, cli->config_file, err, sizeof(err)) ||
		    api_instance_start(&api, err, sizeof(err))) {
			fprintf(stderr, "vmon: %s\n", err);
			status = VMON_EXIT_USAGE;
			goto out;
		}
	}
	if (cli->api_sock) {
		if (api_server_start(&srv, &api, cli->api_sock, r.el, err, sizeof(err))) {
			fprintf(stderr, "vmon: %s\n", err);
			status = VMON_EXIT_USAGE;
			if (runner_vm(&r)) {
				vm_end(runner_vm(&r), VMON_EXIT_USAGE, "API socket failed");
				runner_wait(&r, &restart);
			}
			goto out;
		}
		serving = true;
		r.serve = serve_api;
		r.serve_opaque = &srv;
	}
	status = runner_wait(&r, &restart);
	incoming_finish(&r, &status);
	if (serving) {
		api_server_lock(&srv);
		api_flush_metrics(&api);
		api_server_unlock(&srv);
	} else {
		api_flush_metrics(&api);
	}
out:
	if (serving)
		api_server_stop(&srv);
	api_destroy(&api);
	runner_destroy(&r);
	return status;
}
#endif

int main(int argc, char **argv)
{
	struct cli cli;
	char err[512] = "";
	int status;

	if (cli_parse(argc, argv, &cli, err, sizeof(err))) {
		fprintf(stderr, "vmon: %s\n", err);
		cli_free(&cli);
		return VMON_EXIT_USAGE;
	}
	log_set_level(cli.verbose >= 2 ? LOG_DEBUG : cli.verbose == 1 ? LOG_INFO : LOG_WARN);
	if ((cli.command == CLI_RUN || cli.command == CLI_API) &&
	    confine_setup(cli.seccomp, err, sizeof(err))) {
		fprintf(stderr, "vmon: %s (--no-seccomp runs without the filters)\n", err);
		cli_free(&cli);
		return VMON_EXIT_HOST;
	}
	if (confine_enabled())
		log_info("seccomp: on (filters of %u, %u and %u BPF instructions for the control, "
			 "vCPU and I/O threads)",
			 confine_filter_length(CONFINE_CONTROL),
			 confine_filter_length(CONFINE_VCPU), confine_filter_length(CONFINE_IO));
	else if (cli.command == CLI_RUN || cli.command == CLI_API)
		log_info("seccomp: off (--no-seccomp)");
	switch (cli.command) {
	case CLI_HELP:
		cli_usage(stdout);
		status = 0;
		break;
	case CLI_VERSION:
		if (cli.firecracker) /* its first line's second word is what clients parse */
			printf("Firecracker v%s\n\nvmon %s in its Firecracker compatibility mode\n",
			       CLI_FIRECRACKER_VERSION, VMON_VERSION);
		else
			printf("vmon %s\n", VMON_VERSION);
		status = 0;
		break;
	case CLI_INFO:
		status = cmd_info();
		break;
	case CLI_RUN:
		status = cli.incoming  ? run_incoming(&cli)
			 : cli.restore ? run_restore(&cli)
				       : run_vm(&cli.cfg);
		break;
	case CLI_SNAPSHOT_MERGE:
		status = run_merge(&cli);
		break;
	case CLI_MIGRATE:
#ifdef HAVE_API
		status = cmd_migrate(&cli);
#else
		fprintf(stderr, "vmon: this vmon was built without the API (json-c), which migrate "
				"speaks\n");
		status = VMON_EXIT_USAGE;
#endif
		break;
	case CLI_API:
	default:
#ifdef HAVE_API
		status = run_api(&cli);
#else
		fprintf(stderr,
			"vmon: this vmon was built without the API (json-c, libmicrohttpd)\n");
		status = VMON_EXIT_USAGE;
#endif
		break;
	}
	cli_free(&cli);
	return status;
}
