#!/usr/bin/env python3
"""shop-call.py: one phone call to kefu's shop dialplan, a turn at a time (see shop-call.sh).

The caller (voicecall.py: SIP from 127.0.0.1, RTP PCMU) waits for kefu to finish speaking
before each line, plays a clip, and waits for kefu's answer to end. "Finished" is read from
kefu's audio and its log together: kefu logs a turn's sentences (`transcript who="kefu"`) when
the dialplan step starts, before they are synthesized, so the caller waits until the sentence
it expects is in the log, kefu's audio after that log line has started, and kefu has then
been silent for --quiet s. A sentence that never comes fails the turn and ends the call.

Cases (--case):
  main      greeting; "Where is my order?" -> order_status, asks for the order number;
            "one two three ... eight" -> GET /orders/12345678 on the CRM, the shipped reply;
            "I want to talk to a person" -> no colleague exists: the busy path, no transfer,
            no hang-up; "goodbye" -> kefu's goodbye, then its BYE.
  crm_slow  the same until the order number, with a CRM that takes longer than the step's
            timeout: two attempts (retries = 1), the CRM-failure apology, the call goes on
            ("goodbye" -> goodbye and BYE).
  crm_down  the same with the CRM stopped (connection refused).
  next      a plain call after those: answered, greeting audio, BYE answered.

Needs kefu's log with --log-pii (the transcript text). Prints informational lines and one line
per check: `RESULT PASS|FAIL name detail`; exit 0 when every check passed, 1 otherwise.
"""

import argparse
import hashlib
import hmac
import json
import urllib.request
import os
import re
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import voicecall  # noqa: E402
from voicecall import PTIME, Clip, short  # noqa: E402

RESULTS = []
# monotonic -> wall clock (kefu's log and the CRM's log are wall clock)
WALL = time.time() - time.monotonic()

UNDERSTOOD_RE = re.compile(r"\bunderstood call=(\d+) intent=\"?([^\"\s]+)\"? confidence=\"?([\d.]+)\"?"
                           r" step=\"?([^\"\s]+)\"?")
EMOTION_RE = re.compile(r"\bemotion call=(\d+) level=\"?(\w+)\"? score=\"?([\d.]+)\"?")
TRANSFER_RE = re.compile(r"\btransfer call=(\d+)")
ENDED_RE = re.compile(r"\bended call=(\d+) reason=\"?([^\"\s]+)")


def result(ok, name, detail=""):
    RESULTS.append(ok)
    print(f"RESULT {'PASS' if ok else 'FAIL'} {name} {detail}".rstrip(), flush=True)


def info(msg):
    print(f"  {msg}", flush=True)


class Kefu:
    """What kefu's log says about one call (found by the RTP port kefu answered with)."""

    def __init__(self, path, rtp_port):
        self.path = path
        self.rtp_port = rtp_port
        self.id = None

    def call_id(self):
        if self.id is None:
            self.id = voicecall.kefu_call_ids(self.path).get(self.rtp_port)
        return self.id

    def lines(self, regex):
        """[(wall time, match)] of log lines of this call matching `regex` (group 1 = call id)."""
        cid = self.call_id()
        out = []
        for line in voicecall._log_lines(self.path):
            m = regex.search(line)
            if m and cid is not None and int(m.group(1)) == cid:
                t = voicecall.log_time(line.split()[0]) if line else None
                out.append((t or 0.0, m))
        return out

    def said(self, who, since_wall=0.0):
        """[(wall time, text)] of this call's transcript lines of `who` from since_wall on."""
        cid = self.call_id()
        return [(t, txt) for t, w, txt, c in voicecall.parse_log(self.path)
                if w == who and c == cid and cid is not None and t >= since_wall]


