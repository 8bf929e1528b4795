#!/usr/bin/env bash
# sip-test/load-concurrent.sh: concurrent calls with RTP both ways (a benchmark, not a test).
#
#   KEFU_BIN=target/release/kefu CALLS=1000 HOLD=30 RAMP=50 sip-test/load-concurrent.sh
#
# SIPp scenarios/concurrent.xml starts CALLS calls at RAMP calls/s; each streams
# speech-8k-ulaw.wav in a loop (PT 0, 50 packets/s) while kefu plays its prompts, and holds
# so that all CALLS overlap for HOLD seconds (per-call hold = CALLS/RAMP + HOLD), then BYE.
# Reports kefu's RSS before / on the plateau / after (memory per call = plateau delta / CALLS),
# CPU time, and kefu's own RTP counters from /metrics (every line starting kefu_), as a Markdown
# block for BENCHMARKS.md. SIPp's rtpstream does not count received RTP; kefu's
# kefu_rtp_packets_received_total and kefu_rtp_dropped_total{reason} are the receive figures.
# kefu runs sip-test/dialplans/long-hold.toml (the default dialplan with a 1-hour first-key
# timeout) so that it does not hang up on the silent callers; KEFU_DIALPLAN overrides.
# Env: CALLS (1000) HOLD (30) RAMP (50) KEFU_RTP_COUNT (2*CALLS+200) KEFU_DIALPLAN.
set -u
. "$(dirname "$0")/lib.sh"
ensure_pkg sipp sip-tester
CALLS="${CALLS:-1000}"; HOLD="${HOLD:-30}"; RAMP="${RAMP:-50}"
RAMP_S=$(( (CALLS + RAMP - 1) / RAMP ))
PER_CALL_MS=$(( (RAMP_S + HOLD) * 1000 ))
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
export KEFU_RTP_COUNT="${KEFU_RTP_COUNT:-$((CALLS * 2 + 200))}"
export KEFU_DIALPLAN="${KEFU_DIALPLAN:-$SIPTEST_DIR/dialplans/long-hold.toml}"

WORK="$(mktemp -d /tmp/kefu-conc.XXXXXX)"
trap '[ -n "${SIPP_PID:-}" ] && kill "$SIPP_PID" 2>/dev/null; stop_kefu; echo "logs: $WORK (SIPp) $KEFU_DATA (kefu)"' EXIT
trap 'exit 130' INT TERM
start_kefu --max-calls "$((CALLS + 50))" || exit 2
ln -sf "$SPEECH_WAV" "$WORK/speech-8k-ulaw.wav"
sleep 1
before=$(kefu_proc_stats)
drops_before=$(udp_drops)
m_before=$(http_get "http://127.0.0.1:$KEFU_HTTP_PORT/metrics" 2>/dev/null | grep '^kefu_' || true)
log "kefu before: $before"
log "SIPp: $CALLS calls at $RAMP cps (ramp ${RAMP_S}s), each held $((PER_CALL_MS / 1000))s; plateau ${HOLD}s"
t0=$(date +%s)
( cd "$WORK" && exec timeout $((RAMP_S + HOLD + 240)) sipp "127.0.0.1:$KEFU_SIP_PORT" -sf "$SIPTEST_DIR/scenarios/concurrent.xml" -s 100 \
    -i 127.0.0.1 -mi 127.0.0.1 -p "$(free_port both)" -mp "$(free_port_range 4)" \
    -r "$RAMP" -m "$CALLS" -l "$CALLS" -d "$PER_CALL_MS" \
    -trace_stat -stf "$WORK/stat.csv" -fd 5 -trace_err \
    -timeout $((RAMP_S + HOLD + 180))s -nostdin >"$WORK/sipp.out" 2>&1 </dev/null ) &
SIPP_PID=$!
# plateau: sample in the middle of the HOLD window
sleep $((RAMP_S + HOLD / 2))
plateau=$(kefu_proc_stats)
kdrops=$(kefu_socket_drops)
log "kefu UDP sockets on the plateau: $kdrops"
active=$(metric_value kefu_calls_active)
m_plateau=$(http_get "http://127.0.0.1:$KEFU_HTTP_PORT/metrics" 2>/dev/null | grep '^kefu_' || true)
log "kefu on plateau: $plateau active=$active"
wait "$SIPP_PID"; rc=$?; SIPP_PID=
t1=$(date +%s)
sleep 2
after=$(kefu_proc_stats)
kdrops_end=$(kefu_socket_drops)
drops_after=$(udp_drops)
log "host UDP drops before: $drops_before, after: $drops_after"
m_after=$(http_get "http://127.0.0.1:$KEFU_HTTP_PORT/metrics" 2>/dev/null | grep '^kefu_' || true)

