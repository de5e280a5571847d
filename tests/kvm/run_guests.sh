#!/usr/bin/env bash
# run_guests.sh — KVM tier: boots the project's test guests (guest/) under vmon on the host's /dev/kvm and under
# QEMU TCG as a second monitor, and checks exit status, serial output, --stats and crash reports.  Emits TAP.
#
# Environment: VMON=path to vmon (tests skip when missing); QEMU=qemu-system-x86_64 override (optional);
#              VMON_TEST_TIMEOUT=seconds per run (default 60).
# Arguments:   NAME=PATH for each guest ELF (serial pio mmio ring3 smp poweroff triple_fault emulation_failure demo).
# Debug-exit contract of the guests (guest/lib/rt_layout.h): pass writes 0x10 -> status 33, fail 0x11 -> 35,
# power-off failed 0x12 -> 37, unexpected exception 0x13 -> 39.  vmon: 0 = powered off, 6 = guest crashed.
set -u

declare -A GUEST
for a in "$@"; do
	GUEST[${a%%=*}]=${a#*=}
done
TIMEOUT=${VMON_TEST_TIMEOUT:-60}
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
	timeout -k 5 "$TIMEOUT" "$QEMU" -accel tcg -M pc -m 256 -kernel "${GUEST[$1]}" -append "$3" -smp "$2" \
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
	if [ -n "$vmon_skip" ]; then skip "$name" "$vmon_skip"; return; fi
	if [ "$g" != - ] && ! need_guest "$g"; then skip "$name" "guest $g not built"; return; fi
	run_vmon "$g" "${args[@]}"
	check "$name" "$@"
}
qemu_case() {	# qemu_case TEST_NAME GUEST CPUS CMDLINE CHECKS...
	local name=$1 g=$2 cpus=$3 cmdline=$4
	shift 4
	if [ -n "$qemu_skip" ]; then skip "$name" "$qemu_skip"; return; fi
	if ! need_guest "$g"; then skip "$name" "guest $g not built"; return; fi
	run_qemu "$g" "$cpus" "$cmdline"
	check "$name" "$@"
}

# A vmon that cannot load multiboot kernels yet says so; skip rather than fail every case on it.
if [ -z "$vmon_skip" ] && need_guest serial; then
	run_vmon serial
	if [ $STATUS -eq 2 ] && grep -q "no kernel loader is built in" "$ERR"; then
		vmon_skip="this vmon has no multiboot loader yet ($(head -n 1 "$ERR"))"
	fi
fi

echo "TAP version 13"
echo "1..25"

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
vmon_case "vmon smp --cpus 4: every MADT CPU checks in" smp --cpus 4 -- \
	'[ $STATUS -eq 33 ]' 'has $OUT "smp-test: MADT lists 4 CPUs"' 'has $OUT "smp-test: 4/4 CPUs online"'
vmon_case "vmon smp --cpus 1: one CPU" smp --cpus 1 -- \
	'[ $STATUS -eq 33 ]' 'has $OUT "smp-test: 1/1 CPUs online"'
vmon_case "vmon poweroff: ACPI S5 ends vmon with status 0" poweroff -- \
	'[ $STATUS -eq 0 ]' 'has $OUT "poweroff-test: FADT"'
vmon_case "vmon triple fault: non-zero exit, report names reason, vCPU and RIP" triple_fault -- \
	'[ $STATUS -ne 0 ] && [ $STATUS -ne 124 ] && [ $STATUS -ne 137 ]' \
	'has $OUT "triple-fault-test: loading an empty IDT"' '! has $OUT "still running"' \
	'grep -qiE "vcpu 0.*triple fault.*RIP 0x[0-9a-f]+" $ERR'
vmon_case "vmon emulation failure: non-zero exit, report names reason, vCPU, RIP and code" emulation_failure -- \
	'[ $STATUS -ne 0 ] && [ $STATUS -ne 124 ] && [ $STATUS -ne 137 ]' \
	'has $OUT "emulation-failure-test: jumping"' \
	'grep -qiE "vcpu 0.*emulation failure.*RIP 0x[0-9a-f]+" $ERR' 'grep -qiE "code:" $ERR'
vmon_case "vmon demo via --kernel with --cmdline and --cpus 4" demo --cpus 4 --cmdline "hello from the kvm tier" -- \
	'[ $STATUS -eq 0 ]' 'has $OUT "cmdline   \"hello from the kvm tier\""' \
	'has $OUT "vcpus     4 (ACPI MADT"' 'has $OUT "4 of 4 online"' \
	'has $OUT "78498 primes below 1 million"' 'has $OUT "283146 primes below 4 million"' \
	'has $OUT "All done."'
vmon_case "vmon with no --kernel boots the bundled demo guest" - --cpus 2 -- \
	'[ $STATUS -eq 0 ]' 'has $OUT "Hello from the vmon demo guest!"' 'has $OUT "2 of 2 online"' \
	'has $OUT "148933 primes below 2 million"' 'has $OUT "All done."'
vmon_case "vmon --mem 64M: the memory map shows it" demo --mem 64M -- \
	'[ $STATUS -eq 0 ]' 'grep -qE "memory +6[0-9] MiB usable" $OUT'

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
qemu_case "qemu triple fault (-no-reboot: QEMU stops)" triple_fault 1 "" \
	'[ $STATUS -eq 0 ]' 'has $OUT "triple-fault-test: loading"' '! has $OUT "still running"'
qemu_case "qemu demo -smp 4" demo 4 "" '[ $STATUS -eq 0 ]' 'has $OUT "4 of 4 online"' 'has $OUT "All done."'
if [ -n "$qemu_skip" ]; then
	skip "qemu emulation failure" "$qemu_skip"
else
	skip "qemu emulation failure" "QEMU TCG executes unassigned memory (as zeros); it has no emulation-failure stop"
fi
qemu_case "qemu demo -smp 1 with a command line" demo 1 "a b c" '[ $STATUS -eq 0 ]' 'has $OUT "a b c\""' \
	'has $OUT "78498 primes below 1 million"'

[ $failed -eq 0 ]
