#!/usr/bin/env bash
# test_hostile_kvm.sh — KVM tier, the hostile-guest suite. The hostile_io guest (guest/tests/hostile_io.c) attacks
# every virtqueue, MMIO page, PCI configuration register and I/O port vmon gives it, for a fixed set of seeds and a
# fixed time per phase, over virtio-pci and over virtio-mmio, with every device model attached: a disk, entropy,
# vsock and the balloon (config file, Firecracker's form), then the console and the echo device (CLI), and a NIC
# on a TAP where the host lets the test make one.
# Each run must end with the guest's pass: it lived through its own attack, and vmon's devices still answered it
# afterwards.  Meanwhile, where vmon serves its API, a watchdog asks it (GET /) every second; every answer must come
# (within 10 s, or the host is called slow, not vmon).  vmon's own log lines ("vmon: ...") stay within 20 + 60 per
# second of the run (ten a second for each device model's limiter, a few of them at once): every guest-triggered
# message is rate-limited; without that, this guest makes thousands a second.  So no run may end vmon with a signal,
# a host failure (4) or seccomp (148).
#
# Usage: test_hostile_kvm.sh VMON GUEST UDS_HELLO   (TAP; VMON_HOSTILE_SEEDS="1 2", VMON_HOSTILE_BUDGET_MS=1000)
set -u
VMON=$1
GUEST=$2
UDS_HELLO=$3
SEEDS=${VMON_HOSTILE_SEEDS:-1 2}
BUDGET_MS=${VMON_HOSTILE_BUDGET_MS:-1000}
TIMEOUT=${VMON_TEST_TIMEOUT:-240}

n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); echo "not ok $n - $1"; shift; for l in "$@"; do echo "#   $l"; done; }
skip_all() { echo "1..1"; echo "ok 1 - hostile guest suite # SKIP $1"; exit 0; }

[ -x "$VMON" ] || skip_all "vmon not built ($VMON)"
[ -f "$GUEST" ] || skip_all "guest hostile_io not built ($GUEST)"
[ -e /dev/kvm ] || skip_all "no /dev/kvm"
{ exec 3<>/dev/kvm; } 2>/dev/null || skip_all "/dev/kvm not usable (cannot open it read-write)"
exec 3>&-

tmp=$(mktemp -d "${TMPDIR:-/tmp}/vmon-hostile.XXXXXX")
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$tmp"' EXIT
head -c $((4 << 20)) /dev/zero >"$tmp/disk.img"

# watchdog SOCK PID OUTFILE: GET / every second while PID lives; one line per probe, "ok", "late" or the failure
watchdog() {
	local sock=$1 pid=$2 out=$3 i=0 r t0
	while [ ! -S "$sock" ] && kill -0 "$pid" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
	while kill -0 "$pid" 2>/dev/null; do
		t0=$(date +%s)
		r=$("$UDS_HELLO" "$sock" $'GET / HTTP/1.0\r\n\r' 10 2>&1)
		if [[ $r == "got HTTP/1.1 200"* ]]; then
			echo ok
		elif ! kill -0 "$pid" 2>/dev/null; then
			break # it ended between the check and the probe
		elif [[ $r == silent ]]; then
			echo "late: no answer in 10 s (started $t0)"
		else
			# vmon closes its API socket as it ends, before the process is gone: a probe in that
			# window fails, and vmon ends within a few seconds
			local w=0
			while [ $w -lt 5 ] && kill -0 "$pid" 2>/dev/null; do sleep 1; w=$((w + 1)); done
			kill -0 "$pid" 2>/dev/null || break
			echo "failed: ${r//$'\n'/ }"
		fi
		sleep 1
	done >"$out"
}

# printable: stdin without CRs, other unprintable bytes as '?' (the guest writes random bytes to COM1, and
# busybox grep has no -a)
printable() { tr -d '\r' | tr -c '\040-\176\n' '?'; }

