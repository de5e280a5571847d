/*
 * probe.c — bench/exit's reference: the bare minimum KVM_RUN loop running
 * exit_guest's code, with the same VM shape as vmon (in-kernel irqchip, PIT)
 * and nothing else: every exit is answered inline. Usage: probe GUEST.elf N
 * Loads the multiboot image by its a.out-kludge header, passes N as the
 * command line, runs to the debug-exit write, and exits with status 1 like
 * vmon does for a debug-exit of 0.
 */
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define MEM_BYTES (64u << 20)

static void die(const char *what)
{
	perror(what);
	exit(100);
}

int main(int argc, char **argv)
{
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };
	struct kvm_userspace_memory_region region;
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	struct kvm_run *run;
	uint32_t *hdr = NULL, load_addr, load_end, entry;
	uint8_t *mem, *img;
	struct stat st;
	int kvm, vm, vcpu, fd;

	if (argc != 3) {
		fprintf(stderr, "usage: %s GUEST.elf N\n", argv[0]);
		return 2;
	}
	fd = open(argv[1], O_RDONLY);
	if (fd < 0 || fstat(fd, &st) < 0)
		die(argv[1]);
	img = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (img == MAP_FAILED)
		die("mmap");
	for (off_t off = 0; off + 32 <= st.st_size && off < 8192; off += 4) {
		if (*(uint32_t *)(img + off) == 0x1BADB002) {
			hdr = (uint32_t *)(img + off);
			break;
		}
	}
	if (!hdr)
		die("no multiboot header");
	load_addr = hdr[4];
	load_end = hdr[5];
	entry = hdr[7];
	mem = mmap(NULL, MEM_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		die("mmap");
	/* the image from the header onwards goes to load_addr (header_addr == load_addr) */
	memcpy(mem + load_addr, hdr, load_end - load_addr);
	/* a minimal multiboot info: flags bit 2 (cmdline) */
	snprintf((char *)mem + 0x2000, 64, "%s", argv[2]);
	*(uint32_t *)(mem + 0x1000) = 4;
	*(uint32_t *)(mem + 0x1000 + 16) = 0x2000;

	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0)
		die("/dev/kvm");
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0)
		die("KVM_CREATE_VM");
	ioctl(vm, KVM_SET_TSS_ADDR, 0xfffbd000);
	if (ioctl(vm, KVM_CREATE_IRQCHIP, 0) < 0 || ioctl(vm, KVM_CREATE_PIT2, &pit) < 0)
		die("irqchip");
	region = (struct kvm_userspace_memory_region){
		.slot = 0,
		.guest_phys_addr = 0,
		.memory_size = MEM_BYTES,
		.userspace_addr = (uint64_t)(uintptr_t)mem,
	};
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		die("KVM_SET_USER_MEMORY_REGION");
	vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	if (vcpu < 0)
		die("KVM_CREATE_VCPU");
	run = mmap(NULL, ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0), PROT_READ | PROT_WRITE, MAP_SHARED,
		   vcpu, 0);
	if (run == MAP_FAILED)
		die("mmap run");
	if (ioctl(vcpu, KVM_GET_SREGS, &sregs) < 0)
		die("KVM_GET_SREGS");
	struct kvm_segment seg = { .base = 0,
				   .limit = 0xffffffff,
				   .selector = 0x8,
				   .type = 0xb,
				   .present = 1,
				   .s = 1,
				   .db = 1,
				   .g = 1 };
	sregs.cs = seg;
	seg.selector = 0x10;
	seg.type = 0x3;
	sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = seg;
	sregs.cr0 = 0x11;
	if (ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0)
		die("KVM_SET_SREGS");
	memset(&regs, 0, sizeof(regs));
	regs.rip = entry;
	regs.rax = 0x2BADB002;
	regs.rbx = 0x1000;
	regs.rflags = 2;
	if (ioctl(vcpu, KVM_SET_REGS, &regs) < 0)
		die("KVM_SET_REGS");
	for (;;) {
		if (ioctl(vcpu, KVM_RUN, 0) < 0)
			die("KVM_RUN");
		if (run->exit_reason != KVM_EXIT_IO) {
			fprintf(stderr, "probe: unexpected exit %u\n", run->exit_reason);
			return 100;
		}
		if (run->io.port == 0xf4)
			return 1;
	}
}
