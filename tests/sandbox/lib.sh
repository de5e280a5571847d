# Host-side helpers for the sandbox scripts (tests/sandbox/*, bench/boot/run). Sourced by bash.

SANDBOX_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$SANDBOX_SRC/../.." && pwd)
SANDBOX_OUT=${SANDBOX_OUT:-$REPO_ROOT/build/sandbox}

sbx_log() { echo "sandbox: $*" >&2; }

# sbx_need_pkgs PKG...: installs the Debian packages that are missing (apt-get install -y).
sbx_need_pkgs() {
	local missing=() p
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	sbx_log "installing ${missing[*]}"
	local sudo=
	[ "$(id -u)" = 0 ] || sudo=sudo
	$sudo apt-get install -y "${missing[@]}" >&2 || { $sudo apt-get update >&2 && $sudo apt-get install -y "${missing[@]}" >&2; }
}

# sbx_kernel_version: the newest installed Debian cloud kernel (…-cloud-amd64); empty if none.
sbx_kernel_version() {
	local k
	k=$(ls /boot/vmlinuz-*-cloud-amd64 2>/dev/null | sort -V | tail -n1)
	[ -n "$k" ] && basename "$k" | sed 's/^vmlinuz-//'
}

# sbx_generic_kernel: the newest installed Debian generic kernel (/boot/vmlinuz-<ver>-amd64, package
# linux-image-amd64: unlike the cloud kernel it reads MP tables, CONFIG_X86_MPPARSE); empty if none.
sbx_generic_kernel() {
	ls /boot/vmlinuz-*-amd64 2>/dev/null | grep -v -- '-cloud-amd64$' | sort -V | tail -n1
}

# sbx_l1_qemu LOG INITRD APPEND TIMEOUT: boots L1 (TCG, emulated EPYC with SVM and nested paging),
# console to LOG, killed after TIMEOUT seconds. L1's second serial port goes to LOG.hb (l1-init.sh writes
# its heartbeat there) and its human monitor listens on the socket LOG.mon (sbx_l1_hmp). Returns QEMU's status (124 when timed out).
# SBX_L1_CPUS: L1's CPUs (default 2; tests/sandbox/run and kvm-tier make it 1). SBX_L1_APPEND: more words for L1's command line (e.g.
# sandbox.khugepaged=on).
sbx_l1_qemu() {
	local log=$1 initrd=$2 append=$3 limit=$4 ver
	ver=$(sbx_kernel_version)
	timeout -k 10 "$limit" qemu-system-x86_64 -accel tcg,thread=multi -M pc -cpu EPYC,+svm,+npt -smp "${SBX_L1_CPUS:-2}" -m 2048 \
		-nographic -nic none -no-reboot -monitor "unix:$log.mon,server=on,wait=off" \
		-serial stdio -serial "file:$log.hb" \
		-kernel "/boot/vmlinuz-$ver" -initrd "$initrd" \
		-append "console=ttyS0 panic=-1 quiet $append${SBX_L1_APPEND:+ $SBX_L1_APPEND}" </dev/null >"$log" 2>&1
}

# sbx_l1_hmp LOG CMD...: sends each CMD to the human monitor of the L1 QEMU whose console is LOG and prints
# its answers (used to see where a wedged L1's CPU is: "info registers").
sbx_l1_hmp() {
	local sock=$1.mon
	shift
	[ -S "$sock" ] || return 1
	python3 - "$sock" "$@" <<'PY'
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.settimeout(3)
s.connect(sys.argv[1])
out = b""
for cmd in sys.argv[2:]:
    s.sendall(cmd.encode() + b"\n")
    time.sleep(1)
try:
    while True:
        b = s.recv(65536)
        if not b:
            break
        out += b
except OSError:
    pass
print(out.decode(errors="replace").replace("\r", ""))
PY
}

# l1_cpio_plus ROOT OUT: OUT = the L1 initramfs ($SANDBOX_OUT/l1.cpio) with the files under ROOT appended as
# a second archive (the kernel unpacks both, the later files win).
l1_cpio_plus() {
	cp "$SANDBOX_OUT/l1.cpio" "$2" &&
		(cd "$1" && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc --quiet) >>"$2"
}

# copy_with_libs BIN DIR [DEST]: copies BIN to DEST (default: its own path) under DIR, with the shared
# libraries ldd lists at their own paths.
copy_with_libs() {
	local bin=$1 d=$2 dest=${3:-$1} lib
	mkdir -p "$d$(dirname "$dest")"
	cp -L "$bin" "$d$dest"
	for lib in $(ldd "$bin" 2>/dev/null | grep -oE '/[^ ]+' ); do
		[ -e "$d$lib" ] && continue
		mkdir -p "$d$(dirname "$lib")"
		cp -L "$lib" "$d$lib"
	done
}
