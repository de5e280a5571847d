#!/usr/bin/env bash
# test_density_kvm.sh — KVM tier: many VMs at once. Twenty vmon processes of the bundled demo guest start
# together (1 vCPU, 128 MiB each); every one must print the demo's last line and power off with status 0.
# Nothing in vmon is shared between processes (no per-host lock or scan), so none may wait on another.
# Usage: test_density_kvm.sh VMON [N]
set -u
VMON=$1
N=${2:-20}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "TAP version 13"
skip_all() { echo "1..1"; echo "ok 1 - density_kvm # SKIP $1"; exit 0; }
[ -x "$VMON" ] || skip_all "no vmon binary at $VMON"
[ -r /dev/kvm ] && [ -w /dev/kvm ] || skip_all "no usable /dev/kvm"
echo "1..1"
t0=$(date +%s%N)
pids=()
for i in $(seq 1 "$N"); do
	timeout -k 5 300 "$VMON" run --cpus 1 --mem 128M </dev/null >"$tmp/$i.out" 2>"$tmp/$i.err" &
	pids+=($!)
done
ok=0 bad=
for i in $(seq 1 "$N"); do
	wait "${pids[$((i - 1))]}"
	st=$?
	if [ "$st" = 0 ] && grep -q "All done. Powering off" "$tmp/$i.out"; then
		ok=$((ok + 1))
	else
		bad="$bad $i(status $st$([ "$st" = 124 ] && echo ': still running after 300 s; a host this slow cannot tell'))"
	fi
done
ms=$((($(date +%s%N) - t0) / 1000000))
if [ "$ok" = "$N" ]; then
	echo "ok 1 - density_kvm_${N}_demo_guests_at_once_all_power_off_with_0"
	echo "# $N VMs started together, all ended with status 0 in $ms ms in all ($(awk -v n="$N" -v t="$ms" 'BEGIN { printf "%.1f", n * 1000 / (t ? t : 1) }') VMs/s, this host, this load)"
else
	echo "not ok 1 - density_kvm_${N}_demo_guests_at_once_all_power_off_with_0"
	echo "#   $ok of $N ended with status 0 and the demo's last line; not:$bad"
	for i in $bad; do i=${i%%(*}; sed "s/^/#   $i: /" "$tmp/$i.err" | tail -3; done
fi
