# The network benchmark's part inside the sandbox's L1 (sourced by /init when sandbox.mode=netbench;
# installed as /sandbox/netbench.sh by tests/sandbox/build-initramfs). A TAP tap0 (169.254.100.1/24) in
# L1; the guest (169.254.100.2, vmon.test=netbench) pings it, sends MIB MiB to L1 (guest->host), then
# receives MIB MiB from L1 (host->guest), each over one TCP connection timed by its receiver
# (tests/sandbox/tcpbench.c). Configurations alternate in every round, round 0 being an unreported
# warm-up: vmon (userspace virtio-net), QEMU (vhost=off), vmon vhost=on, QEMU vhost=on. Prints per boot:
#   NETBENCH <monitor> <user|vhost> <round> g2h=<MB/s> h2g=<MB/s> h2g_send=<MB/s> rep=<k> <sbxrun result line>
# (-1: not measured), one line for each of the REPS transfers each way in that boot (sandbox.reps). g2h is
# timed by L1's receiver, h2g by the guest's (h2g_send: L1's sender, to EOF).
runs=$(l1_param sandbox.runs 3)
mib=$(l1_param sandbox.mib 32)
reps=$(l1_param sandbox.reps 1)
configs=$(l1_param sandbox.configs vmon:user,qemu:user,vmon:vhost,qemu:vhost | tr ',' ' ')
machine=$(l1_param sandbox.qemu_machine microvm)
vmon_args=$(l1_param sandbox.vmon_args "" | tr ',' ' ')
cmdline="console=ttyS0 reboot=k panic=-1 quiet vmon.test=netbench vmon.mib=$mib vmon.reps=$reps"
mac=02:00:00:00:00:02
# sandbox.perf=1 (bench/net/run --perf): each monitor runs under a system-wide `perf record` (cpu-clock),
# whose flat profile (by command and symbol, L1 side only: the guest's own code shows as KVM_RUN) follows
# each run as PERF|<monitor>-<mode>-<round>| lines
perf=""
[ "$(l1_param sandbox.perf 0)" = 1 ] && [ -x /usr/bin/perf ] && perf=1
# The guest VM's KVM statistics once both transfers are done (boot included), as KVMSTAT lines
kvm_stats_mount

insmod /sandbox/modules/tun.ko 2>/dev/null
for m in vhost_iotlb vhost tap vhost_net; do insmod "/sandbox/modules/$m.ko" 2>/dev/null; done
[ -e /dev/vhost-net ] || echo "BENCH-NOTE no /dev/vhost-net in L1: the vhost rows will fail"
/sbin/ip-full tuntap add dev tap0 mode tap && /sbin/ip-full addr add 169.254.100.1/24 dev tap0 &&
	/sbin/ip-full link set tap0 up || echo "BENCH-NOTE could not set up tap0"

case "$machine" in
q35) qemu_machine="-M q35" ;;
*) qemu_machine="-M microvm,rtc=on,pcie=on" ;;
esac
QEMU_NET_TEXT="qemu-system-x86_64 -name debug-threads=on -enable-kvm -cpu host $qemu_machine -smp 1 -m ${GUEST_MEM_MIB}M -nodefaults -no-user-config -nographic -serial stdio -no-reboot -kernel K -initrd I -append C -netdev tap,id=n0,ifname=tap0,script=no,downscript=no,vhost=on|off -device virtio-net-pci,netdev=n0,mac=$mac,romfile="
echo "NETBENCH-CONFIG runs=$runs reps=$reps mib=$mib mem_mib=$GUEST_MEM_MIB cpus=1 configs=$configs"
echo "NETBENCH-CONFIG cmdline=$cmdline"
echo "NETBENCH-CONFIG qemu=$QEMU_NET_TEXT"
echo "NETBENCH-CONFIG vmon=vmon run --kernel K --initrd I --cmdline C --cpus 1 --mem ${GUEST_MEM_MIB}M --net tap=tap0,mac=$mac[,vhost=on] $vmon_args"

# run_net MONITOR MODE SBXRUN-OPTIONS...: one guest boot with the NIC on tap0; prints sbxrun's line.
run_net() {
	mon=$1; mode=$2; shift 2
	wrap=""
	[ -n "$perf" ] && wrap="/usr/bin/perf record -q -a -e cpu-clock -F 499 -o /tmp/perf.data --"
	case "$mon" in
	vmon)
		v=""
		[ "$mode" = vhost ] && v=",vhost=on"
		# -q: a hang leaves vmon's vCPU dump (SIGUSR2) in its stderr before the kill
		/bin/sbxrun -q "$@" -- $wrap /bin/vmon run --kernel "$GUEST_KERNEL" --initrd "$GUEST_INITRD" \
			--cmdline "$cmdline" --cpus 1 --mem "${GUEST_MEM_MIB}M" --net "tap=tap0,mac=$mac$v" $vmon_args
		;;
	qemu)
		v=off
		[ "$mode" = vhost ] && v=on
		# (-name debug-threads=on: QEMU's vCPU thread gets its own name, for CPUSTAT)
		/bin/sbxrun "$@" -- $wrap /usr/bin/qemu-system-x86_64 -name debug-threads=on -enable-kvm -cpu host $qemu_machine -smp 1 \
			-m "${GUEST_MEM_MIB}M" -nodefaults -no-user-config -nographic -serial stdio -no-reboot \
			-kernel "$GUEST_KERNEL" -initrd "$GUEST_INITRD" -append "$cmdline" \
			-netdev "tap,id=n0,ifname=tap0,script=no,downscript=no,vhost=$v" \
			-device "virtio-net-pci,netdev=n0,mac=$mac,romfile="
		;;
	esac
}

