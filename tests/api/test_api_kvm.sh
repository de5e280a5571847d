#!/usr/bin/env bash
# test_api_kvm.sh — KVM tier for the control plane: drive a guest entirely
# through the Firecracker-compatible socket with curl (configure, start, live
# stats, pause stops the guest's progress, resume continues it, pre-boot-only
# resources refused after start, a hybrid vsock's listener (the ticker has no
# vsock driver: a CONNECT is disconnected unanswered), SendCtrlAltDel ends the
# process with status 0), then the same guest from --config-file --no-api.
# Usage: test_api_kvm.sh VMON TICKER_GUEST UDS_HELLO
set -u
VMON=$1
GUEST=$2
UDS_HELLO=$3
tmp=$(mktemp -d)
n=0
fails=0
pid=
cleanup() {
	[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

ok() { n=$((n + 1)); echo "ok $n - $1"; }
bad() {
	n=$((n + 1)); fails=$((fails + 1)); echo "not ok $n - $1"
	[ -n "${2:-}" ] && echo "#   $2"
	sed 's/^/#   vmon: /' "$tmp/out" 2>/dev/null | tail -5
}
check() { if eval "$2"; then ok "$1"; else bad "$1" "${3:-}"; fi; }
skip_all() {
	echo "1..1"
	echo "ok 1 - api_kvm # SKIP $1"
	exit 0
}

echo "TAP version 13"
[ -r /dev/kvm ] && [ -w /dev/kvm ] || skip_all "no usable /dev/kvm"
command -v curl >/dev/null || skip_all "curl is not installed"
[ -x "$VMON" ] || skip_all "no vmon binary at $VMON"
[ -r "$GUEST" ] || skip_all "no ticker guest at $GUEST"
echo "1..20"

sock=$tmp/api.sock
api() { # METHOD PATH [BODY] -> prints "STATUS BODY"
	local body=${3:-}
	curl -s --max-time 5 --unix-socket "$sock" -X "$1" -H 'Content-Type: application/json' \
		${body:+-d "$body"} -o "$tmp/resp" -w '%{http_code}' "http://localhost$2"
	printf ' '
	cat "$tmp/resp" 2>/dev/null
}
ticks() { local c; c=$(grep -c '^tick ' "$tmp/out" 2>/dev/null); echo "${c:-0}"; }
wait_for() { # CONDITION SECONDS
	local end=$((SECONDS + $2))
	while [ $SECONDS -lt $end ]; do eval "$1" && return 0; sleep 0.1; done
	return 1
}

"$VMON" --api-sock "$sock" </dev/null >"$tmp/out" 2>"$tmp/err" &
pid=$!
wait_for '[ -S "$sock" ]' 5
r=$(api GET /)
check api_kvm_socket_answers_before_boot '[[ "$r" == 200*'"'"'"state":"Not started"'"'"'* ]]' "got: $r"
r=$(api PUT /machine-config '{"vcpu_count": 2, "mem_size_mib": 64}')
check api_kvm_machine_config_accepted '[[ "$r" == "204 " ]]' "got: $r"
r=$(api PUT /boot-source "{\"kernel_image_path\": \"$GUEST\", \"boot_args\": \"ticks=10000\"}")
check api_kvm_boot_source_accepted '[[ "$r" == "204 " ]]' "got: $r"
truncate -s 1M "$tmp/disk.img"
r=$(api PUT /drives/data "{\"drive_id\": \"data\", \"path_on_host\": \"$tmp/disk.img\", \"is_root_device\": false, \"rate_limiter\": {\"ops\": {\"size\": 100, \"refill_time\": 1000}}}")
check api_kvm_drive_with_a_rate_limiter_accepted '[[ "$r" == "204 " ]]' "got: $r"
r=$(api PUT /vsock "{\"guest_cid\": 3, \"uds_path\": \"$tmp/v.sock\"}")
check api_kvm_vsock_accepted '[[ "$r" == "204 " ]]' "got: $r"
r=$(api PUT /actions '{"action_type": "InstanceStart"}')
check api_kvm_instance_start '[[ "$r" == "204 " ]] && wait_for "[ \$(ticks) -ge 3 ]" 20' "got: $r"
# a host client's CONNECT to a guest that never answers: disconnected (after vmon's 2 s), no OK
v=$("$UDS_HELLO" "$tmp/v.sock" "CONNECT 52" 15 2>&1)
check api_kvm_vsock_unanswered_connect_disconnected '[ "$v" = closed ]' "the listener at $tmp/v.sock gave: $v"
r=$(api GET /vm/stats)
check api_kvm_live_stats '[[ "$r" == 200*'"'"'"vcpus"'"'"'* && "$r" == *'"'"'"IO":'"'"'[1-9]* ]]' "got: ${r:0:200}"
r=$(api PATCH /drives/data '{"drive_id": "data", "rate_limiter": {"bandwidth": {"size": 1048576, "refill_time": 100}}}')
c=$(api GET /vm/config)
check api_kvm_drive_rate_limiter_patched_live '[[ "$r" == "204 " && "$c" == *'"'"'"rate_limiter":{"bandwidth":{"size":1048576,"one_time_burst":0,"refill_time":100},"ops":{"size":100,'"'"'* ]]' "got: $r; config: ${c:0:400}"
# a new file for the running drive (Firecracker's media change): the guest ticks on, the
# configuration names the new file; a file that is not there is refused and changes nothing
truncate -s 2M "$tmp/disk2.img"
r=$(api PATCH /drives/data "{\"drive_id\": \"data\", \"path_on_host\": \"$tmp/disk2.img\"}")
c=$(api GET /vm/config)
t=$(ticks)
check api_kvm_drive_file_changed_live '[[ "$r" == "204 " && "$c" == *"\"path_on_host\":\"$tmp/disk2.img\""* ]] && wait_for "[ \$(ticks) -ge $((t + 2)) ]" 20' "got: $r; config: ${c:0:300}"
r=$(api PATCH /drives/data "{\"drive_id\": \"data\", \"path_on_host\": \"$tmp/nonexistent.img\"}")
c=$(api GET /vm/config)
check api_kvm_drive_file_change_to_a_missing_file_refused '[[ "$r" == 400*nonexistent.img* && "$c" == *"\"path_on_host\":\"$tmp/disk2.img\""* ]]' "got: $r; config: ${c:0:300}"
r=$(api PUT /machine-config '{"vcpu_count": 1, "mem_size_mib": 64}')
check api_kvm_preboot_resource_refused_after_start '[[ "$r" == 400*fault_message* ]]' "got: $r"
r=$(api PATCH /vm '{"state": "Paused"}')
sleep 0.3
a=$(ticks)
sleep 1
b=$(ticks)
check api_kvm_pause_stops_progress '[[ "$r" == "204 " ]] && [ "$a" -eq "$b" ]' "got: $r; ticks $a then $b"
r=$(api GET /)
check api_kvm_state_paused '[[ "$r" == *'"'"'"state":"Paused"'"'"'* ]]' "got: $r"
r=$(api PATCH /vm '{"state": "Paused"}')
check api_kvm_pause_is_idempotent '[[ "$r" == "204 " ]] && [ "$(ticks)" -eq "$b" ]' "got: $r"
r=$(api PATCH /vm '{"state": "Resumed"}')
check api_kvm_resume_continues '[[ "$r" == "204 " ]] && wait_for "[ \$(ticks) -gt $b ]" 10' "got: $r; ticks stayed at $b"
r=$(api PUT /actions '{"action_type": "SendCtrlAltDel"}')
wait_for '! kill -0 $pid 2>/dev/null' 20
wait "$pid"
st=$?
pid=
check api_kvm_ctrl_alt_del_ends_vmon_with_status_0 '[[ "$r" == "204 " ]] && [ $st -eq 0 ] && grep -q "Ctrl-Alt-Del" "$tmp/out"' "got: $r, status $st"
check api_kvm_socket_removed_at_exit '[ ! -e "$sock" ] && [ ! -e "$tmp/v.sock" ]' "left: $(ls "$tmp"/*.sock 2>&1)"

cat >"$tmp/config.json" <<JSON
{
  "boot-source": { "kernel_image_path": "$GUEST", "boot_args": "ticks=100" },
  "machine-config": { "vcpu_count": 1, "mem_size_mib": 64 }
}
JSON
timeout 60 "$VMON" --config-file "$tmp/config.json" --no-api </dev/null >"$tmp/out" 2>"$tmp/err"
st=$?
check api_kvm_config_file_no_api_runs_to_poweroff '[ $st -eq 0 ] && grep -q "ticker: done" "$tmp/out"' "status $st"
echo '{"boot-source": {"kernel_image_path": 3}}' >"$tmp/bad.json"
"$VMON" --config-file "$tmp/bad.json" --no-api </dev/null >"$tmp/out" 2>"$tmp/err"
st=$?
check api_kvm_bad_config_file_refused '[ $st -eq 2 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ]' "status $st: $(cat "$tmp/err")"
exit $((fails > 0))
