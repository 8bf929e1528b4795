#!/usr/bin/env bash
# Regenerates the committed speech fixtures (espeak-ng + sox; installs them with apt when missing):
#   speech-8k-ulaw.wav  8 kHz mono G.711 mu-law WAV, ~4.6 s: SIPp <exec rtp_stream> (PT 0)
#   speech-8k-s16.wav   8 kHz mono 16-bit PCM WAV, same speech: baresip's aufile source
# The output of espeak-ng can differ slightly between versions; the tests only need speech-like,
# non-silent audio, so the committed files (made with espeak-ng 1.51 / sox 14.4.2) are kept.
set -eu
cd "$(dirname "$0")"
. ../lib.sh
ensure_pkg espeak-ng espeak-ng
ensure_pkg sox sox
tmp=$(mktemp /tmp/kefu-speech.XXXXXX.wav)
espeak-ng -v en-us -s 175 -w "$tmp" "Hello, this is a test call. One two three. Thank you, goodbye."
sox "$tmp" -r 8000 -c 1 -e u-law -b 8 speech-8k-ulaw.wav
sox "$tmp" -r 8000 -c 1 -e signed -b 16 speech-8k-s16.wav
rm -f "$tmp"
soxi speech-8k-ulaw.wav speech-8k-s16.wav | grep -E 'Input|Duration|Encoding'
