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
#include <unistd.h>

#include "cli.h"
#include "config.h"
#include "hv/hv.h"
#include "util/log.h"
#include "vm/evloop.h"
#include "vm/vm.h"
#include "vm/vm_boot.h"
#include "vm/vm_console.h"

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

struct run_ctx {
	struct vm *vm;
	int sigfd;
};

static void on_signal(void *opaque, uint32_t events)
{
	struct run_ctx *ctx = opaque;
	struct signalfd_siginfo si;

	(void)events;
	if (read(ctx->sigfd, &si, sizeof(si)) != sizeof(si))
		return;
	log_warn("%s: stopping the VM", strsignal((int)si.ssi_signo));
	vm_end(ctx->vm, 128 + (int)si.ssi_signo, "signal");
}

/*
 * Build, boot and run one VM to its end. Returns the exit status; sets
 * *@restart when the guest reset itself and --reboot restart asks for a new
 * boot.
 */
static int run_once(const struct vm_config *cfg, const sigset_t *sigs, bool *restart)
{
	struct run_ctx ctx = { .sigfd = -1 };
	struct evloop *el;
	bool user_error = false;
	char err[512] = "";
	int ret, status;

	*restart = false;
	el = evloop_create();
	if (!el) {
		fprintf(stderr, "vmon: cannot create the event loop: %s\n", strerror(errno));
		return VMON_EXIT_HOST;
	}
	ret = vm_create(&ctx.vm, cfg, el, &user_error, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "vmon: %s\n", err);
		evloop_destroy(el);
		/* A kernel that cannot be loaded is the user's input: a usage error. */
		return user_error ? VMON_EXIT_USAGE : VMON_EXIT_HOST;
	}
	ctx.sigfd = signalfd(-1, sigs, SFD_CLOEXEC | SFD_NONBLOCK);
	if (ctx.sigfd >= 0)
		evloop_add(el, ctx.sigfd, EPOLLIN, on_signal, &ctx);
	ret = vm_console_start(ctx.vm, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "vmon: %s\n", err);
		status = VMON_EXIT_HOST;
		goto out;
	}
	ret = vm_start(ctx.vm);
	if (ret) {
		fprintf(stderr, "vmon: cannot start the VM: %s\n", strerror(-ret));
		vm_end(ctx.vm, VMON_EXIT_HOST, "start failed");
	} else {
		ret = evloop_run(el);
		if (ret) {
			log_error("event loop: %s", strerror(-ret));
			vm_end(ctx.vm, VMON_EXIT_HOST, "event loop failed");
		}
	}
	status = vm_join(ctx.vm);
	vm_console_stop(ctx.vm);
	log_info("VM ended: %s (status %d)", ctx.vm->end_reason ? ctx.vm->end_reason : "?", status);
	if (cfg->stats)
		vm_stats_print(ctx.vm, stderr);
	*restart = ctx.vm->restart_requested;
out:
	if (ctx.sigfd >= 0)
		close(ctx.sigfd);
	vm_destroy(ctx.vm);
	evloop_destroy(el);
	return status;
}

/* Run the VM of @cfg, again after each guest reset when asked to; returns the exit status. */
static int run_vm(const struct vm_config *cfg)
{
	char err[512] = "";
	bool restart;
	sigset_t sigs;
	int status;

	if (vm_config_validate(cfg, err, sizeof(err))) {
		fprintf(stderr, "vmon: %s\n", err);
		return VMON_EXIT_USAGE;
	}
	/* SIGINT/SIGTERM/SIGHUP end the VM cleanly through the event loop (a signalfd). */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	do {
		status = run_once(cfg, &sigs, &restart);
		if (restart)
			log_info("guest reset: booting again");
	} while (restart);
	return status;
}

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
	switch (cli.command) {
	case CLI_HELP:
		fputs(cli_usage(), stdout);
		status = 0;
		break;
	case CLI_VERSION:
		printf("vmon %s\n", VMON_VERSION);
		status = 0;
		break;
	case CLI_INFO:
		status = cmd_info();
		break;
	case CLI_RUN:
		status = run_vm(&cli.cfg);
		break;
	case CLI_API:
	default:
		fprintf(stderr, "vmon: the API server is not built in yet\n");
		status = VMON_EXIT_USAGE;
		break;
	}
	cli_free(&cli);
	return status;
}
