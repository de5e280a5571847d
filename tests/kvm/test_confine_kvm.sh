#!/usr/bin/env bash
# test_confine_kvm.sh — KVM tier: vmon confines itself. By default the demo guest runs confined; a thread of each kind that
# makes a call outside its filter (the VMON_TEST_SECCOMP_VIOLATION hook) ends vmon with status 148 and one
# line naming the thread and the call; --no-seccomp turns the filters off. Disk images are locked: one writer
# or many readers, across vmon processes, refused with one line naming the holder. The API socket is 0600.
# Usage: test_confine_kvm.sh VMON TICKER_GUEST
set -u
VMON=$1
GUEST=$2
tmp=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done; rm -rf "$tmp"' EXIT
echo "TAP version 13"
skip_all() { echo "1..1"; echo "ok 1 - confine_kvm # SKIP $1"; exit 0; }
[ -x "$VMON" ] || skip_all "no vmon binary at $VMON"
[ -r /dev/kvm ] && [ -w /dev/kvm ] || skip_all "no usable /dev/kvm"
[ -r "$GUEST" ] || skip_all "no ticker guest at $GUEST"
command -v curl >/dev/null || skip_all "curl is not installed"
echo "1..11"
n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); echo "not ok $n - $1"; shift; for f in "$@"; do sed 's/^/#   /' "$f" | tail -6; done; }
check() { local name=$1; shift; if eval "$1"; then ok "$name"; else shift; not_ok "$name" "$@"; fi; }
wait_for() { local end=$((SECONDS + $2)); until eval "$1"; do [ $SECONDS -ge $end ] && return 1; sleep 0.1; done; }
# answers SOCK: the API socket answers GET / (it exists from bind, before vmon listens on it)
answers() { curl -s --max-time 5 -o /dev/null --unix-socket "$1" http://localhost/; }
truncate -s 1M "$tmp/disk.img"

# --- seccomp ---
timeout -k 5 60 "$VMON" run -v </dev/null >"$tmp/o" 2>"$tmp/e"
st=$?
check seccomp_on_by_default_and_the_demo_guest_runs_under_it \
	'[ $st -eq 0 ] && grep -q "seccomp: on (filters of" $tmp/e' "$tmp/e"

# one thread of each kind breaks its filter: status 148, and the line says which thread and which call
for case in "control:main:socket (41)" "vcpu:vcpu0:openat (257, /etc/passwd)" "io:blk-worker:socket (41)"; do
	IFS=: read -r kind thread call <<<"$case"
	VMON_BLK_ENGINE=threads VMON_TEST_SECCOMP_VIOLATION=$kind timeout -k 5 60 "$VMON" run --seccomp \
		--kernel "$GUEST" --disk "$tmp/disk.img" </dev/null >"$tmp/o" 2>"$tmp/e"
	st=$?
	check "seccomp_${kind}_thread_outside_its_filter_ends_vmon_with_148_and_one_line" \
		'[ $st -eq 148 ] && grep -qF "vmon: seccomp: thread '"'$thread'"' made a forbidden system call: $call; ending vmon" $tmp/e &&
		 [ $(wc -l <$tmp/e) -eq 1 ]' "$tmp/e"
done

# through the API with metrics configured: the fault counts itself there (seccomp.num_faults), then 148
VMON_TEST_SECCOMP_VIOLATION=vcpu "$VMON" --api-sock "$tmp/f.sock" </dev/null >"$tmp/f.out" 2>"$tmp/f.err" &
fpid=$!
wait_for "answers $tmp/f.sock" 30 || echo "# the API socket did not answer GET / within 30 s: this host is too busy, or vmon did not start" >&2
fapi() { curl -s --max-time 10 --unix-socket "$tmp/f.sock" -X PUT -o /dev/null -w '%{http_code} ' -d "$2" "http://localhost$1"; }
codes="$(fapi /metrics "{\"metrics_path\":\"$tmp/metrics.json\"}")$(fapi /machine-config '{"vcpu_count":1,"mem_size_mib":64}')"
codes="$codes$(fapi /boot-source "{\"kernel_image_path\":\"$GUEST\",\"boot_args\":\"ticks=100000\"}")$(fapi /actions '{"action_type":"InstanceStart"}')"
timeout 30 tail --pid="$fpid" -f /dev/null
wait "$fpid"
st=$?
check seccomp_fault_counted_in_the_metrics_before_vmon_ends_with_148 \
	'[ $st -eq 148 ] && [[ "$codes" == "204 204 204 "* ]] &&
	 tail -n 1 $tmp/metrics.json | grep -q "\"seccomp\":{\"num_faults\":1}}$"' "$tmp/f.err" "$tmp/metrics.json"

VMON_TEST_SECCOMP_VIOLATION=vcpu timeout -k 5 60 "$VMON" run -v --seccomp --no-seccomp --kernel "$GUEST" \
	--cmdline ticks=100 </dev/null >"$tmp/o" 2>"$tmp/e"
st=$?
check seccomp_off_with_no_seccomp_says_so_and_nothing_is_trapped \
	'[ $st -eq 0 ] && grep -q "seccomp: off" $tmp/e && grep -q "tick 100" $tmp/o' "$tmp/e" "$tmp/o"

# --- disk locks ---
start_ticker() { # NAME DISK_ARG: a ticker holding the disk, running until killed
	"$VMON" run --kernel "$GUEST" --cmdline ticks=100000 --disk "$2" </dev/null >"$tmp/$1.out" 2>"$tmp/$1.err" &
	pids+=($!)
	wait_for "grep -qs 'tick 3' $tmp/$1.out" 30
}
stop_all() { for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; pids=(); }
start_ticker writer "$tmp/disk.img"
wpid=${pids[0]}
timeout -k 5 30 "$VMON" run --kernel "$GUEST" --disk "$tmp/disk.img" </dev/null >"$tmp/o" 2>"$tmp/e"
st=$?
check disk_lock_second_writer_refused_naming_the_holder \
	'[ $st -eq 2 ] && grep -qF "vmon: disk '"'$tmp/disk.img'"' is in use by process $wpid" $tmp/e' "$tmp/e"
timeout -k 5 30 "$VMON" run --kernel "$GUEST" --disk "$tmp/disk.img,ro" </dev/null >"$tmp/o" 2>"$tmp/e"
st=$?
check disk_lock_reader_beside_a_writer_refused \
	'[ $st -eq 2 ] && grep -qF "is open read-write by process $wpid" $tmp/e' "$tmp/e"
# the API refuses it at PUT /drives, and the process stays ready
"$VMON" --api-sock "$tmp/api.sock" </dev/null >"$tmp/api.out" 2>"$tmp/api.err" &
pids+=($!)
wait_for "answers $tmp/api.sock" 30 || echo "# the API socket did not answer GET / within 30 s: this host is too busy, or vmon did not start" >&2
code=$(curl -s --max-time 10 --unix-socket "$tmp/api.sock" -X PUT -o "$tmp/body" -w '%{http_code}' \
	-d "{\"drive_id\":\"d\",\"path_on_host\":\"$tmp/disk.img\",\"is_root_device\":false}" http://localhost/drives/d)
mode=$(stat -c %a "$tmp/api.sock")
check disk_lock_put_drives_refused_while_another_vmon_writes_it \
	'[ "$code" = 400 ] && grep -qF "is in use by process $wpid" $tmp/body' "$tmp/body"
check api_socket_is_owner_only '[ "$mode" = 600 ]'
stop_all

start_ticker r1 "$tmp/disk.img,ro"
start_ticker r2 "$tmp/disk.img,ro"
timeout -k 5 30 "$VMON" run --kernel "$GUEST" --disk "$tmp/disk.img" </dev/null >"$tmp/o" 2>"$tmp/e"
st=$?
check disk_lock_two_readers_run_and_a_writer_is_refused \
	'grep -q "tick 3" $tmp/r1.out && grep -q "tick 3" $tmp/r2.out && kill -0 ${pids[0]} && kill -0 ${pids[1]} &&
	 [ $st -eq 2 ] && grep -q "is in use by process" $tmp/e' "$tmp/r2.err" "$tmp/e"
stop_all
