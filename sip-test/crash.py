#!/usr/bin/env python3
"""Crash test of kefu's call records (driven by crash.sh).

phase "calls": CALLS simultaneous calls to the shop dialplan each say two lines; once every
call's lines are transcribed (kefu's log, run with --log-pii) and the log has been quiet for a
moment, kefu is killed with SIGKILL while the calls are still up. The kefu call id -> record
id map and each call's caller lines, as the log shows them, go to STATE (JSON).

phase "check": after kefu was started again on the same data folder, each call is read back
through the API (GET /api/calls/{id}): it must hold every caller line the log showed, in order,
and be closed with outcome and end reason "interrupted".

Prints one line per check; exit 1 on any failure.
"""
import argparse, importlib.util, json, os, re, signal, sys, threading, time, urllib.request
from types import SimpleNamespace

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import voicecall  # noqa: E402

spec = importlib.util.spec_from_file_location("shop_call", os.path.join(HERE, "shop-call.py"))
shop = importlib.util.module_from_spec(spec)
spec.loader.exec_module(shop)

OPENED_RE = re.compile(r"call record opened.*\bcall=(\d+).*\bid=(\w+)")
FAILED = []


def result(ok, name, detail=""):
    print(f"{'PASS' if ok else 'FAIL'} {name}: {detail}", flush=True)
    if not ok:
        FAILED.append(name)


def record_ids(log):
    ids = {}
    for line in voicecall._log_lines(log):
        m = OPENED_RE.search(line)
        if m:
            ids[int(m.group(1))] = m.group(2)
    return ids


def phase_calls(a):
    clips = {n: voicecall.Clip(os.path.join(a.clips, f"{n}.wav")) for n in ("where", "person")}
    ns = SimpleNamespace(server_addr=a.server_addr, kefu_log=a.kefu_log, reply_rms=300, quiet=1.5,
                         max_reply=60.0, turn_timeout=25.0, vip=False, bye_timeout=20.0)
    callers, done = [], []

    def talk(i):
        c = shop.Caller(ns, f"crash{i}")
        callers.append(c)
        if not c.dial():
            return
        c.greeting(r"help you")
        c.say(clips["where"], "where", r"order", timeout=40)
        c.say(clips["person"], "person", r".", timeout=40)
        done.append(i)

    threads = [threading.Thread(target=talk, args=(i,), daemon=True) for i in range(a.calls)]
    for i, t in enumerate(threads):
        t.start()
        time.sleep(0.7 * (i + 1))
    for t in threads:
        t.join(180)
    result(len(done) == a.calls, "calls_talked", f"{len(done)} of {a.calls} calls said both lines")
    # kill while the calls are up, at a moment when no transcription is being written
    end = time.time() + 20
    while time.time() < end:
        lines = [t for t, w, _, _ in voicecall.parse_log(a.kefu_log) if w == "caller"]
        if lines and time.time() - max(lines) > 0.8:
            break
        time.sleep(0.1)
    up = sum(1 for c in callers if c.kefu and not c.call.bye_received.is_set())
    os.kill(a.kefu_pid, signal.SIGKILL)
    result(up >= 1, "killed_during_calls", f"SIGKILL with {up} calls up")
    time.sleep(0.5)
    ids = record_ids(a.kefu_log)
    calls = {}
    for c in callers:
        cid = c.kefu.call_id() if c.kefu else None
        if cid is None or cid not in ids:
            result(False, "record_opened", f"no 'call record opened' for kefu call {cid}")
            continue
        heard = [txt for _, txt in c.kefu.said("caller")]
        calls[ids[cid]] = heard
    total = sum(len(v) for v in calls.values())
    result(total >= a.calls, "transcribed_before_kill", f"{total} caller lines in the log over {len(calls)} calls")
    with open(a.state, "w") as f:
        json.dump(calls, f)
    for c in callers:
        c.call.close()


def api(a, path):
    req = urllib.request.Request(f"{a.api}{path}", headers={"Authorization": f"Bearer {a.key}"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())


def phase_check(a):
    with open(a.state) as f:
        calls = json.load(f)
    result(bool(calls), "calls_known", f"{len(calls)} calls to check")
    for rid, heard in calls.items():
        try:
            d = api(a, f"/api/calls/{rid}")
        except Exception as e:  # noqa: BLE001
            result(False, f"call_{rid}", f"GET /api/calls/{rid}: {e}")
            continue
        stored = [l["text"] for l in d.get("lines", []) if l.get("speaker") == "caller"]
        result(stored == heard, f"call_{rid}_lines",
               f"{len(stored)} caller lines stored, {len(heard)} in the log"
               + ("" if stored == heard else f": stored {stored} log {heard}"))
        ok = d.get("outcome") == "interrupted" and d.get("end_reason") == "interrupted" and d.get("ended_at")
        result(ok, f"call_{rid}_interrupted",
               f"outcome={d.get('outcome')} end_reason={d.get('end_reason')} ended_at={d.get('ended_at')}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("phase", choices=["calls", "check"])
    ap.add_argument("--server", help="kefu SIP HOST:PORT (calls)")
    ap.add_argument("--kefu-log", help="kefu's log, --log-pii (calls)")
    ap.add_argument("--kefu-pid", type=int, help="kefu's pid, killed with SIGKILL (calls)")
    ap.add_argument("--clips", help="folder with where.wav and person.wav (calls)")
    ap.add_argument("--calls", type=int, default=3)
    ap.add_argument("--api", help="http://HOST:PORT of the restarted kefu (check)")
    ap.add_argument("--key", help="API key (check)")
    ap.add_argument("--state", required=True, help="JSON file written by calls, read by check")
    a = ap.parse_args()
    if a.phase == "calls":
        host, _, port = a.server.rpartition(":")
        a.server_addr = (host, int(port))
        phase_calls(a)
    else:
        phase_check(a)
    print(f"{a.phase}: {'ok' if not FAILED else 'FAILED: ' + ', '.join(FAILED)}")
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main())
