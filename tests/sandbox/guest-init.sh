#!/bin/sh
# /init of the L2 guest initramfs (busybox): the stock Linux guest that vmon (or QEMU, as a peer) boots
# inside the sandbox. Prints VMON-GUEST-READY, then the facts the scenarios check as "VMON-FACT key=value"
# lines, then does what the scenario named by vmon.test= on the kernel command line asks.
# "vmon-diag:" lines go to /dev/kmsg, i.e. out through the kernel's polled console, so they show up even when
# the tty's interrupt-driven output path (what /init's echo uses) is broken in the monitor.
export PATH=/bin:/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
diag() { echo "vmon-diag: $*" >/dev/kmsg 2>/dev/null; }
# The serial port's state as the kernel sees it (tx/rx counts, modem lines), its interrupt line and count.
diag_irqs() {
	{ grep -E '^ *0:' /proc/tty/driver/serial; head -n 40 /proc/interrupts; ls -l /proc/self/fd/0 /proc/self/fd/1; } 2>&1 |
		tr -s ' ' | while read -r l; do diag "$l"; done
}
diag "/init started"
echo "VMON-GUEST-READY uptime=$(cut -d' ' -f1 /proc/uptime)"
# vmon.boot_timer: signal Firecracker's boot timer (the byte 123 to port 0x3f0), as its test init does
case " $(cat /proc/cmdline) " in
*" vmon.boot_timer "*) /bin/tcpbench outb 0x3f0 123 || diag "tcpbench outb 0x3f0 123 failed" ;;
esac

test=none
for word in $(cat /proc/cmdline); do
	case "$word" in
	vmon.test=*) test="${word#vmon.test=}" ;;
	esac
done

fact() { echo "VMON-FACT $1=$2"; }
diag "test=$test"
fact test "$test"
fact cmdline "$(cat /proc/cmdline)"
fact nproc "$(nproc)"
fact cpuinfo "$(grep -c '^processor' /proc/cpuinfo)"
fact date "$(date +%s)"
fact initrd_token "$(cat /etc/vmon-initrd-token 2>/dev/null || echo missing)"
fact memtotal_kb "$(awk '/^MemTotal:/ { print $2 }' /proc/meminfo)"
fact cpuflags "$(sed -n "s/^flags[[:space:]]*: //p" /proc/cpuinfo | head -n1)"
fact cpufms "$(sed -n "s/^cpu family[[:space:]]*: //p" /proc/cpuinfo | head -n1)/$(sed -n "s/^model[[:space:]]*: //p" /proc/cpuinfo | head -n1)/$(sed -n "s/^stepping[[:space:]]*: //p" /proc/cpuinfo | head -n1)"
# Booted with initcall_debug (tests/sandbox/run --guest-arg initcall_debug): the 15 slowest initcalls.
case " $(cat /proc/cmdline) " in
*" initcall_debug "*)
	dmesg | sed -n 's/.*initcall \([^ ]*\) returned [-0-9]* after \([0-9]*\) usecs.*/\2 \1/p' | sort -rn |
		head -n 15 | while read -r us fn; do fact initcall "$fn ${us}us"; done
	;;
esac

