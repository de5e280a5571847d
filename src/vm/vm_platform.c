/*
 * vm_platform.c — the PC platform of a VM: creates the device models, gives
 * each its IRQ lines (KVM_IRQ_LINE on the in-kernel PIC/IOAPIC) and the VM's
 * power sink, and maps their registers on the PIO bus:
 *
 *   0x060, 0x064  i8042 (IRQ 1, 12)      0x070-0x071  CMOS RTC (IRQ 8)
 *   0x080         POST code               0x0f4-0x0f7  debug-exit
 *   0x3f8-0x3ff   8250 UART COM1 (IRQ 4)  0x600-0x601  ACPI sleep control/status
 *   0xcf9         reset control (ACPI RESET_REG)
 *
 * and the VM generation ID (no registers: a page of guest RAM and IRQ 5,
 * the DSDT's Generic Event Device interrupt; devices/vmgenid.h says why pin 5).
 */
#include "vm/vm_platform.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "backends/chardev_stdio.h"
#include "devices/acpi_pm.h"
#include "devices/debug_exit.h"
#include "devices/i8042.h"
#include "devices/boot_timer.h"
#include "devices/port80.h"
#include "devices/rtc_cmos.h"
#include "devices/serial8250.h"
#include "devices/vmgenid.h"
#include "util/log.h"
#include "vm/vm.h"
#include "vm/vm_console.h"
#include "vm/vm_pci.h"

enum { IRQ_KBD, IRQ_COM1, IRQ_RTC, IRQ_AUX, IRQ_VMGENID, NR_PLATFORM_IRQS };

struct vm_platform {
	struct vm *vm;
	struct irq_line irqs[NR_PLATFORM_IRQS];
	struct power_sink power;
	struct chardev_stdio *console; /* stdin/stdout: COM1, or the virtio console */
	struct chardev_stdio *com1_err; /* with --console virtio: COM1 output to stderr */
	struct serial8250 *com1;
	struct i8042 *kbd;
	struct rtc_cmos *rtc;
	int rtc_timerfd; /* the RTC's one-shot timer (CLOCK_REALTIME, absolute), -1 if none */
	struct vmgenid *vmgenid;
	bool console_started;
};

static void irq_set_level(struct irq_line *line, int level)
{
	struct vm *vm = line->opaque;
	int ret = hv_irq_line(vm->hv, line->gsi, level);

	if (ret)
		log_error("KVM_IRQ_LINE %u: %s", line->gsi, strerror(-ret));
}

/* Power events arrive on vCPU threads (register writes) and end or restart the VM. */
static void power_event(void *opaque, enum power_event ev, int status)
{
	struct vm *vm = opaque;

	switch (ev) {
	case POWER_OFF:
		vm_end(vm, VMON_EXIT_OK, "guest powered off");
		break;
	case POWER_RESET:
		runctl_end(&vm->rc, VMON_EXIT_OK, "guest reset", vm->cfg.reboot_restarts);
		break;
	case POWER_EXIT:
		vm_end(vm, status, "guest wrote the debug-exit port");
		break;
	}
}

/*
 * The RTC's timer (rtc_cmos.h struct rtc_timer): a timerfd on the RTC's own
 * time base, watched by the event loop, so that periodic, alarm and update
 * interrupts reach a guest that does not poll register C.
 */
static void rtc_timer_arm(void *opaque, int64_t deadline_ns)
{
	struct vm_platform *p = opaque;
	struct itimerspec its = { 0 };

	if (deadline_ns >= 0) {
		its.it_value.tv_sec = deadline_ns / 1000000000;
		its.it_value.tv_nsec = deadline_ns % 1000000000;
		if (!its.it_value.tv_sec && !its.it_value.tv_nsec)
			its.it_value.tv_nsec = 1; /* 0 would disarm */
	}
	if (timerfd_settime(p->rtc_timerfd, TFD_TIMER_ABSTIME, &its, NULL) < 0)
		log_error("rtc timer: %s", strerror(errno));
}

static void rtc_timer_expired(void *opaque, uint32_t events)
{
	struct vm_platform *p = opaque;
	uint64_t n;

	(void)events;
	if (read(p->rtc_timerfd, &n, sizeof(n)) == sizeof(n))
		rtc_cmos_timer_fired(p->rtc);
}

