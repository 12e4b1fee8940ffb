#!/usr/bin/env bash
# Installs the system tools grpcbench's tests and code generation need, when
# they are missing: protoc (Debian protobuf-compiler, with the well-known
# types from libprotobuf-dev), headless Chromium (Debian chromium), etcd
# (Debian etcd-server: the lb package's discovery tests run a real one on
# loopback ports) and Prometheus (Debian prometheus). As root it installs
# them with apt-get; otherwise it stops and says what to install.
set -euo pipefail

need=()
command -v protoc >/dev/null 2>&1 || need+=(protobuf-compiler)
[ -f /usr/include/google/protobuf/timestamp.proto ] || need+=(libprotobuf-dev)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v etcd >/dev/null 2>&1 || need+=(etcd-server)
command -v prometheus >/dev/null 2>&1 || need+=(prometheus)

if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "grpcbench: missing system packages: ${need[*]}" >&2
  echo "install them (Debian/Ubuntu): sudo apt-get install -y ${need[*]}" >&2
  exit 1
fi
echo "grpcbench: installing ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