# check NAME STATUS OUT ERR PROBES SECONDS
check() {
	local name=$1 status=$2 probes=$5 limit=$((20 + 60 * $6)) why=()
	local all=$tmp/all logs answered bad late
	cat "$3" "$4" | printable >"$all"
	logs=$(printable <"$4" | grep -c '^vmon: ')
	answered=$(grep -c '^ok$' "$probes")
	bad=$(grep -c '^failed' "$probes")
	late=$(grep -c '^late' "$probes")
	[ "$status" -eq 33 ] || why+=("vmon's status $status, not 33 (the guest's pass)")
	grep -q 'hostile: done' "$all" || why+=("the guest never printed 'hostile: done'")
	[ "$logs" -le $limit ] || why+=("$logs log lines from vmon in $6 s (limit $limit): a guest-triggered message is not rate-limited")
	[ "$answered" -ge 1 ] || why+=("the API never answered GET / while the guest ran")
	[ "$bad" -eq 0 ] || why+=("$bad API probes failed: $(grep -m1 '^failed' "$probes")")
	if [ "$late" -gt 0 ]; then
		why+=("$late API probes got no answer within 10 s (a host this slow may be the cause, not vmon)")
	fi
	if [ ${#why[@]} -eq 0 ]; then
		ok "$name"
		grep -o 'hostile: .*' "$all" | sed 's/^/#   /'
		echo "#   $6 s, $answered API probes answered, $logs log lines from vmon (limit $limit)"
	else
		not_ok "$name" "${why[@]}" "the guest's CPU exception, if any: $(grep -m1 '^rt: ' "$all")" \
			"guest and vmon output (last lines):" "$(grep -E 'hostile: |^vmon: |^rt: ' "$all" | tail -n 25)"
	fi
}

# run_case NAME api|cli VMON_ARGS...: run vmon; "api": with an API socket and the watchdog beside it ('run' has
# no API: there the guest's pass at the end is what shows the vCPU loop and the devices alive)
run_case() {
	local name=$1 mode=$2
	shift 2
	local sock=$tmp/api.sock status wd="" t0
	t0=$(date +%s)
	echo "# starting: $name" # where a wedged host (or a hung run) stopped
	rm -f "$sock" "$tmp/v.sock" "$tmp/probes"
	if [ "$mode" = api ]; then
		timeout -k 5 "$TIMEOUT" "$VMON" "$@" --api-sock "$sock" </dev/null >"$tmp/out" 2>"$tmp/err" &
	else
		echo "ok" >"$tmp/probes"
		timeout -k 5 "$TIMEOUT" "$VMON" "$@" </dev/null >"$tmp/out" 2>"$tmp/err" &
	fi
	local pid=$!
	if [ "$mode" = api ]; then
		watchdog "$sock" "$pid" "$tmp/probes" &
		wd=$!
	fi
	wait "$pid"
	status=$?
	[ -n "$wd" ] && wait "$wd"
	if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
		not_ok "$name" "vmon still running after ${TIMEOUT}s (the guest hung, or this host is very slow)" \
			"$(cat "$tmp/out" "$tmp/err" | printable | grep -E 'hostile: |^vmon: |^rt: ' | tail -n 25)"
		return
	fi
	check "$name" "$status" "$tmp/out" "$tmp/err" "$tmp/probes" $(($(date +%s) - t0 + 1))
}

config() { # TRANSPORT_ARGS SEED: a Firecracker config file with a disk, entropy, vsock and the balloon
	cat >"$tmp/vm.json" <<EOF
{ "boot-source": { "kernel_image_path": "$GUEST", "boot_args": "seed=$2 budget_ms=$BUDGET_MS $1" },
  "machine-config": { "vcpu_count": 1, "mem_size_mib": 256 },
  "drives": [ { "drive_id": "d0", "path_on_host": "$tmp/disk.img", "is_root_device": false, "is_read_only": false } ],
  "entropy": {},
  "vsock": { "guest_cid": 3, "uds_path": "$tmp/v.sock" },
  "balloon": { "amount_mib": 0, "deflate_on_oom": true, "stats_polling_interval_s": 1, "free_page_reporting": true } }
EOF
}

# a TAP for virtio-net where this host lets the test make one (root, /dev/net/tun, iproute2 or L1's ip-full)
tap=vmonhx$$
ipt=$(command -v ip-full || command -v ip || true)
if [ "$(id -u)" != 0 ] || [ ! -c /dev/net/tun ] || [ -z "$ipt" ]; then
	tap_skip="no TAP: needs root, /dev/net/tun and ip"
elif ! "$ipt" tuntap add dev "$tap" mode tap 2>/dev/null || ! "$ipt" link set "$tap" up; then
	tap_skip="no TAP: ip tuntap add failed"
	"$ipt" link del "$tap" 2>/dev/null
else
	tap_skip=""
	trap 'kill $(jobs -p) 2>/dev/null; "$ipt" link del "$tap" 2>/dev/null; rm -rf "$tmp"' EXIT
fi

set -- $SEEDS
echo "1..$((3 * $# + 3))"
for seed in $SEEDS; do
	config "" "$seed"
	run_case "hostile guest, seed $seed, virtio-pci: disk, entropy, vsock, balloon" api --config-file "$tmp/vm.json"
	config "pci=off" "$seed"
	run_case "hostile guest, seed $seed, virtio-mmio (pci=off): disk, entropy, vsock, balloon" api \
		--config-file "$tmp/vm.json"
	run_case "hostile guest, seed $seed, virtio-pci: disk, entropy, echo, and the virtio console" cli \
		run --kernel "$GUEST" --cmdline "seed=$seed budget_ms=$BUDGET_MS" --disk "$tmp/disk.img" --rng --echo \
		--console virtio
done
run_case "hostile guest, seed $((seed + 100)), virtio-mmio: disk, entropy, echo, and the virtio console" cli \
	run --kernel "$GUEST" --cmdline "seed=$((seed + 100)) budget_ms=$BUDGET_MS" --transport mmio \
	--disk "$tmp/disk.img" --rng --echo --console virtio
# the same guest with no devices at all: only the platform's ports and the MMIO hole
run_case "hostile guest, no virtio devices: the platform's ports and the MMIO hole" cli \
	run --kernel "$GUEST" --cmdline "seed=7 budget_ms=$BUDGET_MS"
# virtio-net too, on a TAP with no address: what the guest sends leaves through it
if [ -n "$tap_skip" ]; then
	n=$((n + 1))
	echo "ok $n - hostile guest, virtio-pci: a NIC, a disk and entropy # SKIP $tap_skip"
else
	run_case "hostile guest, seed 9, virtio-pci: a NIC, a disk and entropy" cli \
		run --kernel "$GUEST" --cmdline "seed=9 budget_ms=$BUDGET_MS" --net "tap=$tap" --disk "$tmp/disk.img" --rng
fi
