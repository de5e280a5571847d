/* smp.c — KVM-tier test guest: starts every CPU the MADT lists; each checks in with the APIC ID it
 * reads from its own LAPIC.  Passes when all of them check in with the ID the MADT gave. */
#include "../lib/rt.h"

int guest_main(void)
{
	if (rt_acpi_init()) {
		rt_printf("smp-test: no ACPI tables\nsmp-test: FAIL\n");
		return RT_EXIT_FAIL;
	}
	rt_printf("smp-test: MADT lists %u CPUs\n", rt_acpi.n_cpus);
	unsigned int online = rt_smp_start(NULL);
	unsigned int good = 0;
	for (unsigned int i = 0; i < rt_ncpus; i++) {
		const struct rt_cpu *c = &rt_cpus[i];
		bool ok = c->online && c->apic_id_seen == c->apic_id;
		good += ok;
		rt_printf("smp-test: cpu%u APIC ID %u %s\n", i, c->apic_id_seen,
			  !c->online ? "did not start"
			  : ok	     ? "checked in"
				     : "checked in with the wrong ID");
	}
	bool pass =
		good == rt_acpi.n_cpus && online == rt_acpi.n_cpus && rt_acpi.n_cpus_ignored == 0;
	rt_printf("smp-test: %u/%u CPUs online\n", good, rt_acpi.n_cpus);
	rt_printf("smp-test: %s\n", pass ? "PASS" : "FAIL");
	return pass ? RT_EXIT_PASS : RT_EXIT_FAIL;
}
