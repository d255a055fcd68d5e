#!/usr/bin/env bash
# Installs the Debian 12 packages xpusim needs, if any is missing (run as root, or with sudo
# available). Does nothing when everything is present.
set -euo pipefail
packages=(g++ make cmake ninja-build pkg-config libsystemc-dev verilator zlib1g-dev
          libyaml-cpp-dev libfmt-dev nlohmann-json3-dev libcli11-dev libboost-dev catch2 python3)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "xpusim: installing missing Debian packages: ${missing[*]}"
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
