# The virtio scenarios' host side in L1 (sourced by /init as /sandbox/virtio.sh): images and a TAP made
# here, vmon's extra arguments, and the checks on what the guest reported and what it left behind.
#   disk     an ext4 image made in L1 is mounted by the guest's own virtio_blk; it writes files, syncs
#            and powers off; L1 finds them with debugfs and e2fsck -fn is clean
#   disk_ro  the same image kind attached read-only: the guest reads a file, a write is refused, the
#            image is unchanged (md5)
#   net      a TAP in L1 (169.254.100.1/24) and the guest's virtio_net (169.254.100.2): ping, and a 1 MiB
#            file fetched over TCP (busybox httpd/wget) has the same md5 on both sides
#   net_vhost the same as net with vhost=on: the queues run in L1's vhost_net (loaded here); vmon must
#            not have fallen back to moving the packets itself
#   rng      /dev/hwrng in the guest is virtio's and yields bytes
#   drive_patch through the API, a 1 MiB placeholder drive (as Kata attaches); once the guest's
#            virtio_blk has it, PATCH /drives path_on_host swaps in a 32 MiB ext4 image: the guest sees
#            the new capacity without a reboot, reads the file on it and writes one; the placeholder is
#            untouched and e2fsck -fn of the image is clean
#   balloon  through the API, a virtio-balloon with statistics: the 512 MiB guest touches and frees
#            400 MiB; PATCH /balloon 256 MiB: the guest's MemTotal drops by it, vmon's RSS by at least
#            200 MiB (the inflated pages released), GET /balloon/statistics has actual_mib 256 and the
#            guest's free_memory; PATCH /balloon 0 gives the memory back to the guest
#   balloon_report  free_page_reporting and deflate_on_oom: the 512 MiB guest touches 300 MiB and frees
#            it, and vmon's RSS falls by at least 200 MiB within 30 s without a request (the guest
#            reported the free pages); then PATCH /balloon 350 MiB, and a 200 MiB allocation in the
#            guest succeeds because the driver deflates under memory pressure
#   pci_off  the guest booted with pci=off (2 vCPUs): vmon puts a disk, a NIC and an rng on virtio-mmio,
#            the guest finds them through the DSDT, no PCI device exists; the disk, net and rng checks
#            above all hold
#   vsock    Firecracker's hybrid vsock (--vsock cid=3,uds=/tmp/v.sock): 50 host-initiated connections
#            at once (CONNECT 5000 on the Unix socket, to the guest's echo server) and 50
#            guest-initiated ones (to CID 2 port 6000: L1's echo server at /tmp/v.sock_6000), 1 MiB
#            each way on each, every byte back as sent, while one host and one guest client die
#            halfway through theirs; the guest's own vsock driver
#            (vmw_vsock_virtio_transport)
#   mmds     through the API, a NIC with Firecracker's metadata service (V2) and a store holding a
#            30000-byte value: the guest (busybox wget and nc) is refused without a token, gets one
#            with PUT /latest/api/token, then reads a string, an object as JSON and the big value
#            (many TCP segments) with the right md5; ping to L1 over the same NIC still works
#   api      the same guest booted through the API socket (curl) with a disk and a NIC
#   limit    through the API, two drives of one image kind: "lim" with Firecracker's rate_limiter
#            (bandwidth 1 MiB per 100 ms: 10 MiB/s) and "free" without; the guest reads 51 MiB from each
#            with O_DIRECT (dd, 1 MiB blocks): the limited read runs at 9 to 11 MiB/s (1 MiB in the bucket at
#            start, 50 MiB refilled: 5 s) and takes more than twice the free one; a NIC whose
#            rx_rate_limiter and tx_rate_limiter are both 50 Mbit/s (625000 bytes per 100 ms): the 1 MiB
#            file over TCP has the same md5; UDP from L1 for 5 s (tcpbench udp-send: a load that does not
#            back off as TCP does) reaches the guest's queue at 45 to 55 Mbit/s, and 32 MiB over TCP from
#            the guest pass the TAP at 45 to 55 Mbit/s (its byte counters, between the first and the last
#            eighth; this guest's own UDP is too slow to fill 50 Mbit/s); after each, PATCH takes that
#            limiter away live and the load runs again: where that free run is under 1.25x the limit (a
#            busy host), the limited run's floor is 70 % of it instead, and a note says the 45 Mbit/s
#            floor went untested. The transmit floor is only noted, not held: the guest's TCP behind
#            the limiter runs at 32 to 50 Mbit/s here (issue #13; kvm_rate_limit holds it to 10 %)
NET_HOST=169.254.100.1
API_AFTER= # run_api_scenario: shell run after InstanceStart (drive_patch, balloon)
NET_GUEST=169.254.100.2

