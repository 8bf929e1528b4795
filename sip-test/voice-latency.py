#!/usr/bin/env python3
"""voice-latency.py: voice-to-voice turn latency of kefu's speech dialplan, on the RTP wire.

A minimal SIP UAC + RTP endpoint (python3 stdlib, UDP, 127.0.0.1): INVITE (PCMU +
telephone-event/101) -> 100/180/200 -> ACK, then an RTP stream at 50 packets/s for the whole
call (µ-law silence between turns, so that kefu's endpointer sees time pass exactly as with a
phone). It waits out the greeting (kefu's audio silent for --quiet-ms after it has spoken), and
for each turn:

  1. streams one clip (8 kHz µ-law WAV) in 20 ms packets, PT 0, paced on a monotonic clock;
  2. end of speech = the send time of the packet holding the clip's last 20 ms frame whose RMS
     is above the clip's threshold (max(--eos-floor, peak frame RMS / 20), i.e. -26 dB);
     a packet leaves when its 20 ms are complete, as a phone's would;
  3. latency = arrival of kefu's first packet with RMS > --reply-rms after that instant,
     minus the end of speech; no such packet within --turn-timeout s = a failed turn;
  4. waits until kefu's reply is over (--quiet-ms without a loud packet) before the next turn.

kefu's BYE is answered (200) and ends the run early (reported); the harness sends BYE at the end.
With --kefu-log, the `transcript` lines of kefu's log (run with --log-pii) split each turn:
  heard   = kefu logs the caller's transcript (endpointing hangover + the rest of ASR)
  said    = kefu logs its reply text (dialogue; the synthesis request goes out then)
  audio   = first reply packet - said (TTS first audio + playout queueing + transport)
Log timestamps are UTC wall clock; the harness maps its monotonic times to the wall clock.

Prints one line per turn, then the summary (n, failures, p50/p95/max; nearest-rank
percentiles). --markdown FILE writes the BENCHMARKS.md table. Exit 0 if the call ran
(the figures are the result, not a pass/fail); 2 if the call could not be set up.
"""

import argparse
import datetime
import math
import os
import random
import re
import select
import socket
import struct
import sys
import threading
import time

FRAME = 160  # samples per 20 ms at 8 kHz
PTIME = 0.020


# ---------------------------------------------------------------- G.711 µ-law
def _ulaw_decode(b):
    b = ~b & 0xFF
    sign, exp, mant = b & 0x80, (b >> 4) & 0x07, b & 0x0F
    v = ((mant << 3) + 0x84) << exp
    v -= 0x84
    return -v if sign else v


ULAW = [_ulaw_decode(i) for i in range(256)]
ULAW_SILENCE = b"\xff" * FRAME


def rms_ulaw(payload):
    if not payload:
        return 0.0
    return math.sqrt(sum(ULAW[x] ** 2 for x in payload) / len(payload))


def short(text, n=70):
    return text if len(text) <= n else text[:n - 1] + "…"


def percentile(values, q):
    """Nearest-rank percentile (q in 0..100)."""
    s = sorted(values)
    if not s:
        return float("nan")
    k = max(1, math.ceil(q / 100 * len(s)))
    return s[k - 1]


# ---------------------------------------------------------------- clips
def read_ulaw_wav(path):
    """The samples of an 8 kHz mono µ-law WAV (format 7; Python's wave module reads PCM only)."""
    with open(path, "rb") as f:
        b = f.read()
    if b[:4] != b"RIFF" or b[8:12] != b"WAVE":
        raise SystemExit(f"{path}: not a RIFF/WAVE file")
    fmt, data, off = None, None, 12
    while off + 8 <= len(b):
        cid, size = b[off:off + 4], struct.unpack("<I", b[off + 4:off + 8])[0]
        body = b[off + 8:off + 8 + size]
        if cid == b"fmt ":
            fmt = struct.unpack("<HHIIHH", body[:16])
        elif cid == b"data":
            data = body
        off += 8 + size + (size & 1)
    if not fmt or data is None or fmt[0] != 7 or fmt[1] != 1 or fmt[2] != 8000:
        raise SystemExit(f"{path}: want 8 kHz mono µ-law (fmt {fmt})")
    return data


