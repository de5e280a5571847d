/*
 * kvm_internal.h — private to src/hv: the KVM backend's VM and vCPU structs,
 * shared by kvm.c (VM, vCPUs, exits, interrupts) and kvm_state.c (complete
 * vCPU and VM state). Only these two files may include it (and <linux/kvm.h>).
 */
#ifndef VMON_HV_KVM_INTERNAL_H
#define VMON_HV_KVM_INTERNAL_H

#include <linux/kvm.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

struct hv_msi_route {
	bool used;
	uint64_t addr;
	uint32_t data;
};

struct hv {
	int kvm_fd;
	int vm_fd;
	int run_size;
	pthread_mutex_t routes_lock;
	struct hv_msi_route *msi; /* index i is GSI HV_IRQCHIP_GSIS + i */
	/* KVM_GET_MSR_INDEX_LIST, fetched once by kvm_state.c under state_lock. */
	pthread_mutex_t state_lock;
	bool msr_index_done;
	uint32_t nr_msr_index;
	uint32_t *msr_index;
};

struct hv_vcpu {
	struct hv *hv;
	int fd;
	unsigned index;
	struct kvm_run *run;
	bool ran; /* KVM_RUN was called: KVM has fixed the vCPU's CPUID */
};

/*
 * kvm_seg_to_kvm / kvm_seg_from_kvm - struct x86_segment <-> struct kvm_segment
 * (to_kvm sets unusable = !present, as a boot wants; a restore sets it itself).
 */
void kvm_seg_to_kvm(const struct x86_segment *s, struct kvm_segment *k);
void kvm_seg_from_kvm(const struct kvm_segment *k, struct x86_segment *s);

#endif
