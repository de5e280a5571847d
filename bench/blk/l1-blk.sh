# bench/blk inside the sandbox's L1 (sourced by L1's /init for sandbox.mode=blkbench; installed as
# /sandbox/blkbench.sh by tests/sandbox/build-initramfs). One raw image in L1's tmpfs, attached as a
# virtio-blk PCI disk to the same guest (kernel, initramfs, command line, memory, 1 vCPU) booted
# alternately by vmon, QEMU and vmon --no-seccomp (the filters' cost); round 0 is an unreported
# warm-up. The guest's /init (vmon.test=blkbench) runs /bin/blkbench on /dev/vda and powers off. Prints per run:
#   BLKBENCH <monitor> <round> status=.. timeout=.. test=<name> qd=<n> mbs=<MB/s> iops=<IO/s>
# (one line per test) and BLKBENCH-FAIL <monitor> <round> <sbxrun line> when no result came back.
runs=$(l1_param sandbox.runs 5)
secs=$(l1_param sandbox.secs 3)
img_mib=$(l1_param sandbox.img_mib 256)
monitors=$(l1_param sandbox.monitors vmon,qemu | tr ',' ' ')
vmon_args=$(l1_param sandbox.vmon_args "" | tr ',' ' ')
img=/tmp/blkbench.img
cmdline="console=ttyS0 reboot=k panic=-1 quiet vmon.test=blkbench vmon.bb_secs=$secs"
# QEMU: microvm with its PCIe host (GPEX, described in ACPI), a virtio-blk-pci disk on the same file,
# host page cache used (cache=writeback, as vmon: it opens the image without O_DIRECT; tmpfs has no
# O_DIRECT anyway), io_uring as vmon's default engine, no iothread (vmon serves the queue on its one
# event-loop thread; QEMU on its main loop). virtio-blk-pci defaults as vmon: 1 queue of 256, MSI-X,
# EVENT_IDX.
QEMU_BLK="-drive id=d0,file=$img,if=none,format=raw,cache=writeback,aio=io_uring -device virtio-blk-pci,drive=d0"
QEMU_CMD="/usr/bin/qemu-system-x86_64 -enable-kvm -cpu host -M microvm,rtc=on,pcie=on -smp 1 -m ${GUEST_MEM_MIB}M -nodefaults -no-user-config -nographic -serial stdio -no-reboot -kernel $GUEST_KERNEL -initrd $GUEST_INITRD"
VMON_CMD="/bin/vmon run --kernel $GUEST_KERNEL --initrd $GUEST_INITRD --cpus 1 --mem ${GUEST_MEM_MIB}M --disk $img $vmon_args"

echo "BENCH-CONFIG runs=$runs secs_per_test=$secs image=$img (${img_mib} MiB, L1 tmpfs) mem_mib=$GUEST_MEM_MIB monitors=$monitors"
echo "BENCH-CONFIG cmdline=$cmdline"
echo "BENCH-CONFIG qemu=$QEMU_CMD $QEMU_BLK -append C"
echo "BENCH-CONFIG vmon=$VMON_CMD --cmdline C"
# Every page of the image allocated up front (tmpfs), so that no run reads holes.
dd if=/dev/zero of="$img" bs=1M count="$img_mib" 2>/dev/null || echo "SANDBOX-NOTE cannot create $img"

round=0
while [ "$round" -le "$runs" ]; do
	for mon in $monitors; do
		if ! monitor_available "$mon"; then
			echo "BENCH-MISSING $mon"
			continue
		fi
		out=/tmp/blk-$mon-$round.out
		case "$mon" in
		vmon) line=$(/bin/sbxrun -o "$out" -t $((60 + 8 * secs)) -m VMON-BLKBENCH-DONE -- $VMON_CMD --cmdline "$cmdline") ;;
		# the cost of vmon's seccomp filters (on by default): the same run without them
		vmon-noseccomp) line=$(/bin/sbxrun -o "$out" -t $((60 + 8 * secs)) -m VMON-BLKBENCH-DONE -- $VMON_CMD --no-seccomp --cmdline "$cmdline") ;;
		qemu) line=$(/bin/sbxrun -o "$out" -t $((60 + 8 * secs)) -m VMON-BLKBENCH-DONE -- $QEMU_CMD $QEMU_BLK -append "$cmdline") ;;
		esac
		st="status=$(sbx_field "$line" status) timeout=$(sbx_field "$line" timeout)"
		if grep -q '^VMON-BLKBENCH-DONE status=0' "$out"; then
			sed -n 's/^VMON-BLKBENCH \(test=[a-z_]*\) \(qd=[0-9]*\) .* \(mbs=[0-9.]*\) \(iops=[0-9.]*\).*/\1 \2 \3 \4/p' "$out" |
				while read -r r; do echo "BLKBENCH $mon $round $st $r"; done
		else
			echo "BLKBENCH-FAIL $mon $round $line"
			tail -n 20 "$out" | sed "s/^/L2|blk-$mon-$round| /"
			tail -n 20 "$out.err" | sed "s/^/L2E|blk-$mon-$round| /"
		fi
		# facts (scheduler, request limits, interrupts) and vmon --stats, from the first measured run
		if [ "$round" = 1 ]; then
			grep '^VMON-FACT \(vda_\|irq=\)' "$out" | sed "s/^/BLKBENCH-FACT $mon /"
			sed -n '/exit statistics/,$p' "$out.err" | head -n 60 | sed "s/^/BLKBENCH-STATS $mon /"
		fi
	done
	round=$((round + 1))
done
rm -f "$img"
