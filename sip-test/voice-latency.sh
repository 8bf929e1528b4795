#!/usr/bin/env bash
# sip-test/voice-latency.sh: voice-to-voice latency benchmark (issue #3) against kefu's speech
# engines (Whisper, Piper, Silero VAD) over SIP/RTP on 127.0.0.1.
#
# Cuts the real recordings listed in audio/turns/clips.tsv out of Debian's pocketsphinx-testdata
# (installed if missing) into 8 kHz µ-law WAVs in a temporary folder, starts kefu with a
# benchmark dialplan (the bundled speech dialplan's engines and settings, a short reply "Okay."
# so that turns are quick, no goodbye words so that a clip cannot end the call), runs
# voice-latency.py for one call of TURNS turns, stops kefu and prints the Markdown block for
# BENCHMARKS.md.
#
# Env: TURNS (default: one per clip, 20), END_OF_SPEECH_MS (600, as dialplans/speech.toml),
#      MODEL (base-q8_0), VOICE (en_US-joe-medium), REPLY ("Okay."), KEEP=1 keeps the work folder,
#      KEFU_BIN. Extra arguments go to voice-latency.py.
set -u
. "$(dirname "$0")/lib.sh"
ensure_pkg sox sox

WORK="$(mktemp -d /tmp/kefu-vlat.XXXXXX)"
cleanup() {
  stop_kefu
  if [ -z "${KEEP:-}" ]; then rm -rf "$WORK" "${KEFU_DATA:-}"
  else echo "kept: $WORK (clips, dialplan, results) ${KEFU_DATA:-} (kefu.log)"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- fixtures: the turn clips (8 kHz µ-law), the benchmark dialplan
cut_turn_clips "$WORK/clips"
clips=("${CLIPS[@]}")

EOS_MS="${END_OF_SPEECH_MS:-600}"
write_bench_dialplan "$WORK/bench-speech.toml"
KEFU_DIALPLAN="$WORK/bench-speech.toml" start_kefu --log-pii || die "kefu did not start"
cpu0=$(kefu_proc_stats | sed -n 's/.*cpu_s=\([0-9.]*\).*/\1/p')
turns_arg=(); [ -n "${TURNS:-}" ] && turns_arg=(--turns "$TURNS")
timeout 600 python3 "$SIPTEST_DIR/voice-latency.py" --server "127.0.0.1:$KEFU_SIP_PORT" \
  --kefu-log "$KEFU_LOG" --markdown "$WORK/table.md" "${turns_arg[@]}" "$@" "${clips[@]}"
rc=$?
stats=$(kefu_alive && kefu_proc_stats)
stop_kefu
[ "$rc" -eq 0 ] || { KEEP=1; echo "voice-latency.py exit $rc; kefu log: $KEFU_LOG"; exit "$rc"; }

cpu1=$(printf '%s' "$stats" | sed -n 's/.*cpu_s=\([0-9.]*\).*/\1/p')
echo
echo "---- Markdown for BENCHMARKS.md"
echo
echo '```sh'
echo "${TURNS:+TURNS=$TURNS }${END_OF_SPEECH_MS:+END_OF_SPEECH_MS=$END_OF_SPEECH_MS }bash sip-test/voice-latency.sh"
echo '```'
echo
cat "$WORK/table.md"
echo "| kefu end-of-speech silence (\`end_of_speech_ms\`), ASR model, TTS voice | $EOS_MS ms, ${MODEL:-base-q8_0}, ${VOICE:-en_US-joe-medium} |"
[ -n "$cpu1" ] && echo "| kefu CPU time during the call (after start-up) | $(python3 -c "print(f'{$cpu1 - ${cpu0:-0}:.1f} s')") |"
echo "| clips | ${#clips[@]} real recordings from Debian pocketsphinx-testdata (\`sip-test/audio/turns/\`) |"
exit 0
