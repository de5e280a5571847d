#!/usr/bin/env bash
# test_vmgenid_kvm.sh — KVM tier: the VM generation ID changes on restore. The vmgenid guest, watching its ID,
# is paused and snapshotted through the API; two `vmon run --restore` of that one snapshot must each see the ID
# change ("vmgenid: changed to X"), to two different values, neither the snapshot's. (The guest polls: the GSI
# pulse is unit-tested (test_vmgenid.c), and that it runs _EVT and Linux's driver reseeds is the sandbox's to
# show, with a Linux guest.)
# Usage: test_vmgenid_kvm.sh VMON VMGENID_GUEST
set -u
VMON=$1
GUEST=$2
tmp=$(mktemp -d)
pid=""
trap '[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT
echo "TAP version 13"
skip_all() { echo "1..1"; echo "ok 1 - vmgenid_kvm # SKIP $1"; exit 0; }
[ -r /dev/kvm ] && [ -w /dev/kvm ] || skip_all "no usable /dev/kvm"
command -v curl >/dev/null || skip_all "curl is not installed"
[ -x "$VMON" ] || skip_all "no vmon binary at $VMON"
[ -r "$GUEST" ] || skip_all "no vmgenid guest at $GUEST"
echo "1..2"

api() { curl -s --max-time 30 --unix-socket "$tmp/api.sock" -X "$1" -H 'Content-Type: application/json' -d "$3" \
	-o /dev/null -w '%{http_code}' "http://localhost$2"; }
wait_for() { local end=$((SECONDS + $2)); until eval "$1"; do [ $SECONDS -ge $end ] && return 1; sleep 0.1; done; }
idline() { tr -d '\r' <"$2" | sed -n "s/^vmgenid: $1 \([0-9a-f]\{32\}\)$/\1/p" | head -1; }

"$VMON" --api-sock "$tmp/api.sock" </dev/null >"$tmp/src.out" 2>"$tmp/src.err" &
pid=$!
wait_for "curl -s --max-time 5 -o /dev/null --unix-socket $tmp/api.sock http://localhost/" 30 # answers, not only exists
api PUT /machine-config '{"vcpu_count": 1, "mem_size_mib": 64}' >/dev/null
api PUT /boot-source "{\"kernel_image_path\": \"$GUEST\", \"boot_args\": \"vmgenid=watch\"}" >/dev/null
api PUT /actions '{"action_type": "InstanceStart"}' >/dev/null
wait_for "grep -q 'vmgenid: watching' $tmp/src.out" 30
api PATCH /vm '{"state": "Paused"}' >/dev/null
r=$(api PUT /snapshot/create "{\"snapshot_path\": \"$tmp/s.state\", \"mem_file_path\": \"$tmp/s.mem\"}")
kill -9 "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
pid=""
orig=$(idline id "$tmp/src.out")
if [ "$r" = 204 ] && [ ${#orig} -eq 32 ]; then
	echo "ok 1 - vmgenid_snapshot_taken_while_the_guest_watches_its_id"
else
	echo "not ok 1 - vmgenid_snapshot_taken_while_the_guest_watches_its_id"
	echo "#   snapshot/create: $r; id '$orig'"; sed 's/^/#   /' "$tmp/src.err" | tail -5
fi
for k in a b; do
	timeout -k 5 30 "$VMON" run --restore "$tmp/s.state" --mem-file "$tmp/s.mem" </dev/null >"$tmp/$k.out" 2>"$tmp/$k.err"
done
a=$(idline "changed to" "$tmp/a.out")
b=$(idline "changed to" "$tmp/b.out")
if [ ${#a} -eq 32 ] && [ ${#b} -eq 32 ] && [ "$a" != "$orig" ] && [ "$b" != "$orig" ] && [ "$a" != "$b" ] &&
	grep -q "vmgenid: PASS" "$tmp/a.out" && grep -q "vmgenid: PASS" "$tmp/b.out"; then
	echo "ok 2 - vmgenid_every_restore_of_one_snapshot_gets_its_own_id"
else
	echo "not ok 2 - vmgenid_every_restore_of_one_snapshot_gets_its_own_id"
	echo "#   snapshot id '$orig', restore a '$a', restore b '$b'"
	for k in a b; do sed "s/^/#   $k: /" "$tmp/$k.out" "$tmp/$k.err" | tail -6; done
fi
