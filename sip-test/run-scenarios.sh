#!/usr/bin/env bash
# sip-test/run-scenarios.sh: SIPp scenarios against a real kefu on 127.0.0.1.
#
#   KEFU_BIN=target/debug/kefu sip-test/run-scenarios.sh        # all
#   ONLY="basic_call dtmf" sip-test/run-scenarios.sh              # a subset (names as printed)
#   KEEP=1 ...                                                    # keep the work dir on success
#
# Starts kefu once (default dialplan), runs each scenario with one call (-m 1), prints
# "NAME PASS|FAIL" per check and a last line "N passed, M failed"; exits 1 on any failure.
# SIPp logs (-trace_msg, -trace_err) of each scenario stay in $WORK/NAME/ (printed on failure).
set -u
. "$(dirname "$0")/lib.sh"

ensure_pkg sipp sip-tester
ensure_pkg python3 python3
SCEN="$SIPTEST_DIR/scenarios"
SIPP_TIMEOUT="${SIPP_TIMEOUT:-30s}"

WORK="$(mktemp -d /tmp/kefu-sipp.XXXXXX)"
DATA_DIRS=()
cleanup() {
  stop_kefu
  if [ "$FAIL_COUNT" -eq 0 ] && [ -z "${KEEP:-}" ]; then rm -rf "$WORK" "${DATA_DIRS[@]}"
  else echo "logs kept: $WORK (SIPp) ${DATA_DIRS[*]} (kefu data dirs, kefu.log inside)"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

want() { [ -z "${ONLY:-}" ] && return 0; case " $ONLY " in *" $1 "*) return 0 ;; esac; return 1; }