class Clip:
    def __init__(self, path, eos_floor):
        data = read_ulaw_wav(path)
        data += b"\xff" * (-len(data) % FRAME)
        self.name = os.path.splitext(os.path.basename(path))[0]
        self.frames = [data[i:i + FRAME] for i in range(0, len(data), FRAME)]
        r = [rms_ulaw(f) for f in self.frames]
        self.threshold = max(eos_floor, max(r) / 20)
        loud = [i for i, v in enumerate(r) if v > self.threshold]
        if not loud:
            raise SystemExit(f"{path}: no frame above {self.threshold:.0f} RMS")
        self.speech_start = loud[0]
        self.eos_frame = loud[-1]  # index of the last frame with speech
        self.duration = len(self.frames) * PTIME


# ---------------------------------------------------------------- SIP UAC
class Sip:
    def __init__(self, server, local_ip="127.0.0.1"):
        self.server = server
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((local_ip, 0))
        self.ip, self.port = self.sock.getsockname()
        self.call_id = f"vlat-{random.getrandbits(48):x}@{self.ip}"
        self.tag = f"{random.getrandbits(32):x}"
        self.to_tag = None
        self.remote_target = f"sip:100@{server[0]}:{server[1]}"
        self.cseq = 1
        self.lock = threading.Lock()
        self.responses = []  # (code, headers dict, body)
        self.bye_received = threading.Event()
        self.final_200 = None

    def branch(self):
        return f"z9hG4bK{random.getrandbits(48):x}"

    def send(self, text):
        self.sock.sendto(text.replace("\n", "\r\n").encode(), self.server)

    def request(self, method, uri, cseq, extra="", body="", branch=None):
        to = f"<sip:100@{self.server[0]}:{self.server[1]}>" + (f";tag={self.to_tag}" if self.to_tag else "")
        msg = (f"{method} {uri} SIP/2.0\n"
               f"Via: SIP/2.0/UDP {self.ip}:{self.port};branch={branch or self.branch()};rport\n"
               f"From: \"vlat\" <sip:caller@{self.ip}:{self.port}>;tag={self.tag}\n"
               f"To: {to}\nCall-ID: {self.call_id}\nCSeq: {cseq} {method}\n"
               f"Contact: <sip:caller@{self.ip}:{self.port}>\nMax-Forwards: 70\n"
               f"User-Agent: kefu-voice-latency\n{extra}"
               f"Content-Length: {len(body.encode())}\n\n{body}")
        self.send(msg)

    @staticmethod
    def parse(data):
        text = data.decode("utf-8", "replace")
        head, _, body = text.partition("\r\n\r\n")
        lines = head.split("\r\n")
        hdrs = {}
        raw = []
        for l in lines[1:]:
            k, _, v = l.partition(":")
            hdrs.setdefault(k.strip().lower(), v.strip())
            raw.append((k.strip(), v.strip()))
        return lines[0], hdrs, raw, body

    def on_datagram(self, data):
        start, hdrs, raw, body = self.parse(data)
        if start.startswith("SIP/2.0 "):
            code = int(start.split()[1])
            with self.lock:
                self.responses.append((code, hdrs, body))
            if code == 200 and "INVITE" in hdrs.get("cseq", ""):
                if self.final_200 is not None:  # a retransmitted 200: ACK again
                    self.send_ack()
            return
        method = start.split()[0]
        # a request from kefu (BYE, OPTIONS, ...): 200 with the dialog headers copied back
        keep = [f"{k}: {v}" for k, v in raw if k.lower() in ("via", "v", "from", "f", "to", "t",
                                                              "call-id", "i", "cseq")]
        self.send("SIP/2.0 200 OK\n" + "\n".join(keep) + "\nContent-Length: 0\n\n")
        if method == "BYE":
            self.bye_received.set()

    def wait_response(self, pred, timeout):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with self.lock:
                for r in self.responses:
                    if pred(r):
                        return r
            time.sleep(0.005)
        return None

    def invite(self, rtp_port, timeout=10.0):
        sdp = (f"v=0\no=vlat 1 1 IN IP4 {self.ip}\ns=-\nc=IN IP4 {self.ip}\nt=0 0\n"
               f"m=audio {rtp_port} RTP/AVP 0 101\na=rtpmap:0 PCMU/8000\n"
               f"a=rtpmap:101 telephone-event/8000\na=fmtp:101 0-15\na=ptime:20\na=sendrecv\n")
        self.invite_branch = self.branch()
        self.request("INVITE", self.remote_target, 1, "Content-Type: application/sdp\n",
                     sdp.replace("\n", "\r\n"), branch=self.invite_branch)
        end = time.monotonic() + timeout
        next_retx, interval = time.monotonic() + 0.5, 0.5
        while time.monotonic() < end:
            r = self.wait_response(lambda r: r[0] >= 200 and "INVITE" in r[1].get("cseq", ""), 0.05)
            if r:
                break
            with self.lock:
                provisional = any("INVITE" in x[1].get("cseq", "") for x in self.responses)
            if not provisional and time.monotonic() >= next_retx:  # RFC 3261 timer A
                self.request("INVITE", self.remote_target, 1, "Content-Type: application/sdp\n",
                             sdp.replace("\n", "\r\n"), branch=self.invite_branch)
                interval *= 2
                next_retx = time.monotonic() + interval
        else:
            raise RuntimeError("no final response to INVITE")
        code, hdrs, body = r
        if code != 200:
            raise RuntimeError(f"INVITE answered {code}")
        m = re.search(r";\s*tag=([^;>\s]+)", hdrs.get("to", ""))
        self.to_tag = m.group(1) if m else None
        m = re.search(r"<([^>]+)>", hdrs.get("contact", ""))
        if m:
            self.remote_target = m.group(1)
        self.final_200 = r
        self.send_ack()
        mp = re.search(r"m=audio (\d+) RTP/AVP ([\d ]+)", body)
        mc = re.search(r"c=IN IP4 ([\d.]+)", body)
        if not mp:
            raise RuntimeError("200 without m=audio")
        pts = mp.group(2).split()
        return (mc.group(1) if mc else self.server[0], int(mp.group(1))), int(pts[0])

    def send_ack(self):
        # the destination is the server address (127.0.0.1 only), the Request-URI its Contact
        self.request("ACK", self.remote_target, 1)

    def bye(self, timeout=3.0):
        self.cseq += 1
        cseq = self.cseq
        for _ in range(4):
            self.request("BYE", self.remote_target, cseq)
            if self.wait_response(lambda r: f"{cseq} BYE" in r[1].get("cseq", ""), timeout / 4):
                return True
        return False