mbps() { sed -n 's/^.*TCPBENCH [a-z]* .*MBps=\([0-9.]*\).*$/\1/p' "$1"; }
# nth K LINES: the K-th line, or -1
nth() { v=$(echo "$2" | sed -n "${1}p"); echo "${v:--1}"; }

round=0
while [ "$round" -le "$runs" ]; do
	for c in $configs; do
		mon=${c%%:*}; mode=${c#*:}
		if ! monitor_available "$mon"; then
			echo "BENCH-MISSING $mon"
			continue
		fi
		rm -f /tmp/g2h.txt /tmp/h2gs.txt
		# L1's side: receive the guest's upload, then send to the guest once it listens
		( k=0; while [ $k -lt "$reps" ]; do /bin/tcpbench recv 169.254.100.1 5001 150 >>/tmp/g2h.txt 2>&1; k=$((k + 1)); done
		  k=0; while [ $k -lt "$reps" ]; do /bin/tcpbench send 169.254.100.2 5002 "$mib" 60 >>/tmp/h2gs.txt 2>&1; k=$((k + 1)); done ) &
		helper=$!
		out=/tmp/net-$mon-$mode-$round.out
		export KVMSTAT_TAG="$mon $mode $round"
		line=$(run_net "$mon" "$mode" -o "$out" -t 240 -m "VMON-FACT h2g_counters" -x "$KVM_STATS_CMD")
		kill "$helper" 2>/dev/null
		for p in $(pidof tcpbench); do kill "$p" 2>/dev/null; done
		wait "$helper" 2>/dev/null
		g2h_all=$(mbps /tmp/g2h.txt)
		h2g_all=$(sed -n 's/^VMON-FACT h2g=.*MBps=\([0-9.]*\).*$/\1/p' "$out")
		h2gs_all=$(mbps /tmp/h2gs.txt)
		k=1
		while [ $k -le "$reps" ]; do
			echo "NETBENCH $mon $mode $round g2h=$(nth $k "$g2h_all") h2g=$(nth $k "$h2g_all")" \
				"h2g_send=$(nth $k "$h2gs_all") rep=$k $line"
			k=$((k + 1))
		done
		if [ -n "$perf" ]; then
			/usr/bin/perf report -q -i /tmp/perf.data --stdio --no-children --sort comm,sym 2>/dev/null |
				grep -v '^$' | head -n 45 | sed "s/^/PERF|$mon-$mode-$round| /"
			rm -f /tmp/perf.data
		fi
		# with --vmon-arg (e.g. --stats): vmon's stderr, for the log
		[ "$mon" = vmon ] && [ -n "$vmon_args" ] && sed "s/^/VMONERR|$mon-$mode-$round| /" "$out.err"
		# where the CPUs went while the receiver took the data: L1's for guest->host, the guest's for
		# host->guest (tcpbench's "cpu" line)
		sed -n "s/^TCPBENCH cpu /CPUSTAT $mon $mode $round g2h_L1 /p" /tmp/g2h.txt | head -n1
		sed -n "s/^VMON-FACT h2g_cpu=/CPUSTAT $mon $mode $round h2g_guest /p" "$out" | head -n1
		# the guest's own counters over each transfer (packets, bytes, virtio interrupts, CPU ticks)
		sed -n "s/^VMON-FACT \(g2h\|h2g\)_counters=/NETSTAT $mon $mode $round \1 /p" "$out"
		# any transfer missing: the last lines of both sides, for the log
		if [ "$(echo "$g2h_all" | grep -c .)" -lt "$reps" ] || [ "$(echo "$h2g_all" | grep -c .)" -lt "$reps" ]; then
			tail -n 25 "$out" | sed "s/^/L2|net-$mon-$mode-$round| /"
			tail -n 15 "$out.err" | sed "s/^/L2E|net-$mon-$mode-$round| /"
			sed "s/^/L1|net-$mon-$mode-$round| /" /tmp/g2h.txt /tmp/h2gs.txt 2>/dev/null
		fi
	done
	round=$((round + 1))
done