virtio_note() { echo "SANDBOX-NOTE $*"; }
# tap_kbit FILE: from "<uptime> <bytes>" samples of a TAP's counter, the rate in kbit/s between the
# first and the last eighth of what moved (the first bucket's burst and the idle ends left out); 0
# where there are too few samples
tap_kbit() {
	awk 'NR == 1 { b0 = $2 } { t[NR] = $1; b[NR] = $2 - b0 } END {
		cut = b[NR] / 8
		for (i = 1; i <= NR; i++) { if (!s && b[i] >= cut) s = i; if (b[i] <= b[NR] - cut) e = i }
		if (s && e > s && t[e] > t[s]) printf "%d", (b[e] - b[s]) * 8 / (t[e] - t[s]) / 1000; else print 0 }' "$1" 2>/dev/null || echo 0
}
# limit_way DIR WORD WHAT: the limit scenario's 50 Mbit/s limiter of one direction (DIR rx or tx, WORD
# "received" or "sent"), from its TAP samples limited and free; limit_msg says how it went, status 1
# where it failed. The floor is 45 Mbit/s where this host moves at least 1.25x the limit without the
# limiter; where it cannot, 70 % of what it moves free, and a note says the 45 Mbit/s floor went untested.
limit_way() {
	lk=$(tap_kbit "/tmp/limit-$1.tap") fk=$(tap_kbit "/tmp/limit-$1free.tap")
	floor=45000 why="45000 to 55000 pass"
	if [ "$fk" -lt 62500 ]; then
		floor=$((fk * 7 / 10))
		why="$floor to 55000 pass: this host moves only $fk kbit/s without the limiter, too slow to test the 45000 floor"
		virtio_note "limit: the 50 Mbit/s limiter of what the guest $2: its 45 Mbit/s floor not tested, $fk kbit/s without it is under 1.25x the limit"
	fi
	limit_msg="$3 $2 through the 50 Mbit/s limiter: frames at $lk kbit/s on the TAP ($why), then $fk kbit/s once PATCH took the limiter away live"
	# the transmit floor is not held here: a guest's TCP behind it runs at 32 to 50 Mbit/s in this
	# emulated L2 (issue #13; kvm_rate_limit holds it to 10 % with a load that does not back off)
	if [ "$1" = tx ] && [ "$lk" -lt "$floor" ]; then
		virtio_note "limit: TCP sent through the 50 Mbit/s limiter at $lk kbit/s, under its floor $floor (not failed: see issue #13)"
		limit_msg="$limit_msg; under the floor, not failed: issue #13"
		floor=0
	fi
	[ "$lk" -ge "$floor" ] && [ "$lk" -le 55000 ]
}

make_tap() {
	[ -e /sys/class/net/tap0 ] && return 0
	insmod /sandbox/modules/tun.ko 2>/dev/null
	# group nogroup: a jailed vmon (uid/gid 65534, no CAP_NET_ADMIN) may attach to it too
	/sbin/ip-full tuntap add dev tap0 mode tap group 65534 || { virtio_note "ip tuntap add failed"; return 1; }
	/sbin/ip-full addr add "$NET_HOST/24" dev tap0 && /sbin/ip-full link set tap0 up || return 1
	ip link set lo up 2>/dev/null
	mkdir -p /tmp/www
	# not /dev/urandom: it may block while L1's entropy pool is not ready under TCG
	yes "vmon sandbox $token $(date +%s%N)" | head -c 1048576 >/tmp/www/blob
	httpd -p "$NET_HOST:8080" -h /tmp/www || { virtio_note "httpd failed"; return 1; }
}

load_vhost() {
	[ -e /dev/vhost-net ] && return 0
	for m in tun vhost_iotlb vhost tap vhost_net; do
		insmod "/sandbox/modules/$m.ko" 2>/dev/null
	done
	[ -e /dev/vhost-net ] || { virtio_note "no /dev/vhost-net after insmod vhost_net"; return 1; }
}

make_image() { # PATH [SIZE]
	rm -f "$1"
	/sbin/mke2fs -q -F -t ext4 -L vmon-test "$1" "${2:-32M}" || { virtio_note "mke2fs $1 failed"; return 1; }
}