# ---------------------------------------------------------------- RTP
class Rtp:
    """Sends 50 packets/s for the whole call (clip frames or silence); receives kefu's audio."""

    def __init__(self, local_ip="127.0.0.1"):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((local_ip, 0))
        self.port = self.sock.getsockname()[1]
        self.remote = None
        self.ssrc = random.getrandbits(32)
        self.seq = random.getrandbits(16)
        self.ts = random.getrandbits(32)
        self.lock = threading.Lock()
        self.queue = []          # frames to send before silence resumes
        self.sent_at = {}        # (clip run id, frame index) -> monotonic send time
        self.run_id = 0
        self.rx = []             # (monotonic arrival, rms) of kefu's audio packets
        self.rx_pt = 0
        self.stop = threading.Event()

    def play(self, clip):
        with self.lock:
            self.run_id += 1
            self.queue = [(self.run_id, i, f) for i, f in enumerate(clip.frames)]
            return self.run_id

    def playing(self):
        with self.lock:
            return bool(self.queue)

    def sender(self):
        t0 = time.monotonic()
        k = 0
        while not self.stop.is_set():
            k += 1
            due = t0 + k * PTIME
            d = due - time.monotonic()
            if d > 0:
                time.sleep(d)
            with self.lock:
                item = self.queue.pop(0) if self.queue else None
            payload = item[2] if item else ULAW_SILENCE
            hdr = bytes([0x80, 0x00, (self.seq >> 8) & 0xFF, self.seq & 0xFF]) + \
                self.ts.to_bytes(4, "big") + self.ssrc.to_bytes(4, "big")
            try:
                self.sock.sendto(hdr + payload, self.remote)
            except OSError:
                pass
            sent = time.monotonic()
            if item:
                with self.lock:
                    self.sent_at[(item[0], item[1])] = sent
            self.seq = (self.seq + 1) & 0xFFFF
            self.ts = (self.ts + FRAME) & 0xFFFFFFFF
            if time.monotonic() - due > 0.2:  # far behind (stopped machine): resynchronise
                t0, k = time.monotonic(), 0

    def on_datagram(self, data, now):
        if len(data) < 12 or data[0] >> 6 != 2:
            return
        pt = data[1] & 0x7F
        if pt != self.rx_pt:
            return  # telephone-event, comfort noise, RTCP on the same port
        cc = data[0] & 0x0F
        off = 12 + 4 * cc
        if data[0] & 0x10 and len(data) >= off + 4:
            off += 4 + 4 * int.from_bytes(data[off + 2:off + 4], "big")
        payload = data[off:]
        if data[0] & 0x20 and payload:
            payload = payload[:-payload[-1]]
        with self.lock:
            self.rx.append((now, rms_ulaw(payload)))

    def loud_since(self, t, thr):
        """First arrival >= t with RMS > thr, else None."""
        with self.lock:
            for at, r in self.rx:
                if at >= t and r > thr:
                    return at
        return None

    def last_loud(self, thr):
        with self.lock:
            for at, r in reversed(self.rx):
                if r > thr:
                    return at
        return None