/* Lend the RTC its timer when the VM has an event loop (unit tests may have none). */
static int rtc_timer_start(struct vm *vm, struct vm_platform *p)
{
	struct rtc_timer t = { .arm = rtc_timer_arm, .opaque = p };
	int ret;

	if (!vm->el)
		return 0;
	p->rtc_timerfd = timerfd_create(CLOCK_REALTIME, TFD_CLOEXEC | TFD_NONBLOCK);
	if (p->rtc_timerfd < 0)
		return -errno;
	ret = evloop_add(vm->el, p->rtc_timerfd, EPOLLIN, rtc_timer_expired, p);
	if (ret)
		return ret;
	rtc_cmos_set_timer(p->rtc, &t);
	return 0;
}

static void console_quit(void *opaque)
{
	struct vm *vm = opaque;

	log_info("console: Ctrl-A x, ending the VM");
	vm_end(vm, VMON_EXIT_OK, "quit from the console");
}

/* Register @dev for its lifecycle, then map its ranges; on failure @dev is destroyed. */
static int add_pio_device(struct vm *vm, const struct device_ops *dops, void *dev,
			  const struct bus_region_ops *ops, uint64_t base, uint64_t len,
			  const char *name)
{
	int ret;

	if (!dev)
		return -errno ? -errno : -ENOMEM;
	ret = vm_add_device(vm, dops, dev);
	if (ret) {
		dops->destroy(dev);
		return ret;
	}
	return ops ? bus_register(&vm->pio, base, len, ops, dev, name) : 0;
}

int vm_platform_create(struct vm *vm, bool *user_error, char *err, size_t err_len)
{
	static const uint32_t gsis[NR_PLATFORM_IRQS] = {
		[IRQ_KBD] = I8042_KBD_IRQ,   [IRQ_COM1] = SERIAL8250_COM1_IRQ,
		[IRQ_RTC] = RTC_CMOS_IRQ,    [IRQ_AUX] = I8042_AUX_IRQ,
		[IRQ_VMGENID] = VMGENID_GSI,
	};
	struct vm_platform *p = calloc(1, sizeof(*p));
	struct i8042 *kbd;
	struct acpi_pm *pm;
	int ret;

	if (!p) {
		snprintf(err, err_len, "out of memory");
		return -ENOMEM;
	}
	vm->platform = p;
	p->vm = vm;
	p->rtc_timerfd = -1;
	for (unsigned i = 0; i < NR_PLATFORM_IRQS; i++)
		p->irqs[i] = (struct irq_line){ .set_level = irq_set_level,
						.opaque = vm,
						.gsi = gsis[i] };
	p->power = (struct power_sink){ .event = power_event, .opaque = vm };

	p->console = chardev_stdio_create(STDIN_FILENO, STDOUT_FILENO);
	if (!p->console) {
		ret = -errno;
		snprintf(err, err_len, "console: %s", strerror(errno));
		return ret;
	}
	chardev_stdio_set_quit(p->console, console_quit, vm);
	if (vm->cfg.console == VM_CONSOLE_VIRTIO) {
		/* COM1 stays, for early and diagnostic output: to stderr, no input */
		p->com1_err = chardev_stdio_create(-1, STDERR_FILENO);
		if (!p->com1_err) {
			ret = -errno;
			snprintf(err, err_len, "console: %s", strerror(errno));
			return ret;
		}
	}
	p->com1 =
		serial8250_create(&p->irqs[IRQ_COM1],
				  chardev_stdio_chardev(p->com1_err ? p->com1_err : p->console), 0);
	ret = add_pio_device(vm, &serial8250_device_ops, p->com1, &serial8250_ops,
			     SERIAL8250_COM1_BASE, SERIAL8250_REGS_LEN, "serial8250");
	if (ret)
		goto fail;
	kbd = i8042_create(&p->irqs[IRQ_KBD], &p->irqs[IRQ_AUX], &p->power);
	p->kbd = kbd;
	ret = add_pio_device(vm, &i8042_device_ops, kbd, &i8042_data_ops, I8042_DATA_PORT, 1,
			     "i8042");
	if (!ret)
		ret = bus_register(&vm->pio, I8042_CMD_PORT, 1, &i8042_cmd_ops, kbd, "i8042");
	if (ret)
		goto fail;
	p->rtc = rtc_cmos_create(&p->irqs[IRQ_RTC], NULL);
	ret = add_pio_device(vm, &rtc_cmos_device_ops, p->rtc, &rtc_cmos_ops, RTC_CMOS_PORT,
			     RTC_CMOS_LEN, "rtc_cmos");
	if (!ret)
		ret = rtc_timer_start(vm, p);
	if (ret)
		goto fail;
	ret = add_pio_device(vm, &port80_device_ops, port80_create(), &port80_ops, PORT80_PORT,
			     PORT80_LEN, "port80");
	if (ret)
		goto fail;
	if (vm->cfg.boot_timer) {
		ret = add_pio_device(vm, &boot_timer_device_ops, boot_timer_create(),
				     &boot_timer_ops, BOOT_TIMER_PORT, BOOT_TIMER_LEN,
				     "boot_timer");
		if (ret)
			goto fail;
	}
	ret = add_pio_device(vm, &debug_exit_device_ops, debug_exit_create(&p->power),
			     &debug_exit_ops, DEBUG_EXIT_PORT, DEBUG_EXIT_LEN, "debug_exit");
	if (ret)
		goto fail;
	pm = acpi_pm_create(&p->power);
	ret = add_pio_device(vm, &acpi_pm_device_ops, pm, &acpi_pm_sleep_ops, ACPI_PM_SLEEP_BASE,
			     ACPI_PM_SLEEP_LEN, "acpi_sleep");
	if (ret)
		goto fail;
	/* the ID itself is written at boot (vm_boot.c) or comes with a snapshot's RAM */
	p->vmgenid = vmgenid_create(&vm->gmem, LAYOUT_VMGENID_GPA, &p->irqs[IRQ_VMGENID]);
	ret = add_pio_device(vm, &vmgenid_device_ops, p->vmgenid, NULL, 0, 0, "vmgenid");
	if (ret) {
		p->vmgenid = NULL;
		goto fail;
	}
	if (vm_config_has_pci(&vm->cfg)) {
		/* the PCI bridge owns 0xCF8-0xCFF and passes the reset byte 0xCF9 on */
		struct chardev *vcon = vm->cfg.console == VM_CONSOLE_VIRTIO
					       ? chardev_stdio_chardev(p->console)
					       : NULL;

		return vm_pci_create(vm, &acpi_pm_reset_ops, pm, vcon, user_error, err, err_len);
	}
	ret = bus_register(&vm->pio, ACPI_PM_RESET_PORT, ACPI_PM_RESET_LEN, &acpi_pm_reset_ops, pm,
			   "acpi_reset");
	if (ret)
		goto fail;
	return 0;
fail:
	snprintf(err, err_len, "platform devices: %s", strerror(-ret));
	return ret;
}

