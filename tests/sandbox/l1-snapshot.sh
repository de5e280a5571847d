# The snapshot scenario's L1 side (sourced by /init as /sandbox/snapshot.sh, after /sandbox/virtio.sh):
# stock Linux under vmon, snapshotted and restored through Firecracker's API with curl.
#   vmon #1  booted through the API socket (2 vCPUs, 256 MiB, track_dirty_pages, a disk: a 32 MiB ext4
#            file system and, after it, 1 MiB L1 writes commands into; a NIC on tap0; "quiet": every
#            console byte is a slow exit here); the guest (guest-init.sh, vmon.test=snapshot) writes a file, then counts on the console;
#            paused, Full snapshot, SIGKILL
#   vmon #2  PUT /snapshot/load (resume_vm, track_dirty_pages): the counting goes on from where it stopped,
#            the file reads back, L1 pings the guest, the guest fetches a file from L1's httpd, the guest's
#            clock; more counts, paused, Diff snapshot
#            (with a copy of the disk image at that point), resumed, the guest powers off on a command L1
#            writes past the file system's end: vmon exits 0, its last file is on the image, e2fsck clean
#   vmon #3  the Diff memory file laid onto a copy of the Full one (vmon snapshot-merge), the disk image of
#            the Diff point put back, PUT /snapshot/load of the Diff state with clock_realtime: the same
#            checks from the later point
# Every check is a line "SANDBOX-CHECK snapshot ok|fail|skip snapshot_NAME detail", its notes follow as
# "L2N|snapshot| text" (not SANDBOX-: a guest console tail quoted there must not look like L1's own
# messages); tests/sandbox/run prints them as a TAP subtest. Then SANDBOX-RUN and SANDBOX-RESULT as for
# the other scenarios. Its waits are bounded by twice the scenario limit (sandbox.timeout) in all; each
# check is progress for tests/sandbox/run's watch on L1.
# The helpers below (snap_*) serve the migrate scenario too (/sandbox/migrate.sh): SNAP_SCN names the
# scenario in the lines they print, SNAP_CHECKS lists its checks, SNAP_VMON_ARGS are vmon's extra options,
# SNAP_IF is L1's interface to the guest.
SNAP_DIR=/tmp/snap
SNAP_MAC=02:00:00:00:00:04
SNAP_SCN=snapshot
SNAP_VMON_ARGS=
SNAP_IF=tap0
# every check, in order: those a failure left unreached are reported as skips at the end
SNAPSHOT_CHECKS="boot_through_api boot_ping_from_l1 full_create full_load full_counting_goes_on full_disk_reads_back
 full_ping_from_l1 full_tcp_from_guest full_guest_clock diff_create full_resume_and_poweroff full_disk_written_fsck_clean
 diff_merge diff_load diff_counting_goes_on diff_disk_reads_back diff_ping_from_l1 diff_tcp_from_guest
 diff_guest_clock_realtime diff_poweroff diff_disk_written_fsck_clean"

