#!/bin/bash
# bench/migrate/l1-migrate.sh GUEST ROUNDS MEM_MIB — bench/migrate's part inside the sandbox's L1 (run there by
# tests/sandbox/kvm-tier, which bench/migrate/run drives): live migration of one guest between two monitor
# processes over TCP on L1's loopback, vmon against QEMU, in turns. Prints one line per migration:
#   ROW mon=vmon|qemu kind=idle|busy status=S total_ms=T downtime_ms=D mib=M gap_ms=G period_ms=P last=L first=F
# T, D, M as the monitor reports them (vmon migrate's last line; QEMU's query-migrate total-time, downtime
# and ram.transferred); G: the guest's own view of the downtime, the time from the source's last "tick"
# line to the destination's first (each line stamped by CLOCK_MONOTONIC as it left the monitor: tcpbench
# stamp); P: the median time between ticks before the move (what G is to be read against); L, F: the
# source's last tick and the destination's first (F = L + 1, or L / L + 2 when the pause cut a line).
# The guest: bench/snapshot/touch_ticker.elf, 1 vCPU, MEM_MIB of RAM, 64 MiB written at boot, a tick every
# millisecond; "busy" adds 64 MiB/s of page writes (dirty_mib_s=64). Both monitors get a 300 ms downtime
# limit and no bandwidth limit (QEMU's default is 32 MiB/s: raised to 1 TiB/s).
set -u
G=$1 R=$2 MEM=$3
T=/tmp/migbench
rm -rf "$T" && mkdir -p "$T" && cd "$T" || exit 1
ip link set lo up 2>/dev/null
port=31000
IDLE="touch=64 period_us=1000 ticks=100000"
BUSY="$IDLE dirty_mib_s=64"
QEMU=/usr/bin/qemu-system-x86_64

now_s() { cut -d' ' -f1 /proc/uptime; }
wait_for() { # CONDITION SECS
	local end
	end=$(awk -v a="$(now_s)" -v b="$2" 'BEGIN { print a + b }')
	while ! eval "$1"; do
		awk -v a="$(now_s)" -v b="$end" 'BEGIN { exit !(a > b) }' && return 1
		sleep 0.05
	done
}
ticks() { grep -ao ' tick [0-9]*$' "$1" 2>/dev/null | awk 'END { print $2 + 0 }'; } # FILE: its last tick, or 0
listening() { grep -qE "^ *[0-9]+: [0-9A-F]+:$(printf %04X "$1") [0-9A-F]+:[0-9A-F]+ 0A " /proc/net/tcp; }
api() { # METHOD PATH BODY
	curl -s --max-time 30 --unix-socket src.sock -X "$1" -H 'Content-Type: application/json' -d "$3" \
		-o /dev/null -w '%{http_code}' "http://localhost$2"
}
stop_all() {
	for f in src.pid dst.pid; do [ -s "$f" ] && kill -9 "$(cat "$f")" 2>/dev/null; done
	sleep 0.3
	rm -f src.pid dst.pid
}
# gap: from src.out's last tick to dst.out's first; the median tick period before the move
gap_fields() {
	local ts ls td fs per gap
	read -r ts ls <<EOF
$(awk '/ tick [0-9]+$/ { t = $1; n = $3 } END { print t, n }' src.out)
EOF
	read -r td fs <<EOF
$(awk '/ tick [0-9]+$/ { print $1, $3; exit }' dst.out)
EOF
	per=$(awk '/ tick [0-9]+$/ { if (p != "") printf "%.3f\n", $1 - p; p = $1 }' src.out | sort -n |
		awk '{ d[NR] = $1 } END { print (NR ? d[int((NR + 1) / 2)] : 0) }')
	gap=$(awk -v a="${ts:-0}" -v b="${td:-0}" 'BEGIN { printf "%.1f", b - a }')
	echo "gap_ms=$gap period_ms=$per last=${ls:-?} first=${fs:-?}"
}