# run_sipp NAME SCENARIO.xml [extra sipp args]: one call; PASS iff SIPp exits 0.
run_sipp() {
  local name="$1" xml="$2"; shift 2
  local dir="$WORK/$name" port rc
  mkdir -p "$dir"; ln -sf "$SPEECH_WAV" "$dir/speech-8k-ulaw.wav"
  port=$(free_port both)
  ( cd "$dir" && timeout 90 sipp "127.0.0.1:$KEFU_SIP_PORT" -sf "$SCEN/$xml" -s 100 -m 1 \
      -i 127.0.0.1 -mi 127.0.0.1 -mp "$(free_port udp)" -p "$port" \
      -timeout "$SIPP_TIMEOUT" -timeout_error -trace_err -trace_msg -nostdin "$@" \
      >"$dir/sipp.out" 2>&1 </dev/null )
  rc=$?
  if [ $rc -eq 0 ]; then pass "$name"; return 0; fi
  fail "$name" "(sipp rc=$rc, logs in $dir)"
  # the reason SIPp gave, and the last messages exchanged
  grep -hv -e '^The following events occurred' -e 'Failed to delete FD from epoll' "$dir"/*_errors.log 2>/dev/null | head -n 25 | sed 's/^/    | /'
  local msgs; msgs=$(ls "$dir"/*_messages.log 2>/dev/null | head -n1)
  [ -n "$msgs" ] && { echo "    last SIP messages ($msgs):"; tail -n 40 "$msgs" | sed 's/^/    > /'; }
  return 1
}
# call_id_of NAME: the Call-ID SIPp used in scenario NAME
call_id_of() { grep -m1 -h '^Call-ID:' "$WORK/$1"/*_messages.log 2>/dev/null | sed 's/^Call-ID:[ ]*//; s/\r$//'; }

# recording_for_call_id CID: DIR/recordings/<CID>.wav, or else a file whose name, stripped to
# [A-Za-z0-9.-], contains CID stripped the same way (kefu may sanitise/prefix the name).
recording_for_call_id() {
  local cid="$1" f key
  [ -n "$cid" ] || return 0
  if [ -s "$KEFU_DATA/recordings/$cid.wav" ]; then echo "$KEFU_DATA/recordings/$cid.wav"; return 0; fi
  key=$(printf '%s' "$cid" | tr -cd 'A-Za-z0-9.-')
  for f in "$KEFU_DATA"/recordings/*.wav; do
    [ -s "$f" ] || continue
    case "$(basename "$f" .wav | tr -cd 'A-Za-z0-9.-')" in *"$key"*) echo "$f"; return 0 ;; esac
  done
}

# check_recording NAME: kefu wrote DIR/recordings/<call-id>.wav, valid stereo 8 kHz s16,
# at least 1 s, and both channels carry sound (caller streamed speech, kefu its greeting).
check_recording() {
  local name="$1" cid wav="" i out
  cid=$(call_id_of "$name")
  for i in $(seq 30); do  # the recorder may finalise the header just after the BYE
    wav=$(recording_for_call_id "$cid")
    [ -n "$wav" ] && wav_check "$wav" >/dev/null 2>&1 && break
    sleep 0.1
  done
  if [ -z "$wav" ]; then
    fail "${name}_recording" "no $KEFU_DATA/recordings/$cid.wav; present: $(ls "$KEFU_DATA/recordings" 2>/dev/null | tr '\n' ' ')"
    return 1
  fi
  if out=$(wav_check "$wav" 1.0 2>&1); then pass "${name}_recording" "$(basename "$wav"): $out"
  else fail "${name}_recording" "$(echo "$out" | tr '\n' ' ')"; return 1; fi
  # both channels carry sound: the caller streamed speech, kefu played its greeting
  if out=$(wav_check "$wav" 1.0 0 30 2>&1 && wav_check "$wav" 1.0 1 30 2>&1); then pass "${name}_recording_both_channels"
  else fail "${name}_recording_both_channels" "a channel is silent (RMS<30): $(echo "$out" | tr '\n' ' ')"; fi
}

# wait_calls_active_zero NAME: kefu_calls_active back to 0 within 3 s (if exported)
wait_calls_active_zero() {
  local v i
  for i in $(seq 30); do v=$(metric_value kefu_calls_active); [ "${v%.*}" = 0 ] && break; sleep 0.1; done
  if [ -z "$v" ]; then fail "$1" "kefu_calls_active missing from /metrics"
  elif [ "${v%.*}" = 0 ]; then pass "$1"; else fail "$1" "kefu_calls_active=$v 3 s after the call ended"; fi
}

check_kefu_alive() {
  if kefu_alive; then pass "$1"; else fail "$1" "kefu (pid $KEFU_PID) died; log tail:"; tail -n 30 "$KEFU_LOG" | sed 's/^/    | /'; fi
}

# ------------------------------------------------------------------ run
start_kefu || { fail kefu_start "see log above"; summary; exit 1; }
DATA_DIRS+=("$KEFU_DATA")
SIPP_VERSION=$(sipp -v 2>&1 | grep -o 'SIPp v[^ ]*' | head -n1)
log "SIPp: $SIPP_VERSION; work dir $WORK"

want healthz && { if assert_http_200 "http://127.0.0.1:$KEFU_HTTP_PORT/healthz"; then pass healthz; else fail healthz; fi; }
want options             && run_sipp options options.xml
want unknown_method      && run_sipp unknown_method unknown_method.xml
want bye_unknown_dialog  && run_sipp bye_unknown_dialog bye_unknown_dialog.xml
want bad_sdp             && run_sipp bad_sdp bad_sdp.xml
if want basic_call; then
  run_sipp basic_call basic_call.xml && check_recording basic_call
fi
if want metrics; then
  if body=$(http_get "http://127.0.0.1:$KEFU_HTTP_PORT/metrics" 2>&1) && echo "$body" | grep -q '^kefu_'; then
    pass metrics "$(echo "$body" | grep -c '^kefu_') kefu_ samples"
  else fail metrics "GET /metrics: $(echo "$body" | head -c 300)"; fi
  if want basic_call; then
    if out=$(assert_metric_ge kefu_calls_total 1 2>&1); then pass metrics_calls_total "kefu_calls_total=$(metric_value kefu_calls_total)"
    else fail metrics_calls_total "$out"; fi
  fi
fi
if want hangup_mid_prompt; then
  run_sipp hangup_mid_prompt hangup_mid_prompt.xml && wait_calls_active_zero hangup_mid_prompt_calls_active_0
fi
if want dtmf; then
  # the BYE alone does not prove the digits were heard (kefu also hangs up after its no-input
  # timeout), so also check kefu counted 4 digits and how long the call took
  d0=$(metric_value kefu_dtmf_digits_total)
  t_dtmf=$SECONDS
  if run_sipp dtmf dtmf.xml; then
    d1=$(metric_value kefu_dtmf_digits_total)
    if [ -z "$d1" ]; then fail dtmf_digits_counted "kefu_dtmf_digits_total missing from /metrics"
    elif [ "$(python3 -c "print(int(float('$d1') - float('${d0:-0}')))")" = 4 ]; then
      pass dtmf_digits_counted "4 digits (1 2 3 #); call took ~$((SECONDS - t_dtmf)) s"
    else fail dtmf_digits_counted "kefu_dtmf_digits_total went ${d0:-0} -> $d1 (want +4 for 1 2 3 #)"; fi
  fi
fi
want hold_resume  && run_sipp hold_resume hold_resume.xml
want cancel       && run_sipp cancel cancel.xml
if want basic_call_tcp; then
  run_sipp basic_call_tcp basic_call.xml -t t1 && check_recording basic_call_tcp
fi
want kefu_alive && check_kefu_alive kefu_alive

# Registrar: a second kefu with agent alice; SIPp registers with its own Digest (RFC 2617)
# and unregisters (RFC 3261 10.3).
if want register; then
  stop_kefu
  KEFU_SIP_PORT= KEFU_HTTP_PORT= KEFU_DATA= KEFU_RTP_RANGE=
  printf '[[agents]]\nid = "alice"\npassword = "wonderland"\n' >"$WORK/agents.toml"
  if start_kefu --config "$WORK/agents.toml"; then
    DATA_DIRS+=("$KEFU_DATA")
    run_sipp register register.xml
  else fail register "kefu --config agents.toml did not start"; fi
fi

# Capacity: only when this kefu has --max-calls. A second kefu with --max-calls 1 holds one
# basic call while a second INVITE must get 503 with Retry-After (RFC 3261 21.5.4).
if want capacity_503; then
  if "$KEFU_BIN" serve --help 2>/dev/null | grep -q -- '--max-calls'; then
    stop_kefu
    KEFU_SIP_PORT= KEFU_HTTP_PORT= KEFU_DATA= KEFU_RTP_RANGE=
    if start_kefu --max-calls 1; then
      DATA_DIRS+=("$KEFU_DATA")
      mkdir -p "$WORK/capacity_hold"; ln -sf "$SPEECH_WAV" "$WORK/capacity_hold/speech-8k-ulaw.wav"
      ( cd "$WORK/capacity_hold" && timeout 60 sipp "127.0.0.1:$KEFU_SIP_PORT" -sf "$SCEN/basic_call.xml" -s 100 -m 1 \
          -i 127.0.0.1 -mi 127.0.0.1 -mp "$(free_port udp)" -p "$(free_port both)" -timeout 30s -timeout_error \
          -trace_err -nostdin >"$WORK/capacity_hold/sipp.out" 2>&1 </dev/null ) &
      HOLD=$!
      sleep 1.2   # the held call is answered and in its 3 s pause
      run_sipp capacity_503 capacity.xml
      wait "$HOLD"
    else fail capacity_503 "kefu --max-calls 1 did not start"; fi
  else
    log "kefu serve --help has no --max-calls: capacity_503 skipped"
  fi
fi

echo "--- kefu metrics at end:"
http_get "http://127.0.0.1:$KEFU_HTTP_PORT/metrics" 2>/dev/null | grep '^kefu_' | sed 's/^/    /' | head -n 60
summary