snap_ms() { awk '{ printf "%d", $1 * 1000 }' /proc/uptime; }
snap_note() { echo "L2N|$SNAP_SCN| $*"; }
# snap_mark WHAT: a point of the scenario's timeline (printed at its end)
snap_mark() { snap_phases="$snap_phases $1 $(awk -v a="$t0" -v b="$(snap_ms)" 'BEGIN { printf "%.1f", (b - a) / 1000 }')s;"; }
# snap_check ok|fail|skip NAME DETAIL...
snap_check() {
	v=$1 c=$2
	shift 2
	echo "SANDBOX-CHECK $SNAP_SCN $v ${SNAP_SCN}_$c $*"
	snap_done="$snap_done $c "
	[ "$v" = fail ] && snap_failed=$((snap_failed + 1))
	[ "$v" = ok ] && snap_passed=$((snap_passed + 1))
	return 0
}
# snap_ok NAME CONDITION DETAIL: ok when CONDITION (sh code) holds, else fail with diagnostics
snap_ok() {
	if eval "$2"; then snap_check ok "$1" "$3"; else snap_check fail "$1" "$3"; snap_diag; fi
}
snap_alive() { [ -n "$1" ] && [ -r "/proc/$1/stat" ] && ! grep -q '^[0-9]* ([^)]*) Z' "/proc/$1/stat" 2>/dev/null; }
# snap_diag: after a failed check, the current vmon's console and stderr tails; a vmon still running first
# dumps its vCPUs (SIGUSR2) to its stderr
snap_diag() {
	[ -n "$snap_cur" ] || return 0
	eval "p=\$snap_pid$snap_cur"
	if snap_alive "$p"; then
		kill -USR2 "$p" 2>/dev/null && sleep 1.5 && kill -USR2 "$p" 2>/dev/null && sleep 1
		snap_note "vmon #$snap_cur (pid $p) still running; SIGUSR2 sent twice, 1.5 s apart: its vCPU dumps are at the end of its stderr"
	fi
	snap_note "ping from L1 now: $(ping -c 2 -W 2 "$NET_GUEST" 2>&1 | grep -o '[0-9]* packets received'); L1 $(snap_tapstat)"
	snap_note "vmon #$snap_cur console, last lines:"
	tr -d '\r' <"$SNAP_DIR/vmon$snap_cur.out" | tail -n 12 | sed 's/^/    /' | while IFS= read -r l; do snap_note "$l"; done
	snap_note "vmon #$snap_cur stderr, last lines:"
	tail -n 20 "$SNAP_DIR/vmon$snap_cur.err" | sed 's/^/    /' | while IFS= read -r l; do snap_note "$l"; done
}
# snap_wait SECS CONDITION: polls CONDITION until it holds (0) or SECS pass or the scenario's deadline (1)
snap_wait() {
	end=$(($(snap_ms) + $1 * 1000))
	[ "$end" -le "$snap_deadline" ] || end=$snap_deadline
	while :; do
		eval "$2" && return 0
		[ "$(snap_ms)" -lt "$end" ] || return 1
		sleep 0.3
	done
}
# snap_api N METHOD PATH [BODY]: "CODE BODY" of a request to vmon #N's socket
snap_api() {
	if [ -n "${4:-}" ]; then
		curl -s --max-time 60 --unix-socket "$SNAP_DIR/vmon$1.sock" -X "$2" -H 'Content-Type: application/json' \
			-d "$4" -o "$SNAP_DIR/resp" -w '%{http_code}' "http://localhost$3"
	else
		curl -s --max-time 60 --unix-socket "$SNAP_DIR/vmon$1.sock" -X "$2" -o "$SNAP_DIR/resp" \
			-w '%{http_code}' "http://localhost$3"
	fi
	printf ' '
	cat "$SNAP_DIR/resp" 2>/dev/null
	rm -f "$SNAP_DIR/resp"
}
# snap_start N: vmon #N serving the API on $SNAP_DIR/vmonN.sock, console to vmonN.out, stderr to vmonN.err
snap_start() {
	rm -f "$SNAP_DIR/vmon$1.sock"
	/bin/vmon $SNAP_VMON_ARGS --api-sock "$SNAP_DIR/vmon$1.sock" </dev/null >"$SNAP_DIR/vmon$1.out" 2>"$SNAP_DIR/vmon$1.err" &
	eval "snap_pid$1=$!"
	snap_cur=$1
	snap_wait 15 "curl -s -o /dev/null --unix-socket $SNAP_DIR/vmon$1.sock http://localhost/"
}
# snap_stop N: SIGKILL vmon #N (if running) and reap it
snap_stop() {
	eval "p=\$snap_pid$1"
	[ -n "$p" ] || return 0
	kill -9 "$p" 2>/dev/null
	wait "$p" 2>/dev/null
	eval "snap_pid$1="
}
# snap_dump N WHAT: vmon #N's console and stderr into L1's log (L2|snapshot| and L2E|snapshot| lines)
snap_dump() {
	echo "L2|$SNAP_SCN| ===== vmon #$1: $2 ====="
	tr -d '\r' <"$SNAP_DIR/vmon$1.out" | sed "s/^/L2|$SNAP_SCN| /"
	echo "L2E|$SNAP_SCN| ===== vmon #$1: $2 ====="
	sed "s/^/L2E|$SNAP_SCN| /" "$SNAP_DIR/vmon$1.err"
}
snap_nl_end() { [ ! -s "$1" ] || [ "$(tail -c 1 "$1" | wc -l)" = 1 ]; }
# snap_complete FILE: the console without CRs and without an unterminated last line
snap_complete() { if snap_nl_end "$1"; then tr -d '\r' <"$1"; else tr -d '\r' <"$1" | sed '$d'; fi; }
# snap_partial FILE: the console's unterminated last line (a line the pause cut), or nothing
snap_partial() { snap_nl_end "$1" || tail -n 1 "$1" | tr -d '\r'; }
# snap_counts: the "count N" lines of a console on stdin. The guest's KERN_ERR copy of every fifth count
# ("[ T] vmon-diag: snapshot count N") goes out through the kernel's own console write, which can land
# between a tty line's text and its line end ("count 30[ 15.2] vmon-diag: ..."): taken out first.
snap_counts() { sed 's/\[ *[0-9]*\.[0-9]*\] vmon-diag: snapshot count [0-9]*$//' | grep '^count [0-9][0-9]*$'; }
# snap_last N: the last complete "count N" line of vmon #N
snap_last() { snap_complete "$SNAP_DIR/vmon$1.out" | snap_counts | tail -n 1 | cut -d' ' -f2; }
snap_count_ge() { c=$(snap_last "$1"); [ -n "$c" ] && [ "$c" -ge "$2" ]; }
# snap_first_after OLD NEW: the first count vmon #NEW printed, the cut line of vmon #OLD put before its output
snap_first_after() {
	{ snap_partial "$SNAP_DIR/vmon$1.out"; tr -d '\r' <"$SNAP_DIR/vmon$2.out"; } |
		snap_counts | head -n 1 | cut -d' ' -f2
}
# snap_line N MIN: the first "VMON-SNAP count=C date= md5=" line of vmon #N with C >= MIN; sets
# snap_l1_date (L1's clock when it was seen), snap_g_count, snap_g_date, snap_g_md5
snap_line() {
	# whole lines only: the console arrives byte by byte, so the file's last line may still be half written
	l=$(tr -d '\r' <"$SNAP_DIR/vmon$1.out" | grep -E '^VMON-SNAP count=[0-9]+ date=[0-9]+ md5=[0-9a-f]* net=[a-z]+ rx=[0-9]+ tx=[0-9]+ rxirq=[0-9]+$' |
		awk -v m="$2" '{ split($2, a, "="); if (a[2] + 0 >= m) { print; exit } }')
	[ -n "$l" ] || return 1
	snap_l1_date=$(date +%s)
	set -- $l
	snap_g_count=${2#count=} snap_g_date=${3#date=} snap_g_md5=${4#md5=} snap_g_net="$5 $6 $7 $8"
}
# snap_seen N AFTER: notes vmon #N's first VMON-SNAP line with a count above AFTER (snap_line) when it
# has not yet; polled from the restore on, so that L1's clock is read within a poll of the line
snap_seen() { [ -n "$snap_g_date" ] || snap_line "$1" $(($2 + 1)); return 0; }
# snap_seam OLD NEW: when the counting check fails, where the consoles meet: vmon #OLD's last lines (its
# unterminated one in <>) and vmon #NEW's first, for the check's note
snap_seam() {
	[ -n "$snap_first" ] && [ "$snap_first" -ge "$after" ] && [ "$snap_first" -le $((after + 1)) ] && return 0
	printf '; vmon #%s ends: %s<%s>; vmon #%s begins: %s' "$1" \
		"$(snap_complete "$SNAP_DIR/vmon$1.out" | tail -n 3 | tr '\n' '|')" "$(snap_partial "$SNAP_DIR/vmon$1.out")" \
		"$2" "$(tr -d '\r' <"$SNAP_DIR/vmon$2.out" | head -n 4 | tr '\n' '|')"
}
snap_boot_msgs() { tr -d '\r' <"$SNAP_DIR/vmon$1.out" | grep -cE 'Linux version|Run /init|VMON-GUEST-READY'; }
snap_tapstat() { # L1's interface to the guest: $SNAP_IF
	n=/sys/class/net/$SNAP_IF/statistics
	echo "$SNAP_IF rx $(cat $n/rx_packets) tx $(cat $n/tx_packets) tx_dropped $(cat $n/tx_dropped);" \
		"neigh: $(/sbin/ip-full neigh show dev "$SNAP_IF" | tr '\n' ' ')"
}
# snap_ping WHAT CHECK: L1 pings the guest
snap_ping() {
	pings=$(ping -c 3 -W 3 "$NET_GUEST" 2>&1 | grep -o '[0-9]* packets received')
	snap_ok "$1" '[ -n "$pings" ] && [ "${pings%% *}" -gt 0 ]' "L1 -> $NET_GUEST: ${pings:-no answer}; L1 $(snap_tapstat)"
}
# the command area: the disk's last MiB, after the 32 MiB file system (the guest reads it with O_DIRECT)
snap_ctl_clear() { dd if=/dev/zero of="$SNAP_DIR/disk.img" bs=1048576 seek=32 count=1 conv=notrunc 2>/dev/null; }
snap_kib() { du -k "$1" 2>/dev/null | cut -f1; }
snap_mib() { echo $(($(stat -c %s "$1" 2>/dev/null || echo 0) / 1048576)); }

# snap_restored OLD NEW AFTER WHAT: the checks on a restored guest (vmon #NEW, from vmon #OLD's snapshot
# taken after count AFTER): counting, disk, ping (PREFIX_counting_goes_on, _disk_reads_back, _ping_from_l1);
# sets snap_first. Returns 1 when the guest does not count on (the rest cannot be checked).
snap_restored() {
	o=$1 nw=$2 after=${3:-0} pre=$4
	snap_g_count= snap_g_date= snap_g_md5= snap_g_net=
	snap_wait 40 "snap_seen $nw $after; snap_count_ge $nw $((after + 3))"
	reached=$(snap_last "$nw")
	snap_first=$(snap_first_after "$o" "$nw")
	boots=$(snap_boot_msgs "$nw")
	snap_ok "${pre}_counting_goes_on" \
		'[ -n "$snap_first" ] && [ "$snap_first" -ge "$after" ] && [ "$snap_first" -le $((after + 1)) ] && [ "${reached:-0}" -ge $((after + 3)) ] && [ "$boots" = 0 ]' \
		"paused after count $after; first count after the restore ${snap_first:-none}, reached ${reached:-none}; boot messages again: $boots$(snap_seam "$o" "$nw")"
	[ -n "$snap_first" ] && [ "${reached:-0}" -gt "$snap_first" ] || return 1
	snap_wait 40 "snap_seen $nw $after; [ -n \"\$snap_g_date\" ]"
	snap_ok "${pre}_disk_reads_back" '[ -n "$snap_g_md5" ] && [ "$snap_g_md5" = "$snap_want_md5" ]' \
		"guest md5 of snap.bin read from the disk after the restore (count ${snap_g_count:-none}): ${snap_g_md5:-none}, expected $snap_want_md5; its look at L1's httpd: ${snap_g_net:-none}"
	snap_ping "${pre}_ping_from_l1"
	snap_ok "${pre}_tcp_from_guest" 'case "$snap_g_net" in net=ok*) true ;; *) false ;; esac' \
		"the guest's fetch of a file from L1's httpd after the restore (count ${snap_g_count:-none}): ${snap_g_net:-no line}"
	return 0
}
# snap_power_off N WHAT: the command file for the guest, vmon #N must exit 0; then the disk checks
snap_power_off() {
	n=$1 chk=$2 fsck=$3 bye=
	printf poweroff | dd of="$SNAP_DIR/disk.img" bs=1048576 seek=32 conv=notrunc 2>/dev/null
	eval "p=\$snap_pid$n"
	# (sync and umount took ~15 s at a load of 11 on this machine's 2 cores)
	snap_wait 90 "! snap_alive $p"
	if snap_alive "$p"; then
		snap_check fail "$chk" "vmon #$n still running 90 s after the poweroff command was written to the disk; its last VMON-SNAP line: $(tr -d '\r' <"$SNAP_DIR/vmon$n.out" | grep '^VMON-SNAP count=' | tail -n 1)"
		snap_diag
		snap_stop "$n"
		bye=$(tr -d '\r' <"$SNAP_DIR/vmon$n.out" | sed -n 's/^VMON-SNAP-BYE count=\([0-9]*\)$/\1/p' | head -n 1)
	else
		wait "$p"
		st=$?
		eval "snap_pid$n="
		bye=$(tr -d '\r' <"$SNAP_DIR/vmon$n.out" | sed -n 's/^VMON-SNAP-BYE count=\([0-9]*\)$/\1/p' | head -n 1)
		snap_ok "$chk" '[ "$st" = 0 ] && [ -n "$bye" ]' \
			"guest read the command from the disk, unmounted at count ${bye:-none} and powered off; vmon exit status $st"
	fi
	snap_ctl_clear
	got=$(/sbin/debugfs -R "cat /after.txt" "$SNAP_DIR/disk.img" 2>/dev/null)
	/sbin/e2fsck -fn "$SNAP_DIR/disk.img" >"$SNAP_DIR/fsck.txt" 2>&1
	fst=$?
	if [ "$fst" = 0 ] && [ -n "${bye:-}" ] && [ "$got" = "after-$token-$bye" ]; then
		snap_check ok "$fsck" "after.txt on the image: '$got'; e2fsck -fn clean"
	else
		snap_check fail "$fsck" "after.txt on the image: '$got' (expected after-$token-${bye:-?}); e2fsck -fn status $fst"
		sed 's/^/    /' "$SNAP_DIR/fsck.txt" | tail -n 15 | while IFS= read -r l; do snap_note "$l"; done
	fi
}
# snap_clock NAME PAUSE_MS REALTIME BEFORE: the guest's wall clock against L1's when its first VMON-SNAP
# line after the restore was seen (BEFORE: how far it was behind L1 at the snapshot). REALTIME=1 (loaded
# with clock_realtime): the clock moved on by the pause, so it is behind by BEFORE again (within 3 s). Else
# within 3 s of L1, or, when the clock stood still through the pause, behind by no more than the pause + 5 s
# (noted). Sets snap_behind.
snap_clock() {
	pause_s=$((($2 + 999) / 1000))
	if [ -z "$snap_g_date" ]; then
		snap_check fail "$1" "no VMON-SNAP line after the restore"
		return
	fi
	snap_behind=$((snap_l1_date - snap_g_date))
	rel=$((snap_behind - ${4:-0}))
	info="guest date $snap_g_date at count $snap_g_count, L1 $snap_l1_date when seen: behind L1 by $snap_behind s, $rel s more than at the snapshot ($4 s); paused ${pause_s} s (L1 uptime, pause to load)"
	if [ "$3" = 1 ]; then
		if [ "$rel" -ge -2 ] && [ "$rel" -le 3 ]; then
			snap_check ok "$1" "$info"
			[ "$snap_behind" -gt 3 ] && snap_note "note: clock_realtime moved the guest's clock on by the pause; the $4 s it" \
				"was behind at the Diff point are what the Full restore before it left (no clock_realtime there)"
		else
			snap_check fail "$1" "$info (clock_realtime: expected it to move on by the pause)"
			snap_diag
		fi
	elif [ "$snap_behind" -ge -2 ] && [ "$snap_behind" -le 3 ]; then
		snap_check ok "$1" "$info"
	elif [ "$snap_behind" -gt 3 ] && [ "$snap_behind" -le $((pause_s + 5)) ]; then
		snap_check ok "$1" "$info"
		snap_note "note: the guest's wall clock stood still while the VM was paused (kvmclock restored as saved," \
			"clock_realtime not asked for): it is behind L1 by about the paused time"
	else
		snap_check fail "$1" "$info"
		snap_diag
	fi
}
# the checks not reached, as skips
snap_skip_rest() {
	for c in $SNAP_CHECKS; do
		case "$snap_done" in *" $c "*) ;; *) snap_check skip "$c" "not reached: $1" ;; esac
	done
}
snap_file_mem() { # STATE MEM: the two files' sizes as a note
	echo "state $(stat -c %s "$1" 2>/dev/null || echo 0) bytes, memory file $(snap_mib "$2") MiB ($(snap_kib "$2") KiB on disk)"
}