virtio_prepare() {
	API_AFTER=
	JAILED=
	case "$1" in jailer_*) # the same scenario, vmon started by vmon-jailer
		[ -x /bin/vmon-jailer ] || { virtio_note "no /bin/vmon-jailer in this L1"; return 1; }
		JAILED=1
		set -- "${1#jailer_}"
		;;
	esac
	case "$1" in
	disk)
		make_image /tmp/disk.img || return 1
		EXTRA_VMON_ARGS="--disk /tmp/disk.img,id=vmontest"
		;;
	disk_ro)
		make_image /tmp/ro.img || return 1
		echo "read-only-$token" >/tmp/ro-src.txt
		/sbin/debugfs -w -R "write /tmp/ro-src.txt hello.txt" /tmp/ro.img >/dev/null 2>&1 ||
			{ virtio_note "debugfs write failed"; return 1; }
		md5sum /tmp/ro.img | cut -d' ' -f1 >/tmp/ro.md5
		EXTRA_VMON_ARGS="--disk /tmp/ro.img,ro"
		;;
	net)
		make_tap || return 1
		EXTRA_VMON_ARGS="--net tap=tap0,mac=02:00:00:00:00:02"
		;;
	net_vhost)
		make_tap && load_vhost || return 1
		EXTRA_VMON_ARGS="--net tap=tap0,mac=02:00:00:00:00:02,vhost=on"
		;;
	rng)
		EXTRA_VMON_ARGS="--rng"
		;;
	mmds)
		[ -x /usr/bin/curl ] || { virtio_note "no curl in L1"; return 1; }
		make_tap || return 1
		big=$(yes "mmds-$token" | head -c 30000 | tr '\n' '.')
		printf '%s' "$big" | md5sum | cut -d' ' -f1 >/tmp/mmds-big.md5
		printf '{"latest":{"meta-data":{"ami-id":"ami-%s","local-hostname":"vmon-l2"}},"big":"%s"}' \
			"$token" "$big" >/tmp/mmds.json
		API_DEVICES=$(cat <<'DEV'
echo "API $(api PUT /network-interfaces/eth0 '{"iface_id":"eth0","host_dev_name":"tap0","guest_mac":"02:00:00:00:00:02"}') network-interfaces"
echo "API $(api PUT /mmds/config '{"network_interfaces":["eth0"],"version":"V2"}') mmds-config"
echo "API $(api PUT /mmds @/tmp/mmds.json) mmds"
DEV
)
		;;
	vsock)
		rm -f /tmp/v.sock /tmp/v.sock_6000 /tmp/vsock-*.out
		/bin/vsockcheck uds-echo /tmp/v.sock_6000 >/tmp/vsock-echo.out 2>&1 &
		echo $! >/tmp/vsock-echo.pid
		# host-initiated: once the guest listens (a 1-byte probe gets through), 50 at once, then
		# the connection to port 5001 that tells the guest L1 is done
		(
			i=0
			until /bin/vsockcheck uds-send /tmp/v.sock 5000 1 >/tmp/vsock-probe.out 2>&1; do
				i=$((i + 1))
				[ $i -lt 240 ] || exit 0
				sleep 0.5
			done
			k=0
			while [ $k -lt 50 ]; do
				/bin/vsockcheck uds-send /tmp/v.sock 5000 1048576 >/tmp/vsock-host$k.out 2>&1 &
				k=$((k + 1))
			done
			# and one that dies halfway through
			VANISH=1 /bin/vsockcheck uds-send /tmp/v.sock 5000 1048576 >/tmp/vsock-vanish.out 2>&1 &
			wait
			/bin/vsockcheck uds-send /tmp/v.sock 5001 1 >/tmp/vsock-done.out 2>&1
		) &
		EXTRA_VMON_ARGS="--vsock cid=3,uds=/tmp/v.sock"
		;;
	drive_patch)
		rm -f /tmp/ph.img && head -c 1048576 /dev/zero >/tmp/ph.img
		md5sum /tmp/ph.img | cut -d' ' -f1 >/tmp/ph.md5
		make_image /tmp/media.img || return 1
		echo "media-$token" >/tmp/media-src.txt
		/sbin/debugfs -w -R "write /tmp/media-src.txt hello.txt" /tmp/media.img >/dev/null 2>&1 ||
			{ virtio_note "debugfs write failed"; return 1; }
		[ -x /usr/bin/curl ] || { virtio_note "no curl in L1"; return 1; }
		API_DEVICES=$(cat <<'DEV'
echo "API $(api PUT /drives/data '{"drive_id":"data","path_on_host":"/tmp/ph.img","is_root_device":false,"is_read_only":false,"rate_limiter":{}}') drives"
DEV
)
		# after InstanceStart: once the guest reported the placeholder's size, the new file
		API_AFTER=$(cat <<'DEV'
( i=0; while [ $i -lt 600 ] && ! grep -q '^VMON-FACT patch_ready' /tmp/drive_patch.out 2>/dev/null; do sleep 0.1; i=$((i+1)); done
  echo "API $(api PATCH /drives/data '{"drive_id":"data","path_on_host":"/tmp/media.img"}') patch" >>/tmp/api-steps.txt ) &
DEV
)
		;;
	balloon)
		[ -x /usr/bin/curl ] || { virtio_note "no curl in L1"; return 1; }
		GUEST_MEM_MIB=512 # the issue's proof: 512 MiB, 400 touched, 256 taken back
		API_DEVICES=$(cat <<'DEV'
echo "API $(api PUT /balloon '{"amount_mib":0,"deflate_on_oom":false,"stats_polling_interval_s":1}') balloon"
DEV
)
		# after InstanceStart: once the guest dirtied and freed 400 MiB, vmon's RSS; inflate by 256 MiB
		# until the driver reports it all (GET /balloon/statistics), RSS again; deflate to 0
		API_AFTER=$(cat <<'DEV'
( st=/tmp/api-steps.txt
  rss() { awk '/^VmRSS:/ { print $2 }' /proc/$pid/status; }
  stats() { curl -s --unix-socket $sock http://localhost/balloon/statistics; }
  until_actual() { i=0; while [ $i -lt 900 ]; do s=$(stats); case "$s" in *"\"actual_mib\":$1,"* | *"\"actual_mib\":$1}"*) return 0 ;; esac; sleep 0.1; i=$((i+1)); done; return 1; }
  i=0; while [ $i -lt 900 ] && ! grep -q '^VMON-FACT balloon_filled' /tmp/balloon.out 2>/dev/null; do sleep 0.1; i=$((i+1)); done
  echo "RSS filled $(rss)" >>$st
  echo "API $(api PATCH /balloon '{"amount_mib":256}') inflate" >>$st
  until_actual 256 || echo "WAIT inflate timed out" >>$st
  sleep 2.5
  echo "STATS $(stats)" >>$st
  echo "RSS inflated $(rss)" >>$st
  echo "API $(api PATCH /balloon '{"amount_mib":0}') deflate" >>$st
  until_actual 0 || echo "WAIT deflate timed out" >>$st
  echo "STATS $(stats)" >>$st ) &
DEV
)
		;;
	balloon_report)
		[ -x /usr/bin/curl ] || { virtio_note "no curl in L1"; return 1; }
		GUEST_MEM_MIB=512
		API_DEVICES=$(cat <<'DEV'
echo "API $(api PUT /balloon '{"amount_mib":0,"deflate_on_oom":true,"stats_polling_interval_s":0,"free_page_reporting":true}') balloon"
DEV
)
		# after InstanceStart: vmon's peak RSS (VmHWM: the guest frees its 300 MiB at once, and the
		# reporting may begin before a slow L1 reads VmRSS) once the guest touched them, then every second after it freed them
		# (the lowest within 30 s); then inflate to 350 MiB (the guest sees its MemFree fall: with
		# deflate_on_oom its driver leaves MemTotal alone)
		API_AFTER=$(cat <<'DEV'
( st=/tmp/api-steps.txt
  rss() { awk '/^VmRSS:/ { print $2 }' /proc/$pid/status; }
  hwm() { awk '/^VmHWM:/ { print $2 }' /proc/$pid/status; }
  seen() { grep -q "^VMON-FACT $1" /tmp/balloon_report.out 2>/dev/null; }
  i=0; while [ $i -lt 900 ] && ! seen report_filled; do sleep 0.1; i=$((i+1)); done
  echo "RSS filled $(hwm)" >>$st
  i=0; while [ $i -lt 900 ] && ! seen report_freed; do sleep 0.1; i=$((i+1)); done
  full=$(sed -n 's/^RSS filled //p' $st); low=$(rss); i=0
  while [ $i -lt 60 ] && [ $((full - low)) -lt 204800 ]; do
    sleep 0.5; r=$(rss); [ -n "$r" ] && [ "$r" -lt "$low" ] && low=$r; i=$((i+1))
  done
  echo "RSS reported $low after $((i / 2)) s" >>$st
  echo "API $(api PATCH /balloon '{"amount_mib":350}') inflate" >>$st ) &
DEV
)
		;;
	mmio_many)
		# 14 virtio-mmio devices: windows 8-13 sit on ISA pins (3, 6, 7, 10, 11, 13), edge-triggered
		EXTRA_VMON_ARGS=
		for k in 0 1 2 3 4 5 6 7 8 9 10 11; do
			rm -f /tmp/m$k.img && truncate -s 1M /tmp/m$k.img &&
				printf 'mmio-disk-%02d' "$k" | dd of=/tmp/m$k.img conv=notrunc 2>/dev/null || return 1
			EXTRA_VMON_ARGS="$EXTRA_VMON_ARGS --disk /tmp/m$k.img,ro,id=m$k"
		done
		make_tap || return 1
		EXTRA_VMON_ARGS="$EXTRA_VMON_ARGS --net tap=tap0,mac=02:00:00:00:00:06 --rng"
		;;
	pci_off)
		make_image /tmp/disk.img || return 1
		make_tap || return 1
		EXTRA_VMON_ARGS="--disk /tmp/disk.img,id=vmontest --net tap=tap0,mac=02:00:00:00:00:02 --rng"
		;;
	api)
		make_image /tmp/api.img || return 1
		make_tap || return 1
		[ -x /usr/bin/curl ] || { virtio_note "no curl in L1"; return 1; }
		API_DEVICES=$(cat <<'DEV'
echo "API $(api PUT /drives/rootfs '{"drive_id":"rootfs","path_on_host":"/tmp/api.img","is_root_device":false,"is_read_only":false}') drives"
echo "API $(api PUT /network-interfaces/eth0 '{"iface_id":"eth0","host_dev_name":"tap0","guest_mac":"02:00:00:00:00:03"}') network-interfaces"
DEV
)
		;;
	limit)
		make_image /tmp/lim.img 64M && make_image /tmp/free.img 64M || return 1
		make_tap || return 1
		[ -x /usr/bin/curl ] || { virtio_note "no curl in L1"; return 1; }
		API_DEVICES=$(cat <<'DEV'
echo "API $(api PUT /drives/lim '{"drive_id":"lim","path_on_host":"/tmp/lim.img","is_root_device":false,"is_read_only":true,"rate_limiter":{"bandwidth":{"size":1048576,"refill_time":100}}}') drives/lim"
echo "API $(api PUT /drives/free '{"drive_id":"free","path_on_host":"/tmp/free.img","is_root_device":false,"is_read_only":true}') drives/free"
echo "API $(api PUT /network-interfaces/eth0 '{"iface_id":"eth0","host_dev_name":"tap0","guest_mac":"02:00:00:00:00:03","rx_rate_limiter":{"bandwidth":{"size":625000,"refill_time":100}},"tx_rate_limiter":{"bandwidth":{"size":625000,"refill_time":100}}}') network-interfaces"
DEV
)
		# once the guest says rx_ready: UDP at it for 5 s, the receive limiter taken away live (a
		# bucket of size 0 limits nothing), 3 s again; then /tx tells it to send 32 MiB over TCP, the
		# transmit limiter goes, /tx_free for 32 MiB more. The TAP's byte counters (what each limiter
		# charges) are sampled every 0.1 s into /tmp/limit-{rx,rxfree,tx,txfree}.tap, at most 60 s.
		rm -f /tmp/limit-*.txt /tmp/limit-*.tap /tmp/www/tx /tmp/www/tx_free
		API_AFTER=$(cat <<'DEV'
( sample() { f=$1 c=$2 k=0; shift 2; while [ $k -lt 600 ] && ! "$@"; do echo "$(cut -d' ' -f1 /proc/uptime) $(cat /sys/class/net/tap0/statistics/$c)"; sleep 0.1; k=$((k+1)); done >"$f"; }
  said() { grep -q "^VMON-FACT $1=" /tmp/limit.out 2>/dev/null; }
  nolimit() { echo "API $(api PATCH /network-interfaces/eth0 "{\"iface_id\":\"eth0\",\"$1\":{\"bandwidth\":{\"size\":0,\"refill_time\":0}}}") network-interfaces patch $1" >>/tmp/api-steps.txt; }
  i=0; while [ $i -lt 1800 ] && ! said rx_ready; do sleep 0.1; i=$((i+1)); done
  /bin/tcpbench udp-send 169.254.100.2 5003 5 >/tmp/limit-rx.txt 2>&1 & sample /tmp/limit-rx.tap tx_bytes test -s /tmp/limit-rx.txt
  nolimit rx_rate_limiter
  /bin/tcpbench udp-send 169.254.100.2 5003 3 >/tmp/limit-rxfree.txt 2>&1 & sample /tmp/limit-rxfree.tap tx_bytes test -s /tmp/limit-rxfree.txt
  /bin/tcpbench recv 169.254.100.1 5001 60 >/tmp/limit-tx.txt 2>&1 &
  echo go >/tmp/www/tx; sample /tmp/limit-tx.tap rx_bytes said tx_done
  nolimit tx_rate_limiter
  /bin/tcpbench recv 169.254.100.1 5002 60 >/tmp/limit-txfree.txt 2>&1 &
  echo go >/tmp/www/tx_free; sample /tmp/limit-txfree.tap rx_bytes said tx_free_done ) &
DEV
)
		;;
	esac
	return 0
}

