#!/usr/bin/env bash
# Runs the test suites with node:test (Node 20's --test takes no globs, so files are listed
# with find). Usage: bash scripts/test.sh [unit|integration|all]   (default: all)
#   unit:        every *.test.ts under src/ (colocated unit tests)
#   integration: every *.test.ts under test/ (store conformance, integration, crash, architecture)
# Fails if a suite has no test file. Extra options for node go in NODE_TEST_FLAGS.
set -euo pipefail
cd "$(dirname "$0")/.."

suite="${1:-all}"
case "$suite" in
  unit) dirs=(src) ;;
  integration) dirs=(test) ;;
  all) dirs=(src test) ;;
  *)
    echo "usage: bash scripts/test.sh [unit|integration|all]" >&2
    exit 2
    ;;
esac

for dir in "${dirs[@]}"; do
  mapfile -t files < <(find "$dir" -name '*.test.ts' -not -path '*/node_modules/*' | LC_ALL=C sort)
  if [ "${#files[@]}" -eq 0 ]; then
    echo "scripts/test.sh: no *.test.ts files under $dir/" >&2
    exit 1
  fi
  echo "== ${dir}: ${#files[@]} test files" >&2
  # --test-timeout is a per-test safety net; tests bound their own waits well below it.
  # shellcheck disable=SC2086
  node --import tsx --test --test-concurrency=2 --test-timeout=120000 ${NODE_TEST_FLAGS:-} "${files[@]}"
done
