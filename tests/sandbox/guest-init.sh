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
echo "VMON-GUEST-READY"

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

case "$test" in
modules)
	# The kernel's virtio drivers, in dependency order (for the virtio devices of vmon).
	for m in failover net_failover virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev \
	         virtio_pci virtio_blk virtio_net virtio_console virtio-rng; do
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
