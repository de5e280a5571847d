/*
 * fuzz_migwire.c — a migration destination's side of the stream against
 * arbitrary bytes: every message framed and checked (migwire_parse), taken
 * only in the protocol's order (migwire_expect), HELLO's machine checked as
 * the destination would build it (vm_incoming_config), pages laid into a
 * small guest RAM (migwire_apply_pages), STATE checked as a restore would
 * (vm_snapshot_check); then the same bytes read from a pipe as a socket is
 * (migwire_recv_ram: PAGES straight into RAM). A message accepted into RAM
 * must lie inside it; ASan sees any write that does not.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mem/gmem.h"
#include "snapshot/migwire.h"
#include "snapshot/snapfile.h"
#include "vm/vm_config.h"
#include "vm/vm_snapshot.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * The same bytes through a pipe into migwire_recv_ram, as a destination reads
 * its socket once HELLO is in: PAGES land straight in @gm (or are refused
 * first), everything else comes whole; it ends at the first refusal or EOF.
 */
static void recv_in_place(const uint8_t *data, size_t size, struct gmem *gm)
{
	struct migwire_buf b = { 0 };
	int fds[2];

	if (size > 60000 || pipe(fds)) /* a pipe holds 64 KiB: no writer thread needed */
		return;
	if (size && write(fds[1], data, size) != (ssize_t)size)
		abort();
	close(fds[1]);
	for (;;) {
		struct migwire_msg m;
		char err[256] = "";
		bool in_ram;

		if (migwire_recv_ram(fds[0], &b, gm, &m, &in_ram, 1000, err, sizeof(err))) {
			if (!err[0])
				abort(); /* every refusal says why */
			break;
		}
		if (in_ram && m.type != MIGWIRE_PAGES)
			abort();
	}
	migwire_buf_free(&b);
	close(fds[0]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct gmem gm;
	static bool ready;
	enum migwire_phase phase = MIGWIRE_WANT_HELLO;
	uint8_t *copy;
	size_t off = 0;

	if (!ready) {
		gmem_init(&gm);
		if (gmem_add_ram(&gm, 0, 32 * GMEM_PAGE_SIZE) ||
		    gmem_add_ram(&gm, 1ull << 32, 8 * GMEM_PAGE_SIZE))
			abort();
		ready = true;
	}
	/* An exact-size heap copy: a read one byte past the input is an ASan report. */
	copy = malloc(size ? size : 1);
	if (!copy)
		return 0;
	if (size)
		memcpy(copy, data, size);
	while (off < size) {
		struct migwire_msg m;
		struct migwire_pages p;
		char err[256] = "";
		size_t used;
		int rc = migwire_parse(copy + off, size - off, &m, &used, err, sizeof(err));

		if (rc == -EAGAIN)
			break;
		if (rc) {
			if (!err[0])
				abort(); /* every refusal says why */
			break;
		}
		if (used > size - off)
			abort();
		off += used;
		if (migwire_expect(&phase, m.type, err, sizeof(err)) || m.type == MIGWIRE_ERROR)
			break;
		if (m.type == MIGWIRE_HELLO) {
			const uint8_t *snap;
			size_t snap_len;
			struct snapfile_header *hdr = calloc(1, sizeof(*hdr));
			struct vm_config cfg;

			if (!hdr)
				break;
			vm_config_init(&cfg);
			if (!migwire_decode_hello(&m, &snap, &snap_len, err, sizeof(err)))
				vm_incoming_config(snap, snap_len, NULL, hdr, &cfg, err,
						   sizeof(err));
			vm_config_free(&cfg);
			free(hdr);
		} else if (m.type == MIGWIRE_PAGES || m.type == MIGWIRE_ZEROS) {
			if (!migwire_decode_pages(&m, &p, err, sizeof(err)))
				migwire_apply_pages(&gm, &p, err, sizeof(err));
		} else if (m.type == MIGWIRE_STATE) {
			vm_snapshot_check(m.payload, m.len, err, sizeof(err));
		}
	}
	free(copy);
	recv_in_place(data, size, &gm);
	return 0;
}
