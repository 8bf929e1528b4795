#!/usr/bin/env bash
# sip-test/shop-call.sh: phone calls to the bundled shop dialplan (dialplans/shop.toml) over
# SIP/RTP with the real speech engines (Whisper base q8_0, Piper joe, Silero VAD) and a real
# CRM: a python3 http.server on a free port that logs every request it gets and serves
#   GET /orders/12345678  -> {"status": "shipped", "delivery": {"eta": "Tuesday", "carrier": "UPS"}}
#   GET /customers/...    -> 404 (VIP=1: {"vip_level": 3}, the VIP greeting)
#   anything else         -> 404
# The dialplan and its FAQ are copied to the work folder with `crm` pointed at that server.
# The caller's lines are spoken by `kefu say` (CALLER_VOICE, default the Piper voice
# en_US-joe-medium; with espeak:en-us Whisper heard "seven eight" as "M&A") and carried as
# 8 kHz µ-law with 300 ms of silence around them (sox). shop-call.py
# (voicecall.py: python3 stdlib SIP UAC + RTP) makes the calls, waiting each time until kefu
# has finished speaking:
#   main      greeting; "Where is my order?" -> intent order_status, kefu asks for the order
#             number; "one two three four five six seven eight" -> the CRM gets
#             GET /orders/12345678, kefu says the order is on its way (UPS, Tuesday);
#             "I want to talk to a person" -> no colleague exists: kefu says they are busy and
#             keeps the caller (no transfer, no BYE); "goodbye" -> kefu asks for a 1-5 rating;
#             "five" -> kefu's thanks and goodbye spoken to the end, then kefu's BYE. The call's
#             record is then read back through the REST API (transcript, intents, outcome
#             resolved, CSAT 5, QA, recording) and the webhook receiver must have got signed
#             call.started, call.ended and qa.result events for it.
#   crm_slow  the CRM answers after 10 s (longer than the step's 2 s timeout x 2 attempts): the
#             apology ("our order system isn't responding"), two attempts, the call goes on.
#   crm_down  the CRM stopped (connection refused): the apology, the call goes on.
#   next      one more call is answered with a greeting; kefu is still running.
# Prints per turn: what kefu heard and understood, the caller's end of speech -> transcript
# logged and -> kefu's first reply audio, and how long kefu spoke.
# Env: KEFU_BIN, CALLER_VOICE, VIP=1, CASES ("main crm_slow crm_down next"), KEEP=1 keeps the
# work folder and kefu's log. Extra arguments go to shop-call.py (e.g. --quiet 2).
# Last line "N passed, M failed"; exit 1 on failure. About 3 minutes.
set -u
. "$(dirname "$0")/lib.sh"
ensure_pkg sox sox
CALLER_VOICE="${CALLER_VOICE:-en_US-joe-medium}"
CASES="${CASES:-main crm_slow crm_down next}"
VIP_ARG=(); [ "${VIP:-0}" = 1 ] && VIP_ARG=(--vip)