vmon_run() { # KIND ARGS
	local kind=$1 args=$2 st line
	port=$((port + 1))
	rm -f src.sock src.out dst.out
	sh -c 'echo $$ >src.pid; exec /bin/vmon -v --api-sock src.sock' </dev/null 2>src.err | tcpbench stamp >src.out &
	wait_for '[ -S src.sock ]' 10
	st="$(api PUT /machine-config '{"vcpu_count":1,"mem_size_mib":'"$MEM"'}') $(api PUT /boot-source '{"kernel_image_path":"'"$G"'","boot_args":"'"$args"'"}') $(api PUT /actions '{"action_type":"InstanceStart"}')"
	if [ "$st" != "204 204 204" ] || ! wait_for '[ "$(ticks src.out)" -ge 100 ]' 120; then
		echo "ROW mon=vmon kind=$kind status=boot-failed api=$st"
		sed 's/^/  src.err: /' src.err | tail -n 5
		stop_all
		return
	fi
	sh -c 'echo $$ >dst.pid; exec /bin/vmon run -v --incoming tcp:127.0.0.1:'$port </dev/null 2>dst.err | tcpbench stamp >dst.out &
	wait_for "listening $port" 10
	/bin/vmon migrate --api-sock src.sock --to "tcp:127.0.0.1:$port" --max-downtime-ms 300 --timeout-s 120 \
		>cli.out 2>cli.err
	st=$?
	wait_for '[ "$(ticks dst.out)" -ge $(($(ticks src.out) + 50)) ]' 30
	stop_all
	line=$(cat cli.out)
	# "migrated to ADDR: T ms in all, D ms of downtime, M MiB sent"
	set -- $(echo "$line" | sed -n 's/.*: \([0-9.]*\) ms in all, \([0-9.]*\) ms of downtime, \([0-9.]*\) MiB sent.*/\1 \2 \3/p')
	echo "ROW mon=vmon kind=$kind status=$st total_ms=${1:-?} downtime_ms=${2:-?} mib=${3:-?} $(gap_fields)"
	[ "$st" = 0 ] || sed 's/^/  vmon migrate: /' cli.err | tail -n 3
	# where vmon's time went (vmon -v): rounds, the downtime's parts, the destination's load
	grep -hE 'migration: (round [0-3] |the downtime|the state|the guest runs)|pre-copy [(]' src.err dst.err | sed 's/^/  vmon: /'
}

qemu_run() { # KIND ARGS
	local kind=$1 args=$2 st q i total down bytes
	port=$((port + 1))
	rm -f src.out dst.out qsrc.qmp qdst.qmp
	set -- -enable-kvm -cpu host -M pc -m "$MEM" -kernel "$G" -append "$args" -serial stdio -display none \
		-nodefaults -no-user-config -device isa-debug-exit,iobase=0xf4,iosize=4
	sh -c 'echo $$ >src.pid; exec "$0" "$@" -qmp unix:qsrc.qmp,server=on,wait=off' "$QEMU" "$@" \
		</dev/null 2>src.err | tcpbench stamp >src.out &
	if ! wait_for '[ "$(ticks src.out)" -ge 100 ]' 120; then
		echo "ROW mon=qemu kind=$kind status=boot-failed"
		sed 's/^/  src.err: /' src.err | tail -n 5
		stop_all
		return
	fi
	sh -c 'echo $$ >dst.pid; exec "$0" "$@"' "$QEMU" "$@" -qmp unix:qdst.qmp,server=on,wait=off \
		-incoming "tcp:127.0.0.1:$port" </dev/null 2>dst.err | tcpbench stamp >dst.out &
	wait_for "listening $port" 20
	tcpbench qmp qsrc.qmp \
		'{"execute":"migrate-set-parameters","arguments":{"downtime-limit":300,"max-bandwidth":1099511627776}}' \
		'{"execute":"migrate","arguments":{"uri":"tcp:127.0.0.1:'$port'"}}' >qmp.out 2>&1
	st=failed
	for i in $(seq 1 2400); do # 120 s
		q=$(tcpbench qmp qsrc.qmp '{"execute":"query-migrate"}' 2>&1)
		case "$q" in
		*'"status": "completed"'*) st=0; break ;;
		*'"status": "failed"'* | *'"status": "cancelled"'*) st=failed; break ;;
		esac
		sleep 0.05
	done
	wait_for '[ "$(ticks dst.out)" -ge $(($(ticks src.out) + 50)) ]' 30
	stop_all
	total=$(echo "$q" | grep -o '"total-time": [0-9]*' | head -n 1 | grep -o '[0-9]*$')
	down=$(echo "$q" | grep -o '"downtime": [0-9]*' | head -n 1 | grep -o '[0-9]*$')
	bytes=$(echo "$q" | sed -n 's/.*"ram": {[^}]*"transferred": \([0-9]*\).*/\1/p')
	echo "ROW mon=qemu kind=$kind status=$st total_ms=${total:-?} downtime_ms=${down:-?}" \
		"mib=$(awk -v b="${bytes:-0}" 'BEGIN { printf "%.1f", b / 1048576 }') $(gap_fields)"
	[ "$st" = 0 ] || echo "  query-migrate: $q; migrate: $(cat qmp.out)"
}

echo "bench/migrate in L1: guest $G, $MEM MiB, 1 vCPU, $R rounds; idle: '$IDLE'; busy: '$BUSY'"
for r in $(seq 1 "$R"); do
	vmon_run idle "$IDLE"
	qemu_run idle "$IDLE"
	vmon_run busy "$BUSY"
	qemu_run busy "$BUSY"
done
echo "bench/migrate in L1: done"
