#!/usr/bin/env bash
# test_migrate_kvm.sh — KVM tier for live migration: a ticker guest with a disk, started through the API, is
# sent with PUT /migration/send to a `vmon run --incoming` over a Unix socket and over TCP; its ticks go on at
# the destination from where the source stopped (no restart, no repeat), the source ends with status 0, and
# the disk's lock moves with the guest; the same to a vmon serving the API (PUT /migration/receive), and on
# again from there. Refusals and failures leave the source's guest running: a destination that cannot build
# the machine (its disk is missing there), a pre-copy that cannot converge in its time (cancelled), a
# destination killed in the middle of the pre-copy or dying in stop-and-copy, a destination that is not there.
# A guest dirtying 16 MiB every millisecond, copied at 16 MiB/s, cannot converge to 1 ms: cancelled, it runs
# on; forced, it moves (1 MiB and 1 MiB/s in the sandbox's L1). A destination that dies after GO may be
# running the guest: the source stays paused until told.
# Usage: test_migrate_kvm.sh VMON TICKER_GUEST
set -u
VMON=$1
GUEST=$2
tmp=$(mktemp -d)
n=0
fails=0
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT

ok() { n=$((n + 1)); echo "ok $n - $1"; }
bad() { # as in TAP, the diagnostics follow the "not ok"
	n=$((n + 1)); fails=$((fails + 1)); echo "not ok $n - $1"
	[ -n "${2:-}" ] && echo "#   $2"
	for f in "$tmp"/*.err "$tmp"/*.out; do sed "s|^|#   $(basename "$f"): |" "$f" | tail -4; done
}
check() { if eval "$2"; then ok "$1"; else bad "$1" "${3:-}"; fi; }
skip_all() {
	echo "1..1"
	echo "ok 1 - migrate_kvm # SKIP $1"
	exit 0
}

echo "TAP version 13"
[ -r /dev/kvm ] && [ -w /dev/kvm ] || skip_all "no usable /dev/kvm"
command -v curl >/dev/null || skip_all "curl is not installed"
[ -x "$VMON" ] || skip_all "no vmon binary at $VMON"
[ -r "$GUEST" ] || skip_all "no ticker guest at $GUEST"
ip link set lo up 2>/dev/null # a fresh network namespace (the sandbox's L1) has loopback down
echo "1..23"

api() { # NAME METHOD PATH [BODY] -> prints "STATUS BODY"
	local body=${4:-}
	curl -s --max-time 60 --unix-socket "$tmp/$1.sock" -X "$2" -H 'Content-Type: application/json' \
		${body:+-d "$body"} -o "$tmp/resp" -w '%{http_code}' "http://localhost$3"
	printf ' '
	cat "$tmp/resp" 2>/dev/null
}
wait_for() { # CONDITION SECONDS
	local end=$((SECONDS + $2))
	while [ $SECONDS -lt $end ]; do eval "$1" && return 0; sleep 0.1; done
	return 1
}
# whole_lines FILE: FILE without its last line when a pause cut that line short (no newline yet:
# "tick " or "tick 3" of 31)
whole_lines() { if [ -n "$(tail -c 1 "$1")" ]; then sed '$d' "$1"; else cat "$1"; fi; }
ticks() { local t; t=$(whole_lines "$tmp/$1.out" | grep -ao '^tick [0-9][0-9]*' | tail -1 | cut -d' ' -f2); echo "${t:-0}"; }
first_tick() { whole_lines "$tmp/$1.out" | grep -ao '^tick [0-9][0-9]*' | head -1 | cut -d' ' -f2; }
# source NAME [BOOT_ARGS]: a ticker with a read-write disk, booted through the API, ticking
source_vm() {
	rm -f "$tmp/$1.sock"
	"$VMON" -v --api-sock "$tmp/$1.sock" </dev/null >"$tmp/$1.out" 2>"$tmp/$1.err" &
	pids+=($!)
	eval "pid_$1=$!"
	wait_for "[ -S $tmp/$1.sock ]" 10
	api "$1" PUT /machine-config '{"vcpu_count": 1, "mem_size_mib": 64}' >/dev/null
	api "$1" PUT /boot-source "{\"kernel_image_path\": \"$GUEST\", \"boot_args\": \"ticks=100000 ${2:-}\"}" >/dev/null
	api "$1" PUT /drives/data "{\"drive_id\": \"data\", \"path_on_host\": \"$tmp/disk.img\", \"is_root_device\": false, \"is_read_only\": false}" >/dev/null
	api "$1" PUT /actions '{"action_type": "InstanceStart"}' >/dev/null
	wait_for "[ \$(ticks $1) -ge 5 ]" 90
}
# dest NAME ADDR [DIE_AT]: a vmon waiting for a migration on ADDR (dying as DIE_AT arrives: state, go)
dest_vm() {
	VMON_TEST_MIGRATE_DIE=${3:-} "$VMON" run -v --incoming "$2" </dev/null >"$tmp/$1.out" 2>"$tmp/$1.err" &
	pids+=($!)
	eval "pid_$1=$!"
	case "$2" in unix:*) wait_for "[ -S ${2#unix:} ]" 10 ;; *) sleep 0.5 ;; esac
}
# still_ticks NAME: NAME's guest ticks on (3 more ticks; a slow host gets 60 s, and a timeout says so)
still_ticks() {
	local t
	t=$(ticks "$1")
	wait_for "[ \$(ticks $1) -ge $((t + 3)) ]" 60 && return 0
	echo "#   $1: fewer than 3 more ticks in 60 s (a slow host, or a guest that stopped)"
	return 1
}
# The destination goes on from the source's last whole tick line @after: its first whole line is @after + 1,
# or @after + 2 when the pause cut the next line in two (or @after itself: the cut line finishes there), it
# never printed its start-up line, and it keeps ticking.
goes_on_from() { # NAME AFTER
	local f
	still_ticks "$1" || return 1
	f=$(first_tick "$1")
	[ -n "$f" ] && [ "$f" -ge "$2" ] && [ "$f" -le $(($2 + 2)) ] && ! grep -q 'ticker: up' "$tmp/$1.out"
}
exited() { ! kill -0 "$1" 2>/dev/null; }

dd if=/dev/zero of="$tmp/disk.img" bs=1024 count=1024 2>/dev/null

# --- over a Unix socket ---
source_vm a
dest_vm b "unix:$tmp/mig.sock"
r=$(api a PUT /migration/send "{\"destination\": \"unix:$tmp/mig.sock\"}")
wait_for "exited $pid_a" 60
wait "$pid_a"
st=$?
t=$(ticks a)
echo "#   $(grep -o 'migration to .*' "$tmp/a.err" | tail -1)"
check migrate_unix_source_ends_with_status_0_once_the_guest_runs_there \
	'[[ "$r" == "204 " ]] && [ $st -eq 0 ] && grep -q "migration to unix:.*: done" "$tmp/a.err"' \
	"send: $r; source status $st"
check migrate_unix_guest_goes_on_from_the_source_tick 'goes_on_from b $t' \
	"source's last tick $t; destination's first $(first_tick b), last $(ticks b)"
"$VMON" run --kernel "$GUEST" --disk "$tmp/disk.img" </dev/null >"$tmp/lock.out" 2>"$tmp/lock.err"
st=$?
check migrate_disk_lock_moves_with_the_guest \
	'[ $st -eq 2 ] && grep -q "is in use by process $pid_b" "$tmp/lock.err"' "status $st"
kill -9 "$pid_b" 2>/dev/null
wait "$pid_b" 2>/dev/null

# --- over TCP on loopback ---
source_vm c
port=$((20000 + RANDOM % 20000))
dest_vm d "tcp:127.0.0.1:$port"
# the one-line user view: vmon migrate follows the migration to its end
"$VMON" migrate --api-sock "$tmp/c.sock" --to "tcp:127.0.0.1:$port" --max-downtime-ms 500 \
	>"$tmp/cli.out" 2>"$tmp/cli.err"
cst=$?
wait_for "exited $pid_c" 60
wait "$pid_c"
st=$?
t=$(ticks c)
echo "#   $(grep -o 'migration to .*' "$tmp/c.err" | tail -1)"
check migrate_tcp_guest_goes_on_from_the_source_tick '[ $cst -eq 0 ] && [ $st -eq 0 ] && goes_on_from d $t' \
	"vmon migrate status $cst; source status $st; source's last tick $t; destination's first $(first_tick d)"
check migrate_cli_reports_the_completed_move \
	'grep -q "^migrated to tcp:127.0.0.1:$port: [0-9]* ms in all, [0-9.]* ms of downtime" "$tmp/cli.out" && grep -q "migration: precopy" "$tmp/cli.err"' \
	"stdout: $(cat "$tmp/cli.out"); stderr: $(tr '\n' ';' <"$tmp/cli.err")"
kill -9 "$pid_d" 2>/dev/null
wait "$pid_d" 2>/dev/null

# --- to a vmon serving the API (PUT /migration/receive), and on again from there ---
source_vm n
rm -f "$tmp/o.sock"
"$VMON" -v --api-sock "$tmp/o.sock" </dev/null >"$tmp/o.out" 2>"$tmp/o.err" &
pids+=($!)
pid_o=$!
wait_for "[ -S $tmp/o.sock ]" 10
r=$(api o PUT /migration/receive "{\"listen\": \"unix:$tmp/mig9.sock\"}")
r2=$(api o PUT /machine-config '{"vcpu_count": 1, "mem_size_mib": 64}')
s=$(api o GET /migration)
check migrate_api_destination_waits_and_refuses_configuration \
	'[[ "$r" == "204 " ]] && [[ "$r2" == 400*awaited* ]] && [[ "$s" == *listening* ]]' \
	"receive: $r; machine-config: $r2; status: $s"
r=$(api n PUT /migration/send "{\"destination\": \"unix:$tmp/mig9.sock\"}")
wait_for "exited $pid_n" 60
t=$(ticks n)
s=$(api o GET /migration)
g=$(api o GET /)
check migrate_api_destination_runs_the_guest_and_says_so \
	'[[ "$r" == "204 " ]] && goes_on_from o $t && [[ "$s" == *completed* ]] && [[ "$g" == *Running* ]]' \
	"send: $r; status: $s; info: $g; source's last tick $t; destination's first $(first_tick o)"
dest_vm q "unix:$tmp/mig10.sock"
r=$(api o PUT /migration/send "{\"destination\": \"unix:$tmp/mig10.sock\"}")
wait_for "exited $pid_o" 60
t=$(ticks o)
check migrate_a_migrated_guest_moves_again '[[ "$r" == "204 " ]] && goes_on_from q $t' \
	"send: $r; last tick at the second vmon $t; first at the third $(first_tick q)"
kill -9 "$pid_q" 2>/dev/null
wait "$pid_q" 2>/dev/null

# --- a guest its user paused moves paused, and runs when told at the destination ---
source_vm u
api u PATCH /vm '{"state": "Paused"}' >/dev/null
sleep 0.2
t=$(ticks u)
rm -f "$tmp/w.sock"
"$VMON" -v --api-sock "$tmp/w.sock" </dev/null >"$tmp/w.out" 2>"$tmp/w.err" &
pids+=($!)
pid_w=$!
wait_for "[ -S $tmp/w.sock ]" 10
api w PUT /migration/receive "{\"listen\": \"unix:$tmp/mig11.sock\"}" >/dev/null
r=$(api u PUT /migration/send "{\"destination\": \"unix:$tmp/mig11.sock\"}")
wait_for "exited $pid_u" 60
g=$(api w GET /)
sleep 1
check migrate_paused_guest_arrives_paused \
	'[[ "$r" == "204 " ]] && exited $pid_u && [[ "$g" == *Paused* ]] && [ "$(ticks w)" = 0 ]' \
	"send: $r; destination GET /: $g; ticks there while paused: $(ticks w)"
r=$(api w PATCH /vm '{"state": "Resumed"}')
check migrate_paused_guest_runs_when_resumed_at_the_destination '[[ "$r" == "204 " ]] && goes_on_from w $t' \
	"resume: $r; source's last tick $t; destination's first $(first_tick w)"
kill -9 "$pid_w" 2>/dev/null

# --- refusals and failures: the source's guest runs on ---
# (a guest that dirties memory every millisecond: the ticker alone may dirty no page in a short round, and a
# pre-copy meant not to converge would; 16 MiB, or 1 MiB in the sandbox's L1, where the guest is emulated)
dirty=16
[ -n "${VMON_KVM_TIER_L1:-}" ] && dirty=1
source_vm e dirty=$dirty
r=$(api e PUT /migration/send '{"destination": "unix:/nonexistent/mig.sock"}')
check migrate_to_no_destination_is_refused_and_the_guest_runs_on \
	'[[ "$r" == 400*"cannot connect"* ]] && still_ticks e' "got: $r"
r=$(api e PUT /migration/send '{"destination": "udp:1.2.3.4:5"}')
check migrate_refuses_a_malformed_destination '[[ "$r" == 400*"migration address"* ]]' "got: $r"

# run --incoming --net-override: the override reaches the destination's check (the guest has no NIC eth9)
"$VMON" run -v --incoming "unix:$tmp/mig9.sock" --net-override eth9=tap9 </dev/null >"$tmp/ov.out" 2>"$tmp/ov.err" &
pid_ov=$!
pids+=($pid_ov)
wait_for "[ -S $tmp/mig9.sock ]" 10
r=$(api e PUT /migration/send "{\"destination\": \"unix:$tmp/mig9.sock\"}")
wait_for "exited $pid_ov" 30
wait "$pid_ov"
st=$?
check migrate_destination_net_override_names_an_interface_the_guest_lacks \
	'[[ "$r" == 400*"no interface"*eth9* ]] && [ $st -ne 0 ] && grep -q "no interface .eth9." "$tmp/ov.err" && still_ticks e' \
	"send: $r; destination status $st: $(tail -n 1 "$tmp/ov.err")"

mv "$tmp/disk.img" "$tmp/disk.moved"
dest_vm f "unix:$tmp/mig2.sock"
r=$(api e PUT /migration/send "{\"destination\": \"unix:$tmp/mig2.sock\"}")
mv "$tmp/disk.moved" "$tmp/disk.img"
wait_for "exited $pid_f" 30
wait "$pid_f"
st=$?
check migrate_destination_that_cannot_build_the_machine_says_why \
	'[[ "$r" == 400*"the other side"*disk* ]] && [ $st -ne 0 ] && still_ticks e' "send: $r; destination status $st"

dest_vm g "unix:$tmp/mig3.sock"
"$VMON" migrate --api-sock "$tmp/e.sock" --to "unix:$tmp/mig3.sock" --max-downtime-ms 1 \
	--max-bandwidth-mib-s 1 --timeout-s 2 >"$tmp/cli.out" 2>"$tmp/cli.err"
cst=$?
s=$(api e GET /migration)
wait_for "exited $pid_g" 30
check migrate_precopy_that_cannot_converge_is_cancelled_and_the_guest_runs_on \
	'[ $cst -eq 1 ] && [[ "$s" == *"did not converge"* ]] && grep -q "did not converge.*the guest is Running" "$tmp/cli.err" && exited $pid_g && still_ticks e' \
	"vmon migrate status $cst, its stderr: $(tail -n 1 "$tmp/cli.err"); status: $s"

dest_vm h "unix:$tmp/mig4.sock"
r=$(api e PUT /migration/send "{\"destination\": \"unix:$tmp/mig4.sock\", \"max_downtime_ms\": 1, \"max_bandwidth_mib_s\": 1, \"timeout_s\": 120}")
sleep 1
s1=$(api e GET /migration)
kill -9 "$pid_h"
wait_for '[[ "$(api e GET /migration)" == *"\"failed\""* ]]' 60
s=$(api e GET /migration)
check migrate_destination_killed_during_precopy_leaves_the_guest_running \
	'[[ "$r" == "204 " ]] && [[ "$s1" == *"\"precopy\""* ]] && [[ "$s" == *"\"failed\""* ]] && still_ticks e' \
	"send: $r; during: $s1; after: $s"
r=$(api e PATCH /vm '{"state": "Paused"}')
check migrate_source_can_be_paused_after_a_failed_migration '[[ "$r" == "204 " ]]' "got: $r"
r=$(api e PATCH /vm '{"state": "Resumed"}')
check migrate_source_resumes_after_a_failed_migration '[[ "$r" == "204 " ]] && still_ticks e' "got: $r"

dest_vm i "unix:$tmp/mig5.sock" state
r=$(api e PUT /migration/send "{\"destination\": \"unix:$tmp/mig5.sock\"}")
wait_for '[[ "$(api e GET /migration)" == *"\"failed\""* ]]' 60
s=$(api e GET /migration)
check migrate_destination_dying_in_stop_and_copy_leaves_the_guest_running \
	'[[ "$r" == "204 " ]] && [[ "$s" == *"\"source_resumed\":true"* ]] && still_ticks e' "send: $r; status: $s"

# --- a guest dirtying 16 MiB every millisecond (1 MiB in the sandbox's L1), copied at 16 (1) MiB/s: each round
# takes a second, in which the guest surely runs (a short round may see it dirty nothing, and converge) ---
source_vm k dirty=$dirty
dest_vm l "unix:$tmp/mig6.sock"
r=$(api k PUT /migration/send "{\"destination\": \"unix:$tmp/mig6.sock\", \"max_downtime_ms\": 1, \"max_bandwidth_mib_s\": $dirty, \"timeout_s\": 3}")
wait_for '[[ "$(api k GET /migration)" == *"\"failed\""* ]]' 60
s=$(api k GET /migration)
check migrate_guest_dirtying_faster_than_the_copy_is_cancelled_and_runs_on \
	'[[ "$r" == "204 " ]] && [[ "$s" == *"did not converge"* ]] && still_ticks k' "send: $r; status: $s"
wait_for "exited $pid_l" 30
dest_vm m "unix:$tmp/mig7.sock"
r=$(api k PUT /migration/send "{\"destination\": \"unix:$tmp/mig7.sock\", \"max_downtime_ms\": 1, \"max_bandwidth_mib_s\": $dirty, \"timeout_s\": 2, \"on_timeout\": \"force\"}")
wait_for "exited $pid_k" 90
wait "$pid_k"
st=$?
t=$(ticks k)
echo "#   $(grep -o 'migration to .*' "$tmp/k.err" | tail -1)"
check migrate_guest_dirtying_faster_than_the_copy_moves_when_forced \
	'[[ "$r" == "204 " ]] && [ $st -eq 0 ] && goes_on_from m $t' \
	"send: $r; source status $st; source's last tick $t; destination's first $(first_tick m)"
kill -9 "$pid_m" 2>/dev/null

# --- no answer after GO: the guest may run there, so it stays paused here until the user says ---
dest_vm j "unix:$tmp/mig8.sock" go
r=$(api e PUT /migration/send "{\"destination\": \"unix:$tmp/mig8.sock\"}")
wait_for '[[ "$(api e GET /migration)" == *"\"failed\""* ]]' 60
s=$(api e GET /migration)
t=$(ticks e)
sleep 1
check migrate_destination_dying_after_go_leaves_the_source_paused \
	'[[ "$r" == "204 " ]] && [[ "$s" == *"stays paused"* ]] && [ "$(ticks e)" -le $((t + 1)) ]' \
	"send: $r; status: $s; ticks $t then $(ticks e)"
api e PATCH /vm '{"state": "Paused"}' >/dev/null
r=$(api e PATCH /vm '{"state": "Resumed"}')
check migrate_source_paused_after_go_resumes_when_told '[[ "$r" == "204 " ]] && still_ticks e' "got: $r"
kill -9 "$pid_e" 2>/dev/null
exit $((fails > 0))
