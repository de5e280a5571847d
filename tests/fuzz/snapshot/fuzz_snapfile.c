/*
 * fuzz_snapfile.c — the snapshot state-file parser against arbitrary files.
 * Input: the file's bytes. Whatever snapfile_parse() accepts is walked to the
 * end with state_next_section(), every payload read to its last byte, so
 * ASan sees any section that points outside the input; an accepted file must
 * have a valid header and sections whose CRCs all check.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "snapshot/snapfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct state_section s;
	struct snapfile f;
	char err[256];
	uint8_t *copy;
	int rc;

	/* An exact-size heap copy: a read one byte past the input is an ASan report. */
	copy = malloc(size ? size : 1);
	if (!copy)
		return 0;
	if (size)
		memcpy(copy, data, size);
	if (snapfile_parse(copy, size, &f, err, sizeof(err)) == 0) {
		if (snapfile_header_check(&f.hdr, err, sizeof(err)) != 0)
			abort(); /* parse accepted a header its own check refuses */
		while ((rc = state_next_section(&f.sections, &s)) == 1) {
			volatile uint8_t sink = 0;
			uint8_t b;

			while (s.payload.pos < s.payload.len) {
				state_get_bytes(&s.payload, &b, 1);
				sink ^= b;
			}
			(void)sink;
		}
		if (rc != 0)
			abort(); /* parse verified every section, so the walk must end cleanly */
		snapfile_free(&f);
	} else if (!err[0]) {
		abort(); /* every refusal says why */
	}
	free(copy);
	return 0;
}
