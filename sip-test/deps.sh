#!/usr/bin/env bash
# Installs the system packages kefu's end-to-end tests use, only when missing:
# SIPp (sip-tester), baresip, sox, espeak-ng, iproute2 (ip), curl, Chromium, real recorded speech
# (pocketsphinx-testdata: the VAD, ASR and voice benchmarks' recordings); and what
# `--features opus` links against: libopus through pkg-config (libopus-dev); and the C/C++
# toolchain the `speech` feature builds whisper.cpp with.
set -euo pipefail
need=()
have() { command -v "$1" >/dev/null 2>&1; }
have sipp || need+=(sip-tester)
have baresip || need+=(baresip)
have sox || need+=(sox)
have espeak-ng || need+=(espeak-ng)
have ip || need+=(iproute2)
have curl || need+=(curl)
have unshare || need+=(util-linux)
# The web console's test renders its pages in headless Chromium.
[ -x /usr/bin/chromium ] || need+=(chromium)
[ -f /usr/share/pocketsphinx/test/data/goforward.raw ] || need+=(pocketsphinx-testdata)
pkg-config --exists opus 2>/dev/null || need+=(libopus-dev pkg-config)
# The `speech` feature builds whisper.cpp (whisper-rs): cmake, a C++ compiler, libclang.
have cmake || need+=(cmake)
have clang || need+=(clang)
ls /usr/lib/llvm-*/lib/libclang.so* >/dev/null 2>&1 || need+=(libclang-dev)
have g++ || need+=(g++)
if [ ${#need[@]} -eq 0 ]; then
  echo "deps: all present"
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "deps: missing ${need[*]}; install them (as root: apt-get install -y ${need[*]})" >&2
  exit 1
fi
echo "deps: installing ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
