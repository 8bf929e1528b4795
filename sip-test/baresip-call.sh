#!/usr/bin/env bash
# sip-test/baresip-call.sh: one call from a real softphone (baresip 1.0.0) to kefu.
#
#   KEFU_BIN=target/debug/kefu sip-test/baresip-call.sh
#
# baresip dials sip:100@127.0.0.1:KEFU_PORT with its audio source = sip-test/audio/speech-8k-s16.wav
# (aufile module), talks for ~CALL_SECS (default 6) and quits (-t), which hangs up (BYE).
# Then, from kefu's side: the call's recording WAV exists, is stereo 8 kHz s16, and the caller
# channel (left) is not silent; /metrics kefu_calls_total >= 1.
# CODEC=opus makes baresip offer only Opus (RFC 7587), so the call runs on kefu's Opus path and the
# answer must name opus/48000/2; default CODEC=g711 (PCMU, PCMA).
# Last line "N passed, M failed"; exit 1 on failure. Logs: $WORK (kept on failure or KEEP=1).
set -u
. "$(dirname "$0")/lib.sh"

ensure_pkg baresip baresip
ensure_pkg python3 python3
[ -f /usr/lib/baresip/modules/aufile.so ] || die "baresip aufile module missing (/usr/lib/baresip/modules/aufile.so)"
CALL_SECS="${CALL_SECS:-6}"
CODEC="${CODEC:-g711}"
case "$CODEC" in
  g711) BS_MODULE=g711.so; BS_CODECS=PCMU,PCMA ;;
  opus) BS_MODULE=opus.so; BS_CODECS=opus ;;
  *) die "CODEC must be g711 or opus, not $CODEC" ;;
esac
[ -f "/usr/lib/baresip/modules/$BS_MODULE" ] || die "baresip module missing: /usr/lib/baresip/modules/$BS_MODULE"

WORK="$(mktemp -d /tmp/kefu-baresip.XXXXXX)"
cleanup() {
  [ -n "${BS_PID:-}" ] && kill -0 "$BS_PID" 2>/dev/null && kill -TERM "$BS_PID" 2>/dev/null && wait "$BS_PID" 2>/dev/null
  stop_kefu
  if [ "$FAIL_COUNT" -eq 0 ] && [ -z "${KEEP:-}" ]; then rm -rf "$WORK" "$KEFU_DATA"
  else echo "logs kept: $WORK (baresip.log) $KEFU_DATA (kefu.log, recordings/)"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start_kefu || { fail kefu_start; summary; exit 1; }

# aufile does not resample: Opus runs at 48 kHz stereo in baresip, so feed it that.
SRC_WAV="$SPEECH_WAV_S16"
if [ "$CODEC" = opus ]; then
  ensure_pkg sox sox
  SRC_WAV="$WORK/speech-48k-s16.wav"
  sox "$SPEECH_WAV_S16" -r 48000 -c 2 -b 16 "$SRC_WAV" || die "sox could not make $SRC_WAV"
fi

# baresip config (see /work/shared/SIP-PEERS.md); aufile reads 16-bit PCM WAV
BS_PORT=$(free_port both)
RTP_BASE=$(free_port_range 20)
mkdir -p "$WORK/conf"
cat >"$WORK/conf/config" <<EOF
poll_method epoll
sip_listen 127.0.0.1:$BS_PORT
sip_trans_def udp
audio_player aubridge,nil
audio_source aufile,$SRC_WAV
audio_alert aubridge,nil
module_path /usr/lib/baresip/modules
module stdio.so
module $BS_MODULE
module aufile.so
module aubridge.so
module_app account.so
module_app menu.so
rtp_ports $RTP_BASE-$((RTP_BASE + 19))
EOF
echo "<sip:caller@127.0.0.1:$BS_PORT>;regint=0;answermode=auto;audio_codecs=$BS_CODECS" >"$WORK/conf/accounts"
: >"$WORK/conf/contacts"

log "baresip ($CODEC) dials sip:100@127.0.0.1:$KEFU_SIP_PORT for ${CALL_SECS}s"
calls_before=$(metric_value kefu_calls_total); calls_before=${calls_before:-0}
# stdin from a pipe that stays open: the stdio UI must not see EOF (it would quit at once)
( sleep $((CALL_SECS + 5)) ) | timeout $((CALL_SECS + 20)) baresip -f "$WORK/conf" -t "$CALL_SECS" \
    -e "/dial sip:100@127.0.0.1:$KEFU_SIP_PORT" >"$WORK/baresip.log" 2>&1 &
BS_PID=$!
wait "$BS_PID"; bs_rc=$?; BS_PID=
log "baresip exited rc=$bs_rc"
grep -E -i 'established|terminated|closed|error|SIP/2.0|failed|call' "$WORK/baresip.log" | head -n 20 | sed 's/^/    baresip| /'

if grep -q -i 'established' "$WORK/baresip.log"; then pass baresip_call_established
else fail baresip_call_established "no 'Call established' in $WORK/baresip.log"; fi
# The codec both sides settled on, as baresip reports it.
want_codec=PCM; [ "$CODEC" = opus ] && want_codec=opus
if grep -q -E "Set audio encoder: $want_codec" "$WORK/baresip.log"; then pass "codec_$CODEC"
else fail "codec_$CODEC" "baresip did not report encoder $want_codec"; fi

# kefu's side: the newest recording (baresip's Call-ID is random)
wav=""
for i in $(seq 30); do
  wav=$(newest_recording)
  [ -n "$wav" ] && wav_check "$wav" >/dev/null 2>&1 && break
  sleep 0.2
done
if [ -z "$wav" ]; then
  fail recording_exists "no WAV in $KEFU_DATA/recordings"
else
  if out=$(wav_check "$wav" 1.0 2>&1); then pass recording_valid "$(basename "$wav"): $out"
  else fail recording_valid "$(echo "$out" | tr '\n' ' ')"; fi
  # left = caller (what baresip played: speech), RMS floor well above dither/silence
  if out=$(wav_check "$wav" 1.0 0 100 2>&1); then pass recording_caller_not_silent "$out"
  else fail recording_caller_not_silent "$(echo "$out" | tr '\n' ' ')"; fi
fi

calls_after=$(metric_value kefu_calls_total)
if [ -n "$calls_after" ] && python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) >= max(1, float(sys.argv[2]) + 1) else 1)' "$calls_after" "$calls_before"; then
  pass metrics_calls_total "kefu_calls_total=$calls_after"
else fail metrics_calls_total "kefu_calls_total=${calls_after:-absent} (before: $calls_before)"; fi
if kefu_alive; then pass kefu_alive; else fail kefu_alive; fi

summary
