#!/usr/bin/env bash
# deps.sh: installs the Debian packages cairn builds, tests and benchmarks
# with.  Idempotent; runs apt-get only when something is missing.
set -euo pipefail
pkgs=(build-essential cmake pkg-config libzstd-dev libsodium-dev
      libcurl4-openssl-dev libpq-dev libsqlite3-dev libxxhash-dev
      libjansson-dev libssl-dev libexpat1-dev clang libclang-rt-14-dev python3 zstd faketime)
missing=()
for p in "${pkgs[@]}"; do
	dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if ((${#missing[@]})); then
	sudo_cmd=()
	[ "$(id -u)" = 0 ] || sudo_cmd=(sudo)
	"${sudo_cmd[@]}" apt-get update -qq
	DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${missing[@]}"
fi