# run_api_scenario CMDLINE SBXRUN-OPTIONS...: vmon --api-sock, configured and started with curl.
run_api_scenario() {
	cmdline=$1
	shift
	cat >/tmp/api-run.sh <<SH
#!/bin/sh
sock=/tmp/vmon.sock
rm -f \$sock
up() { cut -d' ' -f1 /proc/uptime; }
t0=\$(up)
/bin/vmon --api-sock \$sock &
pid=\$!
# ready: the socket answers GET / (polled as fast as the shell can)
while ! curl -s -o /dev/null --unix-socket \$sock http://localhost/ 2>/dev/null; do :; done
t_ready=\$(up)
api() { curl -s -o /dev/null -w "%{http_code}" --unix-socket \$sock -X "\$1" "http://localhost\$2" -d "\$3"; }
{
echo "API \$(api PUT /boot-source '{"kernel_image_path":"$GUEST_KERNEL","initrd_path":"$GUEST_INITRD","boot_args":"$cmdline"}') boot-source"
echo "API \$(api PUT /machine-config '{"vcpu_count":2,"mem_size_mib":$GUEST_MEM_MIB}') machine-config"
$API_DEVICES
t_start=\$(up)
echo "API \$(api PUT /actions '{"action_type":"InstanceStart"}') InstanceStart"
} >/tmp/api-steps.txt 2>&1
$API_AFTER
echo "\$t0 \$t_ready \$t_start" >/tmp/api-times.txt
# sbxrun -q's SIGUSR2 (a hang) goes on to vmon, which dumps its vCPUs; wait again after the trap.
trap 'kill -USR2 \$pid' USR2
st=0
while kill -0 \$pid 2>/dev/null; do wait \$pid; st=\$?; done
exit \$st
SH
	chmod +x /tmp/api-run.sh
	/bin/sbxrun -q "$@" -- /tmp/api-run.sh
}

