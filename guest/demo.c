/* demo.c — the guest vmon boots when no --kernel is given: shows what the VM looks like from inside
 * (CPU, vCPUs, memory map, command line), starts every vCPU, runs a prime sieve in ring 3 on each,
 * then powers off via ACPI. */
#include "lib/rt.h"

#define SIEVE_STEP 1000000 /* cpu N counts the primes below (N % 4 + 1) million */

static const long primes_below[4] = { 78498, 148933, 216816,
				      283146 }; /* pi(1e6), pi(2e6), pi(3e6), pi(4e6) */

struct sieve_job {
	long limit;
	uint8_t *bits; /* one bit per odd number below limit */
	uint64_t cycles;
};
static struct sieve_job jobs[RT_MAX_CPUS];

/* Ring 3: sieve of Eratosthenes over odd numbers; returns pi(limit). */
static long sieve_count(long arg)
{
	struct sieve_job *job = (struct sieve_job *)arg;
	uint64_t t0 = rt_rdtsc();
	long n = job->limit, half = n / 2, count = n > 2 ? 1 : 0; /* 2 is prime */
	uint8_t *bits = job->bits;

	for (long i = 0; i < (half + 7) / 8; i++)
		bits[i] = 0;
	for (long i = 1; i < half; i++) { /* i stands for 2i + 1 */
		if (bits[i >> 3] & (1 << (i & 7)))
			continue;
		count++;
		long p = 2 * i + 1;
		for (long j = (p * p) / 2; j < half; j += p)
			bits[j >> 3] |= (uint8_t)(1 << (j & 7));
	}
	job->cycles = rt_rdtsc() - t0;
	return count;
}

static long cpu_work(struct rt_cpu *cpu)
{
	struct sieve_job *job = &jobs[cpu->index];
	if (!job->bits)
		return -1;
	return rt_user_run(cpu, sieve_count, (long)job);
}

static void show_cpu(void)
{
	uint32_t r[4], brand[13] = { 0 };
	char vendor[13];

	rt_cpuid(0, 0, r);
	memcpy(vendor, &r[1], 4);
	memcpy(vendor + 4, &r[3], 4);
	memcpy(vendor + 8, &r[2], 4);
	vendor[12] = '\0';
	rt_cpuid(0x80000000, 0, r);
	if (r[0] >= 0x80000004)
		for (uint32_t i = 0; i < 3; i++)
			rt_cpuid(0x80000002 + i, 0, &brand[4 * i]);
	const char *b = (const char *)brand;
	while (*b == ' ')
		b++;
	rt_printf("  cpu       %s%s%s%s\n", vendor, *b ? ", \"" : "", b, *b ? "\"" : "");
	rt_cpuid(0x40000000, 0, r);
	char hv[13];
	memcpy(hv, &r[1], 4);
	memcpy(hv + 4, &r[2], 4);
	memcpy(hv + 8, &r[3], 4);
	hv[12] = '\0';
	rt_cpuid(1, 0, r);
	if (r[2] & (1u << 31))
		rt_printf("  hypervisor \"%s\"\n", hv);
}

static void show_memory(void)
{
	uint64_t usable = 0;

	if (!rt_boot.n_mmap) {
		rt_printf("  memory    %u KiB low, %u KiB above 1 MiB (no memory map)\n",
			  rt_boot.mem_lower_kb, rt_boot.mem_upper_kb);
		return;
	}
	rt_printf("  memory map:\n");
	for (unsigned int i = 0; i < rt_boot.n_mmap; i++) {
		const struct rt_mmap_entry *e = &rt_boot.mmap[i];
		const char *kind = e->type == 1	  ? "usable"
				   : e->type == 3 ? "ACPI data"
				   : e->type == 4 ? "ACPI NVS"
						  : "reserved";
		rt_printf("    0x%010lx - 0x%010lx  %s\n", e->base, e->base + e->len - 1, kind);
		if (e->type == 1)
			usable += e->len;
	}
	rt_printf("  memory    %lu MiB usable\n", usable >> 20);
}

int guest_main(void)
{
	rt_printf("\nHello from the vmon demo guest!\n\n");
	show_cpu();
	bool acpi = rt_acpi_init() == 0;
	if (acpi) {
		rt_printf("  vcpus     %u (ACPI MADT; APIC IDs", rt_acpi.n_cpus);
		for (unsigned int i = 0; i < rt_acpi.n_cpus; i++)
			rt_printf(" %u", rt_acpi.apic_ids[i]);
		rt_printf(")\n");
	} else {
		rt_printf("  vcpus     unknown: no ACPI tables found\n");
	}
	show_memory();
	rt_printf("  cmdline   \"%s\"\n", rt_boot.cmdline);
	rt_printf("  clock     TSC %lu MHz%s\n\n", rt_tsc_khz / 1000,
		  rt_tsc_calibrated ? "" : " (guessed)");

	unsigned int max = acpi && rt_acpi.n_cpus ? rt_acpi.n_cpus : 1;
	for (unsigned int i = 0; i < max && i < RT_MAX_CPUS; i++) {
		jobs[i].limit = (long)(i % 4 + 1) * SIEVE_STEP;
		jobs[i].bits = rt_alloc((size_t)(jobs[i].limit / 16 + 1), 64);
	}
	unsigned int online = 1;
	if (acpi && rt_acpi.n_cpus > 1) {
		rt_printf("Starting %u more vCPUs ... ", rt_acpi.n_cpus - 1);
		online = rt_smp_start(cpu_work);
		rt_printf("%u of %u online\n", online, rt_acpi.n_cpus);
	}
	rt_printf("Counting primes in ring 3 on every vCPU:\n");
	rt_cpus[0].result = cpu_work(&rt_cpus[0]);
	rt_cpus[0].done = 1;
	rt_smp_wait_done(30000000);

	bool ok = true;
	for (unsigned int i = 0; i < rt_ncpus; i++) {
		const struct rt_cpu *c = &rt_cpus[i];
		if (!c->online) {
			rt_printf("  vcpu %u (APIC %u): not started\n", i, c->apic_id);
			ok = false;
			continue;
		}
		if (!c->done) {
			rt_printf("  vcpu %u (APIC %u): no answer within 30 s\n", i, c->apic_id);
			ok = false;
			continue;
		}
		long want = primes_below[i % 4];
		bool right = c->result == want;
		ok = ok && right;
		rt_printf("  vcpu %u (APIC %u): %ld primes below %ld million in %lu ms%s\n", i,
			  c->apic_id_seen, c->result, jobs[i].limit / SIEVE_STEP,
			  jobs[i].cycles / rt_tsc_khz, right ? "" : "  <- WRONG");
	}
	rt_printf("\n%s Powering off via ACPI. Bye!\n",
		  ok ? "All done." : "Something went wrong (see above).");
	if (!ok)
		return RT_EXIT_FAIL;
	rt_acpi_poweroff();
}