python3 - "$WORK/stat.csv" "$CALLS" "$HOLD" "$RAMP" "$rc" "$before" "$plateau" "$after" "${active:-?}" "$((t1 - t0))" "$(basename "$KEFU_BIN")" "$drops_before" "$drops_after" "$kdrops_end" <<'PY'
import csv, sys
stat, calls, hold, ramp, rc, before, plateau, after, active, wall, binname, db, da, kd = sys.argv[1:]
try:
    rows = list(csv.reader(open(stat), delimiter=";")); v = dict(zip(rows[0], rows[-1]))
except Exception:
    v = {}
g = lambda k: v.get(k, "?").strip()
P = lambda s: dict(x.split("=") for x in s.split())
b, p, a = P(before), P(plateau), P(after)
mb = lambda d, k: int(d[k]) / 1024
n = int(calls)
per_call = (int(p["rss_kb"]) - int(b["rss_kb"])) / max(1, int(active) if active.isdigit() and int(active) > 0 else n)
print()
print(f"### Concurrency benchmark ({binname}, SIPp concurrent.xml, UDP, RTP both ways)")
print()
print("| figure | value |")
print("|---|---|")
print(f"| calls | {n} started at {ramp} cps, all overlapping for {hold} s |")
print(f"| SIPp successful / failed / created | {g('SuccessfulCall(C)')} / {g('FailedCall(C)')} / {g('TotalCallCreated')} |")
print(f"| kefu_calls_active on the plateau | {active} |")
print(f"| kefu RSS before / plateau / after | {mb(b,'rss_kb'):.1f} / {mb(p,'rss_kb'):.1f} / {mb(a,'rss_kb'):.1f} MiB (peak VmHWM {mb(a,'hwm_kb'):.1f} MiB) |")
print(f"| memory per call (plateau - before) / active calls | {per_call:.1f} KiB |")
print(f"| kefu CPU time, whole run ({wall} s) | {float(a['cpu_s']) - float(b['cpu_s']):.1f} s (user {float(a['cpu_user_s'])-float(b['cpu_user_s']):.1f}, sys {float(a['cpu_sys_s'])-float(b['cpu_sys_s']):.1f}); threads {a['threads']} |")
D = lambda s: {k: int(x) for k, x in (w.split("=") for w in s.split()) if x.isdigit()}
d0, d1 = D(db), D(da)
K = dict(w.split("=") for w in kd.split())
print(f"| datagrams dropped by the kernel on kefu's {K.get('sockets', '?')} UDP sockets (receive buffer full), whole run | {K.get('drops', '?')} |")
print("| host UDP receive drops during the run (all sockets; SIPp's rtp_stream never reads the RTP kefu sends it) | "
      + str(d1.get("RcvbufErrors", 0) - d0.get("RcvbufErrors", 0)) + " |")
print(f"| SIPp exit code | {rc} |")
PY
delta() {  # before after -> "name before -> after (+delta)"
  python3 - "$1" "$2" <<'PY'
import sys
def parse(s):
    d = {}
    for l in s.splitlines():
        k, _, x = l.rpartition(" ")
        try: d[k] = float(x)
        except ValueError: pass
    return d
b, a = parse(sys.argv[1]), parse(sys.argv[2])
f = lambda x: f"{x:.0f}" if x == int(x) else f"{x:g}"
for k in a:
    print(f"    {k} {f(a[k])}" + (f"   (+{f(a[k]-b[k])} during the run)" if k in b and "quantile" not in k and a[k] != b[k] else ""))
PY
}
if [ "$rc" -ne 0 ]; then
  echo; echo "SIPp errors (first 5 of $(grep -o 'Aborting\|Failed\|timed out' "$WORK"/*_errors.log 2>/dev/null | wc -l)):"
  grep -ho '[0-9:.]*: [A-Z][^:]*: [^ ]*' "$WORK"/*_errors.log 2>/dev/null | head -n 5 | sed 's/^/    /'
fi
echo
echo "kefu metrics on the plateau (kefu_ lines):"
echo "$m_plateau" | sed 's/^/    /' | head -n 80
echo
echo "kefu metrics after the run, with change from before:"
delta "$m_before" "$m_after" | head -n 80
exit $rc