# snap_boot CMDLINE TAP: vmon #1 boots the guest through its API (2 vCPUs, track_dirty_pages, the disk
# $d/disk.img, a NIC on TAP), once more when the first guest died before its /init; waits for a few counts
# and a VMON-SNAP line; the check boot_through_api. 1 (the rest skipped) when the guest does not count.
snap_boot() {
	cmd=$1
	booted=1
	for attempt in 1 2; do
		snap_start 1 || { snap_note "vmon #1: its API socket did not answer within 15 s"; break; }
		{
			echo "machine-config $(snap_api 1 PUT /machine-config '{"vcpu_count":2,"mem_size_mib":'$GUEST_MEM_MIB',"track_dirty_pages":true}')"
			echo "boot-source $(snap_api 1 PUT /boot-source '{"kernel_image_path":"'$GUEST_KERNEL'","initrd_path":"'$GUEST_INITRD'","boot_args":"'"$cmd"'"}')"
			echo "drives $(snap_api 1 PUT /drives/rootfs '{"drive_id":"rootfs","path_on_host":"'$d/disk.img'","is_root_device":false,"is_read_only":false}')"
			# sandbox.snapshot_extra_disk=1 on L1's command line (SBX_L1_APPEND), to debug: one more (unused)
			# disk, so that the NIC is the third PCI device instead of the second
			[ "$(l1_param sandbox.snapshot_extra_disk 0)" = 1 ] &&
				echo "drives $(snap_api 1 PUT /drives/extra '{"drive_id":"extra","path_on_host":"'$d/extra.img'","is_root_device":false,"is_read_only":false}')"
			echo "network-interfaces $(snap_api 1 PUT /network-interfaces/eth0 '{"iface_id":"eth0","host_dev_name":"'$2'","guest_mac":"'$SNAP_MAC'"}')"
			echo "InstanceStart $(snap_api 1 PUT /actions '{"action_type":"InstanceStart"}')"
		} >"$d/steps.txt"
		t_start=$(snap_ms)
		# a few counts and a VMON-SNAP line (the baseline of the clock)
		# (or vmon ended: an early death)
		snap_wait 100 "snap_count_ge 1 7 || ! snap_alive \$snap_pid1"
		snap_count_ge 1 7 && snap_wait 40 "snap_line 1 $(($(snap_last 1) + 1))"
		booted=$?
		[ "$booted" = 0 ] && break
		[ "$attempt" = 1 ] && ! grep -qE 'vmon-diag: /init started|VMON-GUEST-READY' "$d/vmon1.out" || break
		# the guest died or hung before its /init (nested SVM under TCG, docs/sandbox.md): once more
		snap_note "first vmon #1 guest died or hung before /init; a second run (its console is in the log)"
		snap_stop 1
		snap_dump 1 "first boot, died or hung before /init"
		/sbin/mke2fs -q -F -t ext4 -E lazy_itable_init=0,lazy_journal_init=0 -L vmon-snap "$d/disk.img" 32M >/dev/null 2>&1
		snap_ctl_clear
	done
	gmd5=$(tr -d '\r' <"$d/vmon1.out" | sed -n 's/^VMON-FACT snap_md5=//p' | head -n 1)
	gping=$(tr -d '\r' <"$d/vmon1.out" | sed -n 's/^VMON-FACT snap_ping=//p' | head -n 1)
	refused=$(awk '$2 != 204' "$d/steps.txt" 2>/dev/null)
	[ -n "$snap_g_date" ] && snap_off0=$((snap_l1_date - snap_g_date))
	snap_ok boot_through_api \
		'[ -s "$d/steps.txt" ] && [ -z "$refused" ] && [ "$booted" = 0 ] && [ "$gmd5" = "$snap_want_md5" ] && [ "$gping" = ok ] && [ "${snap_g_net%% *}" = net=ok ]' \
		"API: $(tr -s ' \n' ' ;' <"$d/steps.txt" 2>/dev/null) counting: $([ "$booted" = 0 ] && echo yes || echo no); guest md5 ${gmd5:-none}, guest ping ${gping:-none}; first line: ${snap_g_net:-none}"
	if [ "$booted" != 0 ] || [ -n "$refused" ]; then
		snap_stop 1
		snap_dump 1 "boot"
		snap_skip_rest "vmon #1's guest did not boot to its counting"
		return 1
	fi
}

