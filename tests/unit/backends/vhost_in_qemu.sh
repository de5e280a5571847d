#!/bin/sh
# vhost_in_qemu.sh — run test_net_vhost inside a QEMU (TCG) guest whose Debian kernel
# has the vhost_net module, for hosts without /dev/vhost-net. Needs qemu-system-x86_64,
# a Debian linux-image-*-amd64 in /boot with its modules, busybox-static, cpio, gcc.
# Usage: tests/unit/backends/vhost_in_qemu.sh   (from the repository root)
# Prints the test's TAP output; exits 0 only when every test passed.
set -eu
root=$(pwd)
kver=${KVER:-$(ls /boot | sed -n 's/^vmlinuz-//p' | sort -V | tail -n 1)}
mods=/lib/modules/$kver/kernel
work=$(mktemp -d /tmp/vmon-vhost-XXXXXX)
trap '[ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT

mkdir -p "$work/root/bin" "$work/root/mod" "$work/root/proc" "$work/root/sys" "$work/root/dev"
gcc -static -O1 -g0 -std=gnu11 -D_GNU_SOURCE -I"$root/src" -I"$root/tests" \
    -I"$root/tests/unit/backends" \
    "$root/tests/unit/backends/test_net_vhost.c" "$root/src/backends/net/net_vhost.c" \
    "$root/src/backends/net/net_tap.c" "$root/src/mem/gmem.c" "$root/src/util/log.c" \
    -o "$work/root/bin/test_net_vhost"
cp /bin/busybox "$work/root/bin/busybox"
for m in drivers/net/tun drivers/net/tap drivers/vhost/vhost_iotlb drivers/vhost/vhost \
         drivers/vhost/vhost_net; do
	f=$(ls "$mods/$m.ko"* | head -n 1)
	case $f in
	*.xz) xz -dc "$f" >"$work/root/mod/$(basename "$m").ko" ;;
	*.zst) zstd -qdc "$f" >"$work/root/mod/$(basename "$m").ko" ;;
	*) cp "$f" "$work/root/mod/" ;;
	esac
done
cat >"$work/root/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sys /sys
/bin/busybox mount -t devtmpfs dev /dev
for m in tun tap vhost_iotlb vhost vhost_net; do /bin/busybox insmod /mod/$m.ko; done
echo "=== test_net_vhost"
/bin/test_net_vhost
echo "=== exit $?"
/bin/busybox poweroff -f
INIT
chmod +x "$work/root/init"
(cd "$work/root" && find . | cpio -o -H newc --quiet | gzip -1) >"$work/initrd.gz"
timeout 300 qemu-system-x86_64 -accel tcg -M pc -m 512 -smp 1 -nographic -nic none -no-reboot \
	-kernel "/boot/vmlinuz-$kver" -initrd "$work/initrd.gz" \
	-append "console=ttyS0 panic=-1 quiet" </dev/null >"$work/log" 2>&1 || true
sed -n '/=== test_net_vhost/,/=== exit/p' "$work/log" | tr -d '\r'
grep -q '=== exit 0' "$work/log"
