#!/usr/bin/env bash
# run_guests.sh — KVM tier: boots the project's test guests (guest/) under vmon on the host's /dev/kvm and under
# QEMU TCG as a second monitor, and checks exit status, serial output, --stats and crash reports.  Emits TAP.
#
# Environment: VMON=path to vmon (tests skip when missing); QEMU=qemu-system-x86_64 override (optional);
#              VMON_TEST_TIMEOUT=seconds per run (default 60);
#              KVM_TIER_MONITORS=vmon,qemu: which monitors' cases to run (default both; the others are left out,
#              e.g. vmon's inside the sandbox's L1 when this host has no /dev/kvm, QEMU's on the host).
# Arguments:   NAME=PATH for each guest ELF (serial pio mmio ring3 smp busy poweroff reset triple_fault emulation_failure
#              virtio_blk virtio_rng virtio_echo virtio_console virtio_hostile vmgenid demo).
# Debug-exit contract of the guests (guest/lib/rt_layout.h): pass writes 0x10 -> status 33, fail 0x11 -> 35,
# power-off failed 0x12 -> 37, unexpected exception 0x13 -> 39,
# needed device absent 0x14 -> 41.  vmon: 0 = powered off, 6 = guest crashed.
set -u

declare -A GUEST
for a in "$@"; do
	GUEST[${a%%=*}]=${a#*=}
done
TIMEOUT=${VMON_TEST_TIMEOUT:-60}
MONITORS=",${KVM_TIER_MONITORS:-vmon,qemu},"
wanted() { [[ $MONITORS == *",$1,"* ]]; }
QEMU=${QEMU:-$(command -v qemu-system-x86_64 || true)}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/vmon-kvm.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; shift; for l in "$@"; do echo "# $l"; done; }
skip() { n=$((n + 1)); echo "ok $n - $1 # SKIP $2"; }

# Why vmon tests cannot run here, or "" when they can.
vmon_skip=""
if [ -z "${VMON:-}" ] || [ ! -x "${VMON:-}" ]; then
	vmon_skip="vmon binary not found (VMON=${VMON:-unset})"
elif [ ! -e /dev/kvm ]; then
	vmon_skip="no /dev/kvm"
elif ! { exec 3<>/dev/kvm; } 2>/dev/null; then
	vmon_skip="/dev/kvm not usable (cannot open it read-write)"
else
	exec 3>&-
fi
qemu_skip=""
[ -n "$QEMU" ] && [ -x "$QEMU" ] || qemu_skip="qemu-system-x86_64 not installed"

QEMU_EXTRA=()
OUT=$TMP/out
ERR=$TMP/err
STATUS=0
# run_vmon GUEST_NAME ARGS... : runs vmon (GUEST_NAME "-" = no --kernel), sets STATUS, $OUT, $ERR.
run_vmon() {
	local g=$1
	shift
	local kargs=()
	[ "$g" != - ] && kargs=(--kernel "${GUEST[$g]}")
	timeout -k 5 "$TIMEOUT" "$VMON" run "${kargs[@]}" "$@" </dev/null >"$OUT" 2>"$ERR"
	STATUS=$?
}
# run_qemu GUEST_NAME CPUS CMDLINE
run_qemu() {
	timeout -k 5 "$TIMEOUT" "$QEMU" -accel tcg -M pc -m 256 -kernel "${GUEST[$1]}" -append "$3" -smp "$2" "${QEMU_EXTRA[@]}" \
		-serial stdio -display none -monitor none -no-reboot -nodefaults \
		-device isa-debug-exit,iobase=0xf4,iosize=4 </dev/null >"$OUT" 2>"$ERR"
	STATUS=$?
}
tail_of() { sed -e 's/^/    /' "$1" | tail -n 15; }
has() { grep -qF -- "$2" "$1"; }