# The kernel's virtio drivers, in dependency order.
load_virtio() {
	for m in failover net_failover virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev \
	         virtio_pci virtio_mmio virtio_blk virtio_net virtio_console virtio-rng virtio_balloon; do
		insmod "/lib/modules/$m.ko" 2>/dev/null || diag "insmod $m failed"
	done
	i=0
	while [ $i -lt 30 ] && ! ls /sys/bus/virtio/drivers/*/virtio* >/dev/null 2>&1; do sleep 0.1; i=$((i+1)); done
}

# The balloon scenarios' start: bind the driver, note MemTotal (in $before), then touch $2 MiB in a
# tmpfs of $1 MiB at /fill and free it (so that the host has memory to take back); fact $3 says how
# many MiB were touched, once they are free again
mt() { awk '/^MemTotal:/ { print $2 }' /proc/meminfo; }
mf() { awk '/^MemFree:/ { print $2 }' /proc/meminfo; }
balloon_fill() {
	load_virtio
	fact balloon_bound "$(ls /sys/bus/virtio/drivers/virtio_balloon 2>/dev/null | grep -c '^virtio')"
	before=$(mt)
	fact memtotal_before "$before"
	mkdir -p /fill && mount -t tmpfs -o size="$1"m tmpfs /fill
	dd if=/dev/zero of=/fill/f bs=1048576 count="$2" 2>/dev/null
	got=$(($(stat -c %s /fill/f 2>/dev/null || echo 0) / 1048576))
	rm -f /fill/f
	fact "$3" "$got"
}

net_up() {
	ip link set eth0 up && ip addr add 169.254.100.2/24 dev eth0 || return 1
	ping -c 3 -W 3 169.254.100.1 >/dev/null 2>&1 && fact ping ok || fact ping failed
}
# net_counters: eth0's packets and bytes (tx, rx), the virtio interrupts taken, the CPU's busy and idle ticks,
# TCP segments retransmitted, then the driver's transmit and receive kicks (ethtool -S) and the interrupts of
# its receive and transmit queues
net_counters() {
	d=/sys/class/net/eth0/statistics
	echo "$(cat $d/tx_packets) $(cat $d/tx_bytes) $(cat $d/rx_packets) $(cat $d/rx_bytes)" \
		"$(awk '/virtio/ { for (i = 2; i <= NF; i++) if ($i ~ /^[0-9]+$/) s += $i } END { print s + 0 }' /proc/interrupts)" \
		"$(awk '/^cpu / { print $2 + $3 + $4 + $7 + $8, $5 }' /proc/stat)" \
		"$(awk '/^Tcp:/ { n++; if (n == 1) for (i = 1; i <= NF; i++) c[$i] = i; else print $c["RetransSegs"] }' /proc/net/snmp)" \
		"$(/bin/tcpbench nicstats eth0 2>/dev/null | tr ' ' '\n' | awk -F= '
			$1 ~ /^tx(_queue_)?[0-9]+_kicks$/ { t += $2 } $1 ~ /^rx(_queue_)?[0-9]+_kicks$/ { r += $2 }
			END { print t + 0, r + 0 }')" \
		"$(awk '/virtio.*-input/ { for (i = 2; i <= NF; i++) if ($i ~ /^[0-9]+$/) r += $i }
			/virtio.*-output/ { for (i = 2; i <= NF; i++) if ($i ~ /^[0-9]+$/) t += $i } END { print r + 0, t + 0 }' /proc/interrupts)"
}
# counters_delta BEFORE AFTER: what moved, as key=value (the netbench facts g2h_counters and h2g_counters)
counters_delta() {
	echo "$1 $2" | awk '{ split("tx_pkts tx_bytes rx_pkts rx_bytes irqs busy_ticks idle_ticks tcp_retrans tx_kicks rx_kicks rx_irqs tx_irqs", k, " ")
		for (i = 1; i <= 12; i++) printf "%s=%d ", k[i], $(i + 12) - $i }'
}
token_of() {
	for word in $(cat /proc/cmdline); do case "$word" in vmon.token=*) echo "${word#vmon.token=}" ;; esac; done
}

# disk_write: on the ext4 /dev/vda, hello.txt with the token and 4 MiB of big.bin (its md5 a fact)
disk_write() {
	mkdir -p /mnt && mount -t ext4 /dev/vda /mnt || diag "mount /dev/vda failed"
	echo "written-$(token_of)" >/mnt/hello.txt
	yes "vmon disk $(token_of) $(date +%s)" | head -c 4194304 >/mnt/big.bin
	fact big_md5 "$(md5sum /mnt/big.bin | cut -d' ' -f1)"
	sync
	umount /mnt && fact disk_written "$(echo "written-$(token_of)")"
}

case "$test" in
disk)
	load_virtio
	disk_write
	poweroff -f
	;;
drive_patch)
	# a placeholder disk that the host replaces while the guest runs (PATCH /drives path_on_host)
	load_virtio
	before=$(cat /sys/block/vda/size 2>/dev/null)
	fact size_before "$before"
	fact patch_ready 1
	i=0
	while [ $i -lt 600 ] && [ "$(cat /sys/block/vda/size 2>/dev/null)" = "$before" ]; do sleep 0.1; i=$((i+1)); done
	fact size_after "$(cat /sys/block/vda/size 2>/dev/null)"
	mkdir -p /mnt && mount -t ext4 /dev/vda /mnt || diag "mount /dev/vda failed"
	fact media_read "$(cat /mnt/hello.txt 2>/dev/null)"
	echo "after-$(token_of)" >/mnt/after.txt
	sync
	umount /mnt
	poweroff -f
	;;
balloon)
	# the host inflates the balloon by 256 MiB, then deflates it (PATCH /balloon): the guest's MemTotal
	# drops and comes back (no deflate_on_oom). First this 512 MiB guest touches 400 MiB (a tmpfs file)
	# and frees it, so that the host has memory to take back
	balloon_fill 420 400 balloon_filled
	i=0
	while [ $i -lt 900 ] && [ "$(mt)" -gt $((before - 256000)) ]; do sleep 0.1; i=$((i+1)); done
	fact memtotal_inflated "$(mt)"
	i=0
	while [ $i -lt 900 ] && [ "$(mt)" -lt $((before - 8000)) ]; do sleep 0.1; i=$((i+1)); done
	fact memtotal_deflated "$(mt)"
	poweroff -f
	;;
balloon_report)
	# free page reporting: touch 300 MiB, free it, and wait while the host watches its RSS fall; then
	# the host inflates to 350 MiB and a 200 MiB allocation must still succeed (deflate_on_oom)
	balloon_fill 460 300 report_filled
	free=$(mf)
	fact memfree_before "$free"
	fact report_freed 1
	# the inflate takes 350 MiB of MemFree (not of MemTotal: deflate_on_oom)
	i=0
	while [ $i -lt 1200 ] && [ "$(mf)" -gt $((free - 300000)) ]; do sleep 0.1; i=$((i+1)); done
	fact memfree_end "$(mf)"
	[ "$(mf)" -le $((free - 300000)) ] && fact oom_inflated "$(mf)"
	dd if=/dev/zero of=/fill/g bs=1048576 count=200 2>/dev/null
	fact oom_alloc "$(($(stat -c %s /fill/g 2>/dev/null || echo 0) / 1048576))"
	fact oom_after "$(mf)"
	poweroff -f
	;;
mmio_many)
	# 14 virtio-mmio devices (12 read-only disks, a NIC, an rng): windows 8-13 are on ISA pins
	load_virtio
	fact mmio_devices "$(ls /sys/bus/platform/drivers/virtio-mmio/ 2>/dev/null | grep -c "^LNRO0005:")"
	i=0
	while [ $i -lt 50 ] && [ ! -b /dev/vdl ]; do sleep 0.1; i=$((i+1)); done
	toks=
	for d in a b c d e f g h i j k l; do
		toks="$toks $(head -c 12 /dev/vd$d 2>/dev/null)"
	done
	fact disk_tokens "${toks# }"
	fact mmio_irq_lines "$(awk '/virtio/ { printf "%s ", $1 }' /proc/interrupts)"
	net_up
	fact rng_current "$(cat /sys/class/misc/hw_random/rng_current 2>/dev/null)"
	fact hwrng_bytes "$(dd if=/dev/hwrng bs=64 count=1 2>/dev/null | wc -c)"
	poweroff -f
	;;
pci_off)
	# pci=off: no PCI at all; the devices are virtio-mmio windows the DSDT names (LNRO0005)
	load_virtio
	fact pci_devices "$(ls /sys/bus/pci/devices 2>/dev/null | wc -l)"
	fact mmio_devices "$(ls /sys/bus/platform/drivers/virtio-mmio/ 2>/dev/null | grep -c "^LNRO0005:")"
	fact mmio_irqs "$(awk '/virtio/ { n++ } END { print n + 0 }' /proc/interrupts)"
	disk_write
	net_up
	wget -q -O /tmp/blob http://169.254.100.1:8080/blob && fact blob_md5 "$(md5sum /tmp/blob | cut -d' ' -f1)"
	fact rng_current "$(cat /sys/class/misc/hw_random/rng_current 2>/dev/null)"
	fact hwrng_bytes "$(dd if=/dev/hwrng bs=64 count=1 2>/dev/null | wc -c)"
	poweroff -f
	;;
disk_ro)
	load_virtio
	fact ro_flag "$(cat /sys/block/vda/ro 2>/dev/null)"
	if dd if=/dev/zero of=/dev/vda bs=4096 count=1 oflag=direct 2>/dev/null; then fact ro_write accepted
	else fact ro_write refused; fi
	mkdir -p /mnt && mount -t ext4 -o ro,noload /dev/vda /mnt && fact ro_read "$(cat /mnt/hello.txt)"
	umount /mnt
	poweroff -f
	;;
net)
	load_virtio
	net_up
	wget -q -O /tmp/blob http://169.254.100.1:8080/blob && fact blob_md5 "$(md5sum /tmp/blob | cut -d' ' -f1)"
	poweroff -f
	;;
mmds)
	# Firecracker's metadata service (V2) on eth0, the way a guest agent reads it
	load_virtio
	net_up
	ip route add 169.254.169.254 dev eth0
	m=http://169.254.169.254
	if wget -q -O /tmp/m0 "$m/latest/meta-data/ami-id" 2>/dev/null; then fact mmds_no_token served; else fact mmds_no_token refused; fi
	tok=$(printf 'PUT /latest/api/token HTTP/1.1\r\nHost: 169.254.169.254\r\nX-metadata-token-ttl-seconds: 60\r\nConnection: close\r\n\r\n' |
		timeout 20 nc 169.254.169.254 80 | tail -n 1)
	fact mmds_token_len "${#tok}"
	wget -q -O /tmp/m1 --header "X-metadata-token: $tok" "$m/latest/meta-data/ami-id" && fact mmds_ami "$(cat /tmp/m1)"
	wget -q -O /tmp/m2 --header "X-metadata-token: $tok" --header "Accept: application/json" "$m/latest/meta-data" &&
		fact mmds_json "$(cat /tmp/m2)"
	wget -q -O /tmp/m3 --header "X-metadata-token: $tok" "$m/big" && fact mmds_big_md5 "$(md5sum /tmp/m3 | cut -d' ' -f1)"
	poweroff -f
	;;
netbench)
	# bench/net: REPS transfers guest->host, then REPS host->guest, MIB MiB each, each over its own TCP
	# connection (tcpbench); the counters span all transfers of a direction
	load_virtio
	net_up
	mib=32
	reps=1
	for word in $(cat /proc/cmdline); do
		case "$word" in vmon.mib=*) mib="${word#vmon.mib=}" ;; vmon.reps=*) reps="${word#vmon.reps=}" ;; esac
	done
	a=$(net_counters)
	i=0
	while [ $i -lt "$reps" ]; do
		fact g2h "$(/bin/tcpbench send 169.254.100.1 5001 "$mib" 60 2>&1)"
		i=$((i + 1))
	done
	b=$(net_counters)
	i=0
	while [ $i -lt "$reps" ]; do
		out=$(/bin/tcpbench recv 169.254.100.2 5002 90 2>&1)
		fact h2g "$(echo "$out" | grep -v '^TCPBENCH cpu')"
		fact h2g_cpu "$(echo "$out" | sed -n 's/^TCPBENCH cpu //p')"
		i=$((i + 1))
	done
	c=$(net_counters)
	fact g2h_counters "$(counters_delta "$a" "$b")"
	fact h2g_counters "$(counters_delta "$b" "$c")"
	sleep 3 # bench/net reads the VM's KVM statistics now
	poweroff -f
	;;
vsock)
	# The vsock scenario (tests/sandbox/l1-virtio.sh): an echo server on port 5000 for L1's
	# host-initiated connections, 50 guest-initiated ones to L1's echo (CID 2, port 6000) at once,
	# then power off once L1 says (a connection to port 5001) that its own are done
	load_virtio
	vm=ok
	for m in vsock vmw_vsock_virtio_transport_common vmw_vsock_virtio_transport; do
		insmod "/lib/modules/$m.ko" 2>/dev/null || { diag "insmod $m failed"; vm=failed; }
	done
	fact vsock_modules "$vm"
	/bin/vsockcheck vsock-echo 5000 /tmp/served >/dev/null 2>&1 &
	/bin/vsockcheck vsock-echo 5001 /tmp/done >/dev/null 2>&1 &
	pids=
	k=0
	while [ $k -lt 50 ]; do
		/bin/vsockcheck vsock-send 2 6000 1048576 >/tmp/g$k.out 2>&1 &
		pids="$pids $!"
		k=$((k + 1))
	done
	# and one that dies halfway through
	VANISH=1 /bin/vsockcheck vsock-send 2 6000 1048576 >/tmp/vanish.out 2>&1 &
	pids="$pids $!"
	wait $pids
	fact vsock_guest_ok "$(cat /tmp/g*.out | grep -c '^VSOCKCHECK ok')"
	fact vsock_guest_vanished "$(grep -c '^VSOCKCHECK vanished' /tmp/vanish.out)"
	fact vsock_guest_bad "$(cat /tmp/g*.out | grep -v '^VSOCKCHECK ok' | head -n 2 | tr '\n' ' ')"
	i=0
	while [ ! -s /tmp/done ] && [ $i -lt 1500 ]; do sleep 0.1; i=$((i + 1)); done
	fact vsock_host_done "$([ -s /tmp/done ] && echo yes || echo no)"
	poweroff -f
	;;
rng)
	load_virtio
	fact rng_current "$(cat /sys/class/misc/hw_random/rng_current 2>/dev/null)"
	fact hwrng_bytes "$(head -c 64 /dev/hwrng 2>/dev/null | wc -c)"
	poweroff -f
	;;
limit)
	# two drives (vda rate-limited, vdb not): 51 MiB from each with O_DIRECT, timed on the guest's clock;
	# then the NIC's limiters
	load_virtio
	for d in vda vdb; do
		i=0
		while [ ! -b /dev/$d ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
		t0=$(cut -d' ' -f1 /proc/uptime)
		# (to /dev/null: a pipe to wc would cost this emulated guest more than the limiter does)
		# (busybox's dd reports records only: 51 whole ones of 1 MiB)
		n=$(dd if=/dev/$d of=/dev/null bs=1048576 count=51 iflag=direct 2>&1 | sed -n 's/^\([0-9]*+[0-9]*\) records out$/\1/p')
		t1=$(cut -d' ' -f1 /proc/uptime)
		[ "$n" = 51+0 ] && fact "read_ms_$d" "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%d", (b - a) * 1000 }')"
	done
	# the NIC, both ways limited to 50 Mbit/s: the 1 MiB file from L1's httpd over TCP, md5
	# checked; then L1 sends UDP at the guest for 5 s through the receive limiter and 3 s once it has
	# taken it away (PATCH, live); then the guest sends 32 MiB to L1 over TCP through the transmit
	# limiter and 32 MiB without it. L1 times each on its TAP; files on its httpd say when to go on.
	net_up
	wget -q -O /tmp/blob http://169.254.100.1:8080/blob && fact blob_md5 "$(md5sum /tmp/blob | cut -d' ' -f1)"
	rm -f /tmp/blob
	fact rx_ready 1
	for step in tx:5001 tx_free:5002; do
		i=0
		while [ $i -lt 300 ] && ! wget -q -O /dev/null "http://169.254.100.1:8080/${step%:*}"; do sleep 0.2; i=$((i+1)); done
		fact "${step%:*}_send" "$(/bin/tcpbench send 169.254.100.1 "${step#*:}" 32 60 2>&1 | tail -n 1)"
		fact "${step%:*}_done" 1
	done
	poweroff -f
	;;
api)
	load_virtio
	mkdir -p /mnt && mount -t ext4 /dev/vda /mnt && echo api >/mnt/api.txt && sync && umount /mnt &&
		fact api_disk ok
	net_up
	poweroff -f
	;;
snapshot)
	# The snapshot and migrate scenarios (tests/sandbox/l1-snapshot.sh, l1-migrate.sh): a 256 KiB file of known content on the disk (vda),
	# the NIC up (the guest answers L1's pings), then "count N" on the console every ~0.2 s for as long as
	# it runs, through snapshots and restores. Every 5 counts a line
	#   VMON-SNAP count= date= md5= net= rx= tx= rxirq=
	# md5: the file read back from the disk itself (the page cache dropped first); net: ok when a small file
	# came from L1's httpd over TCP, else down; rx/tx: eth0's packet counters, rxirq: its receive queue's
	# interrupts. Then it reads the disk's MiB after the 32 MiB file system (O_DIRECT): "poweroff" there
	# (written by L1) writes after.txt, syncs, unmounts and powers off. The count also goes to /dev/kmsg at KERN_ERR, which the
	# kernel prints itself even under "quiet" and when the tty's output path is stuck.
	# (No wget -T: busybox 1.35's wget segfaults with it; busybox timeout instead.)
	load_virtio
	tok=$(token_of)
	mkdir -p /mnt && mount -t ext4 /dev/vda /mnt || diag "mount /dev/vda failed"
	yes "vmon snapshot $tok" | head -c 262144 >/mnt/snap.bin
	sync
	fact snap_md5 "$(md5sum /mnt/snap.bin | cut -d' ' -f1)"
	ip link set eth0 up && ip addr add 169.254.100.2/24 dev eth0
	# also tells L1 the guest's MAC address before the first snapshot
	ping -c 1 -W 3 169.254.100.1 >/dev/null 2>&1 && fact snap_ping ok || fact snap_ping failed
	# vmon.stream=PORT (the migrate scenario, tests/sandbox/l1-migrate.sh): one TCP connection to L1's
	# tcpbench stream-serve, read and checked byte by byte to its end, across the move
	for word in $(cat /proc/cmdline); do
		case "$word" in
		vmon.stream=*) (/bin/tcpbench stream-check 169.254.100.1 "${word#vmon.stream=}" 60 2>&1 |
			sed 's/^/VMON-STREAM /') & ;;
		esac
	done
	echo "VMON-SNAP-COUNTING"
	i=0
	while :; do
		i=$((i + 1))
		# the kernel's copy first, while the tty has been idle for the sleep: written after the count, it
		# could cut the count's line (the kernel writes its console directly, not through the tty)
		[ $((i % 5)) = 0 ] && echo "<3>vmon-diag: snapshot count $i" >/dev/kmsg 2>/dev/null
		echo "count $i"
		if [ $((i % 5)) = 0 ]; then
			echo 3 >/proc/sys/vm/drop_caches
			l="count=$i date=$(date +%s) md5=$(md5sum /mnt/snap.bin | cut -d' ' -f1)"
			rm -f /tmp/ok
			timeout 2 wget -q -O /tmp/ok http://169.254.100.1:8080/snapok >/dev/null 2>&1
			net=down
			[ "$(cat /tmp/ok 2>/dev/null)" = ok ] && net=ok
			echo "VMON-SNAP $l net=$net rx=$(cat /sys/class/net/eth0/statistics/rx_packets) tx=$(cat /sys/class/net/eth0/statistics/tx_packets)" \
				"rxirq=$(awk '/virtio.*-input/ { for (f = 2; f <= NF; f++) if ($f ~ /^[0-9]+$/) s += $f } END { print s + 0 }' /proc/interrupts)"
			if [ "$(dd if=/dev/vda bs=512 skip=65536 count=1 iflag=direct 2>/dev/null | tr -d '\000')" = poweroff ]; then
				echo "after-$tok-$i" >/mnt/after.txt
				sync
				umount /mnt && echo "VMON-SNAP-BYE count=$i"
				poweroff -f
			fi
		fi
		sleep 0.2
	done
	;;
timewarp)
	# The timewarp scenario (tests/sandbox/l1-init.sh): does any clock run backwards between the CPUs?
	# What the kernel said about its clocks comes first, as facts.
	dmesg | grep -iE 'clocksource|tsc|kvm-clock|pvclock' | head -n 20 | while read -r l; do fact clockmsg "$l"; done
	fact clockcheck "$(/bin/clockcheck 20 2>&1 | tail -n 1)"
	poweroff -f
	;;
modules)
	# The kernel's virtio drivers, in dependency order (for the virtio devices of vmon).
	for m in failover net_failover virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev \
	         virtio_pci virtio_mmio virtio_blk virtio_net virtio_console virtio-rng virtio_balloon; do
		if insmod "/lib/modules/$m.ko" 2>/dev/null; then fact insmod "$m"; else fact insmod_failed "$m"; fi
	done
	ls /sys/bus/virtio/devices 2>/dev/null | while read -r d; do
		fact virtio_device "$d:$(cat /sys/bus/virtio/devices/$d/device)"
	done
	diag_irqs
	poweroff -f
	;;
reboot)
	echo "VMON-GUEST-REBOOTING"
	diag_irqs
	reboot -f
	;;
shell)
	echo "VMON-GUEST-SHELL"
	diag_irqs
	export PS1='guest# '
	setsid cttyhack sh
	diag "the console shell exited with status $?"
	diag_irqs
	poweroff -f
	;;
blkbench)
	# bench/blk: /bin/blkbench on the first virtio disk for vmon.bb_secs seconds per test (it prints
	# VMON-BLKBENCH lines, then VMON-BLKBENCH-DONE), a few facts, then power off.
	load_virtio
	secs=3
	for word in $(cat /proc/cmdline); do case "$word" in vmon.bb_secs=*) secs="${word#vmon.bb_secs=}" ;; esac; done
	i=0
	while [ $i -lt 50 ] && [ ! -b /dev/vda ]; do sleep 0.1; i=$((i+1)); done
	fact vda_sched "$(cat /sys/block/vda/queue/scheduler 2>/dev/null)"
	fact vda_nr_requests "$(cat /sys/block/vda/queue/nr_requests 2>/dev/null)"
	fact vda_max_sectors_kb "$(cat /sys/block/vda/queue/max_sectors_kb 2>/dev/null)"
	/bin/blkbench /dev/vda "$secs" || echo "VMON-BLKBENCH-DONE status=failed"
	grep -E 'virtio|PCI-MSI' /proc/interrupts | tr -s ' ' | sed 's/^/VMON-FACT irq=/'
	poweroff -f
	;;
dmesg)
	# bench/boot --guest-args vmon.test=dmesg: the kernel log (timestamps show where the guest's boot went)
	dmesg | sed 's/^/VMON-DMESG /'
	echo "VMON-DMESG-END"
	poweroff -f
	;;
idle)
	# The benchmark kills the monitor once the marker has been seen.
	while :; do sleep 3600; done
	;;
*)
	echo "VMON-GUEST-POWEROFF"
	diag_irqs
	poweroff -f
	;;
esac
# Not reached unless poweroff/reboot failed.
echo "VMON-GUEST-FAILED to power off"
sleep 5
