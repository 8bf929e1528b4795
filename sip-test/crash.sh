#!/usr/bin/env bash
# sip-test/crash.sh: nothing transcribed is lost when kefu is killed in the middle of calls.
# kefu runs the bundled shop dialplan (real Whisper/Piper/Silero; its CRM is left unreachable,
# kefu apologises) with --log-pii. crash.py places 3 simultaneous calls whose callers each say
# two lines ("Where is my order?", "I want to talk to a person."), then kills kefu with
# SIGKILL while the calls are up. kefu is started again on the same data folder; every call is
# read back through the API: each must hold every caller line kefu's log showed before the
# kill, in order, and be closed with outcome "interrupted".
# Env: KEFU_BIN, CALLER_VOICE (en_US-joe-medium), KEEP=1 keeps the work folder and logs.
# Last line "N passed, M failed"; exit 1 on failure. About 2 minutes.
set -u
. "$(dirname "$0")/lib.sh"
ensure_pkg sox sox
CALLER_VOICE="${CALLER_VOICE:-en_US-joe-medium}"
WORK="$(mktemp -d /tmp/kefu-crash.XXXXXX)"
cleanup() {
  stop_kefu
  if [ "$FAIL_COUNT" -eq 0 ] && [ -z "${KEEP:-}" ]; then rm -rf "$WORK" "${KEFU_DATA:-}"
  else echo "logs kept: $WORK ${KEFU_DATA:-}"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$WORK/plan" "$WORK/clips"
cp "$REPO_ROOT/dialplans/shop.toml" "$REPO_ROOT/dialplans/shop.faq.toml" "$WORK/plan/" || die "cannot copy the shop dialplan"
# a CRM nobody answers: port 9 on loopback refuses at once
sed -i 's|^crm = .*|crm = "http://127.0.0.1:9"|' "$WORK/plan/shop.toml"
printf '%s\t%s\n' where "Where is my order?" person "I want to talk to a person." >"$WORK/lines.tsv"
( cd "$REPO_ROOT" && "$KEFU_BIN" say --voice "$CALLER_VOICE" --batch "$WORK/lines.tsv" --out-dir "$WORK/tts" >"$WORK/say.log" 2>&1 ) ||
  { cat "$WORK/say.log" >&2; die "kefu say failed"; }
for n in where person; do
  sox -V1 "$WORK/tts/$n.wav" -r 8000 -c 1 -e u-law -b 8 "$WORK/clips/$n.wav" pad 0.3 0.3 || die "sox failed on $n.wav"
done

KEFU_DIALPLAN="$WORK/plan/shop.toml" KEFU_ARGS="--log-pii" KEFU_READY_TIMEOUT=120 start_kefu || die "kefu did not start"
python3 "$REPO_ROOT/sip-test/crash.py" calls --server "127.0.0.1:$KEFU_SIP_PORT" --kefu-log "$KEFU_LOG" \
  --kefu-pid "$KEFU_PID" --clips "$WORK/clips" --state "$WORK/state.json" | tee "$WORK/calls.out"
if grep -q '^calls: ok' "$WORK/calls.out"; then pass crash_calls "calls placed, kefu killed with SIGKILL during them"
else fail crash_calls "see the FAIL lines above"; fi
wait "$KEFU_PID" 2>/dev/null
KEFU_PID=
cp "$KEFU_LOG" "$WORK/kefu-before-kill.log"

KEFU_DIALPLAN="$WORK/plan/shop.toml" KEFU_ARGS="--log-pii" KEFU_READY_TIMEOUT=120 start_kefu || die "kefu did not start again"
if grep -q 'recorded as interrupted' "$KEFU_LOG"; then pass crash_restart "the restart closed the interrupted calls"
else fail crash_restart "no 'recorded as interrupted' in the log of the restart"; fi
python3 "$REPO_ROOT/sip-test/crash.py" check --api "http://127.0.0.1:$KEFU_HTTP_PORT" \
  --key "$(cat "$KEFU_DATA/admin-api-key")" --state "$WORK/state.json" | tee "$WORK/check.out"
if grep -q '^check: ok' "$WORK/check.out"; then pass crash_records "every transcribed line survived; calls closed as interrupted"
else fail crash_records "see the FAIL lines above"; fi
summary