# check NAME COND_DESCRIPTION... : evaluates the checks passed as a list of "expr" strings via check_all.
check() {
	local name=$1
	shift
	local why=()
	for c in "$@"; do
		eval "$c" || why+=("failed: $c")
	done
	if [ ${#why[@]} -eq 0 ]; then
		ok "$name"
	else
		not_ok "$name" "${why[@]}" "status $STATUS; stdout:" "$(tail_of "$OUT")" "stderr:" "$(tail_of "$ERR")"
	fi
}
need_guest() { [ -n "${GUEST[$1]:-}" ] && [ -f "${GUEST[$1]}" ]; }

vmon_case() {	# vmon_case TEST_NAME GUEST ARGS -- CHECKS...
	local name=$1 g=$2
	shift 2
	local args=()
	while [ $# -gt 0 ] && [ "$1" != -- ]; do args+=("$1"); shift; done
	shift
	wanted vmon || return 0
	if [ -n "$vmon_skip" ]; then skip "$name" "$vmon_skip"; return; fi
	if [ "$g" != - ] && ! need_guest "$g"; then skip "$name" "guest $g not built"; return; fi
	if [ "$g" = - ] && ! need_guest demo; then skip "$name" "guests not built: vmon has no bundled demo"; return; fi
	run_vmon "$g" "${args[@]}"
	check "$name" "$@"
}
qemu_case() {	# qemu_case TEST_NAME GUEST CPUS CMDLINE CHECKS...
	local name=$1 g=$2 cpus=$3 cmdline=$4
	shift 4
	wanted qemu || return 0
	if [ -n "$qemu_skip" ]; then skip "$name" "$qemu_skip"; return; fi
	if ! need_guest "$g"; then skip "$name" "guest $g not built"; return; fi
	run_qemu "$g" "$cpus" "$cmdline"
	check "$name" "$@"
}

# Disk images for virtio-blk: random sector 0 (its hash is checked), zeros after; the guest writes sector 1
# (byte j = j * 7 + 1) unless the disk is read-only.
# (bash and od only: this script also runs inside the sandbox's L1, which has no python3)
random_bytes() { # N: N bytes from bash's generator (L1's /dev/urandom may block early under TCG)
	local i o esc=""
	for ((i = 0; i < $1; i++)); do printf -v o '\\%03o' $((RANDOM & 255)); esc+=$o; done # no fork per byte
	printf "$esc"
}
new_disk() {
	{ random_bytes 512; head -c $((1024 * 1024 - 512)) /dev/zero; } >"$1"
}
fnv1a() { # FNV-1a of stdin, printed as the guests print it
	local h=2166136261 b
	for b in $(od -An -tu1 -v); do h=$(((h ^ b) * 16777619 & 0xffffffff)); done
	printf '0x%08x\n' "$h"
}
sector_fnv() { dd if="$1" bs=512 skip="$2" count=1 2>/dev/null | fnv1a; }
sector1_written() {
	local want="" j
	for ((j = 0; j < 512; j++)); do want+=" $(((j * 7 + 1) & 255))"; done
	[ "$(dd if="$1" bs=512 skip=1 count=1 2>/dev/null | od -An -tu1 -v | tr -s ' \n' '  ')" = "$want " ]
}
# mmio_run MONITOR_ARGS...: a run on the virtio-mmio transport, where a missing device is a failure, not a skip
mmio_run() { [[ " $* " == *" --transport mmio "* ]]; }
# virtio_case NAME MONITOR(vmon|qemu) RO(0|1) VIA MONITOR_ARGS... : one virtio-blk run and its checks; VIA is the
# configuration-space access the guest must report ("ECAM", "ports 0xCF8/0xCFC", or "" for either).
virtio_case() {
	local name=$1 mon=$2 ro=$3 via=$4
	shift 4
	wanted "$mon" || return 0
	if [ "$mon" = vmon ] && [ -n "$vmon_skip" ]; then skip "$name" "$vmon_skip"; return; fi
	if [ "$mon" = qemu ] && [ -n "$qemu_skip" ]; then skip "$name" "$qemu_skip"; return; fi
	if ! need_guest virtio_blk; then skip "$name" "guest virtio_blk not built"; return; fi
	local disk=$TMP/disk.img
	new_disk "$disk"
	local want
	want=$(sector_fnv "$disk" 0)
	local extra=("${@//@DISK@/$disk}")
	if [ "$mon" = vmon ]; then
		run_vmon virtio_blk "${extra[@]}"
		if [ $STATUS -eq 41 ] && ! mmio_run "$@" && has "$OUT" "no virtio-blk device on PCI bus 0"; then
			skip "$name" "vmon exposes no virtio-blk device yet (the guest found none on PCI bus 0)"
			return
		fi
	else
		QEMU_EXTRA=("${extra[@]}")
		run_qemu virtio_blk 1 ""
		QEMU_EXTRA=()
	fi
	local checks=('[ $STATUS -eq 33 ]' 'has $OUT "virtio-blk-test: capacity 2048 sectors"'
		"has \$OUT \"sector 0 FNV-1a $want\"" 'has $OUT "virtio-blk-test: PASS"')
	[ -n "$via" ] && checks+=("has \$OUT \"via $via\"")
	if [ "$ro" = 1 ]; then
		checks+=('has $OUT "read-only disk"' "! sector1_written $disk")
	else
		checks+=("sector1_written $disk")
	fi
	check "$name" "${checks[@]}"
}

# rng_case NAME MONITOR(vmon|qemu) MONITOR_ARGS... : virtio-rng guest; under vmon, "no device" is a skip.
rng_case() {
	local name=$1 mon=$2
	shift 2
	wanted "$mon" || return 0
	if [ "$mon" = vmon ] && [ -n "$vmon_skip" ]; then skip "$name" "$vmon_skip"; return; fi
	if [ "$mon" = qemu ] && [ -n "$qemu_skip" ]; then skip "$name" "$qemu_skip"; return; fi
	if ! need_guest virtio_rng; then skip "$name" "guest virtio_rng not built"; return; fi
	if [ "$mon" = vmon ]; then
		run_vmon virtio_rng "$@"
		if [ $STATUS -eq 41 ] && ! mmio_run "$@" && has "$OUT" "no virtio entropy device on PCI bus 0"; then
			skip "$name" "vmon exposes no virtio-rng device yet (the guest found none on PCI bus 0)"
			return
		fi
	else
		QEMU_EXTRA=("$@")
		run_qemu virtio_rng 1 ""
		QEMU_EXTRA=()
	fi
	check "$name" '[ $STATUS -eq 33 ]' 'has $OUT "virtio-rng-test: got 64 and 64 bytes"' 'has $OUT "virtio-rng-test: PASS"'
}

# console_case NAME MONITOR(vmon|qemu) MONITOR_ARGS... : virtio console guest; the line it writes must reach the
# monitor's console (vmon: stdout; QEMU: the chardev file @VC@).  Under vmon, "no device" is a skip.
console_case() {
	local name=$1 mon=$2
	shift 2
	wanted "$mon" || return 0
	if [ "$mon" = vmon ] && [ -n "$vmon_skip" ]; then skip "$name" "$vmon_skip"; return; fi
	if [ "$mon" = qemu ] && [ -n "$qemu_skip" ]; then skip "$name" "$qemu_skip"; return; fi
	if ! need_guest virtio_console; then skip "$name" "guest virtio_console not built"; return; fi
	local vc=$TMP/vc.txt
	rm -f "$vc"
	local extra=("${@//@VC@/$vc}")
	if [ "$mon" = vmon ]; then
		# With --console virtio, vmon leaves COM1 unconnected: only the exit status and the virtio line show.
		run_vmon virtio_console "${extra[@]}"
		if [ $STATUS -eq 41 ]; then
			skip "$name" "vmon exposes no virtio console yet (the guest found none on PCI bus 0: status 41)"
			return
		fi
		check "$name" '[ $STATUS -eq 33 ]' 'has $OUT "virtio-console-test: hello through the virtio console"'
		return
	else
		QEMU_EXTRA=("${extra[@]}")
		run_qemu virtio_console 1 ""
		QEMU_EXTRA=()
	fi
	check "$name" '[ $STATUS -eq 33 ]' 'has $OUT "virtio-console-test: PASS"' \
		'has $vc "virtio-console-test: hello through the virtio console"'
}

# A multiboot module with known content for the --initrd checks, and its FNV-1a hash as the demo prints it.
MODULE=$TMP/module.bin
random_bytes 12345 >"$MODULE"
MODULE_FNV=$(fnv1a <"$MODULE")

echo "TAP version 13"

# ---- vmon on /dev/kvm
vmon_case "vmon serial: guest output reaches stdout, debug-exit pass" serial -- \
	'[ $STATUS -eq 33 ]' 'has $OUT "serial-test: hello from the serial test guest"' \
	'has $OUT "serial-test: numbers -42 42 0xbeef 1234567890123 Z ok"' 'has $OUT "serial-test: done"'
vmon_case "vmon pio: 8250 scratch register and unclaimed port reads all ones" pio -- \
	'[ $STATUS -eq 33 ]' 'has $OUT "pio-test: PASS"'
vmon_case "vmon mmio: unbacked MMIO reads all ones, writes dropped" mmio -- \
	'[ $STATUS -eq 33 ]' 'has $OUT "mmio-test: PASS"'
vmon_case "vmon --stats: exit table with IO and MMIO rows" mmio --stats -- \
	'[ $STATUS -eq 33 ]' 'cat $OUT $ERR | grep -qE "^ +[0-9a-z]+ +IO +[0-9]+"' \
	'cat $OUT $ERR | grep -qE "^ +[0-9a-z]+ +MMIO +[0-9]+"'
vmon_case "vmon ring3: IRETQ to CPL 3 and back" ring3 -- \
	'[ $STATUS -eq 33 ]' 'has $OUT "ring3-test: PASS"'
vmon_case "vmon ring3: SYSRETQ to CPL 3 and back" ring3 --cmdline ring3=sysret -- \
	'[ $STATUS -eq 33 ]' 'has $OUT "ring3-test: entering CPL 3 with SYSRETQ"' 'has $OUT "ring3-test: PASS"'
if [ -n "${VMON_KVM_TIER_L1:-}" ]; then
	# Seen in L1: no IRQ 8 and no RTC flag in 0.5 s or 2.5 s, as under QEMU TCG itself (fcdc089);
	# the guest's TSC-timed windows do not hold there. Not yet understood: no verdict rather than a false one.
	skip "vmon rtc_irq: the CMOS RTC's periodic and alarm interrupts reach a guest that does not poll it" \
		"nested SVM under QEMU TCG (the sandbox's L1): the guest's timed windows do not hold"
else
	vmon_case "vmon rtc_irq: the CMOS RTC's periodic and alarm interrupts reach a guest that does not poll it" \
		rtc_irq -- '[ $STATUS -eq 33 ]' 'has $OUT "rtc_irq: pass"'
fi
vmon_case "vmon smp --cpus 4: every MADT CPU checks in" smp --cpus 4 -- \
	'[ $STATUS -eq 33 ]' 'has $OUT "smp-test: MADT lists 4 CPUs"' 'has $OUT "smp-test: 4/4 CPUs online"'
vmon_case "vmon smp --cpus 64 (vmon's maximum): every MADT CPU checks in" smp --cpus 64 -- \
	'[ $STATUS -eq 33 ]' 'has $OUT "smp-test: MADT lists 64 CPUs"' 'has $OUT "smp-test: 64/64 CPUs online"'
vmon_case "vmon smp --cpus 1: one CPU" smp --cpus 1 -- \
	'[ $STATUS -eq 33 ]' 'has $OUT "smp-test: 1/1 CPUs online"'
vmon_case "vmon poweroff: ACPI S5 ends vmon with status 0" poweroff -- \
	'[ $STATUS -eq 0 ]' 'has $OUT "poweroff-test: FADT"'
vmon_case "vmon reset: FADT RESET_REG ends vmon with status 0 (--reboot exit)" reset -- \
	'[ $STATUS -eq 0 ]' 'has $OUT "reset-test: writing 0x6 to RESET_REG"' '! has $OUT "FAIL"'
vmon_case "vmon power-off while the APs spin in ring 3 (vCPUs kicked out of KVM_RUN)" busy --cpus 4 -- \
	'[ $STATUS -eq 0 ]' 'has $OUT "busy-test: 4 CPUs online, 3 APs spinning in ring 3; powering off"'
vmon_case "vmon debug-exit from an AP while the boot CPU spins in ring 3" busy --cpus 4 --cmdline busy=ap-exit -- \
	'[ $STATUS -eq 33 ]' 'has $OUT "busy-test: cpu3 writes the debug-exit pass value"'
# SIGUSR2 while the guest hangs (every vCPU spinning in ring 3): vmon writes each vCPU's state and the VM
# runs on; SIGTERM then ends it with 128+15.
vmon_dump_case() {
	local name="vmon SIGUSR2 dumps every vCPU of a hung guest and the VM runs on" pid i alive=no
	wanted vmon || return 0
	if [ -n "$vmon_skip" ]; then skip "$name" "$vmon_skip"; return; fi
	need_guest busy || { skip "$name" "guest busy not built"; return; }
	: >"$OUT"
	"$VMON" run --kernel "${GUEST[busy]}" --cpus 2 --cmdline busy=hang </dev/null >"$OUT" 2>"$ERR" &
	pid=$!
	for ((i = 0; i < TIMEOUT * 10; i++)); do has "$OUT" "cpu0 joins them" && break; sleep 0.1; done
	kill -USR2 "$pid" 2>/dev/null
	for ((i = 0; i < 100; i++)); do has "$ERR" "vcpu 1:" && break; sleep 0.1; done
	sleep 0.3
	kill -0 "$pid" 2>/dev/null && alive=yes
	kill -TERM "$pid" 2>/dev/null
	for ((i = 0; i < 100; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$pid" 2>/dev/null
	wait "$pid"
	STATUS=$?
	check "$name" 'has $OUT "busy-test: 2 CPUs online, 1 APs spinning in ring 3; cpu0 joins them"' \
		'has $ERR "vCPU dump (2 of 2 stopped)"' \
		'grep -qE "vcpu 0: runnable, RIP 0033:[0-9a-f]{16} RSP .* latest exit" $ERR' \
		'grep -qE "vcpu 1: runnable, RIP 0033:[0-9a-f]{16} RSP .* latest exit" $ERR' 'has $ERR "lapic: tpr"' \
		'[ $alive = yes ]' '[ $STATUS -eq 143 ]'
}
vmon_dump_case
vmon_case "vmon triple fault: non-zero exit, report names reason, vCPU and RIP" triple_fault -- \
	'[ $STATUS -ne 0 ] && [ $STATUS -ne 124 ] && [ $STATUS -ne 137 ]' \
	'has $OUT "triple-fault-test: loading an empty IDT"' '! has $OUT "still running"' \
	'grep -qiE "vcpu 0.*triple fault.*RIP 0x[0-9a-f]+" $ERR'
vmon_case "vmon emulation failure: non-zero exit, report names reason, vCPU, RIP and code" emulation_failure -- \
	'[ $STATUS -ne 0 ] && [ $STATUS -ne 124 ] && [ $STATUS -ne 137 ]' \
	'has $OUT "emulation-failure-test: jumping"' \
	'grep -qiE "vcpu 0.*emulation failure.*RIP 0x[0-9a-f]+" $ERR' 'grep -qiE "code:" $ERR'
vmon_case "vmon demo via --kernel with --cmdline and --cpus 4" demo --cpus 4 --cmdline "hello from the kvm tier" -- \
	'[ $STATUS -eq 0 ]' 'has $OUT "cmdline     \"hello from the kvm tier\""' \
	'has $OUT "vcpus       4 (ACPI MADT"' 'has $OUT "4 of 4 online"' \
	'has $OUT "78498 primes below 1 million"' 'has $OUT "283146 primes below 4 million"' \
	'has $OUT "All done."'
vmon_case "vmon with no --kernel boots the bundled demo guest" - --cpus 2 -- \
	'[ $STATUS -eq 0 ]' 'has $OUT "Hello from the vmon demo guest!"' 'has $OUT "2 of 2 online"' \
	'has $OUT "148933 primes below 2 million"' 'has $OUT "All done."'
vmon_case "vmon --initrd: the module arrives intact (FNV-1a computed in ring 3)" demo --initrd "$MODULE" -- \
	'[ $STATUS -eq 0 ]' 'has $OUT "12345 bytes, FNV-1a $MODULE_FNV"'
virtio_case "vmon virtio-blk: read sector 0, write and read back sector 1, host file updated" vmon 0 "" --disk @DISK@
virtio_case "vmon virtio-blk read-only (--disk PATH,ro): VIRTIO_BLK_F_RO, file untouched" vmon 1 "" --disk @DISK@,ro
rng_case "vmon virtio-rng (--rng): two 64-byte requests answered with fresh data" vmon --rng
truncate -s 1M "$TMP/hostile.img"
console_case "vmon virtio console (--console virtio): the guest's line reaches stdout" vmon --console virtio
virtio_case "vmon --transport mmio virtio-blk: the same disk test through a virtio-mmio window" vmon 0 "" \
	--transport mmio --disk @DISK@
rng_case "vmon --transport mmio virtio-rng: found in a virtio-mmio window, two requests answered" vmon \
	--transport mmio --rng
vmon_case "vmon --transport mmio with acpi=off: each window named on the command line (virtio_mmio.device=)" demo \
	--transport mmio --rng --disk "$TMP/hostile.img" --cmdline "acpi=off x" -- \
	'[ $STATUS -eq 0 ]' \
	'has $OUT "acpi=off x virtio_mmio.device=4K@0xf0000000:16 virtio_mmio.device=4K@0xf0001000:17"'
vmon_case "vmon --transport mmio with ACPI: the DSDT alone names the windows" demo \
	--transport mmio --rng --cmdline "x" -- '[ $STATUS -eq 0 ]' '! grep -q virtio_mmio.device $OUT'
vmon_case "vmon --transport mmio: disk, rng and console side by side, each in its own window" virtio_rng \
	--transport mmio --disk "$TMP/hostile.img" --rng --console virtio -- \
	'[ $STATUS -eq 33 ]' 'has $ERR "virtio-rng-test: PASS"' 'has $ERR "in virtio-mmio window 1"'
vmon_case "vmon --echo (a class-table device): the echo test device answers over virtio-pci" virtio_echo --echo -- \
	'[ $STATUS -eq 33 ]' 'has $OUT "100 bytes sent, 100 back, the same"' 'has $OUT "virtio-echo-test: PASS"'
vmon_case "vmon --transport mmio --echo: the echo test device answers in a virtio-mmio window" virtio_echo \
	--transport mmio --rng --echo -- \
	'[ $STATUS -eq 33 ]' 'has $OUT "in virtio-mmio window 1"' 'has $OUT "virtio-echo-test: PASS"'
vmon_case "vmon virtio-blk vs a hostile driver: malformed chains answered with an error or NEEDS_RESET, then a good request works" \
	virtio_hostile --disk "$TMP/hostile.img" -- \
	'[ $STATUS -eq 33 ]' 'has $OUT "virtio-hostile: PASS"' '! grep -q "completed OK\|no answer" $OUT' \
	'has $ERR "needs reset"'
vmon_case "vmon --mem 64M: the memory map shows it" demo --mem 64M -- \
	'[ $STATUS -eq 0 ]' 'grep -qE "memory +6[0-9] MiB usable" $OUT'
# Two boots of the vmgenid guest: each finds the ID through the DSDT's ADDR method at vmon's fixed address
# (LAYOUT_VMGENID_GPA, 0xff000) and prints it; the two IDs must differ (fresh random bytes per VM).
vmgenid_case() {
	local name="vmon vmgenid: ADDR gives 0xff000, a fresh 16-byte ID on every boot" id1 id2
	wanted vmon || return 0
	if [ -n "$vmon_skip" ]; then skip "$name" "$vmon_skip"; return; fi
	need_guest vmgenid || { skip "$name" "guest vmgenid not built"; return; }
	run_vmon vmgenid
	id1=$(tr -d '\r' <"$OUT" | sed -n 's/^vmgenid: id \([0-9a-f]\{32\}\)$/\1/p')
	local s1=$STATUS
	run_vmon vmgenid
	id2=$(tr -d '\r' <"$OUT" | sed -n 's/^vmgenid: id \([0-9a-f]\{32\}\)$/\1/p')
	check "$name" '[ $s1 -eq 33 ] && [ $STATUS -eq 33 ]' 'has $OUT "vmgenid: ADDR 0xff000"' \
		'[ ${#id1} -eq 32 ] && [ ${#id2} -eq 32 ]' '[ "$id1" != "$id2" ]'
}
vmgenid_case

# ---- the same guests under QEMU TCG (a second monitor: checks the guests, not vmon)
qemu_case "qemu serial" serial 1 "" \
	'[ $STATUS -eq 33 ]' 'has $OUT "serial-test: numbers -42 42 0xbeef 1234567890123 Z ok"'
qemu_case "qemu pio" pio 1 "" '[ $STATUS -eq 33 ]' 'has $OUT "pio-test: PASS"'
qemu_case "qemu mmio (QEMU reads unassigned memory as zeros)" mmio 1 "mmio-unassigned=zero" \
	'[ $STATUS -eq 33 ]' 'has $OUT "mmio-test: PASS"'
qemu_case "qemu ring3 (IRETQ, #UD return)" ring3 1 "" '[ $STATUS -eq 33 ]' 'has $OUT "ring3-test: PASS"'
qemu_case "qemu ring3 (SYSRETQ, SYSCALL return)" ring3 1 "ring3=sysret ring3-return=syscall" \
	'[ $STATUS -eq 33 ]' 'has $OUT "ring3-test: PASS"'
qemu_case "qemu smp -smp 4" smp 4 "" '[ $STATUS -eq 33 ]' 'has $OUT "smp-test: 4/4 CPUs online"'
qemu_case "qemu poweroff (PIIX4 PM1a_CNT)" poweroff 1 "" '[ $STATUS -eq 0 ]' 'has $OUT "writing PM1a_CNT"'
qemu_case "qemu reset (port 0xcf9, -no-reboot: QEMU stops)" reset 1 "" '[ $STATUS -eq 0 ]' \
	'has $OUT "reset-test: the FADT has no RESET_REG; writing 0x6 to port 0xcf9"' '! has $OUT "still running"'
qemu_case "qemu power-off while the APs spin in ring 3" busy 4 "" '[ $STATUS -eq 0 ]' \
	'has $OUT "3 APs spinning in ring 3; powering off"'
qemu_case "qemu debug-exit from an AP while the boot CPU spins in ring 3" busy 4 "busy=ap-exit" '[ $STATUS -eq 33 ]' \
	'has $OUT "busy-test: cpu3 writes the debug-exit pass value"'
qemu_case "qemu triple fault (-no-reboot: QEMU stops)" triple_fault 1 "" \
	'[ $STATUS -eq 0 ]' 'has $OUT "triple-fault-test: loading"' '! has $OUT "still running"'
qemu_case "qemu demo -smp 4" demo 4 "" '[ $STATUS -eq 0 ]' 'has $OUT "4 of 4 online"' 'has $OUT "All done."'
if ! wanted qemu; then
	:
elif [ -n "$qemu_skip" ]; then
	skip "qemu emulation failure" "$qemu_skip"
else
	skip "qemu emulation failure" "QEMU TCG executes unassigned memory (as zeros); it has no emulation-failure stop"
fi
qemu_case "qemu demo -smp 1 with a command line" demo 1 "a b c" '[ $STATUS -eq 0 ]' 'has $OUT "a b c\""' \
	'has $OUT "78498 primes below 1 million"'
virtio_case "qemu virtio-blk (pc: transitional device, ports 0xCF8/0xCFC)" qemu 0 "ports 0xCF8/0xCFC" \
	-drive file=@DISK@,format=raw,if=none,id=d0 -device virtio-blk-pci,drive=d0
virtio_case "qemu virtio-blk (q35: modern-only device, ECAM from the MCFG, read-only)" qemu 1 ECAM -M q35 \
	-drive file=@DISK@,format=raw,if=none,id=d0,readonly=on -device virtio-blk-pci,drive=d0,disable-legacy=on
rng_case "qemu virtio-rng (pc, transitional)" qemu -device virtio-rng-pci
rng_case "qemu virtio-rng (q35, modern-only, ECAM)" qemu -M q35 -device virtio-rng-pci,disable-legacy=on
console_case "qemu virtio console (pc, transitional)" qemu -device virtio-serial-pci \
	-chardev file,id=vc,path=@VC@ -device virtconsole,chardev=vc
console_case "qemu virtio console (q35, modern-only, ECAM)" qemu -M q35 -device virtio-serial-pci,disable-legacy=on \
	-chardev file,id=vc,path=@VC@ -device virtconsole,chardev=vc
QEMU_EXTRA=(-initrd "$MODULE")
qemu_case "qemu demo with a multiboot module" demo 1 "" '[ $STATUS -eq 0 ]' 'has $OUT "12345 bytes, FNV-1a $MODULE_FNV"'
QEMU_EXTRA=()

echo "1..$n"
[ $failed -eq 0 ]
