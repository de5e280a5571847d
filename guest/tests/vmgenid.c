/* vmgenid.c — KVM-tier test guest: finds the VM generation ID device in the DSDT (the ADDR method
 * of _HID "VMGENCTR", as Linux's vmgenid driver evaluates it), reads the 16-byte ID there and
 * prints "vmgenid: id <32 hex digits>". Passes when the ID is there and not all zero; with
 * "vmgenid=watch" it then polls the ID for ~20 s and prints "vmgenid: changed to <hex>" each time
 * it changes (a snapshot restore renews it). */
#include "../lib/rt.h"

static uint8_t rd8(uint64_t gpa)
{
	return *(volatile uint8_t *)(uintptr_t)gpa;
}

/* An AML integer at @p (ZeroOp, OneOp, Byte/Word/DWordPrefix); its length, 0 when not one. */
static unsigned int aml_int(uint64_t p, uint32_t *v)
{
	switch (rd8(p)) {
	case 0x00:
	case 0x01:
		*v = rd8(p);
		return 1;
	case 0x0A:
		*v = rd8(p + 1);
		return 2;
	case 0x0B:
		*v = rd8(p + 1) | (uint32_t)rd8(p + 2) << 8;
		return 3;
	case 0x0C:
		*v = rd8(p + 1) | (uint32_t)rd8(p + 2) << 8 | (uint32_t)rd8(p + 3) << 16 |
		     (uint32_t)rd8(p + 4) << 24;
		return 5;
	}
	return 0;
}

/* The DSDT's Method (ADDR, 0) { Return (Package (2) { lo, hi }) }; 0 when absent. */
static uint64_t find_addr(uint64_t dsdt)
{
	uint32_t len = *(volatile uint32_t *)(uintptr_t)(dsdt + 4);

	for (uint64_t p = dsdt + 36; p + 16 < dsdt + len; p++) {
		uint32_t lo, hi;
		unsigned int n, m;

		/* MethodOp PkgLength(1) "ADDR" flags ReturnOp PackageOp PkgLength(1) NumElements=2
		 */
		if (rd8(p) != 0x14 || rd8(p + 2) != 'A' || rd8(p + 3) != 'D' || rd8(p + 4) != 'D' ||
		    rd8(p + 5) != 'R' || rd8(p + 7) != 0xA4 || rd8(p + 8) != 0x12 ||
		    rd8(p + 10) != 2)
			continue;
		n = aml_int(p + 11, &lo);
		m = n ? aml_int(p + 11 + n, &hi) : 0;
		if (m)
			return (uint64_t)hi << 32 | lo;
	}
	return 0;
}

static void read_id(uint64_t gpa, uint8_t id[16])
{
	for (unsigned int i = 0; i < 16; i++)
		id[i] = rd8(gpa + i);
}

static void print_id(const char *what, const uint8_t id[16])
{
	rt_printf("vmgenid: %s ", what);
	for (unsigned int i = 0; i < 16; i++)
		rt_printf("%02x", id[i]);
	rt_printf("\n");
}

int guest_main(void)
{
	uint8_t id[16], now[16];
	uint64_t gpa;
	bool zero = true;

	if (rt_acpi_init() || !rt_acpi.dsdt_gpa) {
		rt_printf("vmgenid: no ACPI tables: FAIL\n");
		return RT_EXIT_FAIL;
	}
	gpa = find_addr(rt_acpi.dsdt_gpa);
	if (!gpa) {
		rt_printf("vmgenid: no ADDR method in the DSDT: FAIL\n");
		return RT_EXIT_FAIL;
	}
	rt_printf("vmgenid: ADDR 0x%lx\n", (unsigned long)gpa);
	read_id(gpa, id);
	print_id("id", id);
	for (unsigned int i = 0; i < 16; i++)
		zero &= id[i] == 0;
	if (zero) {
		rt_printf("vmgenid: the ID is all zero: FAIL\n");
		return RT_EXIT_FAIL;
	}
	if (rt_cmdline_has("vmgenid=watch")) {
		rt_printf("vmgenid: watching\n");
		for (unsigned int t = 0; t < 2000; t++) {
			rt_delay_us(10000);
			read_id(gpa, now);
			if (memcmp(now, id, 16)) {
				print_id("changed to", now);
				break;
			}
		}
	}
	rt_printf("vmgenid: PASS\n");
	return RT_EXIT_PASS;
}