void vm_platform_quiesce(struct vm *vm)
{
	struct vm_platform *p = vm->platform;

	if (!p || p->rtc_timerfd < 0)
		return;
	if (vm->el)
		evloop_del(vm->el, p->rtc_timerfd);
	close(p->rtc_timerfd);
	p->rtc_timerfd = -1;
}

void vm_platform_destroy(struct vm *vm)
{
	struct vm_platform *p = vm->platform;

	if (!p)
		return;
	/* the devices themselves are destroyed through vm->devices */
	vm_platform_quiesce(vm);
	if (p->console)
		chardev_destroy(chardev_stdio_chardev(p->console)); /* stops it too */
	if (p->com1_err)
		chardev_destroy(chardev_stdio_chardev(p->com1_err));
	free(p);
	vm->platform = NULL;
}

int vm_console_start(struct vm *vm, char *err, size_t err_len)
{
	struct vm_platform *p = vm->platform;
	int ret;

	if (!p || !p->console)
		return 0;
	ret = chardev_stdio_start(p->console, vm->el);
	if (!ret && p->com1_err)
		ret = chardev_stdio_start(p->com1_err, vm->el);
	if (ret) {
		snprintf(err, err_len, "console: %s", strerror(-ret));
		return ret;
	}
	p->console_started = true;
	return 0;
}

void vm_console_stop(struct vm *vm)
{
	struct vm_platform *p = vm->platform;

	if (p && p->console && p->console_started) {
		chardev_stdio_stop(p->console);
		if (p->com1_err)
			chardev_stdio_stop(p->com1_err);
		p->console_started = false;
	}
}

int vm_vmgenid_regenerate(struct vm *vm)
{
	struct vm_platform *p = vm->platform;

	if (!p || !p->vmgenid)
		return -ENODEV;
	return vmgenid_new_generation(p->vmgenid);
}

int vm_ctrl_alt_del(struct vm *vm)
{
	struct vm_platform *p = vm->platform;

	if (!p || !p->kbd || runctl_state(&vm->rc) == RUNCTL_ENDED)
		return -EINVAL;
	return i8042_press_ctrl_alt_del(p->kbd);
}
