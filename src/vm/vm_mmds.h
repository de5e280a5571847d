/*
 * vm_mmds.h — the metadata service on a VM's NICs: for each NIC that
 * PUT /mmds/config named, a TCP endpoint (mmds/mmds_stack.h) at MMDS's
 * address in front of the TAP, answering from the data store the API keeps
 * (vm_config's mmds.store) with mmds/mmds.h's HTTP answers.
 */
#ifndef VMON_VM_VM_MMDS_H
#define VMON_VM_VM_MMDS_H

#include "virtio/virtio_backends.h"
#include "vm/vm_config.h"

struct vm_mmds;

/*
 * vm_mmds_create - the endpoint for one NIC of @cfg (MMDS on, a store set):
 * 0 with *@out and the filter virtio_net_create_on takes in *@filter, or
 * -ENOMEM. Destroy it after the NIC's device.
 */
int vm_mmds_create(struct vm_mmds **out, const struct vm_config *cfg,
		   struct virtio_net_filter *filter);
void vm_mmds_destroy(struct vm_mmds *vmm);

#endif