# snap_begin NET_UP: a scenario's start: its clock, its deadline (twice the scenario limit), an empty
# $SNAP_DIR (d) with a fresh disk image and its command area cleared, the network (the command NET_UP)
# with L1's httpd serving snapok. 1 when a part of that failed.
snap_begin() {
	t0=$(snap_ms)
	snap_phases=
	snap_deadline=$((t0 + 2 * timeout_s * 1000))
	rm -rf "$SNAP_DIR"
	mkdir -p "$SNAP_DIR"
	d=$SNAP_DIR
	"$1" && [ -x /usr/bin/curl ] &&
		/sbin/mke2fs -q -F -t ext4 -E lazy_itable_init=0,lazy_journal_init=0 -L vmon-snap "$d/disk.img" 32M >/dev/null 2>&1 ||
		return 1
	echo ok >/tmp/www/snapok
	snap_ctl_clear
}

snapshot_scenario() {
	cmd=$1
	SNAP_SCN=snapshot SNAP_CHECKS=$SNAPSHOT_CHECKS SNAP_VMON_ARGS= SNAP_IF=tap0
	SNAP_OK_TEXT="boot, Full snapshot and restore, Diff snapshot merged and restored"
	snap_failed=0 snap_passed=0 snap_done=" " snap_cur= snap_pid1= snap_pid2= snap_pid3= snap_g_date= snap_l1_date= snap_off0=0 last1= last2=
	# three guests in turn: two scenario limits
	snap_begin make_tap || { result snapshot fail "could not prepare the host side (tap0, curl, mke2fs; see SANDBOX-NOTE lines)"; return; }
	dd if=/dev/zero of="$d/extra.img" bs=1048576 count=1 2>/dev/null
	/sbin/ip-full neigh flush dev tap0 2>/dev/null
	snap_want_md5=$(yes "vmon snapshot $token" | head -c 262144 | md5sum | cut -d' ' -f1)

	# --- vmon #1: boot through the API, count ---
	snap_boot "$cmd" tap0 || { snap_finish; return; }

	snap_mark counting
	snap_ping boot_ping_from_l1

	# --- pause, Full snapshot, SIGKILL ---
	t_pause=$(snap_ms)
	rp=$(snap_api 1 PATCH /vm '{"state":"Paused"}')
	sleep 0.5
	last1=$(snap_last 1)
	tc=$(snap_ms)
	rc=$(snap_api 1 PUT /snapshot/create '{"snapshot_type":"Full","snapshot_path":"'$d/full.state'","mem_file_path":"'$d/full.mem'"}')
	create_ms=$(($(snap_ms) - tc))
	snap_mark full-created
	sleep 0.3
	still=$(snap_last 1)
	snap_stop 1
	snap_ok full_create \
		'[ "$rp" = "204 " ] && [ "$rc" = "204 " ] && [ -s "$d/full.state" ] && [ "$(snap_mib "$d/full.mem")" = "$GUEST_MEM_MIB" ] && [ "$still" = "$last1" ]' \
		"pause: $rp; create: $rc in $create_ms ms; $(snap_file_mem "$d/full.state" "$d/full.mem"); last count $last1 at the pause, $still after the create; vmon #1 SIGKILLed"
	snap_dump 1 "boot, pause, Full snapshot, SIGKILL"
	if [ "$rc" != "204 " ]; then
		snap_skip_rest "no Full snapshot"
		snap_finish
		return
	fi
	# the base for the Diff: a copy of the Full memory file as it was written (sparse)
	cp-gnu --sparse=always "$d/full.mem" "$d/merged.mem" 2>/dev/null || cp "$d/full.mem" "$d/merged.mem"

	# --- vmon #2: load the Full snapshot ---
	snap_start 2 || snap_note "vmon #2: its API socket did not answer within 15 s"
	rl=$(snap_api 2 PUT /snapshot/load '{"snapshot_path":"'$d/full.state'","mem_backend":{"backend_type":"File","backend_path":"'$d/full.mem'"},"resume_vm":true,"track_dirty_pages":true}')
	pause1_ms=$(($(snap_ms) - t_pause))
	snap_mark full-loaded
	snap_ok full_load '[ "$rl" = "204 " ]' "load: $rl; ${pause1_ms} ms from the pause to the resumed clone"
	if [ "$rl" != "204 " ] || ! snap_restored 1 2 "$last1" full; then
		snap_stop 2
		snap_dump 2 "restored from the Full snapshot"
		snap_skip_rest "vmon #2 did not run the restored guest"
		snap_finish
		return
	fi
	snap_clock full_guest_clock "$pause1_ms" 0 "$snap_off0"
	behind_diff=${snap_behind:-0}
	snap_mark full-checked

	# --- more counts, pause, Diff snapshot (and the disk image at that point), resume, power off ---
	snap_wait 20 "snap_count_ge 2 $((snap_first + 10))"
	t_pause2=$(snap_ms)
	rp=$(snap_api 2 PATCH /vm '{"state":"Paused"}')
	sleep 0.5
	last2=$(snap_last 2)
	tc=$(snap_ms)
	rc=$(snap_api 2 PUT /snapshot/create '{"snapshot_type":"Diff","snapshot_path":"'$d/diff.state'","mem_file_path":"'$d/diff.mem'"}')
	create_ms=$(($(snap_ms) - tc))
	snap_mark diff-created
	cp "$d/disk.img" "$d/disk-diff.img"
	full_kib=$(snap_kib "$d/full.mem")
	diff_kib=$(snap_kib "$d/diff.mem")
	sleep 0.3
	still=$(snap_last 2)
	# vmon #2's console as the Diff snapshot saw it: resumed below, it completes a line the pause cut, which
	# the clone then prints the rest of (snap_first_after reads the cut line from this copy, "2p")
	cp "$d/vmon2.out" "$d/vmon2p.out"
	snap_ok diff_create \
		'[ "$rp" = "204 " ] && [ "$rc" = "204 " ] && [ -s "$d/diff.state" ] && [ -n "$diff_kib" ] && [ "$diff_kib" -lt "$full_kib" ] && [ "$still" = "$last2" ]' \
		"pause: $rp; create: $rc in $create_ms ms; $(snap_file_mem "$d/diff.state" "$d/diff.mem") against the Full one's $full_kib KiB; last count $last2 at the pause, $still after the create"
	rr=$(snap_api 2 PATCH /vm '{"state":"Resumed"}')
	[ "$rr" = "204 " ] || snap_note "resume of vmon #2: $rr"
	snap_power_off 2 full_resume_and_poweroff full_disk_written_fsck_clean
	snap_mark vmon2-off
	snap_stop 2
	snap_dump 2 "restored from the Full snapshot, Diff snapshot, resumed, powered off"
	if [ "$rc" != "204 " ]; then
		snap_skip_rest "no Diff snapshot"
		snap_finish
		return
	fi

	# --- vmon #3: the Diff laid onto the Full memory file, loaded with clock_realtime ---
	tm=$(snap_ms)
	/bin/vmon snapshot-merge "$d/merged.mem" "$d/diff.mem" >"$d/merge.out" 2>&1
	mst=$?
	merge_ms=$(($(snap_ms) - tm))
	snap_ok diff_merge '[ "$mst" = 0 ]' "vmon snapshot-merge: status $mst in $merge_ms ms $(tr '\n' ' ' <"$d/merge.out")"
	cp "$d/disk-diff.img" "$d/disk.img"
	snap_ctl_clear
	snap_start 3 || snap_note "vmon #3: its API socket did not answer within 15 s"
	# sandbox.snapshot_realtime=0 on L1's command line (SBX_L1_APPEND): without clock_realtime, to debug
	rt=true
	[ "$(l1_param sandbox.snapshot_realtime 1)" = 0 ] && rt=false && snap_note "clock_realtime false (sandbox.snapshot_realtime=0)"
	rl=$(snap_api 3 PUT /snapshot/load '{"snapshot_path":"'$d/diff.state'","mem_backend":{"backend_type":"File","backend_path":"'$d/merged.mem'"},"resume_vm":true,"clock_realtime":'$rt'}')
	pause2_ms=$(($(snap_ms) - t_pause2))
	snap_mark diff-loaded
	snap_ok diff_load '[ "$rl" = "204 " ]' "load: $rl; ${pause2_ms} ms from the pause to the resumed clone"
	if [ "$rl" != "204 " ] || ! snap_restored 2p 3 "$last2" diff; then
		snap_stop 3
		snap_dump 3 "restored from the Diff snapshot"
		snap_skip_rest "vmon #3 did not run the restored guest"
		snap_finish
		return
	fi
	snap_clock diff_guest_clock_realtime "$pause2_ms" "$([ $rt = true ] && echo 1 || echo 0)" "$behind_diff"
	snap_mark diff-checked
	snap_power_off 3 diff_poweroff diff_disk_written_fsck_clean
	snap_mark vmon3-off
	snap_stop 3
	snap_dump 3 "restored from the Diff snapshot (merged), powered off"
	snap_finish
}

snap_finish() {
	snap_skip_rest "an earlier step failed"
	total=$(($(snap_ms) - t0))
	snap_note "timeline (L1 uptime since the scenario began):$snap_phases end $((total / 1000))s"
	echo "SANDBOX-RUN $SNAP_SCN status=${st:-?} timeout=0 marker_ms=-1 total_ms=$total"
	if [ "$snap_failed" = 0 ] && [ "$snap_passed" -gt 0 ]; then
		result "$SNAP_SCN" ok "$snap_passed checks passed: $SNAP_OK_TEXT"
	else
		result "$SNAP_SCN" fail "$snap_failed check(s) failed, $snap_passed passed (the ${SNAP_SCN}_ lines above)"
	fi
}
