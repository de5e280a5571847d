#!/usr/bin/env bash
# test_jailer_kvm.sh — KVM tier for vmon-jailer: guests run jailed, and the jailed monitor is what
# the jailer promised (Firecracker's test_jail.py, the cases with a running microVM):
#   the bundled demo guest runs to its end under `vmon-jailer ... -- run` as uid/gid 65534;
#   the ticker guest through the API socket inside the jail, with --new-pid-ns, --netns, a cgroup
#   limit and resource limits: /proc/PID/root is the jail, uid and gid, no capabilities,
#   no_new_privs, seccomp, the cgroup and its value, the pid and net namespaces, the limits, the
#   jail's files owned by the uid; GET / gives the --id; SendCtrlAltDel ends it;
#   --daemonize: the jailer returns at once, the monitor runs on with its standard I/O on /dev/null;
#   Kata Containers' way (fc.go): the binary named firecracker, jailed with --uid 0 --gid 0 --daemonize
#   -- --config-file: Firecracker's version line, API socket, pid file, vCPU thread names and SIGTERM.
# Usage: test_jailer_kvm.sh JAILER VMON TICKER_GUEST
set -u
JAILER=$1
VMON=$2
GUEST=$3
tmp=$(mktemp -d)
n=0
fails=0
ns=vmonj$$
IP=$(command -v ip-full || command -v ip || echo ip) # iproute2's (busybox's ip has no netns), as the sandbox's L1 names it
cg_made=
cleanup() {
	for f in "$tmp"/base/*/*/root/*.pid; do [ -f "$f" ] && kill -9 "$(cat "$f")" 2>/dev/null; done
	sleep 0.2
	[ -n "$cg_made" ] && rmdir "$cg_made" "$(dirname "$cg_made")" 2>/dev/null
	"$IP" netns del "$ns" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
ok() { n=$((n + 1)); echo "ok $n - $1"; }
bad() {
	n=$((n + 1)); fails=$((fails + 1)); echo "not ok $n - $1"
	[ -n "${2:-}" ] && echo "#   $2"
	for f in "$tmp"/*.err "$tmp"/*.out; do [ -f "$f" ] && sed "s|^|#   $(basename "$f"): |" "$f" | tail -4; done
}
check() { if eval "$2"; then ok "$1"; else bad "$1" "${3:-}"; fi; }
skip_all() {
	echo "1..1"
	echo "ok 1 - jailer_kvm # SKIP $1"
	exit 0
}
wait_for() { # CONDITION SECONDS
	local end=$((SECONDS + $2))
	while [ $SECONDS -lt $end ]; do eval "$1" && return 0; sleep 0.1; done
	return 1
}

echo "TAP version 13"
[ -r /dev/kvm ] && [ -w /dev/kvm ] || skip_all "no usable /dev/kvm"
[ "$(id -u)" = 0 ] || skip_all "needs root (a jail is made with mknod, pivot_root, setuid)"
command -v curl >/dev/null || skip_all "curl is not installed"
[ -x "$JAILER" ] && [ -x "$VMON" ] && [ -r "$GUEST" ] || skip_all "no jailer, vmon or ticker guest at $JAILER $VMON $GUEST"
echo "1..27"
base=$tmp/base
mkdir -p "$base"
name=$(basename "$VMON")
U=65534

# --- the demo guest, to its end, jailed ---
"$JAILER" --id demo-1 --exec-file "$VMON" --uid $U --gid $U --chroot-base-dir "$base" -- run \
	</dev/null >"$tmp/demo.out" 2>"$tmp/demo.err"
st=$?
check jailer_kvm_demo_guest_runs_jailed '[ "$st" = 0 ] && grep -q "Hello from the vmon demo guest" "$tmp/demo.out"' "status $st"

# --- the ticker through the API, in a pid namespace, a net namespace and a cgroup ---
id=tick-$$
root=$base/$name/$id/root
mkdir -p "$root" # as an orchestrator does: the guest's files are put in the jail beforehand
cp "$GUEST" "$root/ticker.elf"
chmod 0644 "$root/ticker.elf"
have_ns=0
"$IP" netns add "$ns" 2>/dev/null && have_ns=1
nsdir=/run/netns # iproute2 6's; older ones and Debian's /var/run link say /var/run/netns
[ -e "$nsdir/$ns" ] || nsdir=/var/run/netns
cgv=0 cgarg=()
if grep -q '^cgroup [^ ]* cgroup [^ ]*memory' /proc/mounts; then
	cgv=1 cgdir=$(awk '$3 == "cgroup" && $4 ~ /(^|,)memory(,|$)/ { print $2; exit }' /proc/mounts)
	cgfile=memory.limit_in_bytes cgval=536870912
	cgarg=(--cgroup-version 1 --cgroup "$cgfile=$cgval")
elif awk '$3 == "cgroup2" { f = 1 } END { exit !f }' /proc/mounts && grep -qw memory "$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)/cgroup.controllers" 2>/dev/null; then
	cgv=2 cgdir=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
	cgfile=memory.max cgval=536870912
	cgarg=(--cgroup-version 2 --cgroup "$cgfile=$cgval")
fi
[ "$cgv" != 0 ] && cg_made=$cgdir/jailer-test-$$/$id && cgarg+=(--parent-cgroup "jailer-test-$$")
nsarg=()
[ "$have_ns" = 1 ] && nsarg=(--netns "$nsdir/$ns")
"$JAILER" --id "$id" --exec-file "$VMON" --uid $U --gid $U --chroot-base-dir "$base" --new-pid-ns \
	"${nsarg[@]}" "${cgarg[@]}" --resource-limit no-file=1024 --resource-limit fsize=1073741824 \
	-- --api-sock api.sock </dev/null >"$tmp/tick.out" 2>"$tmp/tick.err" 7>"$tmp/leak" &
jpid=$!
wait_for "[ -S '$root/api.sock' ] && [ -s '$root/$name.pid' ]" 10
wait "$jpid"
jst=$?
pid=$(cat "$root/$name.pid" 2>/dev/null)
check jailer_kvm_jailer_returns_after_the_new_pid_ns '[ "$jst" = 0 ] && [ -n "$pid" ] && [ "$pid" != "$jpid" ] && kill -0 "$pid"' "jailer status $jst, pid file: ${pid:-none}"
[ -n "$pid" ] || pid=0
status() { sed -n "s/^$1:[[:space:]]*//p" /proc/$pid/status 2>/dev/null | tr -s '\t ' ' ' | sed 's/ *$//'; }
check jailer_kvm_root_is_the_jail '[ "$(stat -L -c %d:%i /proc/$pid/root)" = "$(stat -c %d:%i "$root")" ] && [ -e /proc/$pid/root/ticker.elf ] && [ ! -e /proc/$pid/root/etc ]' \
	"/proc/$pid/root: $(ls /proc/$pid/root 2>&1 | tr '\n' ' ')"
check jailer_kvm_uid_and_gid '[ "$(status Uid)" = "$U $U $U $U" ] && [ "$(status Gid)" = "$U $U $U $U" ] && [ "$(status Groups)" = "$U" ]' \
	"Uid: $(status Uid); Gid: $(status Gid); Groups: $(status Groups)"
check jailer_kvm_no_capabilities '[ "$(status CapEff)" = 0000000000000000 ] && [ "$(status CapPrm)" = 0000000000000000 ] && [ "$(status CapBnd)" = 0000000000000000 ] && [ "$(status CapAmb)" = 0000000000000000 ]' \
	"CapEff $(status CapEff) CapPrm $(status CapPrm) CapBnd $(status CapBnd) CapAmb $(status CapAmb)"
check jailer_kvm_no_new_privs '[ "$(status NoNewPrivs)" = 1 ]' "NoNewPrivs $(status NoNewPrivs)"
nspid=$(status NSpid)
check jailer_kvm_new_pid_namespace '[ "$(readlink /proc/$pid/ns/pid)" != "$(readlink /proc/self/ns/pid)" ] && [ "${nspid##* }" = 1 ]' "NSpid: $nspid"
if [ "$have_ns" = 1 ]; then
	check jailer_kvm_joins_the_netns '[ "$(stat -L -c %i /proc/$pid/ns/net)" = "$(stat -L -c %i $nsdir/$ns)" ]' \
		"its net ns $(readlink /proc/$pid/ns/net), $ns's inode $(stat -L -c %i $nsdir/$ns)"
else
	ok "jailer_kvm_joins_the_netns # SKIP ip netns add failed here"
fi
if [ "$cgv" != 0 ]; then
	cgline=$(grep -E "^[0-9]+:(memory)?:" /proc/$pid/cgroup | grep -E "$( [ $cgv = 1 ] && echo ':memory:' || echo '^0::')" | head -n 1)
	got=$(cat "$cg_made/$cgfile" 2>/dev/null)
	check jailer_kvm_cgroup_and_its_limit '[ "${cgline##*:}" = "/jailer-test-$$/$id" ] && [ "$got" -ge $((cgval - 65536)) ] && [ "$got" -le "$cgval" ]' \
		"cgroup v$cgv: /proc/$pid/cgroup: $cgline; $cg_made/$cgfile: ${got:-none}"
else
	ok "jailer_kvm_cgroup_and_its_limit # SKIP no memory cgroup controller is mounted here"
fi
lim() { awk -v k="$1" 'index($0, k) == 1 { print $(NF - 2), $(NF - 1) }' /proc/$pid/limits; }
check jailer_kvm_resource_limits '[ "$(lim "Max open files")" = "1024 1024" ] && [ "$(lim "Max file size")" = "1073741824 1073741824" ]' \
	"open files: $(lim "Max open files"); file size: $(lim "Max file size")"
own() { stat -c '%u:%g %a %F' "$root/$1"; }
check jailer_kvm_jail_files_owned '[ "$(own .)" = "$U:$U 700 directory" ] && [ "$(own dev/kvm)" = "$U:$U 600 character special file" ] && [ "$(own dev/net/tun)" = "$U:$U 600 character special file" ] && [ "$(own run)" = "$U:$U 700 directory" ] && [ "$(stat -c %u:%g "$root/$name")" = "$U:$U" ] && [ "$(own api.sock)" = "$U:$U 600 socket" ]' \
	"/: $(own .); dev/kvm: $(own dev/kvm); dev/net/tun: $(own dev/net/tun); run: $(own run); api.sock: $(own api.sock)"
cmp -s "$VMON" "$root/$name" && [ "$(stat -c %i "$VMON")" != "$(stat -c %i "$root/$name")" ]
check jailer_kvm_binary_is_a_copy '[ $? = 0 ]' "the jail's $name is not a separate copy of $VMON"
# the jailer was given fd 7 open on $tmp/leak: the monitor must not have it
check jailer_kvm_no_fd_inherited '[ "$(ls /proc/$pid/fd | wc -l)" -gt 3 ] && ! ls -l /proc/$pid/fd | grep -q "$tmp/leak"' "fds: $(ls -l /proc/$pid/fd | awk '{print $NF}' | tr '\n' ' ')"

api() { # METHOD PATH [BODY] -> "STATUS BODY"
	curl -s --max-time 5 --unix-socket "$root/api.sock" -X "$1" -H 'Content-Type: application/json' \
		${3:+-d "$3"} -o "$tmp/resp" -w '%{http_code}' "http://localhost$2"
	printf ' '
	cat "$tmp/resp" 2>/dev/null
}
r=$(api GET /)
check jailer_kvm_api_reports_the_id '[[ "$r" == 200*"\"id\":\"$id\""* ]]' "GET /: $r"
# Firecracker's startup metrics: from the jailer's start to the API serving
rm=$(api PUT /metrics '{"metrics_path": "/metrics.json"}')
rf=$(api PUT /actions '{"action_type": "FlushMetrics"}')
su=$(grep -o '"process_startup_time_us":[0-9]*' "$root/metrics.json" 2>/dev/null | head -n 1 | cut -d: -f2)
sc=$(grep -o '"process_startup_time_cpu_us":[0-9]*' "$root/metrics.json" 2>/dev/null | head -n 1 | cut -d: -f2)
check jailer_kvm_startup_time_metrics '[ "$rm $rf" = "204  204 " ] && [ "${su:-0}" -gt 0 ] && [ "$su" -lt 60000000 ] && [ "${sc:-0}" -gt 0 ]' \
	"metrics: $rm, flush: $rf; process_startup_time_us ${su:-none}, _cpu_us ${sc:-none}"
r1=$(api PUT /machine-config '{"vcpu_count": 1, "mem_size_mib": 64}')
r2=$(api PUT /boot-source '{"kernel_image_path": "/ticker.elf", "boot_args": "ticks=100000"}')
r3=$(api PUT /actions '{"action_type": "InstanceStart"}')
ticks() { c=$(grep -c '^tick ' "$tmp/tick.out" 2>/dev/null); echo "${c:-0}"; }
wait_for '[ "$(ticks)" -ge 5 ]' 30
check jailer_kvm_guest_ticks_in_the_jail '[ "$r1 $r2 $r3" = "204  204  204 " ] && [ "$(ticks)" -ge 5 ]' "machine-config: $r1; boot-source: $r2; start: $r3; ticks: $(ticks)"
seccomp=$(cat /proc/$pid/task/*/status 2>/dev/null | grep -c '^Seccomp:[[:space:]]*2$')
threads=$(ls /proc/$pid/task | wc -l)
check jailer_kvm_seccomp_on_every_thread '[ "$seccomp" -ge 2 ] && [ "$seccomp" = "$threads" ]' "threads in seccomp filter mode: $seccomp of $threads"
r=$(api PUT /actions '{"action_type": "SendCtrlAltDel"}')
wait_for "! kill -0 $pid 2>/dev/null" 20
check jailer_kvm_ctrl_alt_del_ends_it '[ "$r" = "204 " ] && ! kill -0 "$pid" 2>/dev/null' "SendCtrlAltDel: $r; still running: $(kill -0 "$pid" 2>/dev/null && echo yes || echo no)"
if [ "$cgv" != 0 ]; then # the cgroup is empty now: the jailer's cgroups are the orchestrator's to remove
	wait_for "rmdir '$cg_made' 2>/dev/null" 5 && rmdir "$(dirname "$cg_made")" 2>/dev/null
	check jailer_kvm_cgroup_removable_after '[ ! -d "$cg_made" ]' "$cg_made is still there"
	cg_made=
else
	ok "jailer_kvm_cgroup_removable_after # SKIP no memory cgroup controller is mounted here"
fi

# --- --daemonize ---
id=daemon-$$
root=$base/$name/$id/root
mkdir -p "$root"
cp "$GUEST" "$root/ticker.elf"
chmod 0644 "$root/ticker.elf"
t0=$SECONDS
"$JAILER" --id "$id" --exec-file "$VMON" --uid $U --gid $U --chroot-base-dir "$base" --daemonize \
	-- --api-sock api.sock </dev/null >"$tmp/daemon.out" 2>"$tmp/daemon.err"
st=$?
wait_for "[ -S '$root/api.sock' ] && [ -s '$root/$name.pid' ]" 10
pid=$(cat "$root/$name.pid" 2>/dev/null)
[ -n "$pid" ] || pid=0
check jailer_kvm_daemonize_returns_at_once '[ "$st" = 0 ] && [ $((SECONDS - t0)) -le 5 ] && kill -0 "$pid" 2>/dev/null' "status $st after $((SECONDS - t0)) s; pid ${pid}"
sid=$(awk '{ print $6 }' /proc/$pid/stat 2>/dev/null)
check jailer_kvm_daemon_stdio_on_dev_null '[ "$(readlink /proc/$pid/fd/0)" = /dev/null ] && [ "$(readlink /proc/$pid/fd/1)" = /dev/null ] && [ "$(readlink /proc/$pid/fd/2)" = /dev/null ] && [ "$sid" != "$(awk "{ print \$6 }" /proc/$$/stat)" ]' \
	"fd 0-2: $(readlink /proc/$pid/fd/0) $(readlink /proc/$pid/fd/1) $(readlink /proc/$pid/fd/2); session $sid"
r=$(api GET /)
check jailer_kvm_daemon_answers '[[ "$r" == 200*"\"id\":\"$id\""* ]]' "GET /: $r"
kill -9 "$pid" 2>/dev/null

# --- as Kata Containers starts Firecracker (fc.go): the binary named firecracker, jailed with
# --uid 0 --gid 0 --daemonize -- --config-file, no --api-sock; it finds the API at
# <jail>/run/firecracker.socket, the pid in firecracker.pid, vCPU threads by the name fc_vcpu N ---
mkdir -p "$tmp/bin"
cp "$VMON" "$tmp/bin/firecracker"
v=$("$tmp/bin/firecracker" --version | head -n 1 | cut -d' ' -f2)
v=${v#v}
newer() { # $1 >= $2, both X.Y.Z (busybox's sort has no -C)
	local IFS=. i
	local -a a=($1) b=($2)
	for i in 0 1 2; do
		((a[i] > b[i])) && return 0
		((a[i] < b[i])) && return 1
	done
	return 0
}
check jailer_kvm_firecracker_name_gives_a_version_kata_takes '[[ "$v" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] && newer "$v" 0.21.1' "version word: '$v'"
id=kata-$$
root=$base/firecracker/$id/root
mkdir -p "$root"
cp "$GUEST" "$root/ticker.elf"
echo '{"boot-source": {"kernel_image_path": "/ticker.elf", "boot_args": "ticks=100000"},
 "machine-config": {"vcpu_count": 2, "mem_size_mib": 64, "smt": false}, "drives": []}' >"$root/fcConfig.json"
"$JAILER" --id "$id" --exec-file "$tmp/bin/firecracker" --uid 0 --gid 0 --chroot-base-dir "$base" --daemonize \
	"${nsarg[@]}" -- --config-file /fcConfig.json </dev/null >"$tmp/kata.out" 2>"$tmp/kata.err"
st=$?
wait_for "[ -S '$root/run/firecracker.socket' ] && [ -s '$root/firecracker.pid' ]" 10
pid=$(cat "$root/firecracker.pid" 2>/dev/null)
[ -n "$pid" ] || pid=0
root_api() { # METHOD PATH: through the default socket
	curl -s --max-time 5 --unix-socket "$root/run/firecracker.socket" -X "$1" -o "$tmp/resp" -w '%{http_code}' "http://localhost$2"
	printf ' '
	cat "$tmp/resp" 2>/dev/null
}
r=$(root_api GET /)
wait_for "[ \"\$(cat /proc/$pid/task/*/comm 2>/dev/null | grep -c '^fc_vcpu [01]$')\" = 2 ]" 10
names=$(cat /proc/$pid/task/*/comm 2>/dev/null | sort | tr '\n' ',')
check jailer_kvm_kata_default_socket_and_pid_file '[ "$st" = 0 ] && [[ "$r" == 200*"\"id\":\"$id\""*Running* ]]' "jailer status $st; GET / on run/firecracker.socket: $r"
check jailer_kvm_kata_finds_vcpu_threads_by_name '[[ "$names" == *"fc_vcpu 0,fc_vcpu 1,"* ]]' "threads: $names"
r=$(root_api GET /version)
check jailer_kvm_kata_version_endpoint '[[ "$r" == 200*"\"firecracker_version\":\"$v\""* ]]' "GET /version: $r"
kill -TERM "$pid" 2>/dev/null
wait_for "! kill -0 $pid 2>/dev/null || grep -q '^Z' /proc/$pid/stat 2>/dev/null" 10
check jailer_kvm_kata_sigterm_ends_it '! kill -0 "$pid" 2>/dev/null || awk "{ exit \$3 != \"Z\" }" /proc/$pid/stat' "still running 10 s after SIGTERM: $(cat /proc/$pid/stat 2>/dev/null | cut -d' ' -f1-3)"
[ "$fails" = 0 ]
