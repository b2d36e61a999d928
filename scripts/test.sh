#!/usr/bin/env bash
# Runs the test suites with node:test (Node 20's --test takes no globs, so files are listed
# with find). Usage: bash scripts/test.sh [unit|integration|all|interop|abuse]   (default: all)
#   unit:        every *.test.ts under src/ (colocated unit tests)
#   integration: every *.test.ts under test/ but test/interop and test/abuse (store conformance,
#                integration, crash, architecture); needs nothing but Node and npm
#   all:         unit, then integration (what `npm test` runs)
#   interop:     every *.test.ts under test/interop: tests that drive programs from Debian packages
#                (redis-cli, redis-benchmark, h2load, Chromium, Python). scripts/interop-preflight.sh
#                checks for each first and fails with the apt-get line when one is missing.
#   abuse:       every *.test.ts under test/abuse: load-and-abuse runs against a broker child
#                process (every attack at once for seconds). They measure latency and memory, so
#                they run on their own, one file at a time, not inside `npm test`.
# Fails if a suite has no test file. Extra options for node go in NODE_TEST_FLAGS.
set -euo pipefail
cd "$(dirname "$0")/.."

suite="${1:-all}"
case "$suite" in
  unit) dirs=(src) ;;
  integration) dirs=(test) ;;
  all) dirs=(src test) ;;
  interop)
    bash scripts/interop-preflight.sh
    dirs=(test/interop)
    ;;
  abuse) dirs=(test/abuse) ;;
  *)
    echo "usage: bash scripts/test.sh [unit|integration|all|interop|abuse]" >&2
    exit 2
    ;;
esac

for dir in "${dirs[@]}"; do
  if [ "$dir" = test ]; then
    # The interop and abuse suites have their own commands: programs npm does not install, and
    # runs that must have the machine to themselves.
    mapfile -t files < <(find test -name '*.test.ts' -not -path 'test/interop/*' -not -path 'test/abuse/*' | LC_ALL=C sort)
  else
    mapfile -t files < <(find "$dir" -name '*.test.ts' -not -path '*/node_modules/*' | LC_ALL=C sort)
  fi
  if [ "${#files[@]}" -eq 0 ]; then
    echo "scripts/test.sh: no *.test.ts files under $dir/" >&2
    exit 1
  fi
  echo "== ${dir}: ${#files[@]} test files" >&2
  # --test-timeout is a per-test safety net; tests bound their own waits well below it.
  # shellcheck disable=SC2086
  concurrency=2
  [ "$suite" = abuse ] && concurrency=1
  node --import tsx --test --test-concurrency=$concurrency --test-timeout=120000 ${NODE_TEST_FLAGS:-} "${files[@]}"
done
