/* pci.c — PCI configuration space access on bus 0 and memory BAR decoding.
 * References: PCI Local Bus 3.0 §3.2.2.3.2 (configuration mechanism #1, ports 0xCF8/0xCFC),
 * §6.2.5.1 (BARs), PCI Express Base 4.0 §7.2.2 (ECAM: bus << 20 | device << 15 | function << 12 |
 * register). */
#include "rt.h"

static uintptr_t ecam(unsigned int dev, unsigned int fn, unsigned int reg)
{
	return (uintptr_t)rt_acpi.ecam_gpa + ((uintptr_t)dev << 15) + ((uintptr_t)fn << 12) +
	       (reg & 0xffc);
}

static uint32_t cf8(unsigned int dev, unsigned int fn, unsigned int reg)
{
	return 0x80000000u | dev << 11 | fn << 8 | (reg & 0xfc);
}

uint32_t rt_pci_read32(unsigned int dev, unsigned int fn, unsigned int reg)
{
	if (rt_acpi.ecam_gpa)
		return rt_mmio_read32(ecam(dev, fn, reg));
	rt_outl(0xcf8, cf8(dev, fn, reg));
	return rt_inl(0xcfc);
}

void rt_pci_write32(unsigned int dev, unsigned int fn, unsigned int reg, uint32_t v)
{
	if (rt_acpi.ecam_gpa) {
		rt_mmio_write32(ecam(dev, fn, reg), v);
		return;
	}
	rt_outl(0xcf8, cf8(dev, fn, reg));
	rt_outl(0xcfc, v);
}

uint64_t rt_pci_bar(unsigned int dev, unsigned int fn, unsigned int bar)
{
	if (bar > 5)
		return 0;
	uint32_t lo = rt_pci_read32(dev, fn, 0x10 + 4 * bar);
	if (lo & 1)
		return 0; /* I/O BAR */
	uint64_t addr = lo & ~0xfu;
	if (((lo >> 1) & 3) == 2 && bar < 5) /* 64-bit memory BAR */
		addr |= (uint64_t)rt_pci_read32(dev, fn, 0x10 + 4 * (bar + 1)) << 32;
	return addr;
}
