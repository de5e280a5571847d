#!/usr/bin/env bash
# test_rate_limit_kvm.sh — KVM tier: Firecracker's rate limiters hold a guest to their rate, at the rates issue
# #13 names: a drive at 10 MiB/s (rate_limiter) and a NIC's transmit at 50 Mbit/s (tx_rate_limiter). The
# virtio_blk guest reads its disk in 64 KiB requests, the virtio_net guest sends 1514-byte frames to a TAP, eight
# to a notification, for a fixed time on the guest's own clock, and prints "B bytes in U us": first with no limiter (the
# rate this host reaches), for 2 s, then limited (config file; buckets refilled every 100 ms, full at start),
# for 5 s. The limited rate must be within 10 % of the limit. A host whose unlimited rate is under 1.25 x the
# limit cannot tell a limiter from its own slowness: the check is skipped and says so. So is one where the
# guest's clock ran faster than the host's.
# Usage: test_rate_limit_kvm.sh VMON VIRTIO_BLK_GUEST [VIRTIO_NET_GUEST]
set -u
VMON=$1
GUEST=$2
NET_GUEST=${3:-}
TIMEOUT=${VMON_TEST_TIMEOUT:-120}
echo "TAP version 13"
skip_all() { echo "1..1"; echo "ok 1 - rate_limit_kvm # SKIP $1"; exit 0; }
[ -x "$VMON" ] || skip_all "no vmon binary at $VMON"
[ -r "$GUEST" ] || skip_all "no virtio_blk guest at $GUEST"
[ -e /dev/kvm ] || skip_all "no /dev/kvm"
{ exec 3<>/dev/kvm; } 2>/dev/null || skip_all "/dev/kvm not usable (cannot open it read-write)"
exec 3>&-
tmp=$(mktemp -d "${TMPDIR:-/tmp}/vmon-rate.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
dd if=/dev/zero of="$tmp/disk.img" bs=1048576 seek=63 count=1 2>/dev/null # 64 MiB, sparse
echo "1..2"

uptime_cs() { tr -d . </proc/uptime | cut -d' ' -f1; } # host time in 1/100 s

# measure WHAT GUEST MS_KEY MS DEVICES: one vmon run of GUEST (its command line MS_KEY=MS) with DEVICES (config-file
# JSON members after machine-config); sets bytes and us (the guest's "B bytes in U us"), host_us (the whole run on
# this host's clock) and why (empty: it worked)
measure() {
	local t0 t1 status line
	cat >"$tmp/vm.json" <<EOF
{ "boot-source": { "kernel_image_path": "$2", "boot_args": "$3=$4" },
  "machine-config": { "vcpu_count": 1, "mem_size_mib": 64 },
  $5 }
EOF
	t0=$(uptime_cs)
	timeout -k 5 "$TIMEOUT" "$VMON" --config-file "$tmp/vm.json" --no-api </dev/null >"$tmp/out" 2>"$tmp/err"
	status=$?
	t1=$(uptime_cs)
	host_us=$(((t1 - t0) * 10000))
	line=$(tr -d '\r' <"$tmp/out" | grep -m1 ' bytes in [0-9]* us')
	bytes=$(echo "$line" | sed -n 's/.* \([0-9]*\) bytes in \([0-9]*\) us.*/\1/p')
	us=$(echo "$line" | sed -n 's/.* \([0-9]*\) bytes in \([0-9]*\) us.*/\2/p')
	why=""
	if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
		why="$1: vmon still running after ${TIMEOUT}s (the guest hung, or this host is very slow)"
	elif [ "$status" -ne 33 ] || [ -z "$bytes" ] || [ -z "$us" ] || [ "$us" -le 0 ]; then
		why="$1: vmon's status $status (33 is the guest's pass), rate line '$line'"
	fi
	[ -z "$why" ] || why="$why; last output: $(cat "$tmp/out" "$tmp/err" | tr -d '\r' | tail -n 4 | tr '\n' '|')"
}
# kib_s BYTES US: KiB/s
kib_s() { echo $(($1 * 1000000 / 1024 / $2)); }

# limit_case N NAME GUEST MS_KEY RATE_KIB DEVICES_FREE DEVICES_LIMITED: the guest's rate unlimited (2 s), then
# limited to RATE_KIB KiB/s (5 s); passes within 10 % of RATE_KIB, is skipped where the unlimited rate is under
# 1.25 x RATE_KIB (above that, a limiter that did not hold would be seen: more than 10 % over)
limit_case() {
	local n=$1 name=$2 guest=$3 key=$4 rate=$5 free lim facts
	measure unlimited "$guest" "$key" 2000 "$6"
	if [ -n "$why" ]; then echo "not ok $n - $name"; echo "#   $why"; return; fi
	free=$(kib_s "$bytes" "$us")
	measure limited "$guest" "$key" 5000 "$7"
	if [ -n "$why" ]; then echo "not ok $n - $name"; echo "#   $why"; return; fi
	lim=$(kib_s "$bytes" "$us")
	facts="limited: $bytes bytes in $us us, $lim KiB/s; unlimited: $free KiB/s; the limit: $rate KiB/s"
	if [ "$free" -lt $((rate * 5 / 4)) ]; then
		echo "ok $n - $name # SKIP this host reaches only $free KiB/s unlimited, too slow to tell the limiter ($facts)"
	elif [ "$us" -gt "$host_us" ]; then
		echo "ok $n - $name # SKIP the guest's clock ran faster than this host's ($us us in a run of $host_us us)"
	elif [ "$lim" -lt $((rate * 9 / 10)) ] || [ "$lim" -gt $((rate * 11 / 10)) ]; then
		echo "not ok $n - $name"
		echo "#   $facts: not within 10 %"
		[ "$lim" -gt $((rate * 11 / 10)) ] || echo "#   (under it: a host busier in the limited run than in the unlimited one may be the cause)"
	else
		echo "ok $n - $name"
		echo "#   $facts"
	fi
}

# 1 MiB per 100 ms, the bucket full at start: 10 MiB/s = 10240 KiB/s (51 MiB over 5 s: 10445 KiB/s)
drive='"drives": [ { "drive_id": "d0", "path_on_host": "'"$tmp/disk.img"'", "is_root_device": false, "is_read_only": true'
limit_case 1 rate_limit_drive_at_10_mib_s_holds_the_guest_within_10_percent "$GUEST" rate_ms 10240 "$drive } ]" \
	"$drive, \"rate_limiter\": { \"bandwidth\": { \"size\": 1048576, \"refill_time\": 100 } } } ]"

# 50 Mbit/s of frames: 625000 bytes per 100 ms = 6103 KiB/s (31875000 bytes over 5 s: 6225 KiB/s), on a TAP
# with no address (the frames go nowhere)
name=rate_limit_nic_tx_at_50_mbit_s_holds_the_guest_within_10_percent
tap=vmonrl$$
ipt=$(command -v ip-full || command -v ip || true)
if [ -z "$NET_GUEST" ] || [ ! -r "$NET_GUEST" ]; then
	echo "ok 2 - $name # SKIP no virtio_net guest"
elif [ "$(id -u)" != 0 ] || [ ! -c /dev/net/tun ] || [ -z "$ipt" ]; then
	echo "ok 2 - $name # SKIP no TAP: needs root, /dev/net/tun and ip"
elif ! "$ipt" tuntap add dev "$tap" mode tap 2>/dev/null || ! "$ipt" link set "$tap" up; then
	"$ipt" link del "$tap" 2>/dev/null
	echo "ok 2 - $name # SKIP no TAP: ip tuntap add failed"
else
	trap 'rm -rf "$tmp"; "$ipt" link del "$tap" 2>/dev/null' EXIT
	nic='"network-interfaces": [ { "iface_id": "eth0", "host_dev_name": "'"$tap"'", "guest_mac": "02:00:00:00:00:51"'
	limit_case 2 "$name" "$NET_GUEST" tx_ms 6103 "$nic } ]" \
		"$nic, \"tx_rate_limiter\": { \"bandwidth\": { \"size\": 625000, \"refill_time\": 100 } } } ]"
fi
