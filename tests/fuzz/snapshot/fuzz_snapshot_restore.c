/*
 * fuzz_snapshot_restore.c — what a restore checks of a state file before any
 * VM exists, against arbitrary input. Two modes, by the first byte:
 *  - bit 7 clear: the input is a whole state file for vm_snapshot_check()
 *    (framing, checksums, then every section a restore decodes);
 *  - bit 7 set: the rest is one section payload (checksums long passed) for
 *    the decoder that bits 0-1 select: vm_config, vcpu or kvm_vm, version 1;
 *    so the fuzzer reaches the decoders without forging CRCs.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vm/vm_snapshot.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const tags[] = { "vm_config", "vcpu", "kvm_vm", "vcpu" };
	char err[256] = "";
	uint8_t *copy;

	if (!size)
		return 0;
	/* An exact-size heap copy: a read one byte past the input is an ASan report. */
	copy = malloc(size);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	if (copy[0] & 0x80)
		vm_snapshot_decode_section(tags[copy[0] & 3], 1, copy + 1, size - 1);
	else
		vm_snapshot_check(copy, size, err, sizeof(err));
	free(copy);
	return 0;
}
