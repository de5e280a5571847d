#!/bin/sh
# /init of the L2 guest initramfs (busybox): the stock Linux guest that vmon (or QEMU, as a peer) boots
# inside the sandbox. Prints VMON-GUEST-READY, then the facts the scenarios check as "VMON-FACT key=value"
# lines, then does what the scenario named by vmon.test= on the kernel command line asks.
export PATH=/bin:/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
echo "VMON-GUEST-READY"

test=none
for word in $(cat /proc/cmdline); do
	case "$word" in
	vmon.test=*) test="${word#vmon.test=}" ;;
	esac
done

fact() { echo "VMON-FACT $1=$2"; }
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
	poweroff -f
	;;
reboot)
	echo "VMON-GUEST-REBOOTING"
	reboot -f
	;;
shell)
	echo "VMON-GUEST-SHELL"
	export PS1='guest# '
	exec setsid cttyhack sh
	;;
idle)
	# The benchmark kills the monitor once the marker has been seen.
	while :; do sleep 3600; done
	;;
*)
	echo "VMON-GUEST-POWEROFF"
	poweroff -f
	;;
esac
# Not reached unless poweroff/reboot failed.
echo "VMON-GUEST-FAILED to power off"
sleep 5
