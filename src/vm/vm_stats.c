/* vm_stats.c — the exit-statistics table (--stats) and its JSON form (GET /vm/stats). */
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "vm/vcpu.h"
#include "vm/vm.h"

static uint64_t ld(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

struct region_print {
	FILE *f;
	const char *bus;
};

static void print_region(const struct bus_region *r, void *arg)
{
	struct region_print *p = arg;

	if (!r->reads && !r->writes)
		return;
	fprintf(p->f, "  %-4s 0x%08" PRIx64 "-0x%08" PRIx64 " %-14s %12" PRIu64 " %12" PRIu64 "\n",
		p->bus, r->base, r->base + r->len - 1, r->name ? r->name : "?", r->reads,
		r->writes);
}

void vm_stats_print(struct vm *vm, FILE *f)
{
	struct region_print p = { .f = f };
	uint64_t total[HV_EXIT__COUNT] = { 0 };

	fprintf(f, "vmon: exit statistics\n");
	fprintf(f, "  %-5s %-16s %12s\n", "vcpu", "reason", "count");
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		for (unsigned r = 0; r < HV_EXIT__COUNT; r++) {
			uint64_t n = ld(&vm->vcpus[i]->exits[r]);

			total[r] += n;
			if (n)
				fprintf(f, "  %-5u %-16s %12" PRIu64 "\n", i,
					hv_exit_reason_name(r), n);
		}
	}
	for (unsigned r = 0; r < HV_EXIT__COUNT; r++) {
		if (total[r] && vm->nr_vcpus > 1)
			fprintf(f, "  %-5s %-16s %12" PRIu64 "\n", "all", hv_exit_reason_name(r),
				total[r]);
	}
	fprintf(f, "  %-4s %-21s %-14s %12s %12s\n", "bus", "range", "device", "reads", "writes");
	p.bus = "pio";
	bus_for_each(&vm->pio, print_region, &p);
	p.bus = "mmio";
	bus_for_each(&vm->mmio, print_region, &p);
	fprintf(f, "  %-4s %-21s %-14s %12" PRIu64 " %12" PRIu64 "\n", "pio", "(unhandled)", "-",
		ld(&vm->pio.unhandled_reads), ld(&vm->pio.unhandled_writes));
	fprintf(f, "  %-4s %-21s %-14s %12" PRIu64 " %12" PRIu64 "\n", "mmio", "(unhandled)", "-",
		ld(&vm->mmio.unhandled_reads), ld(&vm->mmio.unhandled_writes));
}

/* A growable string for building JSON without a library dependency in the VM layer. */
struct sbuf {
	char *s;
	size_t len, cap;
	bool oom;
};

static void sb_printf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->oom)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->s ? b->s + b->len : NULL, b->s ? b->cap - b->len : 0, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->oom = true;
			return;
		}
		if (b->s && (size_t)n < b->cap - b->len) {
			b->len += n;
			return;
		}
		size_t cap = (b->cap ? b->cap : 256);
		while (cap - b->len <= (size_t)n)
			cap *= 2;
		char *s = realloc(b->s, cap);
		if (!s) {
			b->oom = true;
			return;
		}
		b->s = s;
		b->cap = cap;
	}
}

struct region_json {
	struct sbuf *b;
	bool first;
	const char *bus;
};

static void json_region(const struct bus_region *r, void *arg)
{
	struct region_json *j = arg;

	sb_printf(j->b,
		  "%s{\"bus\":\"%s\",\"base\":%" PRIu64 ",\"len\":%" PRIu64
		  ",\"device\":\"%s\",\"reads\":%" PRIu64 ",\"writes\":%" PRIu64 "}",
		  j->first ? "" : ",", j->bus, r->base, r->len, r->name ? r->name : "", r->reads,
		  r->writes);
	j->first = false;
}

char *vm_stats_json(struct vm *vm)
{
	struct sbuf b = { 0 };
	struct region_json j = { .b = &b, .first = true };

	sb_printf(&b, "{\"vcpus\":[");
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		sb_printf(&b, "%s{\"id\":%u,\"exits\":{", i ? "," : "", i);
		for (unsigned r = 0; r < HV_EXIT__COUNT; r++)
			sb_printf(&b, "%s\"%s\":%" PRIu64, r ? "," : "", hv_exit_reason_name(r),
				  ld(&vm->vcpus[i]->exits[r]));
		sb_printf(&b, "}}");
	}
	sb_printf(&b, "],\"regions\":[");
	j.bus = "pio";
	bus_for_each(&vm->pio, json_region, &j);
	j.bus = "mmio";
	bus_for_each(&vm->mmio, json_region, &j);
	sb_printf(&b,
		  "],\"unhandled\":{\"pio_reads\":%" PRIu64 ",\"pio_writes\":%" PRIu64
		  ",\"mmio_reads\":%" PRIu64 ",\"mmio_writes\":%" PRIu64 "}}",
		  ld(&vm->pio.unhandled_reads), ld(&vm->pio.unhandled_writes),
		  ld(&vm->mmio.unhandled_reads), ld(&vm->mmio.unhandled_writes));
	if (b.oom) {
		free(b.s);
		return NULL;
	}
	return b.s;
}
