# Gatehouse: `make demo` runs the release-gate pipeline on the examples; `make test` runs
# every test. Both install what they need first (scripts/setup.sh is idempotent and quiet).

CARGO ?= cargo
export CARGO_TERM_COLOR ?= auto

.PHONY: all build release setup setup-bench test test-unit test-pipeline lint fmt demo bench clean image release-self test-image

all: build

setup:
	@scripts/setup.sh

setup-bench:
	@scripts/setup.sh --bench

build:
	$(CARGO) build --workspace

release:
	$(CARGO) build --workspace --release --bins

test: setup test-unit test-pipeline

test-unit:
	$(CARGO) nextest run --workspace --profile ci

# Cross-tool tests: pipelines of several tools, as a user chains them.
test-pipeline:
	$(CARGO) build --workspace --bins --quiet
	@tests/run.sh

lint: setup
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings

fmt:
	$(CARGO) fmt --all

demo: setup
	@scripts/demo.sh

bench: setup-bench release
	@scripts/bench.sh

# Gatehouse's own image, localhost/gatehouse:<version> and :dev: static binaries FROM
# scratch, within MAX_IMAGE_MB (default 60). release-self runs our whole release through
# our own gate and ends in a verified evidence pack (out/self-release/).
image:
	@scripts/setup.sh --release
	@scripts/lib/image.sh

release-self:
	@scripts/release-self.sh

# The image's own tests (tests/image/): they need the static auditable release build, which
# costs 15-30 minutes on 2 cores from a cold cache, so they are not part of make test (CI's
# 30-minute budget); run them before a release.
test-image:
	@scripts/setup.sh --release
	$(CARGO) build --workspace --bins --quiet
	@tests/run.sh tests/image

clean:
	rm -rf out
	$(CARGO) clean
