/*
 * test_vm_loop.c — KVM tier: the vCPU run loop, exit dispatch, counters,
 * pause/resume and the fatal-exit path, on tiny guests written into guest
 * memory by the test itself (in the manner of the KVM selftests). Needs
 * /dev/kvm; skips with the reason otherwise.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "vm/vcpu.h"
#include "vm/vm.h"

struct probe {
	struct vm *vm;
	char out[64];
	unsigned out_len;
	uint32_t last_write;
	uint64_t counter;
	uint32_t mmio[2];
};

static uint64_t probe_pio_read(void *opaque, uint64_t off, unsigned size)
{
	(void)opaque, (void)size;
	return off == 0 ? 0x12345678 : ~0ull;
}

static void probe_pio_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
	struct probe *p = opaque;

	(void)size;
	if (off == 1)
		p->last_write = (uint32_t)val;
	else if (off == 2)
		vm_end(p->vm, (int)val, "test done");
	else if (off == 3)
		__atomic_add_fetch(&p->counter, 1, __ATOMIC_RELAXED);
}

static void probe_serial_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
	struct probe *p = opaque;

	(void)size;
	if (off == 0 && p->out_len < sizeof(p->out) - 1)
		p->out[p->out_len++] = (char)val;
}

static uint64_t probe_mmio_read(void *opaque, uint64_t off, unsigned size)
{
	struct probe *p = opaque;

	(void)size;
	return off < 8 ? p->mmio[off / 4] : ~0ull;
}

static void probe_mmio_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
	struct probe *p = opaque;

	(void)size;
	if (off < 8)
		p->mmio[off / 4] = (uint32_t)val;
}

static const struct bus_region_ops pio_ops = { probe_pio_read, probe_pio_write };
static const struct bus_region_ops serial_ops = { NULL, probe_serial_write };
static const struct bus_region_ops mmio_ops = { probe_mmio_read, probe_mmio_write };

/*
 * Write @code as a minimal multiboot image (a.out-kludge header, entry right
 * after it at 0x100020) to a temporary file; vmon's own loader boots it in
 * flat 32-bit protected mode, paging off.
 */
static char *write_kernel(const uint8_t *code, size_t len)
{
	static char path[64];
	uint32_t hdr[8] = {
		0x1BADB002,
		0x00010000,
		(uint32_t) - (0x1BADB002u + 0x00010000u),
		0x100000,
		0x100000,
		0x100000 + 32 + (uint32_t)len,
		0x100000 + 32 + (uint32_t)len,
		0x100020,
	};
	int fd;

	snprintf(path, sizeof(path), "/tmp/vmon-test-kernel-XXXXXX");
	fd = mkstemp(path);
	if (fd < 0)
		return NULL;
	if (write(fd, hdr, sizeof(hdr)) != sizeof(hdr) || write(fd, code, len) != (ssize_t)len) {
		close(fd);
		return NULL;
	}
	close(fd);
	return path;
}

static const char *kvm_skip_reason(void)
{
	int fd = open("/dev/kvm", O_RDWR);

	if (fd < 0)
		return errno == ENOENT ? "no /dev/kvm on this host" : "/dev/kvm is not accessible";
	close(fd);
	return NULL;
}

static struct vm *make_vm(struct probe *p, const uint8_t *code, size_t len)
{
	struct vm_config cfg;
	struct vm *vm = NULL;
	char err[256] = "";

	vm_config_init(&cfg);
	cfg.mem_bytes = 16ull << 20;
	char *kernel = write_kernel(code, len);
	bool user_error;
	int ret;

	if (!kernel)
		return NULL;
	cfg.kernel_path = strdup(kernel);
	ret = vm_config_validate(&cfg, err, sizeof(err));
	if (!ret)
		ret = vm_create(&vm, &cfg, NULL, &user_error, err, sizeof(err));
	unlink(kernel);
	vm_config_free(&cfg);
	if (ret) {
		printf("# vm_create: %s\n", err);
		return NULL;
	}
	p->vm = vm;
	bus_register(&vm->pio, 0x510, 16, &pio_ops, p, "probe");
	bus_register(&vm->pio, 0x520, 8, &serial_ops, p, "serial");
	bus_register(&vm->mmio, 0xd0000000, 8, &mmio_ops, p, "probe-mmio");
	return vm;
}

TEST(vm_loop_dispatches_pio_and_mmio_exits)
{
	/* mov dx,0x520; mov al,'A'; out dx,al; mov dx,0x510; in eax,dx; mov [0xd0000000],eax;
	 * mov ebx,[0xd0000004]; mov dx,0x511; mov eax,ebx; out dx,eax; mov dx,0x512; mov eax,5; out
	 * dx,eax */
	static const uint8_t code[] = {
		0x66, 0xba, 0x20, 0x05, 0xb0, 0x41, 0xee, 0x66, 0xba, 0x10, 0x05, 0xed, 0xa3, 0x00,
		0x00, 0x00, 0xd0, 0x8b, 0x1d, 0x04, 0x00, 0x00, 0xd0, 0x66, 0xba, 0x11, 0x05, 0x89,
		0xd8, 0xef, 0x66, 0xba, 0x12, 0x05, 0xb8, 0x05, 0x00, 0x00, 0x00, 0xef,
	};
	struct probe p = { .mmio = { 0, 0xcafef00d } };
	const char *why = kvm_skip_reason();
	struct vm *vm;

	if (why)
		SKIP(why);
	vm = make_vm(&p, code, sizeof(code));
	REQUIRE(vm);
	REQUIRE(vm_start(vm) == 0);
	CHECK_EQ(vm_join(vm), 5);
	CHECK(p.out_len == 1 && p.out[0] == 'A');
	CHECK_EQ(p.mmio[0], 0x12345678);
	CHECK_EQ(p.last_write, 0xcafef00d);
	CHECK_EQ(vm->vcpus[0]->exits[HV_EXIT_IO], 4);
	CHECK_EQ(vm->vcpus[0]->exits[HV_EXIT_MMIO], 2);
	vm_destroy(vm);
}

