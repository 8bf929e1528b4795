#!/usr/bin/env bash
# sip-test/load-cps.sh: call-setup throughput benchmark (not a test).
#
#   KEFU_BIN=target/release/kefu RATE=500 DURATION=60 sip-test/load-cps.sh
#
# SIPp scenarios/cps.xml (INVITE, 200, ACK, 1 s hold, BYE, 200; no RTP from SIPp) at RATE
# calls/s for DURATION s: -m RATE*DURATION, -l LIMIT concurrent (default RATE*4), UDP.
# Prints attempted/successful/failed calls, achieved CPS, SIPp's setup times, and kefu's
# RSS (VmRSS, VmHWM) and CPU time, as a Markdown block for BENCHMARKS.md.
# Env: RATE (500) DURATION (60) LIMIT (RATE*4) KEFU_RTP_COUNT (ports for kefu: 2*LIMIT+200).
# Exit status: SIPp's (0 = every call succeeded).
set -u
. "$(dirname "$0")/lib.sh"
ensure_pkg sipp sip-tester
RATE="${RATE:-500}"; DURATION="${DURATION:-60}"; LIMIT="${LIMIT:-$((RATE * 4))}"
TOTAL=$((RATE * DURATION))
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
export KEFU_RTP_COUNT="${KEFU_RTP_COUNT:-$((LIMIT * 2 + 200))}"

WORK="$(mktemp -d /tmp/kefu-cps.XXXXXX)"
trap 'stop_kefu; echo "logs: $WORK (SIPp) $KEFU_DATA (kefu)"' EXIT
trap 'exit 130' INT TERM
start_kefu --max-calls "$((LIMIT + 100))" || exit 2
before=$(kefu_proc_stats)
log "kefu before: $before"
log "SIPp: $RATE cps x ${DURATION}s = $TOTAL calls, limit $LIMIT concurrent"
t0=$(date +%s.%N)
( cd "$WORK" && timeout $((DURATION + 180)) sipp "127.0.0.1:$KEFU_SIP_PORT" -sf "$SIPTEST_DIR/scenarios/cps.xml" -s 100 \
    -i 127.0.0.1 -mi 127.0.0.1 -p "$(free_port both)" -mp "$(free_port udp)" \
    -r "$RATE" -rp 1000 -m "$TOTAL" -l "$LIMIT" \
    -trace_stat -stf "$WORK/stat.csv" -fd 5 -trace_err -trace_rtt -rtt_freq 1000 \
    -timeout $((DURATION + 120))s -nostdin >"$WORK/sipp.out" 2>&1 </dev/null )
rc=$?
t1=$(date +%s.%N)
after=$(kefu_proc_stats)
metrics=$(http_get "http://127.0.0.1:$KEFU_HTTP_PORT/metrics" 2>/dev/null | grep '^kefu_' || true)

python3 - "$WORK/stat.csv" "$RATE" "$DURATION" "$LIMIT" "$rc" "$t0" "$t1" "$before" "$after" "$(basename "$KEFU_BIN")" <<'PY'
import csv, sys
stat, rate, dur, limit, rc, t0, t1, before, after, binname = sys.argv[1:]
rows = list(csv.reader(open(stat), delimiter=";"))
hdr, last = rows[0], rows[-1]
v = dict(zip(hdr, last))
def g(k, d="?"): return v.get(k, d).strip()
created = int(g("TotalCallCreated", "0") or 0)
ok = int(g("SuccessfulCall(C)", "0") or 0)
bad = int(g("FailedCall(C)", "0") or 0)
def secs(t):  # SIPp times: HH:MM:SS or HH:MM:SS:uuuuuu
    try:
        p = t.split(":"); x = int(p[0]) * 3600 + int(p[1]) * 60 + int(p[2])
        return x + (int(p[3]) / 1e6 if len(p) > 3 else 0)
    except Exception: return float("nan")
elapsed = float(t1) - float(t0)
call_len = secs(g("CallLength(C)"))
b = dict(x.split("=") for x in before.split()); a = dict(x.split("=") for x in after.split())
fails = {k: g(k) for k in hdr if k.startswith("Failed") and k.endswith("(C)") and g(k) not in ("0", "")}
print()
print(f"### CPS benchmark ({binname}, SIPp cps.xml, UDP, 1 s hold)")
print()
print("| figure | value |")
print("|---|---|")
print(f"| target rate | {rate} cps for {dur} s (limit {limit} concurrent) |")
print(f"| attempted calls | {created} |")
print(f"| successful calls | {ok} |")
print(f"| failed calls | {bad}{' ' + str(fails) if fails else ''} |")
print(f"| SIPp wall time | {elapsed:.1f} s |")
print(f"| achieved CPS (successful / (wall time - mean call length)) | {ok / max(0.001, elapsed - call_len):.1f} |")
print(f"| INVITE->200 mean / stdev (includes kefu's ring time) | {secs(g('ResponseTimesetup(C)'))*1000:.0f} / {secs(g('ResponseTimesetupStDev(C)'))*1000:.0f} ms |")
print(f"| BYE->200 mean / stdev | {secs(g('ResponseTimeteardown(C)'))*1000:.1f} / {secs(g('ResponseTimeteardownStDev(C)'))*1000:.1f} ms |")
print(f"| mean call length | {call_len:.3f} s |")
print(f"| SIPp retransmissions / out-of-call msgs / dead-call msgs | {g('Retransmissions(C)')} / {g('OutOfCallMsgs(C)')} / {g('DeadCallMsgs(C)')} |")
print(f"| kefu RSS before / after / peak (VmHWM) | {int(b['rss_kb'])//1024} / {int(a['rss_kb'])//1024} / {int(a['hwm_kb'])//1024} MiB |")
print(f"| kefu CPU time during run | {float(a['cpu_s']) - float(b['cpu_s']):.1f} s (user {float(a['cpu_user_s'])-float(b['cpu_user_s']):.1f}, sys {float(a['cpu_sys_s'])-float(b['cpu_sys_s']):.1f}); threads {a['threads']} |")
print(f"| SIPp exit code | {rc} |")
PY
echo
echo "kefu metrics after the run:"
echo "$metrics" | sed 's/^/    /' | head -n 80
exit $rc
