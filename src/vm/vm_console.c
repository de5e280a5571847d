/* vm_console.c — stdio console wiring (filled in with the 8250 and chardev backend). */
#include "vm/vm_console.h"

#include "vm/vm.h"

int vm_console_start(struct vm *vm, char *err, size_t err_len)
{
	(void)vm, (void)err, (void)err_len;
	return 0;
}

void vm_console_stop(struct vm *vm)
{
	(void)vm;
}
