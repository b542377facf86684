# barge: `make demo` runs the main job, `make test` the tests, `make bench` the comparison with peers.
# Each target installs the Debian packages it needs first (apt-get; sudo when not root).

SWIFT      ?= swift
BUILD_PKGS := librsync-dev libzstd-dev liblz4-dev libsqlite3-dev pkg-config
TEST_PKGS  := $(BUILD_PKGS) sqlite3 attr systemd etcd-server nftables openssl
BENCH_PKGS := $(BUILD_PKGS) restic borgbackup rsync time casync etcd-server nftables
SUDO       := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# The S3-compatible server the off-site tests and the benchmark run against (PyPI).
MOTO       := moto[server]==5.2.1

.PHONY: all build release test demo bench clean deps-build deps-test deps-bench

all: build

define apt_install
	@missing=""; for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing >/dev/null; \
	fi
endef

deps-build:
	$(call apt_install,$(BUILD_PKGS))

define pip_moto
	@python3 -c 'import moto.server, boto3, flask' 2>/dev/null || \
	  { echo "installing $(MOTO) from PyPI"; python3 -m pip install --quiet '$(MOTO)'; }
endef

deps-test:
	$(call apt_install,$(TEST_PKGS))
	$(call pip_moto)

deps-bench:
	$(call apt_install,$(BENCH_PKGS))
	$(call pip_moto)

build: deps-build
	$(SWIFT) build

release: deps-build
	$(SWIFT) build -c release --static-swift-stdlib

# The etcd and failover suites start etcd clusters and agents with second-scale leases: they run
# after the rest, each on its own, so a loaded 2-core machine does not starve their timers.
test: deps-test
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build --skip 'EtcdTests|ClusterFailoverTests'
	$(SWIFT) test --skip-build --filter 'EtcdTests'
	$(SWIFT) test --skip-build --filter 'ClusterFailoverTests'
	./scripts/fuzz.sh 20
	./scripts/check-systemd.sh .build/debug/barge

# libFuzzer + ASan over the Wire frame decoder; `./scripts/fuzz.sh SECONDS` runs longer.
.PHONY: fuzz
fuzz:
	./scripts/fuzz.sh 20

demo: build
	./scripts/demo.sh .build/debug/barge

bench: deps-bench release
	BARGE=.build/release/barge ./bench/run.sh

clean:
	rm -rf .build