class Caller:
    def __init__(self, a, name):
        self.a = a
        self.call = voicecall.Call(a.server_addr, name=name, user_agent="kefu-shop-call-test",
                                   loud_rms=a.reply_rms)
        self.requests = []  # (monotonic, method) of the requests kefu sent (BYE, REFER, ...)
        sip = self.call.sip
        orig = sip._on_datagram

        def on_datagram(data):
            first = data.split(b"\r\n", 1)[0].decode("utf-8", "replace")
            if not first.startswith("SIP/2.0"):
                self.requests.append((time.monotonic(), first.split(" ", 1)[0]))
            orig(data)

        sip._on_datagram = on_datagram
        self.kefu = None
        self.turns = []  # (label, dict of timings)

    # -- setup and teardown
    def dial(self):
        try:
            remote, pt = self.call.dial()
        except RuntimeError as e:
            info(f"call setup failed: {e}")
            return False
        if pt != 0:
            info(f"kefu answered with PT {pt}; only PCMU (0) is decoded")
            return False
        self.call.start_media()
        self.kefu = Kefu(self.a.kefu_log, remote[1])
        info(f"call up: kefu RTP port {remote[1]}")
        return True

    def finish(self):
        if not self.call.bye_received.is_set():
            self.call.hangup()
        self.call.close()

    def methods(self, since=0.0):
        return [m for t, m in self.requests if t >= since]

    # -- waiting for kefu
    def wait_said(self, pattern, since_wall, timeout):
        """kefu's first transcript line matching `pattern` logged from since_wall on: (wall, text)."""
        rx = re.compile(pattern, re.I)
        end = time.monotonic() + timeout
        while True:
            for t, txt in self.kefu.said("kefu", since_wall - 0.05):
                if rx.search(txt):
                    return t, txt
            if time.monotonic() >= end or self.call.bye_received.is_set():
                # the line may have come with the BYE
                for t, txt in self.kefu.said("kefu", since_wall - 0.05):
                    if rx.search(txt):
                        return t, txt
                return None
            time.sleep(0.05)

    def wait_reply(self, since, pattern, timeout):
        """After the caller's end of speech at `since` (monotonic): kefu's first speech packet, the
        log line matching `pattern`, and kefu's last speech packet once it has been quiet for
        --quiet s after that line's audio began. Returns a dict (keys missing when not seen)."""
        a = self.a
        out = {}
        deadline = since + timeout
        first = self.call.wait_loud(since, a.reply_rms, max(0.0, deadline - time.monotonic()))
        if first is not None:
            out["first_audio"] = first
        line = self.wait_said(pattern, since + WALL, max(0.0, deadline - time.monotonic()))
        if line is None:
            return out
        out["line_wall"], out["line"] = line
        t_line = line[0] - WALL
        # the sentence's audio starts after its synthesis: up to 10 s more
        spoken = self.call.wait_loud(t_line - 0.05, a.reply_rms, max(0.0, deadline - time.monotonic()) + 10)
        if spoken is None:
            return out
        self.call.wait_quiet(a.reply_rms, a.quiet, a.max_reply, need_speech_since=spoken)
        out["last_audio"] = self.call.last_loud(a.reply_rms)
        return out

    def greeting(self, pattern):
        """Waits for the greeting and the menu question to be spoken to the end."""
        return self.wait_reply(self.call.answered, pattern, 15.0)

    def say(self, clip, label, pattern, timeout=None):
        """Plays `clip`, then waits for kefu's reply (wait_reply). Timings in the dict:
        onset/eos (monotonic), asr (caller transcript logged, s after eos), latency (first
        reply audio, s after eos), spoke (s of kefu's speech), talked_over (kefu's speech
        packets while the caller spoke)."""
        a = self.a
        run = self.call.play(clip)
        onset = self.call.wait_sent(run, clip.speech_start, clip.duration + 2)
        eos = self.call.wait_sent(run, clip.eos_frame, clip.duration + 2)
        self.call.wait_played(clip.duration + 2)
        r = {"label": label}
        if onset is None or eos is None:
            info(f"{label}: the clip was not sent")
            return r
        r["onset"], r["eos"] = onset, eos
        r.update(self.wait_reply(eos + PTIME, pattern, timeout or a.turn_timeout))
        heard = self.kefu.said("caller", onset + WALL)
        if heard:
            r["heard"] = heard[0][1]
            r["asr"] = heard[0][0] - (eos + WALL)
        if "first_audio" in r:
            r["latency"] = r["first_audio"] - eos
        if "first_audio" in r and "last_audio" in r:
            r["spoke"] = r["last_audio"] - r["first_audio"] + PTIME
        r["talked_over"] = sum(1 for t, v in self.call.rtp.received()
                               if onset + 0.1 <= t <= eos and v > a.reply_rms)
        und = [(t, m) for t, m in self.kefu.lines(UNDERSTOOD_RE) if t >= onset + WALL]
        if und:
            m = und[0][1]
            r["intent"], r["confidence"], r["step"] = m.group(2), float(m.group(3)), m.group(4)
        emo = [(t, m) for t, m in self.kefu.lines(EMOTION_RE) if t >= onset + WALL]
        if emo:
            r["emotion"] = f"{emo[0][1].group(2)} {emo[0][1].group(3)}"
        self.turns.append(r)
        self.print_turn(r)
        return r

    def print_turn(self, r):
        parts = [f"turn {r['label']}:"]
        if "heard" in r:
            parts.append(f'heard "{short(r["heard"], 50)}" {r["asr"]:+.2f} s after the caller\'s end of speech;')
        else:
            parts.append("no caller transcript;")
        if "intent" in r:
            parts.append(f"intent={r['intent']} ({r['confidence']:.2f}) step={r['step']};")
        if "emotion" in r:
            parts.append(f"emotion {r['emotion']};")
        if "latency" in r:
            parts.append(f"reply audio {1000 * r['latency']:.0f} ms after it;")
        else:
            parts.append("no reply audio;")
        if "spoke" in r:
            parts.append(f"kefu spoke {r['spoke']:.1f} s")
        info(" ".join(parts))
        if "line" in r:
            said = [txt for t, txt in self.kefu.said("kefu", r["onset"] + WALL)]
            info(f"  kefu: {' | '.join(short(s, 90) for s in said)}")


