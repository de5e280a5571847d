# Conveniences over the scripts in tools/ (the README's commands need no make).
.PHONY: all demo check format clean
all:
	@[ -f build/build.ninja ] || meson setup build
	@ninja -C build
demo:
	tools/demo
check:
	tools/check
format:
	find src tests guest bench -name '*.[ch]' | xargs clang-format -i
clean:
	rm -rf build build-asan build-fuzz
