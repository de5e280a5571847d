/* rt_layout.h — constants shared by the guest runtime's assembly and C: selectors, addresses, exit
 * codes. */
#ifndef GUEST_RT_LAYOUT_H
#define GUEST_RT_LAYOUT_H

/* GDT selectors.  The user selectors follow the Linux layout (IA32_STAR[63:48] = 0x20 gives SYSRET
 * CS 0x33 and SS 0x2b): PVM requires the guest's user CS/SS to be exactly those. */
#define RT_SEL_KCODE32 0x08
#define RT_SEL_KCODE 0x10
#define RT_SEL_KDATA 0x18
#define RT_SEL_UCODE32 0x23
#define RT_SEL_UDATA 0x2b
#define RT_SEL_UCODE 0x33
#define RT_SEL_TSS 0x40

#define RT_LAPIC_BASE 0xFEE00000
#define RT_TRAMP_ADDR 0x8000 /* SIPI vector 0x08; vmon's boot data lives below 0x8000 */
#define RT_STACK_BYTES 16384

/* Debug-exit values (port 0xf4, 4-byte write of v; the monitor exits with status (v << 1) | 1). */
#define RT_EXIT_PASS 0x10 /* status 33 */
#define RT_EXIT_FAIL 0x11 /* status 35 */
#define RT_EXIT_POWEROFF_FAILED 0x12 /* status 37: ACPI power-off returned */
#define RT_EXIT_EXCEPTION 0x13 /* status 39: unexpected CPU exception */

#endif
