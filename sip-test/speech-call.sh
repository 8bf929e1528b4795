#!/usr/bin/env bash
# sip-test/speech-call.sh: a spoken question to kefu's speech dialplan over SIP, with the real
# models (Whisper base q8_0, Piper joe): SIPp waits out the greeting, streams
# "What are your opening hours?" (espeak-ng, 8 kHz mu-law), and kefu must
#   - transcribe it (its log, with --log-pii, holds the caller's words),
#   - answer from the dialplan's "opening hours" rule,
#   - send the answer as audio (the recording's agent channel has speech after the question).
# It also prints the turn latency seen in the recording: end of the caller's speech (as kefu
# heard it) to kefu's first reply audio.
# Last line "N passed, M failed"; exit 1 on failure.
set -u
. "$(dirname "$0")/lib.sh"
ensure_pkg sipp sip-tester
ensure_pkg espeak-ng espeak-ng
ensure_pkg sox sox

WORK="$(mktemp -d /tmp/kefu-speech.XXXXXX)"
cleanup() {
  stop_kefu
  if [ "$FAIL_COUNT" -eq 0 ] && [ -z "${KEEP:-}" ]; then rm -rf "$WORK" "$KEFU_DATA"
  else echo "logs kept: $WORK (SIPp) $KEFU_DATA (kefu.log, recordings/)"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

espeak-ng -v en-us -s 160 -w "$WORK/q.wav" "What are your opening hours?" || die "espeak-ng failed"
sox "$WORK/q.wav" -r 8000 -c 1 -e u-law -b 8 "$WORK/question-8k-ulaw.wav" || die "sox failed"

KEFU_DIALPLAN=speech start_kefu --log-pii || { fail kefu_start; summary; exit 1; }

( cd "$WORK" && timeout 60 sipp "127.0.0.1:$KEFU_SIP_PORT" -sf "$SIPTEST_DIR/scenarios/speech_question.xml" \
    -m 1 -i 127.0.0.1 -mi 127.0.0.1 -p "$(free_port both)" -timeout 45s -timeout_error \
    -trace_err -nostdin >"$WORK/sipp.out" 2>&1 )
rc=$?
if [ "$rc" -eq 0 ]; then pass speech_call_completed; else fail speech_call_completed "SIPp exit $rc (see $WORK)"; fi

heard=$(grep 'who="caller"' "$KEFU_LOG" | sed -n 's/.*text="\([^"]*\)".*/\1/p' | head -n 1)
if printf '%s' "$heard" | grep -qi 'hours'; then pass heard_question "caller: \"$heard\""
else fail heard_question "no caller transcript with 'hours' (got: \"$heard\")"; fi

said=$(grep 'who="kefu"' "$KEFU_LOG" | sed -n 's/.*text="\([^"]*\)".*/\1/p' | tr '\n' '|')
if printf '%s' "$said" | grep -q 'We are open'; then pass answered_from_rule
else fail answered_from_rule "kefu said: $said"; fi

wav=""
for _ in $(seq 30); do wav=$(newest_recording); [ -n "$wav" ] && break; sleep 0.2; done
if [ -z "$wav" ]; then
  fail reply_audio "no recording in $KEFU_DATA/recordings"
else
  if out=$(python3 - "$wav" <<'PY'
import sys, wave, array, math
w = wave.open(sys.argv[1], "rb")
assert w.getnchannels() == 2 and w.getframerate() == 8000
s = array.array("h", w.readframes(w.getnframes()))
left, right = s[0::2], s[1::2]
F = 160
def rms(x):
    return math.sqrt(sum(v * v for v in x) / max(1, len(x)))
frames = len(left) // F
loud_l = [rms(left[i*F:(i+1)*F]) > 300 for i in range(frames)]
loud_r = [rms(right[i*F:(i+1)*F]) > 300 for i in range(frames)]
speech = [i for i, v in enumerate(loud_l) if v]
if not speech:
    print("the caller channel is silent"); sys.exit(1)
end = speech[-1]
reply = next((i for i in range(end + 1, frames) if loud_r[i]), None)
if reply is None:
    print(f"no agent audio after the caller stopped at {end*20} ms"); sys.exit(1)
print(f"caller speech {speech[0]*20}-{end*20} ms, reply audio from {reply*20} ms: turn latency {(reply-end)*20} ms")
PY
  ); then pass reply_audio "$out"; else fail reply_audio "$out"; fi
fi
if kefu_alive; then pass kefu_alive; else fail kefu_alive; fi
summary
