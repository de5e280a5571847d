# vmon — the two commands of the README, and a few helpers.
#   make demo    install what is missing, build, boot the bundled demo guest
#   make check   install what is missing, build, run every test tier
.PHONY: all deps build demo check format clean

DEBIAN_PKGS := meson ninja-build pkg-config gcc libc6-dev linux-libc-dev liburing-dev libjson-c-dev \
	libmicrohttpd-dev libseccomp-dev

all: build

deps:
	@missing=""; for p in $(DEBIAN_PKGS); do \
		dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ]; then \
			echo "installing:$$missing"; \
			DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null && \
			DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing >/dev/null; \
		else echo "please install (as root): apt-get install -y$$missing"; exit 1; fi; \
	fi

build: deps
	@[ -f build/build.ninja ] || meson setup build
	@ninja -C build

demo: build
	./build/src/vmon run --cpus 2

check: deps
	./tests/run

format:
	find src tests guest bench -name '*.[ch]' | xargs clang-format -i

clean:
	rm -rf build build-asan build-fuzz
