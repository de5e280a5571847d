# Shared by the L1 scenario runner (/init) and the L1 benchmark (/bench.sh): how to launch an L2 monitor.
# Installed as /sandbox/lib.sh in the L1 initramfs. Sourced by busybox sh.

GUEST_KERNEL=/guest/vmlinuz # or sandbox.guest_kernel= (tests/sandbox/run --guest-kernel), set below
GUEST_INITRD=/guest/initrd.gz
GUEST_MEM_MIB=256

# l1_param NAME DEFAULT: the value of NAME=... on L1's kernel command line.
l1_param() {
	for word in $(cat /proc/cmdline); do
		case "$word" in
		"$1"=*) echo "${word#"$1"=}"; return ;;
		esac
	done
	echo "$2"
}
GUEST_KERNEL=$(l1_param sandbox.guest_kernel "$GUEST_KERNEL")

# monitor_available MONITOR: the monitor's binary is in this L1.
monitor_available() {
	case "$1" in
	vmon|vmonkaslr|vmon-noseccomp) [ -x /bin/vmon ] ;;
	qemu) [ -x /usr/bin/qemu-system-x86_64 ] ;;
	*) return 1 ;;
	esac
}

# KVM_STATS_CMD: for sbxrun -x; prints the KVM statistics (L1's debugfs) of the VM of process $SBX_PID as
# one line "KVMSTAT $KVMSTAT_TAG name=value..." (debugfs must be mounted: kvm_stats_mount)
KVM_STATS_CMD='for d in /sys/kernel/debug/kvm/$SBX_PID-*; do [ -d "$d" ] || continue; l=""; for f in "$d"/*; do [ -f "$f" ] && v=$(cat "$f" 2>/dev/null) && case "$v" in *[!0-9]*|"") ;; *) l="$l ${f##*/}=$v" ;; esac; done; echo "KVMSTAT $KVMSTAT_TAG$l"; done'
kvm_stats_mount() {
	mkdir -p /sys/kernel/debug
	mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
}

# run_monitor MONITOR CPUS CMDLINE SBXRUN-OPTIONS...: boots the guest under sbxrun; prints sbxrun's line.
#   vmon: its CLI, serial console on stdin/stdout, plus the words of sandbox.vmon_args=a,b (L1 command line);
#   vmonkaslr: the same with --no-unpack-kernel (the bzImage's own decompressor runs, with its KASLR).
#   qemu: QEMU's fastest fair setup for a direct kernel boot: microvm with its RTC (without it the guest
#         probes a missing RTC for seconds), no default devices, no user config, serial on stdio.
run_monitor() {
	mon="$1"; cpus="$2"; cmdline="$3"; shift 3
	vmon_args=$(l1_param sandbox.vmon_args "" | tr ',' ' ')
	case "$mon" in
	vmon | vmonkaslr)
		unpack=
		[ "$mon" = vmonkaslr ] && unpack=--no-unpack-kernel # the kernel's own decompressor
		if [ -n "${JAILED:-}" ]; then
			jailed_vmon "$@"
			return
		fi
		/bin/sbxrun -q "$@" -- /bin/vmon run $unpack --kernel "$GUEST_KERNEL" --initrd "$GUEST_INITRD" \
			--cmdline "$cmdline" --cpus "$cpus" --mem "${GUEST_MEM_MIB}M" $vmon_args $EXTRA_VMON_ARGS
		;;
	qemu)
		/bin/sbxrun "$@" -- /usr/bin/qemu-system-x86_64 -enable-kvm -cpu host -M microvm,rtc=on \
			-smp "$cpus" -m "${GUEST_MEM_MIB}M" -nodefaults -no-user-config -nographic -serial stdio \
			-no-reboot -kernel "$GUEST_KERNEL" -initrd "$GUEST_INITRD" -append "$cmdline"
		;;
	esac
}

# jailed_vmon SBXRUN_ARGS...: run_monitor's vmon under vmon-jailer, as uid/gid 65534, in
# /tmp/jailer/vmon/sbx-NAME/root (NAME: $name, '-' for '_'; on /tmp's file system, for the links): the
# kernel and initrd copied in, each --disk image hard-linked in (the checks read the same file afterwards)
# and owned by the uid; the TAP is reachable by its group (make_tap)
jailed_vmon() {
	jid=sbx-$(echo "$name" | tr _ -)
	jroot=/tmp/jailer/vmon/$jid/root
	rm -rf "/tmp/jailer/vmon/$jid"
	mkdir -p "$jroot"
	cp "$GUEST_KERNEL" "$jroot/kernel" && cp "$GUEST_INITRD" "$jroot/initrd" && chmod 0644 "$jroot/kernel" "$jroot/initrd"
	jargs=
	for w in $EXTRA_VMON_ARGS; do
		case "$w" in
		/*.img*)
			img=${w%%,*}
			ln "$img" "$jroot/$(basename "$img")" && chown 65534:65534 "$img"
			w=/$(basename "$img")${w#"$img"}
			;;
		esac
		jargs="$jargs $w"
	done
	/bin/sbxrun -q "$@" -- /bin/vmon-jailer --id "$jid" --chroot-base-dir /tmp/jailer --exec-file /bin/vmon --uid 65534 --gid 65534 \
		-- run $unpack --kernel /kernel --initrd /initrd --cmdline "$cmdline" --cpus "$cpus" \
		--mem "${GUEST_MEM_MIB}M" $vmon_args $jargs
}

QEMU_OPTIONS_TEXT="qemu-system-x86_64 -enable-kvm -cpu host -M microvm,rtc=on -smp N -m ${GUEST_MEM_MIB}M -nodefaults -no-user-config -nographic -serial stdio -no-reboot -kernel K -initrd I -append C"

# sbx_field LINE KEY: the value of KEY=... in an sbxrun result line.
sbx_field() {
	for kv in $1; do
		case "$kv" in
		"$2"=*) echo "${kv#"$2"=}"; return ;;
		esac
	done
	echo ""
}
