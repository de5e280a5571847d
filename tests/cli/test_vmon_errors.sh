#!/usr/bin/env bash
# test_vmon_errors.sh — every bad argument or file gets one clear line on stderr
# and status 2, before any VM is made (no /dev/kvm needed: the kernel is
# checked before KVM is opened). Usage: test_vmon_errors.sh VMON
set -u
VMON=${1:?usage: $0 VMON}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0
fails=0

# expect NAME PATTERN -- ARGS...: status 2, exactly one stderr line matching PATTERN, nothing on stdout
# (under `timeout 10`: a vmon that blocks, say on a FIFO, fails with status 124 instead of hanging)
expect() {
	local name=$1 pat=$2
	shift 3
	n=$((n + 1))
	timeout -s KILL 10 "$VMON" "$@" </dev/null >"$tmp/out" 2>"$tmp/err"
	local st=$? lines
	lines=$(wc -l <"$tmp/err")
	if [ $st -eq 2 ] && [ "$lines" -eq 1 ] && grep -qE -- "$pat" "$tmp/err" && [ ! -s "$tmp/out" ]; then
		echo "ok $n - vmon_errors_$name"
	else
		echo "not ok $n - vmon_errors_$name"
		echo "#   status $st (want 2), $lines stderr lines (want 1), pattern '$pat'"
		sed 's/^/#   stderr: /' "$tmp/err" | head -5
		fails=$((fails + 1))
	fi
}

head -c 4096 /dev/urandom >"$tmp/junk"
: >"$tmp/empty"
chmod 000 "$tmp/empty" 2>/dev/null
printf 'x' >"$tmp/unreadable"
chmod 000 "$tmp/unreadable"
# a multiboot image whose bss reaches 256 MiB: too large for --mem 64M
python3 - "$tmp/big.elf" <<'PY'
import struct, sys
magic, flags = 0x1BADB002, 0x00010000
hdr = struct.pack("<8I", magic, flags, (-(magic + flags)) & 0xffffffff,
                  0x100000, 0x100000, 0x100040, 0x10000000, 0x100020)
open(sys.argv[1], "wb").write(hdr + b"\xf4" * 32)
hdr = struct.pack("<8I", magic, flags, (-(magic + flags)) & 0xffffffff,
                  0x100000, 0x100000, 0x100040, 0x100040, 0x100020)
open(sys.argv[1].replace("big", "small"), "wb").write(hdr + b"\xf4" * 32)
PY
truncate -s 200M "$tmp/huge-initrd"
# a FIFO with no writer: opening it blocking would wait forever
mkfifo "$tmp/fifo"
printf '{"boot-source": {"kernel_image_path": "%s"}}\n' "$tmp/fifo" >"$tmp/fifo-kernel.json"

echo "TAP version 13"
echo "1..22"
expect missing_kernel "kernel '.*/nope'.*No such file" -- run --kernel "$tmp/nope"
expect kernel_is_directory "not a regular file" -- run --kernel "$tmp"
expect not_a_kernel "junk.*(not|unknown|no multiboot|bzImage)" -- run --kernel "$tmp/junk" --mem 64M
expect kernel_too_large_for_mem "big.elf.*" -- run --kernel "$tmp/big.elf" --mem 64M
expect initrd_too_large_for_mem "initrd|ramdisk|fit|large" -- run --kernel "$tmp/small.elf" --initrd "$tmp/huge-initrd" --mem 32M
expect missing_initrd "initrd '.*/nope'" -- run --kernel "$tmp/junk" --initrd "$tmp/nope"
if [ "$(id -u)" = 0 ]; then
	n=$((n + 1))
	echo "ok $n - vmon_errors_unreadable_kernel # SKIP root can read any file"
else
	expect unreadable_kernel "Permission denied" -- run --kernel "$tmp/unreadable"
fi
expect bad_mem "--mem" -- run --mem 12Q
expect mem_not_page_multiple "multiple of 4K" -- run --mem 16777217
expect bad_cpus "--cpus" -- run --cpus 0
expect unknown_option "unknown option" -- run --frobnicate
expect unknown_command "unknown command" -- frobnicate
expect missing_disk "disk '.*/nope.img'" -- run --disk "$tmp/nope.img"
expect no_command "no command" --
expect kernel_is_fifo "^vmon: kernel '.*/fifo' is not a regular file$" -- run --kernel "$tmp/fifo"
expect initrd_is_fifo "^vmon: initrd '.*/fifo' is not a regular file$" -- run --kernel "$tmp/small.elf" --initrd "$tmp/fifo"
expect disk_is_fifo "^vmon: disk '.*/fifo' is not a regular file or block device$" -- run --kernel "$tmp/small.elf" --disk "$tmp/fifo"
expect metadata_missing "^vmon: --metadata .*/nope: No such file" -- --config-file "$tmp/fifo-kernel.json" --no-api --metadata "$tmp/nope"
expect metadata_not_json "^vmon: --metadata .*/junk: .*JSON" -- --config-file "$tmp/fifo-kernel.json" --no-api --metadata "$tmp/junk"
expect config_file_is_fifo "^vmon: .*/fifo: not a regular file$" -- --config-file "$tmp/fifo" --no-api
expect config_file_kernel_is_fifo "kernel '.*/fifo' is not a regular file" -- --config-file "$tmp/fifo-kernel.json" --no-api

# SIGTERM ends vmon while it waits before any VM exists (here: the API, for InstanceStart)
n=$((n + 1))
"$VMON" --api-sock "$tmp/api.sock" </dev/null >/dev/null 2>"$tmp/err" &
pid=$!
for _ in $(seq 100); do
	[ -S "$tmp/api.sock" ] && break
	sleep 0.1
done
kill -TERM "$pid" 2>/dev/null
st=
for _ in $(seq 100); do
	if ! kill -0 "$pid" 2>/dev/null; then
		wait "$pid"
		st=$?
		break
	fi
	sleep 0.1
done
if [ "$st" = 143 ]; then
	echo "ok $n - vmon_errors_sigterm_before_the_vm"
else
	echo "not ok $n - vmon_errors_sigterm_before_the_vm"
	echo "#   status '${st:-still running after SIGTERM}' (want 143)"
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	fails=$((fails + 1))
fi
exit $((fails > 0))
