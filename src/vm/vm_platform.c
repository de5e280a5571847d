/* vm_platform.c — creates the PC platform devices and wires them to the VM. */
#include "vm/vm_platform.h"

#include "vm/vm.h"

int vm_platform_create(struct vm *vm, char *err, size_t err_len)
{
	(void)vm, (void)err, (void)err_len;
	return 0;
}

void vm_platform_destroy(struct vm *vm)
{
	(void)vm;
}