virtio_check() {
	n=$1
	if [ "$timed_out" = 1 ] || [ "$status" != 0 ]; then
		result "$n" fail "monitor exit status $status, timeout $timed_out"
		# how far an API-driven scenario got
		[ -s /tmp/api-steps.txt ] && sed 's/^/SANDBOX-NOTE /' /tmp/api-steps.txt
		return
	fi
	case "$n" in jailer_*)
		j=/tmp/jailer/vmon/sbx-$(echo "$n" | tr _ -)/root
		if [ ! -s "$j/vmon.pid" ] || [ ! -c "$j/dev/kvm" ] || [ "$(stat -c %u:%g "$j/vmon")" != 65534:65534 ]; then
			result "$n" fail "no sign of vmon-jailer's jail in $j: $(ls "$j" 2>&1 | tr '\n' ' ')"
			return
		fi
		;;
	esac
	case "${n#jailer_}" in
	disk)
		got=$(/sbin/debugfs -R "cat /hello.txt" /tmp/disk.img 2>/dev/null)
		want=$(fact "$n" disk_written)
		big_guest=$(fact "$n" big_md5)
		/sbin/debugfs -R "dump /big.bin /tmp/big.bin" /tmp/disk.img >/dev/null 2>&1
		big_host=$(md5sum /tmp/big.bin 2>/dev/null | cut -d' ' -f1)
		if ! /sbin/e2fsck -fn /tmp/disk.img >/tmp/fsck.txt 2>&1; then
			sed 's/^/SANDBOX-NOTE fsck: /' /tmp/fsck.txt
			result "$n" fail "e2fsck -fn found problems"
		elif [ -z "$want" ] || [ "$got" != "$want" ]; then
			result "$n" fail "hello.txt on the image is '$got', the guest wrote '$want'"
		elif [ -z "$big_guest" ] || [ "$big_guest" != "$big_host" ]; then
			result "$n" fail "big.bin md5: guest $big_guest, image $big_host"
		else
			result "$n" ok "files written by the guest found on the image, e2fsck -fn clean"
		fi
		;;
	drive_patch)
		sed 's/^/SANDBOX-NOTE /' /tmp/api-steps.txt
		got=$(/sbin/debugfs -R "cat /after.txt" /tmp/media.img 2>/dev/null)
		if grep -v '^API 204 ' /tmp/api-steps.txt | grep -q . || ! grep -q ' patch$' /tmp/api-steps.txt; then
			result "$n" fail "an API request was refused, or the PATCH was never sent"
		elif [ "$(fact "$n" size_before)" != 2048 ] || [ "$(fact "$n" size_after)" != 65536 ]; then
			result "$n" fail "the guest saw /dev/vda of $(fact "$n" size_before), then $(fact "$n" size_after) sectors (want 2048, then 65536)"
		elif [ "$(fact "$n" media_read)" != "media-$token" ]; then
			result "$n" fail "the guest read '$(fact "$n" media_read)' from the new image"
		elif [ "$got" != "after-$token" ]; then
			result "$n" fail "after.txt on the new image is '$got'"
		elif ! /sbin/e2fsck -fn /tmp/media.img >/tmp/fsck.txt 2>&1; then
			sed 's/^/SANDBOX-NOTE fsck: /' /tmp/fsck.txt
			result "$n" fail "e2fsck -fn found problems on the new image"
		elif [ "$(md5sum /tmp/ph.img | cut -d' ' -f1)" != "$(cat /tmp/ph.md5)" ]; then
			result "$n" fail "the placeholder image changed"
		else
			result "$n" ok "placeholder of 2048 sectors, then 65536 without a reboot; file read from the new image, one written, e2fsck clean, placeholder untouched"
		fi
		;;
	balloon)
		sed 's/^/SANDBOX-NOTE /' /tmp/api-steps.txt
		filled=$(sed -n 's/^RSS filled //p' /tmp/api-steps.txt)
		inflated=$(sed -n 's/^RSS inflated //p' /tmp/api-steps.txt)
		b=$(fact "$n" memtotal_before) i=$(fact "$n" memtotal_inflated) d=$(fact "$n" memtotal_deflated)
		if grep '^API ' /tmp/api-steps.txt | grep -v '^API 204 ' | grep -q . || ! grep -q ' deflate$' /tmp/api-steps.txt; then
			result "$n" fail "an API request was refused, or the deflate was never sent"
		elif grep -q '^WAIT' /tmp/api-steps.txt; then
			result "$n" fail "the driver did not report the balloon's new size (GET /balloon/statistics actual_mib)"
		elif [ "$(fact "$n" balloon_bound)" != 1 ]; then
			result "$n" fail "the guest's virtio_balloon driver did not bind"
		elif [ -z "$i" ] || [ $((b - i)) -lt 256000 ] || [ -z "$d" ] || [ $((b - d)) -gt 8000 ]; then
			result "$n" fail "guest MemTotal $b KiB, $i inflated, $d deflated (want 256 MiB less, then back)"
		elif [ "$(fact "$n" balloon_filled)" != 400 ]; then
			result "$n" fail "the 512 MiB guest could not touch 400 MiB ($(fact "$n" balloon_filled) MiB)"
		elif [ -z "$filled" ] || [ -z "$inflated" ] || [ $((filled - inflated)) -lt 204800 ]; then
			result "$n" fail "vmon's RSS $filled KiB before the inflate, $inflated after: less than 200 MiB given back"
		elif ! grep '^STATS ' /tmp/api-steps.txt | head -n 1 | grep -q '"free_memory":'; then
			result "$n" fail "no free_memory in the balloon statistics"
		else
			result "$n" ok "512 MiB guest touched 400 MiB; inflate by 256 MiB: guest MemTotal $b -> $i KiB, vmon RSS $filled -> $inflated KiB ($(((filled - inflated) / 1024)) MiB back, >= 200 wanted); deflate: MemTotal $d KiB; statistics with free_memory"
		fi
		;;
	mmio_many)
		want="mmio-disk-00 mmio-disk-01 mmio-disk-02 mmio-disk-03 mmio-disk-04 mmio-disk-05 mmio-disk-06 mmio-disk-07 mmio-disk-08 mmio-disk-09 mmio-disk-10 mmio-disk-11"
		if [ "$(fact "$n" mmio_devices)" != 14 ]; then
			result "$n" fail "the guest bound $(fact "$n" mmio_devices) virtio-mmio devices, not 14"
		elif [ "$(fact "$n" disk_tokens)" != "$want" ]; then
			result "$n" fail "the 12 disks read back '$(fact "$n" disk_tokens)'"
		elif [ "$(fact "$n" ping)" != ok ]; then result "$n" fail "the NIC (window 12, on an ISA pin) could not ping $NET_HOST"
		elif [ "$(fact "$n" hwrng_bytes)" != 64 ]; then
			result "$n" fail "the rng (window 13, on an ISA pin) gave '$(fact "$n" hwrng_bytes)' bytes"
		else
			result "$n" ok "14 virtio-mmio devices with pci=off (6 on ISA pins, edge-triggered): each of 12 disks read back its token, ping, 64 bytes of $(fact "$n" rng_current); interrupt lines $(fact "$n" mmio_irq_lines)"
		fi
		;;
	balloon_report)
		sed 's/^/SANDBOX-NOTE /' /tmp/api-steps.txt
		filled=$(sed -n 's/^RSS filled //p' /tmp/api-steps.txt)
		low=$(sed -n 's/^RSS reported \([0-9]*\) .*/\1/p' /tmp/api-steps.txt)
		if grep '^API ' /tmp/api-steps.txt | grep -v '^API 204 ' | grep -q . || ! grep -q ' inflate$' /tmp/api-steps.txt; then
			result "$n" fail "an API request was refused, or the inflate was never sent"
		elif [ "$(fact "$n" balloon_bound)" != 1 ]; then
			result "$n" fail "the guest's virtio_balloon driver did not bind"
		elif [ "$(fact "$n" report_filled)" != 300 ]; then
			result "$n" fail "the guest could not touch 300 MiB ($(fact "$n" report_filled) MiB)"
		elif [ -z "$filled" ] || [ -z "$low" ] || [ $((filled - low)) -lt 204800 ]; then
			result "$n" fail "vmon's RSS $filled KiB with 300 MiB touched, lowest $low KiB within 30 s of the guest freeing it: less than 200 MiB came back through free page reporting"
		elif [ -z "$(fact "$n" oom_inflated)" ]; then
			result "$n" fail "the guest never saw the 350 MiB inflate (MemFree $(fact "$n" memfree_before) KiB before it, $(fact "$n" memfree_end) KiB at the end of its wait)"
		elif [ "$(fact "$n" oom_alloc)" != 200 ]; then
			result "$n" fail "with the balloon at 350 MiB of 512 (MemFree $(fact "$n" oom_inflated) KiB), a 200 MiB allocation got $(fact "$n" oom_alloc) MiB: deflate_on_oom did not give memory back"
		else
			result "$n" ok "free page reporting: vmon RSS $filled -> $low KiB ($(((filled - low) / 1024)) MiB back, >= 200 wanted) after the guest freed 300 MiB; deflate_on_oom: balloon at 350 MiB (guest MemFree $(fact "$n" oom_inflated) KiB), a 200 MiB allocation succeeded (MemFree then $(fact "$n" oom_after) KiB)"
		fi
		;;
	pci_off)
		got=$(/sbin/debugfs -R "cat /hello.txt" /tmp/disk.img 2>/dev/null)
		big_host=$(/sbin/debugfs -R "dump /big.bin /tmp/big.bin" /tmp/disk.img >/dev/null 2>&1 &&
			md5sum /tmp/big.bin | cut -d' ' -f1)
		want=$(md5sum /tmp/www/blob | cut -d' ' -f1)
		if [ "$(fact "$n" pci_devices)" != 0 ]; then
			result "$n" fail "the guest sees $(fact "$n" pci_devices) PCI devices with pci=off"
		elif [ "$(fact "$n" mmio_devices)" != 3 ]; then
			result "$n" fail "the guest bound $(fact "$n" mmio_devices) virtio-mmio devices, not 3"
		elif ! /sbin/e2fsck -fn /tmp/disk.img >/tmp/fsck.txt 2>&1; then
			sed 's/^/SANDBOX-NOTE fsck: /' /tmp/fsck.txt
			result "$n" fail "e2fsck -fn found problems"
		elif [ "$got" != "$(fact "$n" disk_written)" ] || [ -z "$got" ]; then
			result "$n" fail "hello.txt on the image is '$got', the guest wrote '$(fact "$n" disk_written)'"
		elif [ "$(fact "$n" big_md5)" != "$big_host" ]; then
			result "$n" fail "big.bin md5: guest $(fact "$n" big_md5), image $big_host"
		elif [ "$(fact "$n" ping)" != ok ]; then result "$n" fail "guest could not ping $NET_HOST"
		elif [ "$(fact "$n" blob_md5)" != "$want" ]; then
			result "$n" fail "fetched file md5 $(fact "$n" blob_md5), host has $want"
		elif [ "$(fact "$n" hwrng_bytes)" != 64 ]; then
			result "$n" fail "/dev/hwrng ($(fact "$n" rng_current)) gave '$(fact "$n" hwrng_bytes)' bytes"
		else
			result "$n" ok "no PCI; 3 virtio-mmio devices ($(fact "$n" mmio_irqs) interrupt lines): disk files on the image, e2fsck clean, ping, 1 MiB over TCP, 64 bytes of $(fact "$n" rng_current)"
		fi
		;;
	disk_ro)
		if [ "$(fact "$n" ro_flag)" != 1 ]; then result "$n" fail "guest's /sys/block/vda/ro is not 1"
		elif [ "$(fact "$n" ro_read)" != "read-only-$token" ]; then
			result "$n" fail "guest read '$(fact "$n" ro_read)' from hello.txt"
		elif [ "$(fact "$n" ro_write)" != refused ]; then result "$n" fail "a write to /dev/vda was not refused"
		elif [ "$(md5sum /tmp/ro.img | cut -d' ' -f1)" != "$(cat /tmp/ro.md5)" ]; then
			result "$n" fail "the read-only image changed"
		else
			result "$n" ok "read works, writes refused, image unchanged"
		fi
		;;
	net|net_vhost)
		want=$(md5sum /tmp/www/blob | cut -d' ' -f1)
		if [ "$n" = net_vhost ] && grep -q 'vhost-net' "/tmp/$n.out.err"; then
			sed 's/^/SANDBOX-NOTE vmon: /' "/tmp/$n.out.err"
			result "$n" fail "vmon did not run the queues in vhost-net (see its stderr)"
		elif [ "$(fact "$n" ping)" != ok ]; then result "$n" fail "guest could not ping $NET_HOST"
		elif [ "$(fact "$n" blob_md5)" != "$want" ]; then
			result "$n" fail "fetched file md5 $(fact "$n" blob_md5), host has $want"
		else
			via=""
			[ "$n" = net_vhost ] && via=", queues in vhost-net"
			result "$n" ok "ping ok, 1 MiB over TCP with matching md5$via"
		fi
		;;
	mmds)
		want_big=$(cat /tmp/mmds-big.md5)
		bad=
		grep -q '^API 204 mmds$' /tmp/api-steps.txt || bad="PUT /mmds: $(grep mmds /tmp/api-steps.txt | tr '\n' ' ')"
		[ -z "$bad" ] && [ "$(fact "$n" mmds_no_token)" != refused ] && bad="a GET without a token was answered"
		[ -z "$bad" ] && [ "$(fact "$n" mmds_token_len)" != 44 ] && bad="token of $(fact "$n" mmds_token_len) characters"
		[ -z "$bad" ] && [ "$(fact "$n" mmds_ami)" != "ami-$token" ] && bad="ami-id read as '$(fact "$n" mmds_ami)'"
		[ -z "$bad" ] && ! fact "$n" mmds_json | grep -qF "\"local-hostname\":\"vmon-l2\"" &&
			bad="meta-data as JSON: '$(fact "$n" mmds_json)'"
		[ -z "$bad" ] && [ "$(fact "$n" mmds_big_md5)" != "$want_big" ] &&
			bad="30000-byte value md5 $(fact "$n" mmds_big_md5), host has $want_big"
		[ -z "$bad" ] && [ "$(fact "$n" ping)" != ok ] && bad="guest could not ping $NET_HOST"
		if [ -n "$bad" ]; then
			result "$n" fail "$bad"
		else
			result "$n" ok "V2 token (44 chars), ami-id, meta-data as JSON and a 30000-byte value (md5 right) over the guest's TCP; ping ok"
		fi
		;;
	vsock)
		kill "$(cat /tmp/vsock-echo.pid)" 2>/dev/null
		hok=$(cat /tmp/vsock-host*.out 2>/dev/null | grep -c '^VSOCKCHECK ok')
		gok=$(fact "$n" vsock_guest_ok)
		for f in /tmp/vsock-probe.out /tmp/vsock-host*.out /tmp/vsock-done.out; do
			[ -f "$f" ] && sed "s|^|SANDBOX-NOTE $(basename "$f"): |" "$f" | grep -v ' ok bytes=' | head -n 3
		done
		if [ "$(fact "$n" vsock_modules)" != ok ]; then
			result "$n" fail "the guest's vsock modules did not load"
		elif ! grep -q '^VSOCKCHECK vanished' /tmp/vsock-vanish.out 2>/dev/null ||
			[ "$(fact "$n" vsock_guest_vanished)" != 1 ]; then
			result "$n" fail "a client that should have died mid-stream did not (host: $(cat /tmp/vsock-vanish.out 2>/dev/null); guest: $(fact "$n" vsock_guest_vanished))"
		elif [ "$hok" != 50 ]; then
			result "$n" fail "$hok of 50 host-initiated connections echoed every byte (see SANDBOX-NOTE lines)"
		elif [ "$gok" != 50 ]; then
			result "$n" fail "${gok:-no} of 50 guest-initiated connections echoed every byte: $(fact "$n" vsock_guest_bad)"
		else
			result "$n" ok "50 host-initiated (CONNECT/OK on the Unix socket) and 50 guest-initiated connections at once, 1 MiB each way, every byte back, while a host and a guest client died mid-stream"
		fi
		;;
	rng)
		b=$(fact "$n" hwrng_bytes); c=$(fact "$n" rng_current)
		case "$c" in
		virtio*) if [ "$b" = 64 ]; then result "$n" ok "/dev/hwrng ($c) gave 64 bytes"
			 else result "$n" fail "/dev/hwrng gave '$b' bytes"; fi ;;
		*) result "$n" fail "rng_current is '$c'" ;;
		esac
		;;
	api)
		sed 's/^/SANDBOX-NOTE /' /tmp/api-steps.txt
		if grep -v '^API 204 ' /tmp/api-steps.txt | grep -q .; then
			result "$n" fail "an API request was refused"
		elif [ "$(fact "$n" api_disk)" != ok ] || [ "$(fact "$n" ping)" != ok ]; then
			result "$n" fail "guest: disk $(fact "$n" api_disk), ping $(fact "$n" ping)"
		else
			# seconds of L1 uptime (10 ms resolution): launch, socket answering, InstanceStart
			set -- $(cat /tmp/api-times.txt 2>/dev/null)
			ready_ms=$(awk -v a="$1" -v b="$2" 'BEGIN { printf "%d", (b - a) * 1000 }')
			start_ms=$(awk -v a="$1" -v c="$3" -v m="$marker_ms" 'BEGIN { printf "%d", m - (c - a) * 1000 }')
			result "$n" ok "booted through the API with a disk and a NIC; socket answered GET / ${ready_ms} ms after launch, marker ${start_ms} ms after InstanceStart (L1 clock, 10 ms steps)"
		fi
		;;
	limit)
		sed 's/^/SANDBOX-NOTE /' /tmp/api-steps.txt
		lim=$(fact "$n" read_ms_vda); free=$(fact "$n" read_ms_vdb)
		want=$(md5sum /tmp/www/blob | cut -d' ' -f1)
		# what L1's UDP sender said (rx); what L1's TCP receiver got (tx)
		rx_said=$(cat /tmp/limit-rx.txt /tmp/limit-rxfree.txt 2>/dev/null | tr '\n' ' ')
		tx_got="$(head -n 1 /tmp/limit-tx.txt 2>/dev/null) / $(head -n 1 /tmp/limit-txfree.txt 2>/dev/null)"
		whole='TCPBENCH recv bytes=33554432 *'
		if grep -v '^API 204 ' /tmp/api-steps.txt | grep -q .; then
			result "$n" fail "an API request was refused"
		elif [ -z "$lim" ] || [ -z "$free" ]; then
			result "$n" fail "the guest did not read both drives (vda: '$lim' ms, vdb: '$free' ms)"
		elif [ "$lim" -le $((free * 2)) ]; then
			result "$n" fail "limited drive $lim ms, free drive $free ms: the free one is too slow here to tell"
		elif [ "$lim" -lt 4636 ] || [ "$lim" -gt 5667 ]; then
			# 10 MiB/s (1 MiB per 100 ms), the bucket full at start: 51 MiB in 5000 ms; 9 to 11 MiB/s
			# is 5667 ms to 4636 ms
			result "$n" fail "51 MiB from the limited drive in $lim ms: $(awk -v t="$lim" 'BEGIN { printf "%.2f", 51000 / t }') MiB/s, not within 10 % of its 10 MiB/s bucket (4636 ms to 5667 ms; the free drive took $free ms; a host this busy may be the cause)"
		elif [ "$(fact "$n" blob_md5)" != "$want" ]; then
			result "$n" fail "the 1 MiB file over the rate-limited NIC: md5 '$(fact "$n" blob_md5)', host has $want"
		elif [ "$(grep -c '^TCPBENCH udp-send datagrams=' /tmp/limit-rx.txt /tmp/limit-rxfree.txt 2>/dev/null | grep -c ':1$')" != 2 ]; then
			result "$n" fail "L1's UDP sender to the guest, limited then free: '$rx_said'"
		elif case "$tx_got" in $whole" / "$whole) false ;; esac; then
			result "$n" fail "32 MiB over TCP from the guest, limited then free: L1 received '$tx_got', the guest said '$(fact "$n" tx_send) / $(fact "$n" tx_free_send)'"
		elif ! limit_way rx received 'UDP for 5 s (3 s free)'; then
			result "$n" fail "$limit_msg"
		elif rx_msg=$limit_msg && ! limit_way tx sent '32 MiB over TCP'; then
			result "$n" fail "$limit_msg"
		else
			result "$n" ok "51 MiB read in $lim ms through the 10 MiB/s rate limiter: $(awk -v t="$lim" 'BEGIN { printf "%.2f", 51000 / t }') MiB/s (9 to 11 pass), in $free ms from the drive without one; the 1 MiB file over the limited NIC with its md5; $rx_msg; $limit_msg"
		fi
		;;
	esac
}