def speech_span(path, thr):
    """First to last 20 ms frame with RMS > thr of a 16-bit mono WAV, in s."""
    import array
    import math
    import wave
    w = wave.open(path, "rb")
    rate = w.getframerate()
    s = array.array("h", w.readframes(w.getnframes()))
    if sys.byteorder != "little":
        s.byteswap()
    n = rate // 50
    loud = [i for i in range(len(s) // n)
            if math.sqrt(sum(x * x for x in s[i * n:(i + 1) * n]) / n) > thr]
    return (loud[-1] - loud[0] + 1) * PTIME if loud else 0.0


def crm_requests(path, since_wall=0.0):
    """[(wall, method, path, status)] from the test CRM's request log."""
    out = []
    try:
        with open(path) as f:
            for line in f:
                p = line.split()
                if len(p) >= 4 and float(p[0]) >= since_wall:
                    out.append((float(p[0]), p[1], p[2], p[3]))
    except OSError:
        pass
    return out


def not_reached(names, why):
    for n in names:
        result(False, n, why)


def check_waited(c, prefix):
    """kefu never spoke while the caller did (it waited for the end of each sentence)."""
    over = [(r["label"], r["talked_over"]) for r in c.turns if r.get("talked_over")]
    if over:
        result(False, f"{prefix}_waits_for_caller",
               "kefu spoke while the caller was speaking: " +
               ", ".join(f"{n} ({k} packets)" for n, k in over))
    else:
        result(True, f"{prefix}_waits_for_caller", f"{len(c.turns)} turns, no kefu speech over the caller")


def turn_ok(r, names, why="the turn did not complete"):
    if "last_audio" in r:
        return True
    what = []
    if "heard" not in r:
        what.append("kefu logged no caller transcript")
    else:
        what.append(f'kefu heard "{short(r["heard"], 50)}"')
    if "intent" in r:
        what.append(f"intent={r['intent']} step={r['step']}")
    if "first_audio" not in r:
        what.append("no reply audio")
    elif "line" not in r:
        what.append("the expected sentence was not said")
    not_reached(names, f"{why}: {'; '.join(what)}")
    return False


def open_call(a, c, prefix):
    if not c.dial():
        return False
    g = c.greeting(r"help you")
    if "last_audio" not in g:
        said = [txt for _, txt in c.kefu.said("kefu")] if c.kefu else []
        result(False, f"{prefix}_greeting", f"no greeting + menu question heard (kefu said: {said})")
        return False
    said = [txt for _, txt in c.kefu.said("kefu")]
    want = "VIP" if a.vip else "Thanks for calling"
    ok = bool(said) and want.lower() in said[0].lower()
    first = g.get("first_audio", g["last_audio"])
    result(ok, f"{prefix}_greeting",
           f"greeting audio {1000 * (first - c.call.answered):.0f} ms after the 200 OK, greeting + question"
           f" {g['last_audio'] - first + PTIME:.1f} s: \"{short(said[0] if said else '', 60)}\"")
    return True


def goodbye_turn(a, c, clips, prefix):
    """The caller says goodbye: kefu asks for a 1-5 rating (the survey), the caller says "five";
    kefu thanks them and says goodbye, spoken to the end, then its BYE."""
    r0 = c.say(clips["bye"], "goodbye", r"rate this call", timeout=a.turn_timeout)
    if r0.get("intent") != "goodbye" or "line" not in r0:
        heard = f'heard "{r0.get("heard")}", intent={r0.get("intent")}' if "heard" in r0 else "no caller transcript"
        result(False, f"{prefix}_survey_asked", f"{heard}; no survey question")
        not_reached([f"{prefix}_goodbye_hangup"], "no survey question")
        return
    result(True, f"{prefix}_survey_asked", f'kefu: "{short(r0["line"], 80)}"')
    r = c.say(clips["five"], "five", r"goodbye", timeout=a.turn_timeout)
    eos = r.get("eos")
    if eos is not None:
        c.call.bye_received.wait(max(0.0, eos + a.bye_timeout - time.monotonic()))
    bye_at = next((t for t, m in c.requests if m == "BYE"), None)
    if "line" not in r or bye_at is None or eos is None:
        why = []
        if "heard" in r:
            why.append(f'heard "{r["heard"]}", step={r.get("step")}')
        else:
            why.append("no caller transcript")
        if "line" not in r:
            why.append("kefu said no goodbye")
        if bye_at is None:
            why.append(f"no BYE from kefu within {a.bye_timeout:.0f} s")
        result(False, f"{prefix}_goodbye_hangup", "; ".join(why))
        return
    loud = [t for t, v in c.call.rtp.received() if v > a.reply_rms and eos < t <= bye_at]
    last = loud[-1] if loud else None
    # the goodbye sentence is the last thing kefu says: measure its audio back from the BYE
    spoke = 0.0
    if loud:
        start = loud[-1]
        for t in reversed(loud):
            if start - t > 0.7:
                break
            start = t
        spoke = loud[-1] - start + PTIME
    detail = (f"BYE {bye_at - eos:.1f} s after the caller's end of speech, {bye_at - last:.2f} s after"
              f" kefu's last speech; goodbye spoken {spoke:.1f} s (kefu say: {a.goodbye_secs:.1f} s)"
              if loud else "no goodbye audio before the BYE")
    ok = bool(loud) and spoke >= a.goodbye_secs - 0.5
    if loud and not ok:
        detail = "the goodbye was cut short: " + detail
    result(ok, f"{prefix}_goodbye_hangup", detail)


def case_main(a, clips):
    print("main: order status with the CRM up, a person asked for (none exist), goodbye", flush=True)
    c = Caller(a, "shop-main")
    names = ["main_understood_order_status", "main_asks_order_number", "main_crm_order_request",
             "main_says_shipped", "main_busy_keeps_caller", "main_goodbye_hangup"]
    t_start = time.time()
    if not open_call(a, c, "main"):
        not_reached(names, "no call")
        c.finish()
        return
    prof = [r for r in crm_requests(a.crm_log, t_start) if r[2].startswith("/customers/")]
    result(bool(prof), "main_crm_profile_lookup",
           f"{prof[0][1]} {prof[0][2]} -> {prof[0][3]}" if prof else "no /customers/ request on the CRM")

    r = c.say(clips["where"], "where", r"order number")
    result(r.get("intent") == "order_status", "main_understood_order_status",
           f"intent={r.get('intent')} confidence={r.get('confidence')} step={r.get('step')}"
           f" (heard \"{r.get('heard', '')}\")")
    if not turn_ok(r, names[1:]):
        c.finish()
        return
    result(r.get("step") == "ask_order", "main_asks_order_number", f"kefu: \"{r['line']}\"")

    r = c.say(clips["digits"], "digits", r"anything else")
    orders = [x for x in crm_requests(a.crm_log, r.get("onset", 0) + WALL) if x[2].startswith("/orders/")]
    want = [x for x in orders if x[1] == "GET" and x[2] == "/orders/12345678"]
    if want and "eos" in r:
        result(len(orders) == 1, "main_crm_order_request",
               f"GET /orders/12345678 -> {want[0][3]}, {want[0][0] - (r['eos'] + WALL):.2f} s after the caller's"
               f" end of speech" + ("" if len(orders) == 1 else f"; but {len(orders)} order requests: {orders}"))
    else:
        result(False, "main_crm_order_request",
               f"no GET /orders/12345678 (CRM got: {orders}; kefu heard \"{r.get('heard', '')}\")")
    said = " ".join(txt for _, txt in c.kefu.said("kefu", r.get("onset", 0) + WALL))
    hit = re.search(r"shipped|on its way|Tuesday", said, re.I)
    if hit and "last_audio" in r:
        result(True, "main_says_shipped", f"kefu: \"{short(said, 140)}\"")
    elif not turn_ok(r, ["main_says_shipped"]):
        pass
    else:
        result(False, "main_says_shipped", f"no shipped/eta in what kefu said: \"{said}\"")
    if "last_audio" not in r:
        not_reached(names[4:], "not reached")
        c.finish()
        return

    t_person = time.monotonic()
    r = c.say(clips["person"], "person", r"call you back|busy")
    busy = " ".join(txt for _, txt in c.kefu.said("kefu", r.get("onset", 0) + WALL))
    transfers = c.kefu.lines(TRANSFER_RE)
    bad = [m for m in c.methods(t_person) if m != "OPTIONS"]
    ok = ("busy" in busy.lower() and "last_audio" in r and not c.call.bye_received.is_set()
          and not bad and not transfers)
    detail = f"intent={r.get('intent')} step={r.get('step')}; kefu: \"{short(busy, 120)}\""
    if c.call.bye_received.is_set():
        detail = "kefu hung up; " + detail
    if bad:
        detail = f"kefu sent {bad}; " + detail
    if transfers:
        detail = "kefu logged a transfer; " + detail
    if "last_audio" not in r:
        detail = "the turn did not complete; " + detail
    result(ok, "main_busy_keeps_caller", detail)
    if c.call.bye_received.is_set() or "last_audio" not in r:
        not_reached(names[5:], "not reached")
        c.finish()
        check_waited(c, "main")
        return
    goodbye_turn(a, c, clips, "main")
    c.finish()
    check_waited(c, "main")
    if a.api:
        check_records(a, c, "main")


OPENED_RE = re.compile(r"call record opened.*\bcall=(\d+).*\bid=(\w+)")


def api_get(a, path):
    req = urllib.request.Request(a.api + path, headers={"Authorization": f"Bearer {a.key}"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())


def check_records(a, c, prefix):
    """The call as kefu recorded it (REST API), and the webhooks it sent."""
    cid = c.kefu.call_id() if c.kefu else None
    rid = None
    for line in voicecall._log_lines(a.kefu_log):
        m = OPENED_RE.search(line)
        if m and cid is not None and int(m.group(1)) == cid:
            rid = m.group(2)
    if rid is None:
        result(False, f"{prefix}_record", f"no 'call record opened' line for kefu call {cid}")
        return
    d, end = {}, time.monotonic() + 10
    while time.monotonic() < end:  # the recording and QA land just after the end
        try:
            d = api_get(a, f"/api/calls/{rid}")
        except Exception as e:  # noqa: BLE001
            d = {"error": str(e)}
        if d.get("qa") and d.get("recording"):
            break
        time.sleep(0.3)
    caller = [l["text"] for l in d.get("lines", []) if l.get("speaker") == "caller"]
    bot = [l["text"] for l in d.get("lines", []) if l.get("speaker") == "bot"]
    problems = []
    if d.get("outcome") != "resolved":
        problems.append(f"outcome {d.get('outcome')} (want resolved: kefu hung up)")
    if d.get("csat") != 5:
        problems.append(f"csat {d.get('csat')} (want 5)")
    if not any("order" in t.lower() for t in caller):
        problems.append(f"caller lines {caller}")
    if not bot or "thanks for calling" not in bot[0].lower():
        problems.append(f"first bot line {bot[:1]}")
    for i in ("order_status", "goodbye"):
        if i not in (d.get("intents") or []):
            problems.append(f"intent {i} missing from {d.get('intents')}")
    if not d.get("qa") or d["qa"].get("score") is None:
        problems.append("no QA result")
    if not d.get("recording"):
        problems.append("no recording")
    kinds = {e.get("kind") for e in d.get("events", [])}
    if "understood" not in kinds or "emotion" not in kinds:
        problems.append(f"events {sorted(kinds)}")
    result(not problems, f"{prefix}_record",
           "; ".join(problems) if problems else
           f"call {rid}: {len(caller)} caller + {len(bot)} bot lines, intents {d.get('intents')}, csat 5, "
           f"QA {d['qa']['score']:.0f} flags {[f['code'] for f in d['qa']['auto']['flags']]}, "
           f"recording {d['recording']['duration_ms'] / 1000:.1f} s")
    if a.hooks:
        check_hooks(a, rid, prefix)


def check_hooks(a, rid, prefix):
    """call.started, call.ended and qa.result reached the webhook receiver, signed."""
    want = {"call.started", "call.ended", "qa.result"}
    got, bad, end = {}, [], time.monotonic() + 15
    while time.monotonic() < end:
        got, bad = {}, []
        try:
            lines = open(a.hooks, encoding="utf-8").read().splitlines()
        except OSError:
            lines = []
        for line in lines:
            h = json.loads(line)
            body = h["body"].encode()
            sig = dict(p.split("=", 1) for p in h["headers"].get("kefu-signature", "").split(","))
            mac = hmac.new(a.hook_secret.encode(), f"{sig.get('t')}.".encode() + body, hashlib.sha256).hexdigest()
            ev = json.loads(body)
            if ev.get("data", {}).get("call_id") != rid:
                continue
            if not hmac.compare_digest(mac, sig.get("v1", "")):
                bad.append(ev.get("type"))
            if h["headers"].get("idempotency-key") != ev.get("id"):
                bad.append(f"{ev.get('type')} key")
            got[ev.get("type")] = ev
        if want <= set(got):
            break
        time.sleep(0.3)
    ended = got.get("call.ended", {}).get("data", {})
    ok = want <= set(got) and not bad and ended.get("outcome") == "resolved" and ended.get("csat") == 5
    result(ok, f"{prefix}_webhooks",
           f"received {sorted(got)} for call {rid}" + (f"; bad signatures/keys {bad}" if bad else "")
           + f"; call.ended outcome={ended.get('outcome')} csat={ended.get('csat')}")


def case_crm_fail(a, clips, prefix, how):
    print(f"{prefix}: order status with the CRM {how}", flush=True)
    c = Caller(a, f"shop-{prefix}")
    names = [f"{prefix}_asks_order_number", f"{prefix}_apology", f"{prefix}_call_goes_on"]
    if not open_call(a, c, prefix):
        not_reached(names, "no call")
        c.finish()
        return
    r = c.say(clips["where"], "where", r"order number")
    if not turn_ok(r, names):
        c.finish()
        return
    result(r.get("step") == "ask_order", f"{prefix}_asks_order_number", f"kefu: \"{r['line']}\"")
    # the apology comes after the step's timeouts (2 attempts x timeout_ms): a longer wait
    r = c.say(clips["digits"], "digits", r"put you through", timeout=a.turn_timeout + 10)
    said = " ".join(txt for _, txt in c.kefu.said("kefu", r.get("onset", 0) + WALL))
    orders = [x for x in crm_requests(a.crm_log, r.get("onset", 0) + WALL) if x[2].startswith("/orders/")]
    apology = re.search(r"isn't responding|not responding", said, re.I)
    first_sentence = None
    if apology:
        lines = c.kefu.said("kefu", r.get("onset", 0) + WALL)
        checking = next((t for t, txt in lines if "checking" in txt.lower()), None)
        sorry = next((t for t, txt in lines if re.search(r"responding", txt, re.I)), None)
        if checking is not None and sorry is not None:
            first_sentence = sorry - checking
    if apology and "last_audio" in r:
        extra = f"; the apology came {first_sentence:.1f} s after \"checking\"" if first_sentence is not None else ""
        result(True, f"{prefix}_apology",
               f"CRM requests {[(m, p) for _, m, p, _ in orders]}{extra}; kefu: \"{short(said, 150)}\"")
    elif not turn_ok(r, [f"{prefix}_apology"]):
        pass
    else:
        result(False, f"{prefix}_apology", f"no apology; kefu said: \"{said}\"")
    if a.expect_attempts is not None and how == "slow":
        n = len([x for x in orders if x[2] == "/orders/12345678"])
        result(n == a.expect_attempts, f"{prefix}_crm_attempts",
               f"{n} GET /orders/12345678 (want {a.expect_attempts}: the first + retries = 1)")
    if "last_audio" not in r or c.call.bye_received.is_set():
        result(False, f"{prefix}_call_goes_on",
               "kefu hung up after the CRM failure" if c.call.bye_received.is_set() else "the turn did not complete")
        c.finish()
        return
    result(True, f"{prefix}_call_goes_on", f"no BYE after the apology; kefu waits for the caller")
    goodbye_turn(a, c, clips, prefix)
    c.finish()
    check_waited(c, prefix)


def case_next(a):
    print("next: a plain call afterwards", flush=True)
    c = Caller(a, "shop-next")
    if not c.dial():
        result(False, "next_call_answered", "no call")
        c.finish()
        return
    g = c.call.wait_loud(c.call.answered, a.reply_rms, 10.0)
    ok200 = c.call.hangup() if g is not None else c.call.hangup()
    c.call.close()
    if g is None:
        result(False, "next_call_answered", "answered, but no greeting audio within 10 s")
    else:
        result(ok200 is True, "next_call_answered",
               f"greeting audio {1000 * (g - c.call.answered):.0f} ms after the 200 OK;"
               f" BYE {'answered 200' if ok200 else 'not answered'}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--server", required=True, help="kefu SIP address HOST:PORT (UDP)")
    ap.add_argument("--kefu-log", required=True, help="kefu's log (run with --log-pii)")
    ap.add_argument("--crm-log", required=True, help="the test CRM's request log (wall time, method, path, status)")
    ap.add_argument("--clips", required=True, help="folder with where.wav digits.wav person.wav bye.wav (8 kHz µ-law)")
    ap.add_argument("--goodbye-ref", help="kefu's goodbye as `kefu say` renders it (16-bit WAV)")
    ap.add_argument("--case", required=True, choices=["main", "crm_slow", "crm_down", "next"])
    ap.add_argument("--vip", action="store_true", help="the CRM knows the caller as a VIP")
    ap.add_argument("--expect-attempts", type=int, default=2, help="crm_slow: CRM requests expected (2)")
    ap.add_argument("--reply-rms", type=float, default=300, help="kefu speech RMS threshold (300)")
    ap.add_argument("--quiet", type=float, default=1.5,
                    help="kefu has finished speaking after this long without speech (1.5 s)")
    ap.add_argument("--turn-timeout", type=float, default=20.0,
                    help="the caller's end of speech to kefu's first reply audio and the expected"
                         " sentence in its log (20 s)")
    ap.add_argument("--max-reply", type=float, default=60.0, help="longest reply waited for (60 s)")
    ap.add_argument("--bye-timeout", type=float, default=20.0,
                    help="the caller's goodbye to kefu's BYE (20 s)")
    ap.add_argument("--api", help="kefu's HTTP address (http://HOST:PORT): check the call's record")
    ap.add_argument("--key", help="API key for --api")
    ap.add_argument("--hooks", help="the webhook receiver's log (one JSON object per request)")
    ap.add_argument("--hook-secret", default="", help="the webhook signing secret")
    a = ap.parse_args()
    host, _, port = a.server.rpartition(":")
    a.server_addr = (host, int(port))
    a.goodbye_secs = speech_span(a.goodbye_ref, a.reply_rms) if a.goodbye_ref else 0.0
    clips = {n: Clip(os.path.join(a.clips, f"{n}.wav")) for n in ("where", "digits", "person", "bye", "five")}
    if a.case == "main":
        case_main(a, clips)
    elif a.case == "crm_slow":
        case_crm_fail(a, clips, "crm_slow", "slow")
    elif a.case == "crm_down":
        case_crm_fail(a, clips, "crm_down", "down")
    else:
        case_next(a)
    return 0 if all(RESULTS) else 1


if __name__ == "__main__":
    sys.exit(main())
