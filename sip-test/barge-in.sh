#!/usr/bin/env bash
# sip-test/barge-in.sh: barge-in end to end over SIP/RTP with the real speech engines (Whisper
# base q8_0, Piper joe, Silero VAD). kefu runs dialplans/barge-in.toml (a ~10 s greeting,
# barge_in = true); barge-in.py (voicecall.py: python3 stdlib SIP UAC + RTP) makes three calls:
#   a. the caller speaks a real recording 1.5 s into the greeting: kefu's speech must stop
#      within 1 s of the caller's speech onset, long before the greeting's end; kefu must hear
#      the words ("go somewhere and do something") and reply. Prints the barge-in latency
#      (caller speech onset -> kefu's last packet with speech).
#   b. the caller's line only echoes kefu back (-12 dB, 60 ms, no echo canceller): the greeting
#      must play to its end.
#   c. a 200 ms "mm" (espeak-ng) during the greeting: kefu's speech may pause but must come
#      back within 1 s and the greeting must play to its end.
# The greeting's natural length comes from `kefu say` of the same text. The caller's clip is cut
# from Debian's pocketsphinx-testdata (audio/turns/clips.tsv; installed if missing).
# Env: KEFU_BIN, KEEP=1 keeps the work folder and kefu's log. Extra arguments go to barge-in.py
# (e.g. --cases a).
# Last line "N passed, M failed"; exit 1 on failure.
set -u
. "$(dirname "$0")/lib.sh"
ensure_pkg sox sox
ensure_pkg espeak-ng espeak-ng
ensure_testdata
DATA=$TESTDATA
CLIP=something KEYWORDS="something,somewhere"
DIALPLAN="$SIPTEST_DIR/dialplans/barge-in.toml"

WORK="$(mktemp -d /tmp/kefu-bargein.XXXXXX)"
cleanup() {
  stop_kefu
  if [ "$FAIL_COUNT" -eq 0 ] && [ -z "${KEEP:-}" ]; then rm -rf "$WORK" "${KEFU_DATA:-}"
  else echo "logs kept: $WORK (clips, greeting) ${KEFU_DATA:-} (kefu.log)"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- fixtures: the caller's clip, the "mm", the greeting as kefu says it
row=$(awk -F'\t' -v n="$CLIP" '$1 == n' "$SIPTEST_DIR/audio/turns/clips.tsv")
[ -n "$row" ] || die "clip $CLIP not in audio/turns/clips.tsv"
IFS=$'\t' read -r _ src start end _ <<<"$row"
in=(); case "$src" in *.raw) in=(-t raw -r 16000 -e signed -b 16 -c 1) ;; esac
trim=(trim "$start"); [ "$end" != "-" ] && trim+=("=$end")
sox -V1 "${in[@]}" "$DATA/$src" -r 8000 -c 1 -e u-law -b 8 "$WORK/$CLIP.wav" "${trim[@]}" || die "sox failed on $src"
espeak-ng -v en-us -w "$WORK/mm.wav" "mm" || die "espeak-ng failed"
sox -V1 "$WORK/mm.wav" -r 8000 -c 1 -e u-law -b 8 "$WORK/mm-8k-ulaw.wav" || die "sox failed on mm.wav"
greeting=$(python3 -c 'import sys, tomllib; print(tomllib.load(open(sys.argv[1], "rb"))["speech"]["greeting"])' "$DIALPLAN") ||
  die "no greeting in $DIALPLAN"
( cd "$REPO_ROOT" && "$KEFU_BIN" say --rate 8000 -o "$WORK/greeting.wav" "$greeting" >"$WORK/say.log" 2>&1 ) ||
  { cat "$WORK/say.log" >&2; die "kefu say failed"; }

KEFU_DIALPLAN="$DIALPLAN" start_kefu --log-pii || { fail kefu_start; summary; exit 1; }

py_rc=
while IFS= read -r line; do
  case "$line" in
    "RESULT PASS "*) rest=${line#RESULT PASS }; pass "${rest%% *}" "${rest#* }" ;;
    "RESULT FAIL "*) rest=${line#RESULT FAIL }; fail "${rest%% *}" "${rest#* }" ;;
    "EXIT "*) py_rc=${line#EXIT } ;;
    *) printf '%s\n' "$line" ;;
  esac
done < <(timeout 120 python3 "$SIPTEST_DIR/barge-in.py" --server "127.0.0.1:$KEFU_SIP_PORT" \
           --kefu-log "$KEFU_LOG" --greeting-ref "$WORK/greeting.wav" --clip "$WORK/$CLIP.wav" \
           --keywords "$KEYWORDS" --backchannel "$WORK/mm-8k-ulaw.wav" --dump "$WORK" "$@" 2>&1; echo "EXIT $?")
# barge-in.py's exit status comes as its last line; a crash or a timeout is a failure of its own
py_rc=${py_rc:-none}
if [ "$py_rc" != 0 ] && [ "$FAIL_COUNT" -eq 0 ]; then fail barge_in_script "barge-in.py exit $py_rc"; fi
if kefu_alive; then pass kefu_alive; else fail kefu_alive; fi
summary