def receiver(sip, rtp, stop):
    socks = [sip.sock, rtp.sock]
    while not stop.is_set():
        ready, _, _ = select.select(socks, [], [], 0.05)
        for s in ready:
            try:
                data, _ = s.recvfrom(4096)
            except OSError:
                continue
            now = time.monotonic()
            if s is sip.sock:
                try:
                    sip.on_datagram(data)
                except Exception as e:  # a malformed message must not stop the run
                    print(f"warning: SIP message not understood: {e}", file=sys.stderr)
            else:
                rtp.on_datagram(data, now)


def wait_quiet(rtp, sip, thr, quiet, timeout, need_speech_since=None):
    """Wait until kefu has been silent for `quiet` s (after speaking, if need_speech_since)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end and not sip.bye_received.is_set():
        now = time.monotonic()
        last = rtp.last_loud(thr)
        if need_speech_since is not None and (last is None or last < need_speech_since):
            time.sleep(0.02)
            continue
        if last is None or now - last >= quiet:
            return True
        time.sleep(0.02)
    return False


# ---------------------------------------------------------------- kefu log
LOG_RE = re.compile(r"^(\S+Z)\s+\w+.*?\btranscript\b.*?\bwho=\"?(caller|kefu)\"?(?:.*?\btext=\"(.*)\")?")
ANSI_RE = re.compile(r"\x1b\[[0-9;]*m")


def parse_log(path):
    events = []
    try:
        lines = open(path, encoding="utf-8", errors="replace").read().splitlines()
    except OSError:
        return events
    for line in lines:
        line = ANSI_RE.sub("", line)
        m = LOG_RE.match(line)
        if not m:
            continue
        ts = m.group(1)
        try:
            base, frac = (ts[:-1].split(".") + ["0"])[:2]
            t = datetime.datetime.strptime(base, "%Y-%m-%dT%H:%M:%S").replace(
                tzinfo=datetime.timezone.utc).timestamp() + float("0." + frac)
        except ValueError:
            continue
        events.append((t, m.group(2), m.group(3) or ""))
    return events


# ---------------------------------------------------------------- main
def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--server", required=True, help="kefu SIP address HOST:PORT (UDP)")
    ap.add_argument("clips", nargs="+", help="8 kHz mono µ-law WAV files, played in order")
    ap.add_argument("--turns", type=int, default=0, help="turns (default: one per clip; cycles)")
    ap.add_argument("--eos-floor", type=float, default=300, help="min end-of-speech RMS (300)")
    ap.add_argument("--reply-rms", type=float, default=300, help="kefu speech RMS threshold (300)")
    ap.add_argument("--quiet-ms", type=int, default=700, help="silence that ends kefu's audio (700)")
    ap.add_argument("--turn-timeout", type=float, default=8.0, help="reply must start within (8 s)")
    ap.add_argument("--reply-max", type=float, default=30.0, help="longest reply waited out (30 s)")
    ap.add_argument("--kefu-log", help="kefu's log (with --log-pii) for the breakdown")
    ap.add_argument("--markdown", help="write the BENCHMARKS.md table here")
    a = ap.parse_args()

    host, _, port = a.server.rpartition(":")
    clips = [Clip(p, a.eos_floor) for p in a.clips]
    turns = a.turns or len(clips)

    wall0, mono0 = time.time(), time.monotonic()
    wall = lambda m: wall0 + (m - mono0)  # noqa: E731

    sip, rtp = Sip((host, int(port))), Rtp()
    stop = threading.Event()
    threading.Thread(target=receiver, args=(sip, rtp, stop), daemon=True).start()
    try:
        remote, pt = sip.invite(rtp.port)
    except RuntimeError as e:
        print(f"call setup failed: {e}", file=sys.stderr)
        return 2
    rtp.remote, rtp.rx_pt = remote, pt
    if pt != 0:
        print(f"kefu answered with PT {pt}; only PCMU (0) is decoded", file=sys.stderr)
        return 2
    answered = time.monotonic()
    sender = threading.Thread(target=rtp.sender, daemon=True)
    sender.start()
    print(f"call up: kefu RTP at {remote[0]}:{remote[1]}, ours {rtp.port}; waiting for the greeting")

    if not wait_quiet(rtp, sip, a.reply_rms, a.quiet_ms / 1000, 20.0, need_speech_since=answered):
        print("no greeting heard (or it did not end) within 20 s", file=sys.stderr)
    greet = rtp.loud_since(answered, a.reply_rms)
    if greet:
        print(f"greeting: first audio {1000 * (greet - answered):.0f} ms after the 200 OK")

    results = []
    print(f"{'turn':>4} {'clip':<16} {'dur_s':>5} {'eos_s':>5} {'latency_ms':>10}")
    for n in range(turns):
        if sip.bye_received.is_set():
            print("kefu hung up (BYE); stopping early")
            break
        clip = clips[n % len(clips)]
        run = rtp.play(clip)
        begin = time.monotonic()
        eos_key = (run, clip.eos_frame)
        while eos_key not in rtp.sent_at and time.monotonic() - begin < clip.duration + 2:
            time.sleep(0.005)
        eos = rtp.sent_at.get(eos_key)
        res = {"clip": clip.name, "dur": clip.duration, "eos_in_clip": (clip.eos_frame + 1) * PTIME,
               "start": wall(begin), "eos": wall(eos) if eos else None, "latency": None}
        reply = None
        if eos is not None:
            deadline = eos + a.turn_timeout
            while time.monotonic() < deadline and not sip.bye_received.is_set():
                reply = rtp.loud_since(eos, a.reply_rms)
                if reply:
                    break
                time.sleep(0.005)
        if reply:
            res["latency"] = 1000 * (reply - eos)
            res["reply"] = wall(reply)
            lat = f"{res['latency']:10.0f}"
        else:
            lat = f"{'FAIL':>10}"
        print(f"{n + 1:4d} {clip.name:<16} {clip.duration:5.2f} {res['eos_in_clip']:5.2f} {lat}", flush=True)
        results.append(res)
        while rtp.playing():
            time.sleep(0.01)
        if reply:
            wait_quiet(rtp, sip, a.reply_rms, a.quiet_ms / 1000, a.reply_max, need_speech_since=reply)
        else:
            wait_quiet(rtp, sip, a.reply_rms, a.quiet_ms / 1000, a.reply_max)

    hung_up = sip.bye_received.is_set()
    if not hung_up:
        ok = sip.bye()
        print("BYE -> 200" if ok else "BYE: no 200 within 3 s")
    rtp.stop.set()
    time.sleep(0.3)
    stop.set()

    # ---- breakdown from kefu's log
    have_log = False
    if a.kefu_log:
        time.sleep(0.2)
        ev = parse_log(a.kefu_log)
        have_log = any(w == "caller" for _, w, _ in ev)
        for i, r in enumerate(results):
            if r["eos"] is None:
                continue
            nxt = results[i + 1]["start"] if i + 1 < len(results) else float("inf")
            end = r.get("reply", nxt)
            heard = [(t, txt) for t, w, txt in ev if w == "caller" and r["start"] <= t <= end]
            if heard:
                r["heard"] = 1000 * (heard[-1][0] - r["eos"])
                r["text"] = heard[-1][1]
                said = [(t, txt) for t, w, txt in ev if w == "kefu" and t >= heard[-1][0] and t <= end]
                if said and "reply" in r:
                    r["said"] = 1000 * (said[0][0] - r["eos"])
                    r["audio"] = 1000 * (r["reply"] - said[0][0])
                r["utterances"] = len(heard)

    # ---- report
    lats = [r["latency"] for r in results if r["latency"] is not None]
    fails = [r for r in results if r["latency"] is None]
    print()
    if have_log:
        print(f"{'turn':>4} {'clip':<16} {'latency':>7} {'heard':>6} {'said':>6} {'audio':>6}  kefu heard")
        for i, r in enumerate(results):
            f = lambda k: f"{r[k]:6.0f}" if k in r else f"{'-':>6}"  # noqa: E731
            lat = f"{r['latency']:7.0f}" if r["latency"] is not None else f"{'FAIL':>7}"
            extra = f" ({r['utterances']} utterances)" if r.get("utterances", 1) > 1 else ""
            print(f"{i + 1:4d} {r['clip']:<16} {lat} {f('heard')} {f('said')} {f('audio')}  "
                  f"\"{short(r.get('text', ''))}\"{extra}")
        print("  (ms after the caller's end of speech: heard = caller transcript logged, said = reply"
              " text logged; audio = first reply packet - said)")
    summary = {
        "n": len(lats), "failures": len(fails), "turns": len(results),
        "p50": percentile(lats, 50), "p95": percentile(lats, 95),
        "max": max(lats) if lats else float("nan"), "min": min(lats) if lats else float("nan"),
        "mean": sum(lats) / len(lats) if lats else float("nan"),
    }
    brk = {}
    for k in ("heard", "said", "audio"):
        v = [r[k] for r in results if k in r]
        if v:
            brk[k] = (percentile(v, 50), percentile(v, 95), len(v))
    print(f"turns {summary['turns']}: n {summary['n']}, failures {summary['failures']}"
          f"{' (' + ', '.join(r['clip'] for r in fails) + ')' if fails else ''}")
    print(f"latency ms: p50 {summary['p50']:.0f}, p95 {summary['p95']:.0f}, max {summary['max']:.0f}, "
          f"min {summary['min']:.0f}, mean {summary['mean']:.0f}")
    for k, (p50, p95, cnt) in brk.items():
        print(f"  {k:<5} p50 {p50:.0f} ms, p95 {p95:.0f} ms (n {cnt})")
    if hung_up:
        print("note: kefu hung up before the last turn")

    if a.markdown:
        with open(a.markdown, "w") as f:
            f.write("| figure | value |\n|---|---|\n")
            f.write(f"| turns / with a reply / failed (no reply audio within {a.turn_timeout:.0f} s) | "
                    f"{summary['turns']} / {summary['n']} / {summary['failures']} |\n")
            f.write(f"| end of speech → first reply packet with speech, p50 / p95 / max | "
                    f"{summary['p50']:.0f} / {summary['p95']:.0f} / {summary['max']:.0f} ms |\n")
            f.write(f"| min / mean | {summary['min']:.0f} / {summary['mean']:.0f} ms |\n")
            names = {"heard": "end of speech → caller transcript logged (endpointing + ASR)",
                     "said": "end of speech → reply text logged (+ dialogue)",
                     "audio": "reply text logged → first reply packet (TTS first audio + playout + transport)"}
            for k, (p50, p95, cnt) in brk.items():
                f.write(f"| {names[k]}, p50 / p95 | {p50:.0f} / {p95:.0f} ms |\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
