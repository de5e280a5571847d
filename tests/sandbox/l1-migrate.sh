# The migrate scenario's L1 side (sourced by /init as /sandbox/migrate.sh, after /sandbox/snapshot.sh, whose
# snap_* helpers it uses): stock Linux moves live from one vmon to another inside L1.
#   network  a bridge brm holds L1's address (169.254.100.1) and two TAPs: tapm0 for the source, tapm1 for
#            the destination (a TAP is opened by one process at a time)
#   vmon #1  the source, booted through its API: 2 vCPUs, 256 MiB, the disk (as for the snapshot scenario),
#            eth0 on tapm0; the guest (guest-init.sh, vmon.test=snapshot vmon.stream=PORT) counts on its
#            console and reads one TCP connection from L1's `tcpbench stream-serve` (256 KiB/s of a pattern
#            that depends on each byte's offset), checking every byte
#   vmon #2  the destination: PUT /migration/receive (tcp:127.0.0.1, eth0 overridden to tapm1); then PUT
#            /migration/send on vmon #1 (by `vmon migrate`). The source ends with status 0, the counting goes on from where it
#            stopped, the guest's MAC is announced on tapm1 (RARP), the file on the disk reads back, L1 pings
#            the guest and the guest fetches a file from L1; the stream is then ended and the guest reports
#            every byte arrived in order (no reset); the guest writes a file, powers off (status 0); e2fsck.
# Checks are SANDBOX-CHECK migrate lines (tests/sandbox/run prints them as a TAP subtest).
MIG_PORT=4444
MIG_STREAM_PORT=9100
MIG_STREAM_KIBPS=256
MIGRATE_CHECKS="boot_through_api boot_ping_from_l1 stream_started receive_listening send_accepted
 source_ends_status_0 destination_running moved_counting_goes_on moved_disk_reads_back moved_ping_from_l1
 moved_tcp_from_guest mac_announced_on_new_tap stream_whole poweroff disk_written_fsck_clean"

# mig_net_up: the bridge and its two TAPs; L1's address moves from tap0 (the other scenarios' TAP, made
# first for its httpd) to the bridge
mig_net_up() {
	ipf=/sbin/ip-full
	make_tap || return 1
	for m in llc stp bridge; do insmod "/sandbox/modules/$m.ko" 2>/dev/null; done
	[ -e /sys/class/net/brm ] || $ipf link add brm type bridge forward_delay 0 ||
		{ virtio_note "cannot make the bridge brm (bridge.ko)"; return 1; }
	for t in tapm0 tapm1; do
		[ -e "/sys/class/net/$t" ] || $ipf tuntap add dev "$t" mode tap || return 1
		$ipf link set "$t" master brm && $ipf link set "$t" up || return 1
	done
	$ipf addr del "$NET_HOST/24" dev tap0 2>/dev/null
	$ipf addr add "$NET_HOST/24" dev brm 2>/dev/null
	$ipf link set brm up
}
# mig_net_down: the address back on tap0, the bridge and its TAPs gone
mig_net_down() {
	for t in tapm0 tapm1 brm; do /sbin/ip-full link del "$t" 2>/dev/null; done
	/sbin/ip-full addr add "$NET_HOST/24" dev tap0 2>/dev/null
}
# mig_stream_up: L1's end of the stream has a connection (port MIG_STREAM_PORT, ESTABLISHED in /proc/net/tcp)
mig_stream_up() { grep -qE "^ *[0-9]+: [0-9A-F]+:$(printf %04X $MIG_STREAM_PORT) [0-9A-F]+:[0-9A-F]+ 01 " /proc/net/tcp; }

