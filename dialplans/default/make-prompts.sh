#!/usr/bin/env bash
# Regenerates the default dialplan's prompts (8 kHz, 16-bit, mono WAV) with
# espeak-ng and sox (Debian packages espeak-ng, sox). The generated files are
# committed, so running this is only needed to change the wording.
set -euo pipefail
cd "$(dirname "$0")/prompts"
say() { espeak-ng -v en-us -s 165 -w /tmp/kefu-prompt.wav "$2"; sox /tmp/kefu-prompt.wav -r 8000 -b 16 -c 1 "$1.wav" norm -3; }
say greeting "Welcome to kefu. Enter some digits, then press the pound key."
say you-entered "You entered"
say goodbye "Goodbye."
say no-input "No digits were entered."
say sorry "Sorry, something went wrong on my side. Please say that again."
for d in 0 1 2 3 4 5 6 7 8 9; do
  words=(zero one two three four five six seven eight nine); say "digit-$d" "${words[$d]}"
done
say digit-star "star"; say digit-pound "pound"
for d in a b c d; do say "digit-$d" "$d"; done
rm -f /tmp/kefu-prompt.wav
