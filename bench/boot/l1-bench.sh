# The boot benchmark's part inside the sandbox's L1 (sourced by /init when sandbox.mode=bench; installed as
# /sandbox/bench.sh by tests/sandbox/build-initramfs). Boots the same guest (kernel, initramfs, command line,
# memory, vCPUs) alternately with each monitor, round 0 being an unreported warm-up, and prints per boot:
#   BENCH <monitor> <round> <sbxrun result line>
# sbxrun measures launch -> first guest line containing VMON-GUEST-READY, samples the monitor's VmHWM and the
# Rss of its guest-RAM mapping(s) at that moment, then kills the monitor (the guest idles after the marker).
runs=$(l1_param sandbox.runs 5)
monitors=$(l1_param sandbox.monitors vmon,qemu | tr ',' ' ')
cpus=$(l1_param sandbox.cpus 1)
# sandbox.kvmstats=1: at each marker, also print the guest VM's KVM statistics (debugfs, summed over its
# vCPUs: exits by kind, page faults, halts...) as one line KVMSTAT <monitor> <round> name=value...
kvmstats=$(l1_param sandbox.kvmstats 0)
statcmd=true
if [ "$kvmstats" = 1 ]; then
	kvm_stats_mount
	statcmd=$KVM_STATS_CMD
fi
cmdline="console=ttyS0 reboot=k panic=-1 quiet vmon.test=idle"
# sandbox.guest_args=A,B (bench/boot/run --guest-args): words added to the guest's command line, e.g.
# vmon.test=dmesg (the guest then prints its kernel log after the marker: lines VMON-DMESG, shown as L2|...)
guest_args=$(l1_param sandbox.guest_args "" | tr ',' ' ')
[ -n "$guest_args" ] && cmdline="$cmdline $guest_args"
marker=VMON-GUEST-READY
case " $guest_args " in *" vmon.test=dmesg "*) marker=VMON-DMESG-END ;; esac
echo "BENCH-CONFIG runs=$runs cpus=$cpus mem_mib=$GUEST_MEM_MIB monitors=$monitors"
echo "BENCH-CONFIG cmdline=$cmdline"
echo "BENCH-CONFIG qemu=$QEMU_OPTIONS_TEXT"
echo "BENCH-CONFIG vmon=vmon run --kernel K --initrd I --cmdline C --cpus N --mem ${GUEST_MEM_MIB}M"
round=0
while [ "$round" -le "$runs" ]; do
	for mon in $monitors; do
		if ! monitor_available "$mon"; then
			echo "BENCH-MISSING $mon"
			continue
		fi
		export KVMSTAT_TAG="$mon $round"
		line=$(run_monitor "$mon" "$cpus" "$cmdline" -o "/tmp/bench-$mon-$round.out" -t 60 -m "$marker" \
			-g "$GUEST_MEM_MIB" -x "$statcmd" -k)
		# the guest's own uptime (kvmclock) when its /init printed the marker
		up=$(sed -n 's/.*VMON-GUEST-READY uptime=\([0-9.]*\).*/\1/p' "/tmp/bench-$mon-$round.out" | head -n1)
		up_ms=$(awk -v u="${up:--0.001}" 'BEGIN { printf "%d", u * 1000 }')
		echo "BENCH $mon $round $line guest_uptime_ms=$up_ms"
		[ "$marker" = VMON-DMESG-END ] && sed -n -e "s/^VMON-DMESG /L2D|$mon-$round| /p" -e "s/^VMON-FACT /L2F|$mon-$round| /p" "/tmp/bench-$mon-$round.out"
		case "$line" in
		*marker_ms=-1*)
			tail -n 15 "/tmp/bench-$mon-$round.out" | sed "s/^/L2|bench-$mon-$round| /"
			tail -n 15 "/tmp/bench-$mon-$round.out.err" | sed "s/^/L2E|bench-$mon-$round| /"
			;;
		esac
	done
	round=$((round + 1))
done
