#!/bin/sh
# /init of the sandbox's L1 (Debian's cloud kernel under QEMU TCG with an emulated SVM CPU): loads
# kvm_amd so that /dev/kvm is genuine hardware virtualization, then runs the scenarios named on its
# kernel command line (sandbox.scenarios=a,b,c) with the monitor sandbox.monitor=vmon|qemu, or a
# benchmark (sandbox.mode=bench|exitbench|blkbench|netbench), or the KVM tier (sandbox.mode=kvmtier), and
# powers off. Everything is reported on the serial console as lines
# the host-side scripts parse (tests/sandbox/run, bench/boot/run):
#   SANDBOX-L1-UP <uptime s>          SANDBOX-BEGIN <name>            L2|<name>| <guest stdout line>
#   L2E|<name>| <monitor stderr line> SANDBOX-RUN <name> <sbxrun line> SANDBOX-RESULT <name> ok|fail|skip <why>
#   SANDBOX-END
export PATH=/bin:/sbin:/usr/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mkdir -p /tmp && mount -t tmpfs tmpfs /tmp
. /sandbox/lib.sh

echo "SANDBOX-L1-UP $(cut -d' ' -f1 /proc/uptime)"
# The heartbeat, on the second serial port (the host side watches it: tests/sandbox/run): a line every 5 s
# for as long as L1's own timers fire.
(while echo "HB $(cut -d' ' -f1 /proc/uptime)" >/dev/ttyS1; do sleep 5; done) 2>/dev/null &
for m in virt/lib/irqbypass arch/x86/kvm/kvm arch/x86/kvm/kvm-amd; do
	insmod "/sandbox/modules/$(basename $m).ko" || echo "SANDBOX-NOTE insmod $m failed"
done
dmesg | grep -iE 'kvm|svm|nested' | sed 's/^/SANDBOX-DMESG /'
# khugepaged off (sandbox.khugepaged=on keeps it): in this emulated L1 it was seen stuck for minutes (soft
# lockup) collapsing a running guest's RAM (docs/sandbox.md). It was not the cause of the early SMP guest
# deaths: one came with it off too. Huge pages at fault time stay on.
if [ "$(l1_param sandbox.khugepaged off)" = off ]; then
	echo 4294967295 >/sys/kernel/mm/transparent_hugepage/khugepaged/scan_sleep_millisecs 2>/dev/null ||
		echo "SANDBOX-NOTE could not slow khugepaged down"
fi
echo "SANDBOX-KVM-READY $(cut -d' ' -f1 /proc/uptime)"

mode=$(l1_param sandbox.mode test)
if [ "$mode" = shell ]; then
	echo "SANDBOX-SHELL: vmon is /bin/vmon, the guest /guest/vmlinuz + /guest/initrd.gz; 'poweroff -f' leaves"
	setsid cttyhack sh
	poweroff -f
fi
case "$mode" in
bench | exitbench | blkbench | netbench) # the benchmarks' L1 parts, installed as /sandbox/<mode>.sh
	. "/sandbox/$mode.sh"
	echo "SANDBOX-END"
	poweroff -f
	;;
kvmtier) # the KVM tier's tests, added by tests/sandbox/kvm-tier as a second archive
	if [ -f /kvmtier/run.sh ]; then . /kvmtier/run.sh; else echo "SANDBOX-NOTE no /kvmtier/run.sh"; fi
	echo "SANDBOX-END"
	poweroff -f
	;;
esac

monitor=$(l1_param sandbox.monitor vmon)
scenarios=$(l1_param sandbox.scenarios boot | tr ',' ' ')
timeout_s=$(l1_param sandbox.timeout 90)
guest_args=$(l1_param sandbox.guest_args "" | tr ',' ' ')
token="tok$(cut -c1-8 /proc/sys/kernel/random/uuid)"
initrd_token=$(cat /sandbox/guest-initrd-token)

default_kernel=$GUEST_KERNEL
default_mem=$GUEST_MEM_MIB
result() { echo "SANDBOX-RESULT $1 $2 $3${retried:+ [$retried]}"; }
. /sandbox/virtio.sh
. /sandbox/snapshot.sh
. /sandbox/migrate.sh