TEST(vm_loop_reports_triple_fault_as_guest_crash)
{
	/* lidt [limit 0]; ud2 -> #UD with no IDT -> #DF -> triple fault */
	static const uint8_t code[] = {
		0x0f, 0x01, 0x1d, 0x00, 0x8f, 0x00, 0x00, /* lidt [0x8f00]: zero, limit 0 */
		0x0f, 0x0b, /* ud2 */
	};
	struct probe p = { 0 };
	const char *why = kvm_skip_reason();
	struct vm *vm;

	if (why)
		SKIP(why);
	vm = make_vm(&p, code, sizeof(code));
	REQUIRE(vm);
	REQUIRE(vm_start(vm) == 0);
	CHECK_EQ(vm_join(vm), VMON_EXIT_GUEST_CRASH);
	vm_destroy(vm);
}

struct pauser {
	struct vm *vm;
	struct probe *p;
	int ok;
};

static uint64_t count_now(struct probe *p)
{
	return __atomic_load_n(&p->counter, __ATOMIC_RELAXED);
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

TEST(vm_pause_stops_progress_and_resume_continues)
{
	/* loop: mov dx,0x513; out dx,al; jmp loop */
	static const uint8_t code[] = { 0x66, 0xba, 0x13, 0x05, 0xee, 0xeb, 0xf9 };
	struct probe p = { 0 };
	const char *why = kvm_skip_reason();
	uint64_t a, b, c;
	struct vm *vm;

	if (why)
		SKIP(why);
	vm = make_vm(&p, code, sizeof(code));
	REQUIRE(vm);
	REQUIRE(vm_start(vm) == 0);
	sleep_ms(50);
	CHECK_EQ(vm_pause(vm), 0);
	CHECK_EQ(vm_pause(vm), 0); /* idempotent */
	CHECK_EQ(runctl_state(&vm->rc), RUNCTL_PAUSED);
	a = count_now(&p);
	sleep_ms(100);
	b = count_now(&p);
	CHECK_EQ(a, b);
	CHECK_EQ(vm_resume(vm), 0);
	CHECK_EQ(vm_resume(vm), 0);
	sleep_ms(100);
	c = count_now(&p);
	printf("# counter: before pause %llu, paused %llu, resumed %llu\n", (unsigned long long)a,
	       (unsigned long long)b, (unsigned long long)c);
	CHECK(a > 0);
	CHECK(c > b);
	vm_end(vm, 0, "test");
	CHECK_EQ(vm_join(vm), 0);
	CHECK_EQ(vm_pause(vm), -EINVAL);
	vm_destroy(vm);
}

TEST(vm_ioeventfd_write_needs_no_userspace_exit)
{
	/* mov dx,0x514; out dx,al (ioeventfd); mov dx,0x512; mov eax,7; out dx,eax (end) */
	static const uint8_t code[] = {
		0x66, 0xba, 0x14, 0x05, 0xee, 0x66, 0xba, 0x12,
		0x05, 0xb8, 0x07, 0x00, 0x00, 0x00, 0xef,
	};
	struct probe p = { 0 };
	const char *why = kvm_skip_reason();
	uint64_t v = 0;
	struct vm *vm;
	int efd, gsi;

	if (why)
		SKIP(why);
	vm = make_vm(&p, code, sizeof(code));
	REQUIRE(vm);
	efd = eventfd(0, EFD_NONBLOCK);
	REQUIRE(efd >= 0);
	REQUIRE(hv_ioeventfd(vm->hv, 0x514, 1, true, efd, true) == 0);
	REQUIRE(vm_start(vm) == 0);
	CHECK_EQ(vm_join(vm), 7);
	CHECK_EQ(read(efd, &v, sizeof(v)), sizeof(v));
	CHECK_EQ(v, 1);
	CHECK_EQ(vm->vcpus[0]->exits[HV_EXIT_IO], 1); /* only the ending write exited */
	CHECK_EQ(hv_ioeventfd(vm->hv, 0x514, 1, true, efd, false), 0);
	/* MSI routes: allocate, retarget, free; the irqchip routes stay */
	gsi = hv_msi_route_add(vm->hv, 0xfee00000, 0x4041);
	CHECK(gsi >= 24);
	CHECK_EQ(hv_msi_route_set(vm->hv, (uint32_t)gsi, 0xfee01000, 0x4042), 0);
	CHECK_EQ(hv_irqfd(vm->hv, efd, (uint32_t)gsi, true), 0);
	CHECK_EQ(hv_irqfd(vm->hv, efd, (uint32_t)gsi, false), 0);
	CHECK_EQ(hv_msi_route_del(vm->hv, (uint32_t)gsi), 0);
	CHECK_EQ(hv_msi_route_del(vm->hv, (uint32_t)gsi), -ENOENT);
	CHECK_EQ(hv_irq_line(vm->hv, 4, 1), 0);
	close(efd);
	vm_destroy(vm);
}

// clang-format off
HARNESS_MAIN(
	HARNESS_T(vm_loop_dispatches_pio_and_mmio_exits)
	HARNESS_T(vm_loop_reports_triple_fault_as_guest_crash)
	HARNESS_T(vm_pause_stops_progress_and_resume_continues)
	HARNESS_T(vm_ioeventfd_write_needs_no_userspace_exit)
)
// clang-format on
