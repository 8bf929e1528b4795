#!/usr/bin/env bash
# sip-test/voice-capacity.sh: how many simultaneous talking callers kefu's speech engines (Whisper,
# Piper, Silero VAD) serve on this machine, over SIP/RTP on 127.0.0.1 (a benchmark, not a test).
#
# Cuts the clips of audio/turns/clips.tsv out of Debian's pocketsphinx-testdata (installed if
# missing), starts kefu with voice-latency.sh's benchmark dialplan (dialplans/speech.toml's
# engines and settings, the short reply "Okay.", no goodbye words), and runs voice-capacity.py:
# CALLS simultaneous calls, started a little apart, each caller talking about 40 % of the time
# (a clip, kefu's reply, silence), turns for DURATION s. Per turn, the voice-to-voice latency on
# the wire (caller's end of speech -> kefu's first reply packet with speech); failed turn = no
# reply within 8 s; kefu's RSS (idle, peak) and CPU. Prints the Markdown block for BENCHMARKS.md.
#
# Env: CALLS (20), DURATION (120), TALK (0.4), SWEEP="10 15 20 25" (one fresh kefu per N, then the
#      largest N whose p95 stays under 1.2 s), END_OF_SPEECH_MS (600), MODEL (base-q8_0),
#      VOICE (en_US-joe-medium), REPLY ("Okay."), KEEP=1 keeps the work folder, KEFU_BIN.
#      Extra arguments go to voice-capacity.py.
# Exit: 0 when the runs happened (the figures are the result), else voice-capacity.py's status.
set -u
. "$(dirname "$0")/lib.sh"
ensure_pkg sox sox

TALK_SET="${TALK:-}"
CALLS="${CALLS:-20}" DURATION="${DURATION:-120}" TALK="${TALK:-0.4}"
NS="${SWEEP:-$CALLS}"
max_n=0; for n in $NS; do [ "$n" -gt "$max_n" ] && max_n=$n; done
# two RTP ports per call (RTP, RTCP), with room to spare
[ $((max_n * 4)) -gt "${KEFU_RTP_COUNT:-200}" ] && export KEFU_RTP_COUNT=$((max_n * 4))

WORK="$(mktemp -d /tmp/kefu-vcap.XXXXXX)"
cleanup() {
  stop_kefu
  if [ -z "${KEEP:-}" ]; then rm -rf "$WORK" "${KEFU_DATA:-}"
  else echo "kept: $WORK (clips, dialplan, run-N.json, turns-N.tsv, kefu-N.log) ${KEFU_DATA:-}"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- fixtures: the turn clips (8 kHz µ-law), the benchmark dialplan
cut_turn_clips "$WORK/clips"
clips=("${CLIPS[@]}")

EOS_MS="${END_OF_SPEECH_MS:-600}"
write_bench_dialplan "$WORK/bench-speech.toml"

jsons=()
for n in $NS; do
  KEFU_DIALPLAN="$WORK/bench-speech.toml" start_kefu --log-pii || die "kefu did not start"
  sleep 2  # let start-up settle before the idle RSS sample
  log "run: $n calls, ${DURATION} s"
  timeout $((${DURATION%.*} + 120)) python3 "$SIPTEST_DIR/voice-capacity.py" --server "127.0.0.1:$KEFU_SIP_PORT" \
    --calls "$n" --duration "$DURATION" --talk "$TALK" --kefu-pid "$KEFU_PID" --json "$WORK/run-$n.json" \
    --turns-tsv "$WORK/turns-$n.tsv" \
    "$@" "${clips[@]}"
  rc=$?
  alive=yes; kefu_alive || alive=no
  drops=$(kefu_alive && kefu_socket_drops)
  stop_kefu
  cp "$KEFU_LOG" "$WORK/kefu-$n.log"
  warns=$(grep -c -E ' (WARN|ERROR) ' "$WORK/kefu-$n.log")
  echo "kefu after the run: alive=$alive, ${drops:-no socket figures}, $warns WARN/ERROR log lines"
  [ "$alive" = yes ] || { KEEP=1; warn "kefu died during the $n-call run (log: $WORK/kefu-$n.log)"; }
  [ "$rc" -eq 0 ] || { KEEP=1; echo "voice-capacity.py exit $rc; kefu log: $WORK/kefu-$n.log"; exit "$rc"; }
  jsons+=("$WORK/run-$n.json")
done

if [ -n "${SWEEP:-}" ]; then cmd="SWEEP=\"$SWEEP\""; else cmd="CALLS=$CALLS"; fi
cmd="$cmd DURATION=$DURATION${TALK_SET:+ TALK=$TALK_SET}${END_OF_SPEECH_MS:+ END_OF_SPEECH_MS=$END_OF_SPEECH_MS} bash sip-test/voice-capacity.sh"
echo
echo "---- Markdown for BENCHMARKS.md"
echo
python3 "$SIPTEST_DIR/voice-capacity.py" --report "${jsons[@]}" --command "$cmd" \
  --note "kefu end-of-speech silence, ASR model, TTS voice, reply=$EOS_MS ms, ${MODEL:-base-q8_0}, ${VOICE:-en_US-joe-medium}, \"${REPLY:-Okay.}\"" \
  --note "machine=$(nproc) cores ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)), $(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo); the load generator (python) runs on it too"
exit 0