WORK="$(mktemp -d /tmp/kefu-shop-call.XXXXXX)"
CRM_PID=
stop_crm() {
  [ -n "$CRM_PID" ] || return 0
  kill "$CRM_PID" 2>/dev/null
  wait "$CRM_PID" 2>/dev/null
  CRM_PID=
}
HOOKS_PID=
cleanup() {
  stop_kefu
  stop_crm
  [ -n "$HOOKS_PID" ] && { kill "$HOOKS_PID" 2>/dev/null; wait "$HOOKS_PID" 2>/dev/null; }
  if [ "$FAIL_COUNT" -eq 0 ] && [ -z "${KEEP:-}" ]; then rm -rf "$WORK" "${KEFU_DATA:-}"
  else echo "logs kept: $WORK (crm.log, plan/, clips/) ${KEFU_DATA:-} (kefu.log)"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- the CRM: port 0, the port it got goes to crm.port; one line per request in crm.log;
# while $WORK/crm.slow exists it waits 10 s before answering
cat >"$WORK/crm.py" <<'EOF'
import http.server, json, os, sys, time
work, vip = sys.argv[1], sys.argv[2] == "1"
log = os.path.join(work, "crm.log")

class Crm(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def reply(self):
        if self.path == "/orders/12345678":
            return 200, {"status": "shipped", "delivery": {"eta": "Tuesday", "carrier": "UPS"}}
        if self.path.startswith("/customers/") and vip:
            return 200, {"vip_level": 3, "tags": "vip"}
        return 404, {"error": "not found"}

    def handle_any(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n:
            self.rfile.read(n)
        code, body = self.reply()
        slow = os.path.exists(os.path.join(work, "crm.slow"))
        with open(log, "a") as f:
            f.write(f"{time.time():.3f} {self.command} {self.path} {code}{' slow' if slow else ''}\n")
        if slow:
            time.sleep(10)
        data = json.dumps(body).encode()
        try:
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except OSError:
            pass  # kefu gave up (its timeout) and closed the connection

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = handle_any

    def log_message(self, *args):
        pass

srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Crm)
srv.daemon_threads = True
with open(os.path.join(work, "crm.port.tmp"), "w") as f:
    f.write(str(srv.server_address[1]))
os.rename(os.path.join(work, "crm.port.tmp"), os.path.join(work, "crm.port"))
srv.serve_forever()
EOF
: >"$WORK/crm.log"
python3 "$WORK/crm.py" "$WORK" "${VIP:-0}" 2>"$WORK/crm.err" &
CRM_PID=$!
for _ in $(seq 50); do [ -s "$WORK/crm.port" ] && break; sleep 0.1; done
[ -s "$WORK/crm.port" ] || { cat "$WORK/crm.err" >&2; die "the test CRM did not start"; }
CRM_URL="http://127.0.0.1:$(cat "$WORK/crm.port")"
http_get "$CRM_URL/orders/12345678" | grep -q '"shipped"' || die "the test CRM does not answer at $CRM_URL"
: >"$WORK/crm.log"
log "CRM at $CRM_URL (pid $CRM_PID)"

# ---- the dialplan, pointed at the CRM
mkdir -p "$WORK/plan"
cp "$REPO_ROOT/dialplans/shop.toml" "$REPO_ROOT/dialplans/shop.faq.toml" "$WORK/plan/" || die "cannot copy the shop dialplan"
sed -i "s|^crm = .*|crm = \"$CRM_URL\"|" "$WORK/plan/shop.toml"
grep -q "^crm = \"$CRM_URL\"$" "$WORK/plan/shop.toml" || die "no 'crm = ' line to point at the test CRM in shop.toml"
( cd "$REPO_ROOT" && "$KEFU_BIN" dialplan check "$WORK/plan/shop.toml" >"$WORK/check.log" 2>&1 ) ||
  { cat "$WORK/check.log" >&2; die "kefu dialplan check failed on the copied plan"; }

# ---- the caller's lines, and kefu's goodbye as `kefu say` renders it (how long it should last)
goodbye=$(python3 - "$WORK/plan/shop.toml" <<'EOF'
import sys, tomllib
p = tomllib.load(open(sys.argv[1], "rb"))
text = p["steps"]["bye"]["say"]
for k, v in p.get("vars", {}).items():
    text = text.replace("{" + k + "}", str(v))
print(text)
EOF
) || die "no steps.bye.say in shop.toml"
printf '%s\t%s\n' where "Where is my order?" digits "one two three four five six seven eight" \
  person "I want to talk to a person." bye "Goodbye." five "Five." >"$WORK/lines.tsv"
( cd "$REPO_ROOT" &&
  "$KEFU_BIN" say --voice "$CALLER_VOICE" --batch "$WORK/lines.tsv" --out-dir "$WORK/tts" >"$WORK/say.log" 2>&1 &&
  "$KEFU_BIN" say --rate 8000 -o "$WORK/goodbye-ref.wav" "$goodbye" >>"$WORK/say.log" 2>&1 ) ||
  { cat "$WORK/say.log" >&2; die "kefu say failed"; }
mkdir -p "$WORK/clips"
for n in where digits person bye five; do
  sox -V1 "$WORK/tts/$n.wav" -r 8000 -c 1 -e u-law -b 8 "$WORK/clips/$n.wav" pad 0.3 0.3 || die "sox failed on $n.wav"
done

# ---- a webhook receiver: every request as one JSON line (headers, body) in hooks.jsonl
cat >"$WORK/hooks.py" <<'EOF'
import http.server, json, os, sys
work = sys.argv[1]

class Hooks(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with open(os.path.join(work, "hooks.jsonl"), "a") as f:
            f.write(json.dumps({"headers": {k.lower(): v for k, v in self.headers.items()},
                                "body": body.decode("utf-8", "replace")}) + "\n")
        self.send_response(204)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass

srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hooks)
srv.daemon_threads = True
with open(os.path.join(work, "hooks.port.tmp"), "w") as f:
    f.write(str(srv.server_address[1]))
os.rename(os.path.join(work, "hooks.port.tmp"), os.path.join(work, "hooks.port"))
srv.serve_forever()
EOF
python3 "$WORK/hooks.py" "$WORK" 2>"$WORK/hooks.err" &
HOOKS_PID=$!
for _ in $(seq 50); do [ -s "$WORK/hooks.port" ] && break; sleep 0.1; done
[ -s "$WORK/hooks.port" ] || { cat "$WORK/hooks.err" >&2; die "the webhook receiver did not start"; }
HOOK_SECRET="shop-call-test-secret-0123456789"
cat >"$WORK/kefu.toml" <<EOF
[[webhooks]]
name = "test"
url = "http://127.0.0.1:$(cat "$WORK/hooks.port")/hooks"
secret = "$HOOK_SECRET"

[webhook_retry]
first_ms = 200
max_secs = 2
EOF

KEFU_DIALPLAN="$WORK/plan/shop.toml" start_kefu --log-pii --config "$WORK/kefu.toml" || { fail kefu_start; summary; exit 1; }

# run_case CASE: shop-call.py's RESULT lines become pass/fail lines
run_case() {
  local rc= line rest
  while IFS= read -r line; do
    case "$line" in
      "RESULT PASS "*) rest=${line#RESULT PASS }; pass "${rest%% *}" "${rest#* }" ;;
      "RESULT FAIL "*) rest=${line#RESULT FAIL }; fail "${rest%% *}" "${rest#* }" ;;
      "EXIT "*) rc=${line#EXIT } ;;
      *) printf '%s\n' "$line" ;;
    esac
  done < <(timeout 240 python3 "$SIPTEST_DIR/shop-call.py" --case "$1" --server "127.0.0.1:$KEFU_SIP_PORT" \
             --kefu-log "$KEFU_LOG" --crm-log "$WORK/crm.log" --clips "$WORK/clips" \
             --goodbye-ref "$WORK/goodbye-ref.wav" "${VIP_ARG[@]}" \
             --api "http://127.0.0.1:$KEFU_HTTP_PORT" --key "$(cat "$KEFU_DATA/admin-api-key")" \
             --hooks "$WORK/hooks.jsonl" --hook-secret "$HOOK_SECRET" "${@:2}" 2>&1; echo "EXIT $?")
  # a crash or a timeout of shop-call.py is a failure of its own
  if [ "${rc:-none}" != 0 ] && [ "${rc:-none}" != 1 ]; then fail "${1}_script" "shop-call.py exit ${rc:-none}"; fi
}

for c in $CASES; do
  case "$c" in
    main) run_case main "$@" ;;
    crm_slow)
      touch "$WORK/crm.slow"
      run_case crm_slow "$@"
      rm -f "$WORK/crm.slow" ;;
    crm_down)
      stop_crm
      run_case crm_down "$@" ;;
    next) run_case next "$@" ;;
    *) die "CASES: unknown case $c (main crm_slow crm_down next)" ;;
  esac
  kefu_alive || { fail "kefu_alive_after_$c" "kefu exited; log tail:"; tail -n 20 "$KEFU_LOG"; break; }
done
echo "CRM requests:"
sed 's/^/  /' "$WORK/crm.log"
panics=$(grep -c 'panicked' "$KEFU_LOG")
if [ "$panics" -eq 0 ]; then pass kefu_no_panic; else fail kefu_no_panic "$(grep -m1 'panicked' "$KEFU_LOG")"; fi
if kefu_alive; then pass kefu_alive; else fail kefu_alive; fi
summary
