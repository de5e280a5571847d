#!/usr/bin/env bash
# test_jailer_refusals.sh — vmon-jailer refuses what Firecracker's jailer refuses (the cases of its
# tests/integration_tests/security/test_jail.py that need no guest), each with one line naming the
# step, and leaves nothing behind that it made. Needs root (it makes jails); no KVM.
# Usage: test_jailer_refusals.sh JAILER VMON
set -u
JAILER=$1
VMON=$2
tmp=$(mktemp -d)
n=0
cleanup() {
	rmdir /sys/fs/cgroup/*/jrefuse-$$/* /sys/fs/cgroup/*/jrefuse-$$ 2>/dev/null
	rmdir /sys/fs/cgroup/jrefuse-$$/* /sys/fs/cgroup/jrefuse-$$ 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
ok() { n=$((n + 1)); echo "ok $n - $1"; }
bad() {
	n=$((n + 1)); echo "not ok $n - $1"
	[ -n "${2:-}" ] && echo "#   $2"
	sed 's/^/#   stderr: /' "$tmp/err" 2>/dev/null | tail -4
}
check() { if eval "$2"; then ok "$1"; else bad "$1" "${3:-}"; fi; }

echo "TAP version 13"
if [ "$(id -u)" != 0 ]; then
	echo "1..1"
	echo "ok 1 - jailer_refusals # SKIP needs root (a jail is made with mknod, pivot_root, setuid)"
	exit 0
fi
echo "1..13"
base=$tmp/base
mkdir -p "$base"
# jail ARGS...: the jailer with a base under $tmp; status in $st, its stderr in $tmp/err
jail() {
	"$JAILER" --chroot-base-dir "$base" "$@" </dev/null >"$tmp/out" 2>"$tmp/err"
	st=$?
}
one_line() { [ "$(wc -l <"$tmp/err")" = 1 ] && grep -q "^vmon-jailer: $1" "$tmp/err"; }
nothing_made() { [ -z "$(ls -A "$base")" ]; }

jail --id "" --exec-file "$VMON" --uid 65534 --gid 65534
check jailer_empty_id_refused '[ "$st" = 2 ] && one_line "--id: .* has 0 characters" && nothing_made' "status $st"
jail --id "a_b" --exec-file "$VMON" --uid 65534 --gid 65534
check jailer_id_with_other_characters_refused '[ "$st" = 2 ] && one_line "--id: .* only letters, digits and" && nothing_made' "status $st"
jail --id "$(printf 'a%.0s' $(seq 65))" --exec-file "$VMON" --uid 65534 --gid 65534
check jailer_id_of_65_characters_refused '[ "$st" = 2 ] && one_line "--id: .* has 65 characters" && nothing_made' "status $st"
jail --id j1 --exec-file "$VMON" --uid nobody --gid 65534
check jailer_bad_uid_refused '[ "$st" = 2 ] && one_line "--uid: .nobody. is not a number" && nothing_made' "status $st"
jail --id j1 --exec-file "$VMON" --gid 65534
check jailer_missing_uid_refused '[ "$st" = 2 ] && one_line "missing --uid" && nothing_made' "status $st"
jail --id j1 --exec-file "$tmp/no-such-vmon" --uid 65534 --gid 65534
check jailer_missing_exec_file_refused '[ "$st" = 1 ] && one_line "exec file .*no-such-vmon: No such file or directory" && nothing_made' "status $st"
mkdir "$tmp/vmon-dir"
jail --id j1 --exec-file "$tmp/vmon-dir" --uid 65534 --gid 65534
check jailer_exec_file_that_is_a_directory_refused '[ "$st" = 1 ] && one_line "exec file .*vmon-dir is not a file" && nothing_made' "status $st"
jail --id j1 --exec-file "$VMON" --uid 65534 --gid 65534 --cgroup memory
check jailer_cgroup_without_value_refused '[ "$st" = 2 ] && one_line "--cgroup: expected FILE=VALUE" && nothing_made' "status $st"
jail --id j1 --exec-file "$VMON" --uid 65534 --gid 65534 --parent-cgroup ../escape
check jailer_parent_cgroup_outside_refused '[ "$st" = 2 ] && one_line "--parent-cgroup: .* not a relative path" && nothing_made' "status $st"

# an orchestrator's jail made beforehand, with a file in it: the binary's place a symlink or a hard link
name=$(basename "$VMON")
root=$base/$name/j2/root
mkdir -p "$root"
echo keep >"$tmp/host-file"
ln -s "$tmp/host-file" "$root/$name"
jail --id j2 --exec-file "$VMON" --uid 65534 --gid 65534
check jailer_exec_destination_symlink_refused '[ "$st" = 1 ] && one_line "opening .*/j2/root/$name: Too many levels of symbolic links" && [ "$(cat "$tmp/host-file")" = keep ]' "status $st"
rm "$root/$name"
ln "$tmp/host-file" "$root/$name"
jail --id j2 --exec-file "$VMON" --uid 65534 --gid 65534
check jailer_exec_destination_hard_link_refused '[ "$st" = 1 ] && one_line "detected a hard link at .*/j2/root/$name" && [ "$(cat "$tmp/host-file")" = keep ]' "status $st"
rm "$root/$name"

# a jail in use (its pid file is there): refused before anything in it changes
echo 1234 >"$root/$name.pid"
jail --id j2 --exec-file "$VMON" --uid 65534 --gid 65534
check jailer_jail_in_use_refused '[ "$st" = 1 ] && one_line "the jail .*/j2/root is in use or was not cleaned up: .*$name.pid exists" && [ "$(ls -A "$root")" = "$name.pid" ]' "status $st; the jail holds: $(ls -A "$root" | tr '\n' ' ')"
rm -rf "$base/$name"

# a step that fails after the jail was made (a cgroup value the kernel refuses): what was made is gone
if grep -qE '^cgroup2? ' /proc/mounts; then
	if grep -q '^cgroup2 ' /proc/mounts && ! grep -q '^cgroup .*memory' /proc/mounts; then
		jail --id j3 --exec-file "$VMON" --uid 65534 --gid 65534 --cgroup-version 2 --parent-cgroup jrefuse-$$ --cgroup memory.max=lots
	else
		jail --id j3 --exec-file "$VMON" --uid 65534 --gid 65534 --parent-cgroup jrefuse-$$ --cgroup memory.limit_in_bytes=lots
	fi
	left=$(find "$base" /sys/fs/cgroup -maxdepth 3 -name "jrefuse-$$" -o -path "$base/*" 2>/dev/null | head -n 5 | tr '\n' ' ')
	check jailer_failed_step_takes_back_what_it_made '[ "$st" = 1 ] && one_line "cgroup: writing .lots. to .*jrefuse-$$/j3/memory" && [ -z "$left" ]' "status $st; left behind: ${left:-nothing}"
else
	ok "jailer_failed_step_takes_back_what_it_made # SKIP no cgroup hierarchy is mounted here"
fi