migrate_scenario() {
	cmd="$1 vmon.stream=$MIG_STREAM_PORT"
	SNAP_SCN=migrate SNAP_CHECKS=$MIGRATE_CHECKS SNAP_VMON_ARGS=-v SNAP_IF=brm
	SNAP_OK_TEXT="boot, live migration to a second vmon, the guest and its TCP stream go on, poweroff, fsck"
	snap_failed=0 snap_passed=0 snap_done=" " snap_cur= snap_pid1= snap_pid2= snap_g_date= snap_l1_date= snap_off0=0 st=
	mig_cli_pid=
	# a boot, a migration, a poweroff: two scenario limits
	if ! snap_begin mig_net_up; then
		result migrate fail "could not prepare the host side (bridge, TAPs, curl, mke2fs; see SANDBOX-NOTE lines)"
		mig_net_down
		return
	fi
	snap_want_md5=$(yes "vmon snapshot $token" | head -c 262144 | md5sum | cut -d' ' -f1)
	/bin/tcpbench stream-serve "$NET_HOST" "$MIG_STREAM_PORT" "$MIG_STREAM_KIBPS" "$d/stream.stop" \
		$((2 * timeout_s)) >"$d/stream.out" 2>&1 &
	mig_serve_pid=$!
	/bin/tcpbench sniff tapm1 8035 $((2 * timeout_s)) >"$d/sniff.out" 2>&1 &
	mig_sniff_pid=$!

	# --- vmon #1, the source: boot through the API, count, stream ---
	if ! snap_boot "$cmd" tapm0; then
		mig_finish
		return
	fi
	snap_mark counting
	snap_ping boot_ping_from_l1
	snap_wait 20 mig_stream_up
	snap_ok stream_started mig_stream_up "L1's stream-serve on port $MIG_STREAM_PORT has the guest's connection"

	# --- vmon #2, the destination ---
	snap_start 2 || snap_note "vmon #2: its API socket did not answer within 15 s"
	snap_cur=1
	rr=$(snap_api 2 PUT /migration/receive '{"listen":"tcp:127.0.0.1:'$MIG_PORT'","network_overrides":[{"iface_id":"eth0","host_dev_name":"tapm1"}]}')
	gm=$(snap_api 2 GET /migration)
	snap_ok receive_listening '[ "$rr" = "204 " ] && case "$gm" in 200*listening*) true ;; *) false ;; esac' \
		"receive: $rr; GET /migration: $gm"
	if [ "$rr" != "204 " ]; then
		snap_stop 2
		snap_stop 1
		snap_dump 1 "the source"
		snap_dump 2 "the destination"
		snap_skip_rest "the destination did not listen"
		mig_finish
		return
	fi

	# --- the move ---
	# vmon migrate: PUT /migration/send on the source's API, then GET /migration to the end
	t_send=$(snap_ms)
	/bin/vmon migrate --api-sock "$d/vmon1.sock" --to "tcp:127.0.0.1:$MIG_PORT" --max-downtime-ms 300 \
		--timeout-s 60 >"$d/cli.out" 2>"$d/cli.err" &
	mig_cli_pid=$!
	snap_wait 10 "grep -q 'migration: precopy' $d/cli.err || ! kill -0 $mig_cli_pid 2>/dev/null"
	snap_ok send_accepted "grep -q 'migration: precopy' $d/cli.err" "vmon migrate: $(tr '\n' ';' <"$d/cli.err")"
	snap_mark send
	snap_wait 90 "! snap_alive \$snap_pid1"
	if snap_alive "$snap_pid1"; then
		snap_api 1 GET /migration >"$d/src-migration.txt"
		snap_check fail source_ends_status_0 "the source still runs 90 s after PUT /migration/send; its GET /migration: $(cat "$d/src-migration.txt")"
		snap_diag
		snap_stop 1
	else
		wait "$snap_pid1"
		st=$?
		snap_pid1=
		done_line=$(grep -o 'migration to .*: done in.*' "$d/vmon1.err" | head -n 1)
		snap_wait 10 "! kill -0 $mig_cli_pid 2>/dev/null"
		wait "$mig_cli_pid"
		cst=$?
		snap_ok source_ends_status_0 '[ "$st" = 0 ] && [ -n "$done_line" ] && [ "$cst" = 0 ] && grep -q "^migrated to" "$d/cli.out"' \
			"source exit status $st $(($(snap_ms) - t_send)) ms after the send; it says: ${done_line:-no 'done' line}; vmon migrate status $cst: $(cat "$d/cli.out")"
	fi
	snap_mark moved
	snap_cur=2
	gm=$(snap_api 2 GET /migration)
	gv=$(snap_api 2 GET /)
	snap_ok destination_running 'case "$gm" in 200*completed*) true ;; *) false ;; esac && case "$gv" in 200*Running*) true ;; *) false ;; esac' \
		"destination GET /migration: $gm; GET /: $gv"
	last1=$(snap_last 1)
	snap_dump 1 "the source: boot, then migrated"
	if ! snap_restored 1 2 "$last1" moved; then
		snap_stop 2
		snap_dump 2 "the destination"
		snap_skip_rest "the guest did not run on at the destination"
		mig_finish
		return
	fi
	rarp=$(grep -c "^TCPBENCH sniff in src=$SNAP_MAC dst=ff:ff:ff:ff:ff:ff" "$d/sniff.out")
	snap_ok mac_announced_on_new_tap '[ "$rarp" -gt 0 ]' \
		"RARP frames from $SNAP_MAC into the bridge through tapm1 (the destination's TAP): $rarp; the sniffer on tapm1: $(head -n 3 "$d/sniff.out" | tr '\n' ';')"

	# --- the stream's end: every byte, in order ---
	touch "$d/stream.stop"
	snap_wait 40 "grep -q '^VMON-STREAM TCPBENCH stream-check' $d/vmon2.out && ! kill -0 $mig_serve_pid 2>/dev/null"
	gs=$(tr -d '\r' <"$d/vmon2.out" | sed -n 's/^VMON-STREAM //p' | tr '\n' ' ')
	ls=$(tr '\n' ' ' <"$d/stream.out")
	sent=$(echo "$ls" | sed -n 's/.*stream-serve bytes=\([0-9]*\).*/\1/p')
	got=$(echo "$gs" | sed -n 's/.*stream-check bytes=\([0-9]*\) bad=0 .*/\1/p')
	snap_ok stream_whole '[ -n "$sent" ] && [ "$sent" -gt 0 ] && [ "$got" = "$sent" ]' \
		"L1 sent: ${ls:-nothing}; the guest (reading across the move): ${gs:-nothing}"
	snap_mark stream-checked
	snap_power_off 2 poweroff disk_written_fsck_clean
	snap_mark off
	snap_stop 2
	snap_dump 2 "the destination: the migrated guest, powered off"
	mig_finish
}

mig_finish() {
	snap_stop 1
	snap_stop 2
	kill "$mig_serve_pid" "$mig_sniff_pid" $mig_cli_pid 2>/dev/null
	wait "$mig_serve_pid" "$mig_sniff_pid" $mig_cli_pid 2>/dev/null
	mig_net_down
	snap_finish
}
