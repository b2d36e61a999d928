#!/usr/bin/env bash
# Checks that every program the interop suite drives is installed. A missing program fails the
# run with the apt-get line that brings it (the suite never skips). Usage: bash scripts/interop-preflight.sh
set -euo pipefail

# program | Debian package | what needs it
checks=(
  "redis-cli|redis-tools|okQ bridge driven by redis-cli"
  "redis-benchmark|redis-tools|okQ bridge driven by redis-benchmark"
  "h2load|nghttp2-client|gRPC and Connect unary load with h2load"
  "chromium|chromium|RestMQ live consumers in a real browser"
  "protoc|protobuf-compiler|Python stubs generated from proto/"
  "grpc_python_plugin|protobuf-compiler-grpc|Python gRPC stubs generated from proto/"
  "nc|netcat-openbsd|ohpq text bridge driven by netcat"
  "curl|curl|OPQ and RestMQ bridges driven by curl"
)

missing=()
for entry in "${checks[@]}"; do
  IFS='|' read -r program package why <<<"$entry"
  if ! command -v "$program" >/dev/null 2>&1; then
    echo "interop: $program is missing ($why)" >&2
    missing+=("$package")
  fi
done

# Debian's python3 (not a pyenv one) with grpcio and protobuf from python3-grpcio / python3-protobuf.
if ! /usr/bin/python3 -c 'import grpc, google.protobuf' >/dev/null 2>&1; then
  echo "interop: /usr/bin/python3 cannot import grpc and google.protobuf (Python example client)" >&2
  missing+=("python3-grpcio" "python3-protobuf")
fi

# The disk-fault tests (test/interop/disk-faults.test.ts) compile an LD_PRELOAD shim with gcc and
# mount a small tmpfs, which needs root (or CAP_SYS_ADMIN).
if ! command -v gcc >/dev/null 2>&1; then
  echo "interop: gcc is missing (the fsync-failure shim of the disk-fault tests)" >&2
  missing+=("gcc")
fi
mount_probe="$(mktemp -d /tmp/switchyard-preflight-XXXXXX)"
if mount -t tmpfs -o size=1m tmpfs "$mount_probe" >/dev/null 2>&1; then
  umount "$mount_probe"
  rmdir "$mount_probe"
else
  rmdir "$mount_probe"
  echo "interop: cannot mount a tmpfs (the disk-full test mounts one): run the interop suite as root" >&2
  echo "  (or with CAP_SYS_ADMIN, e.g. docker run --cap-add SYS_ADMIN)" >&2
  exit 1
fi

if [ "${#missing[@]}" -gt 0 ]; then
  mapfile -t unique < <(printf '%s\n' "${missing[@]}" | awk '!seen[$0]++')
  echo "" >&2
  echo "The interop suite needs Debian packages that are not installed. Install them with:" >&2
  echo "  apt-get update && apt-get install -y ${unique[*]}" >&2
  exit 1
fi
