# bench/exit inside the sandbox's L1 (sourced by L1's /init for sandbox.mode=exitbench): the bare KVM_RUN
# probe, vmon and vmon --no-seccomp run the same exit guest with N and with 0 exits, alternating, timed by sbxrun; prints
# "EXITBENCH <monitor> <n> total_ms=..." lines that bench/exit/run --sandbox turns into medians.
rounds=$(l1_param sandbox.rounds 5)
exits=$(l1_param sandbox.exits 20000)
r=0
while [ "$r" -lt "$rounds" ]; do
	for n in "$exits" 0; do
		line=$(/bin/sbxrun -t 300 -- /bin/exit_probe /bench/exit_guest.elf "$n")
		echo "EXITBENCH probe $n $(sbx_field "$line" total_ms) status=$(sbx_field "$line" status)"
		line=$(/bin/sbxrun -t 300 -- /bin/vmon run --kernel /bench/exit_guest.elf --cmdline "$n" --mem 64M)
		echo "EXITBENCH vmon $n $(sbx_field "$line" total_ms) status=$(sbx_field "$line" status)"
		# the cost of the seccomp filters: the same run without them
		line=$(/bin/sbxrun -t 300 -- /bin/vmon run --no-seccomp --kernel /bench/exit_guest.elf --cmdline "$n" --mem 64M)
		echo "EXITBENCH vmon-noseccomp $n $(sbx_field "$line" total_ms) status=$(sbx_field "$line" status)"
	done
	r=$((r + 1))
done
