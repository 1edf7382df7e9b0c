# Thin wrapper around Meson. `make test` and `make demo` install what they
# need first (scripts/deps.sh), so each is the only command needed on a
# fresh Debian 12 machine.
PREFIX ?= /usr/local
DESTDIR ?=
FUZZ_SECONDS ?= 20
MESON ?= meson
NINJAFLAGS ?=
COVERAGE_MIN ?= 85

.PHONY: all deps test demo install fuzz bench clean coverage

all:
	@test -f build/build.ninja || $(MESON) setup build --buildtype=release -Dtests=false --prefix=$(PREFIX)
	ninja -C build

deps:
	@sh scripts/deps.sh

# Sanitized (ASan+UBSan) debug build with -Werror; unit tests (cmocka) and
# integration tests (pytest) run through `meson test`; the last line is
# "N passed, N failed".
test: deps
	@test -f build-test/build.ninja || $(MESON) setup build-test --buildtype=debug \
		-Db_sanitize=address,undefined -Dwerror=true -Dtests=true
	ninja -C build-test
	@# Optimised builds warn about things -O0 does not see: compile them with -Werror too.
	@test -f build-werror/build.ninja || $(MESON) setup build-werror --buildtype=release \
		-Dwerror=true -Dtests=true
	ninja -C build-werror
	@rm -rf build-test/test-results && mkdir -p build-test/test-results
	@ASAN_OPTIONS=abort_on_error=1:detect_leaks=1:strict_string_checks=1 \
	 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	 $(MESON) test -C build-test --print-errorlogs --num-processes 2 ; rc=$$?; \
	 /usr/bin/python3 scripts/test_summary.py build-test/test-results build-test/meson-logs/testlog.json; \
	 src=$$?; [ $$rc -eq 0 ] && [ $$src -eq 0 ]

demo: deps all
	@/usr/bin/python3 scripts/demo.py $(DEMO_ARGS)

install: all
	$(MESON) configure build -Dprefix=$(PREFIX)
	ninja -C build
	DESTDIR=$(DESTDIR) $(MESON) install -C build --no-rebuild

fuzz: deps
	@test -f build-fuzz/build.ninja || CC=clang $(MESON) setup build-fuzz --buildtype=debug \
		-Db_sanitize=address,undefined -Db_lundef=false -Dfuzz=true -Dtests=false
	ninja -C build-fuzz
	@sh scripts/fuzz.sh build-fuzz $(FUZZ_SECONDS)

bench: deps all
	@/usr/bin/python3 bench/run.py --record

# Line coverage (gcovr) of the unit and integration suites, per directory
# of src/ and sim/; fails when a test fails or the total is below
# COVERAGE_MIN percent. Counts start from zero on each run. NINJAFLAGS
# (e.g. -j2) go to its ninja.
coverage: deps
	@test -f build-cov/build.ninja || $(MESON) setup build-cov --buildtype=debug \
		-Db_coverage=true -Dtests=true
	ninja $(NINJAFLAGS) -C build-cov
	@find build-cov -name '*.gcda' -delete
	@$(MESON) test -C build-cov --print-errorlogs --num-processes 2 ; rc=$$?; \
	 /usr/bin/python3 scripts/coverage.py build-cov --min $(COVERAGE_MIN); crc=$$?; \
	 [ $$rc -eq 0 ] && [ $$crc -eq 0 ]

clean:
	rm -rf build build-test build-werror build-fuzz build-cov
