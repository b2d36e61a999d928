#!/usr/bin/env bash
# Generates the Python stubs of the Switchyard API from proto/ with protoc and the gRPC Python
# plugin (Debian: apt-get install -y protobuf-compiler protobuf-compiler-grpc).
# Usage: bash examples/python/generate.sh [OUT_DIR]   (default: examples/python/gen, not committed)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="${1:-$here/gen}"

for program in protoc grpc_python_plugin; do
  if ! command -v "$program" >/dev/null 2>&1; then
    echo "generate.sh: $program is missing: apt-get install -y protobuf-compiler protobuf-compiler-grpc" >&2
    exit 1
  fi
done

rm -rf "$out"
mkdir -p "$out"
# proto/ holds the API; the example's own proto/ holds google.rpc.Status (for error details).
# The google/protobuf/*.proto well-known types come with protoc.
protoc \
  --proto_path="$root/proto" \
  --proto_path="$here/proto" \
  --python_out="$out" \
  --grpc_python_out="$out" \
  --plugin=protoc-gen-grpc_python="$(command -v grpc_python_plugin)" \
  "$root"/proto/switchyard/v1/*.proto \
  "$here/proto/google/rpc/status.proto"
echo "generated Python stubs in $out" >&2
