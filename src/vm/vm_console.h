/* vm_console.h — connecting the guest console (8250 or virtio-console) to vmon's stdin/stdout. */
#ifndef VMON_VM_VM_CONSOLE_H
#define VMON_VM_VM_CONSOLE_H

#include <stddef.h>

struct vm;

/* vm_console_start - attach stdin/stdout (raw mode on a terminal). 0 or -errno, @err. */
int vm_console_start(struct vm *vm, char *err, size_t err_len);

/* vm_console_stop - detach and restore the terminal. Safe to call twice. */
void vm_console_stop(struct vm *vm);

#endif