# has NAME STRING: the scenario's guest output contains STRING.
has() { grep -qF -- "$2" "/tmp/$1.out"; }
fact() { sed -n "s/^VMON-FACT $2=//p" "/tmp/$1.out" | head -n1; }

# L1's own kernel messages (its console is quiet) that came during each scenario: SANDBOX-L1-DMESG lines,
# to tell a guest's failure from one of the emulated L1 under it.
dmesg -c >/dev/null
# A triple fault on AMD: KVM resets the vCPU before the monitor hears of it, so L1's kvm_exit trace event
# (filtered to SVM's SHUTDOWN exit, 0x7f) is what keeps the guest's RIP; printed as SANDBOX-L1-TRACE lines
# with the exceptions KVM injected.
tr=/sys/kernel/tracing
mount -t tracefs nodev $tr 2>/dev/null
if [ -w $tr/events/kvm/kvm_exit/filter ]; then
	echo 'exit_reason == 127' >$tr/events/kvm/kvm_exit/filter && echo 1 >$tr/events/kvm/kvm_exit/enable
	echo 1 >$tr/events/kvm/kvm_inj_exception/enable # exceptions KVM itself injects (rare)
fi
l1_dmesg_new() {
	dmesg -c | sed 's/^/SANDBOX-L1-DMESG /'
	[ -r $tr/trace ] && grep -v '^#' $tr/trace | sed 's/^/SANDBOX-L1-TRACE /' && echo >$tr/trace
}
# timewarp: a 2-CPU guest reads its clocks on both CPUs for 20 s (clockcheck) under vmon and, in the same L1,
# under QEMU microvm (the peer); no clock may run backwards from one CPU to the other under vmon.
timewarp_scenario() {
	EXTRA_VMON_ARGS= GUEST_KERNEL=$default_kernel
	tw_cmd="console=ttyS0 reboot=k panic=-1 quiet vmon.test=timewarp vmon.token=$token"
	[ -n "$guest_args" ] && tw_cmd="$tw_cmd $guest_args"
	mons="vmon qemu"
	[ "$monitor" = qemu ] && mons=qemu
	for mon in $mons; do
		monitor_available "$mon" || continue
		line=$(run_monitor "$mon" 2 "$tw_cmd" -o "/tmp/timewarp-$mon.out" -t "$timeout_s" -m VMON-GUEST-READY)
		sed "s/^/L2|timewarp-$mon| /" "/tmp/timewarp-$mon.out"
		sed "s/^/L2E|timewarp-$mon| /" "/tmp/timewarp-$mon.out.err"
		echo "SANDBOX-RUN timewarp-$mon $line"
	done
	v=$(fact "timewarp-$monitor" clockcheck)
	q=$(fact timewarp-qemu clockcheck)
	peer="QEMU microvm: ${q:-no result}"
	[ "$monitor" = qemu ] && peer="QEMU microvm was the monitor tested"
	case "$v" in
	"CLOCKCHECK cpus=2 "*"mono_warps=0 "*"raw_warps=0 "*) result timewarp ok "$monitor: ${v#CLOCKCHECK }; $peer" ;;
	CLOCKCHECK*) result timewarp fail "a clock ran backwards between vCPUs under $monitor: ${v#CLOCKCHECK }; $peer" ;;
	*) result timewarp fail "no clockcheck result from the guest under $monitor (see L2|timewarp-$monitor| lines); $peer" ;;
	esac
}
for name in $scenarios; do
	l1_dmesg_new
	echo "SANDBOX-BEGIN $name"
	if [ ! -c /dev/kvm ]; then
		result "$name" skip "no /dev/kvm in L1 (kvm_amd did not load)"
		continue
	fi
	if ! monitor_available "$monitor"; then
		result "$name" skip "monitor $monitor not in the L1 initramfs (build-initramfs --vmon PATH)"
		continue
	fi
	case "$name" in
	timewarp)
		timewarp_scenario
		continue
		;;
	snapshot | migrate)
		# several vmons in turn, each check its own SANDBOX-CHECK line (/sandbox/snapshot.sh,
		# /sandbox/migrate.sh)
		retried=
		if [ "$monitor" != vmon ]; then
			result "$name" skip "vmon's own API (snapshots, live migration); not run with QEMU microvm"
			continue
		fi
		cmdline="console=ttyS0 reboot=k panic=-1 quiet vmon.test=snapshot vmon.token=$token"
		[ -n "$guest_args" ] && cmdline="$cmdline $guest_args"
		"${name}_scenario" "$cmdline"
		continue
		;;
	esac
	cpus=1
	test=poweroff
	EXTRA_VMON_ARGS=
	extra_cmdline=
	GUEST_KERNEL=$default_kernel
	GUEST_MEM_MIB=$default_mem
	set --
	case "$name" in
	disk|disk_ro|net|net_vhost|rng|mmds|vsock|api|limit|pci_off|drive_patch|balloon|balloon_report|mmio_many|jailer_disk|jailer_net)
		if [ "$monitor" != vmon ]; then
			result "$name" skip "virtio scenarios run with vmon only (QEMU microvm has no PCI)"
			continue
		fi
		if ! virtio_prepare "$name"; then
			result "$name" fail "could not prepare the host side (see SANDBOX-NOTE lines)"
			continue
		fi
		test=${name#jailer_}
		[ "$name" = net_vhost ] && test=net
		[ "$name" = pci_off ] && cpus=2 extra_cmdline=pci=off
		[ "$name" = mmio_many ] && cpus=2 extra_cmdline=pci=off test=mmio_many
		;;
	boot)
		# -v: vmon says how it loaded the kernel (unpacked by vmon, by default); --boot-timer: the
		# guest signals Firecracker's boot timer, vmon logs its boot time
		[ "$monitor" = vmon ] && EXTRA_VMON_ARGS="-v --boot-timer" extra_cmdline=vmon.boot_timer
		;;
	boot_decompressor)
		if [ "$monitor" != vmon ]; then
			result "$name" skip "a vmon option (--no-unpack-kernel)"
			continue
		fi
		EXTRA_VMON_ARGS="-v --no-unpack-kernel"
		;;
	cmdline|initrd|clock|poweroff) ;;
	cpu_template)
		# Firecracker's T2A (L1's CPU is an AMD EPYC): the guest must see its family, model and
		# stepping and none of the features it hides
		if [ "$monitor" != vmon ]; then
			result "$name" skip "a vmon option (--cpu-template)"
			continue
		fi
		EXTRA_VMON_ARGS="--cpu-template T2A"
		;;
	cpus) cpus=4 ;;
	acpi_off)
		# No ACPI: the guest finds its two CPUs only in vmon's MP table, which the generic kernel reads
		# (CONFIG_X86_MPPARSE) and the cloud kernel cannot; with no ACPI poweroff it ends through reboot=k.
		if [ ! -f /guest/vmlinuz-generic ]; then
			result "$name" skip "no Debian generic kernel here (package linux-image-amd64)"
			continue
		fi
		GUEST_KERNEL=/guest/vmlinuz-generic cpus=2 test=reboot extra_cmdline=acpi=off
		;;
	reboot) test=reboot ;;
	modules) test=modules ;;
	console)
		test=shell
		set -- -s 'VMON-GUEST-SHELL=echo $((6*7))-ok' -s '42-ok=poweroff -f'
		;;
	*)
		result "$name" fail "unknown scenario"
		continue
		;;
	esac
	cmdline="console=ttyS0 reboot=k panic=-1 vmon.test=$test vmon.token=$token${extra_cmdline:+ $extra_cmdline}"
	[ -n "$guest_args" ] && cmdline="$cmdline $guest_args"
	# A guest that dies or hangs before its /init runs gets one more run: nested SVM under QEMU TCG kills
	# about one SMP guest in 30 early in its boot, under QEMU microvm as under vmon (docs/sandbox.md).
	# Both runs are in the log; the verdict names the first one's end.
	retried=
	for attempt in 1 2; do
		l1_start=$(date +%s)
		if [ "$name" = api ] || [ "$name" = limit ] || [ "$name" = drive_patch ] || [ "$name" = balloon ] ||
			[ "$name" = balloon_report ] || [ "$name" = mmds ]; then
			line=$(run_api_scenario "$cmdline" -o "/tmp/$name.out" -t "$timeout_s" -m VMON-GUEST-READY)
		else
			line=$(run_monitor "$monitor" "$cpus" "$cmdline" -o "/tmp/$name.out" -t "$timeout_s" -m VMON-GUEST-READY "$@")
		fi
		l1_end=$(date +%s)
		sed "s/^/L2|$name| /" "/tmp/$name.out"
		sed "s/^/L2E|$name| /" "/tmp/$name.out.err"
		status=$(sbx_field "$line" status)
		timed_out=$(sbx_field "$line" timeout)
		marker_ms=$(sbx_field "$line" marker_ms)
		[ "$attempt" = 1 ] && [ "$marker_ms" = -1 ] && ! has "$name" "vmon-diag: /init started" || break
		case "$name" in
		disk|disk_ro|net|net_vhost|rng|mmds|vsock|api|limit|pci_off|drive_patch|balloon|balloon_report|mmio_many|jailer_disk|jailer_net) virtio_prepare "$name" || break ;;
		esac
		echo "SANDBOX-RUN-FIRST $name $line"
		retried="a second run: the first guest died or hung before /init (monitor status $status, timeout $timed_out)"
	done
	echo "SANDBOX-RUN $name $line"
	[ -n "$retried" ] && [ "$marker_ms" = -1 ] && retried="the first run as well"

	if [ "$timed_out" = 1 ] && [ "$marker_ms" = -1 ]; then
		result "$name" fail "timed out after ${timeout_s}s without the marker line VMON-GUEST-READY"
		continue
	fi
	if [ "$marker_ms" = -1 ] && has "$name" "vmon-diag: /init started"; then
		result "$name" fail "guest /init ran (its /dev/kmsg lines came out) but its tty output did not: no VMON-GUEST-READY (monitor exit status $status)"
		continue
	fi
	if [ "$marker_ms" = -1 ]; then
		result "$name" fail "no marker line VMON-GUEST-READY (monitor exit status $status)"
		continue
	fi
	case "$name" in
	boot)
		bt=$(grep -o 'Guest-boot-time = .*' "/tmp/$name.out.err" | head -n 1)
		if [ "$monitor" = vmon ] && ! grep -q "loaded bzImage (unpacked by vmon" "/tmp/$name.out.err"; then
			result "$name" fail "marker after ${marker_ms} ms, but vmon did not unpack the kernel (see L2E lines)"
		elif [ "$monitor" = vmon ] && [ -z "$bt" ]; then
			result "$name" fail "marker after ${marker_ms} ms, but no 'Guest-boot-time' line from vmon's --boot-timer"
		else result "$name" ok "marker after ${marker_ms} ms${bt:+; vmon: $bt}"; fi
		;;
	boot_decompressor)
		if grep -q "loaded bzImage /" "/tmp/$name.out.err"; then
			result "$name" ok "marker after ${marker_ms} ms through the kernel's own decompressor"
		else result "$name" fail "vmon did not load the bzImage for its own decompressor (see L2E lines)"; fi
		;;
	acpi_off)
		n=$(fact "$name" nproc)
		if ! grep -q 'Intel MultiProcessor Specification v1.4' "/tmp/$name.out"; then
			result "$name" fail "the guest did not report vmon's MP table (no 'Intel MultiProcessor Specification v1.4')"
		elif [ "$n" != 2 ]; then result "$name" fail "expected 2 CPUs from the MP table, guest saw nproc=$n"
		elif [ "$timed_out" = 1 ] || [ "$status" != 0 ]; then
			result "$name" fail "2 CPUs, but reboot=k did not end the monitor with 0 (status $status timeout $timed_out)"
		else result "$name" ok "nproc=2 from the MP table with acpi=off; reboot=k ended the monitor with 0"; fi
		;;
	cpu_template)
		fms=$(fact "$name" cpufms); flags=" $(fact "$name" cpuflags) "
		hidden=
		# (not 3dnowprefetch: Linux sets it itself on every 64-bit AMD CPU, whatever CPUID says)
		for f in svm sse4a misalignsse mwaitx mmxext fxsr_opt pdpe1gb clzero wbnoinvd \
			avx512f sha_ni rdseed adx clflushopt clwb monitor; do
			case "$flags" in *" $f "*) hidden="$hidden $f" ;; esac
		done
		if [ "$fms" != 6/63/2 ]; then
			result "$name" fail "T2A: the guest sees family/model/stepping $fms, not 6/63/2"
		elif [ -n "$hidden" ]; then result "$name" fail "T2A: the guest still sees$hidden"
		else result "$name" ok "T2A: family/model/stepping $fms, none of svm sse4a misalignsse mwaitx mmxext fxsr_opt pdpe1gb clzero wbnoinvd avx512f sha_ni rdseed adx clflushopt clwb monitor in the guest's flags"; fi
		;;
	cpus)
		n=$(fact "$name" nproc); c=$(fact "$name" cpuinfo)
		if [ "$n" = 4 ] && [ "$c" = 4 ]; then result "$name" ok "nproc=4 cpuinfo=4"
		else result "$name" fail "expected 4 CPUs, guest saw nproc=$n /proc/cpuinfo=$c"; fi
		;;
	cmdline)
		c=$(fact "$name" cmdline)
		case "$c" in
		*"vmon.token=$token"*) result "$name" ok "token $token arrived" ;;
		*) result "$name" fail "token $token not in guest /proc/cmdline: '$c'" ;;
		esac
		;;
	initrd)
		t=$(fact "$name" initrd_token)
		if [ "$t" = "$initrd_token" ]; then result "$name" ok "initrd file read back"
		else result "$name" fail "file from the initrd has '$t', expected '$initrd_token'"; fi
		;;
	clock)
		g=$(fact "$name" date)
		case "$g" in
		''|*[!0-9]*) result "$name" fail "no guest date (got '$g')" ;;
		*)
			if [ "$g" -ge $((l1_start - 60)) ] && [ "$g" -le $((l1_end + 60)) ]; then
				result "$name" ok "guest date $g, L1 $l1_start..$l1_end"
			else
				result "$name" fail "guest date $g, L1 $l1_start..$l1_end: more than 60 s apart"
			fi
			;;
		esac
		;;
	poweroff|reboot)
		if [ "$timed_out" = 1 ]; then result "$name" fail "monitor still running ${timeout_s}s after guest $name"
		elif [ "$status" != 0 ]; then result "$name" fail "monitor exit status $status after guest $name"
		else result "$name" ok "monitor exited 0"; fi
		;;
	console)
		if ! has "$name" VMON-GUEST-SHELL; then result "$name" fail "guest shell did not start"
		elif ! grep -q '^42-ok' "/tmp/$name.out"; then result "$name" fail "no answer '42-ok' to the line typed on stdin"
		elif [ "$timed_out" = 1 ] || [ "$status" != 0 ]; then
			result "$name" fail "answer came back but 'poweroff -f' typed on stdin did not end the monitor with 0 (status $status timeout $timed_out)"
		else result "$name" ok "typed line answered, poweroff typed ended the monitor"; fi
		;;
	disk|disk_ro|net|net_vhost|rng|mmds|vsock|api|limit|pci_off|drive_patch|balloon|balloon_report|mmio_many|jailer_disk|jailer_net)
		virtio_check "$name"
		;;
	modules)
		bad=$(sed -n 's/^VMON-FACT insmod_failed=//p' "/tmp/$name.out" | tr '\n' ' ')
		nok=$(grep -c '^VMON-FACT insmod=' "/tmp/$name.out")
		if [ -z "$bad" ] && [ "$nok" -gt 0 ]; then result "$name" ok "$nok virtio modules loaded"
		else result "$name" fail "insmod failed: $bad"; fi
		;;
	esac
done
l1_dmesg_new
echo "SANDBOX-END"
poweroff -f
