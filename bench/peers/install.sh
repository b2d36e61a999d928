#!/usr/bin/env bash
# Installs the peer brokers the benchmark compares against (Debian packages): redis-server,
# rabbitmq-server, nats-server; and h2load (nghttp2-client), which drives the W1 unary rows. Idempotent: does nothing when all binaries are present. The
# benchmark starts its own private server processes; the packaged system services are not used
# (and are not started here).
#
#   bash bench/peers/install.sh
#
# Exits 0 when everything is installed, non-zero (with what to install) otherwise.
set -euo pipefail

PACKAGES=(redis-server rabbitmq-server nats-server nghttp2-client)
# binary -> package
declare -A BINARIES=(
  [redis-server]=redis-server
  [/usr/lib/rabbitmq/bin/rabbitmq-server]=rabbitmq-server
  [/usr/lib/rabbitmq/bin/rabbitmqctl]=rabbitmq-server
  [epmd]=rabbitmq-server
  [nats-server]=nats-server
  [h2load]=nghttp2-client
)

missing_packages() {
  local missing=()
  local binary
  for binary in "${!BINARIES[@]}"; do
    if [[ "$binary" == /* ]]; then
      [[ -x "$binary" ]] && continue
    elif PATH="$PATH:/usr/sbin:/sbin" command -v "$binary" >/dev/null 2>&1; then
      continue
    fi
    missing+=("${BINARIES[$binary]}")
  done
  if ((${#missing[@]} > 0)); then
    printf '%s\n' "${missing[@]}" | sort -u | tr '\n' ' '
  fi
}

missing="$(missing_packages)"
if [[ -z "$missing" ]]; then
  echo "peers installed: ${PACKAGES[*]}"
  exit 0
fi

if [[ "$(id -u)" -ne 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
  echo "missing peer brokers: $missing" >&2
  echo "install them as root, e.g.:" >&2
  echo "  apt-get update && apt-get install -y --no-install-recommends ${PACKAGES[*]}" >&2
  exit 1
fi

echo "installing: ${PACKAGES[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update
# policy-rc.d keeps the packages' postinst from starting the system services on this machine.
policy=/usr/sbin/policy-rc.d
created_policy=0
if [[ ! -e "$policy" ]]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy"
  chmod 755 "$policy"
  created_policy=1
fi
cleanup() { if ((created_policy)); then rm -f "$policy"; fi; }
trap cleanup EXIT
apt-get install -y --no-install-recommends "${PACKAGES[@]}"

missing="$(missing_packages)"
if [[ -n "$missing" ]]; then
  echo "still missing after apt-get install: $missing" >&2
  exit 1
fi
echo "peers installed: ${PACKAGES[*]}"
