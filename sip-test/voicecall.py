"""voicecall.py: phone calls to kefu from Python (stdlib only, UDP, 127.0.0.1), for the voice tests.

Used by voice-latency.py, barge-in.py and voice-capacity.py:

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import voicecall

What it has:
  - G.711 µ-law: `ULAW` (decode table), `ulaw_encode`, `rms_ulaw`, `gain_table`/`attenuate`;
  - `read_ulaw_wav` and `Clip` (an 8 kHz µ-law WAV cut into 20 ms frames, with the frames that
    start and end its speech);
  - `Sip`: a minimal UAC, INVITE (PCMU + telephone-event/101, timer A retransmission) ->
    100/180/200 -> ACK, BYE, and a 200 to whatever kefu sends (its BYE sets `bye_received`);
  - `Rtp`: one packet every 20 ms for the whole call, paced on the monotonic clock: the frames
    of the clip being played, else µ-law silence, or (`echo()`) kefu's own audio sent back
    attenuated and delayed, as a line without an echo canceller does. Every packet kefu sends
    is kept as (arrival, RMS); send times of clip frames are kept per (run, frame);
  - `Hub`: the two threads all calls of a process share: one select loop receiving every SIP
    and RTP socket, one sender pacing every call's RTP on its own 20 ms grid;
  - `Call`: one call (its own SIP socket and RTP socket) with the waits the scripts need;
  - `parse_log`, `kefu_call_ids`: kefu's log (`transcript` lines need --log-pii);
  - `percentile` (nearest rank), `short`.

Times are `time.monotonic()` unless a name says wall clock.
"""

import bisect
import collections
import datetime
import math
import os
import random
import re
import selectors
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
ULAW_SQ = [v * v for v in ULAW]
ULAW_SILENCE = b"\xff" * FRAME


def ulaw_encode(s):
    """One 16-bit sample to a µ-law byte (G.711, with the usual 32635 clip)."""
    sign = 0x80 if s < 0 else 0
    s = min(abs(int(s)), 32635) + 0x84
    exp = max(0, (s >> 7).bit_length() - 1)
    mant = (s >> (exp + 3)) & 0x0F
    return ~(sign | (exp << 4) | mant) & 0xFF


def rms_ulaw(payload):
    if not payload:
        return 0.0
    return math.sqrt(sum(map(ULAW_SQ.__getitem__, payload)) / len(payload))


def gain_table(db):
    """A bytes.translate table applying `db` of gain to µ-law bytes."""
    g = 10 ** (db / 20)
    return bytes(ulaw_encode(round(ULAW[b] * g)) for b in range(256))


def attenuate(payload, table):
    return payload.translate(table)


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
    """A clip in 20 ms frames. Speech = frames above max(eos_floor, peak frame RMS / 20)."""

    def __init__(self, path, eos_floor=300):
        data = read_ulaw_wav(path)
        data += b"\xff" * (-len(data) % FRAME)
        self.path = path
        self.name = os.path.splitext(os.path.basename(path))[0]
        self.frames = [data[i:i + FRAME] for i in range(0, len(data), FRAME)]
        self.rms = [rms_ulaw(f) for f in self.frames]
        self.threshold = max(eos_floor, max(self.rms) / 20)
        loud = [i for i, v in enumerate(self.rms) if v > self.threshold]
        if not loud:
            raise SystemExit(f"{path}: no frame above {self.threshold:.0f} RMS")
        self.speech_start = loud[0]  # index of the first frame with speech
        self.eos_frame = loud[-1]  # index of the last frame with speech
        self.duration = len(self.frames) * PTIME


# ---------------------------------------------------------------- SIP UAC
class Sip:
    """One dialog's UAC on its own UDP socket; `on_datagram` is fed by the Hub."""

    def __init__(self, server, local_ip="127.0.0.1", name="vlat", user_agent="kefu-voice-latency"):
        self.server = server
        self.name = name
        self.user_agent = user_agent
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((local_ip, 0))
        self.ip, self.port = self.sock.getsockname()
        self.call_id = f"{name}-{random.getrandbits(48):x}@{self.ip}"
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
               f"From: \"{self.name}\" <sip:caller@{self.ip}:{self.port}>;tag={self.tag}\n"
               f"To: {to}\nCall-ID: {self.call_id}\nCSeq: {cseq} {method}\n"
               f"Contact: <sip:caller@{self.ip}:{self.port}>\nMax-Forwards: 70\n"
               f"User-Agent: {self.user_agent}\n{extra}"
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

    def on_datagram(self, data, now=None):
        try:
            self._on_datagram(data)
        except Exception as e:  # a malformed message must not stop the run
            print(f"warning: SIP message not understood: {e}", file=sys.stderr)

    def _on_datagram(self, data):
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
        """INVITE until a final response; returns ((kefu RTP host, port), first payload type)."""
        sdp = (f"v=0\no={self.name} 1 1 IN IP4 {self.ip}\ns=-\nc=IN IP4 {self.ip}\nt=0 0\n"
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
    """Sends 50 packets/s for the whole call (clip frames, silence or echo); receives kefu's audio.

    `loud_rms`: the RMS above which a received packet counts as speech for `last_loud_at`.
    """

    def __init__(self, local_ip="127.0.0.1", loud_rms=300):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((local_ip, 0))
        self.port = self.sock.getsockname()[1]
        self.remote = None
        self.ssrc = random.getrandbits(32)
        self.seq = random.getrandbits(16)
        self.ts = random.getrandbits(32)
        self.lock = threading.Lock()
        self.queue = collections.deque()  # (run, frame index, payload) to send before silence
        self.sent_at = {}        # (clip run id, frame index) -> monotonic send time
        self.sent_cond = threading.Condition(self.lock)
        self.run_id = 0
        self.rx_t = []           # monotonic arrival of kefu's audio packets
        self.rx_rms = []         # and their RMS
        self.rx_pt = 0
        self.loud_rms = loud_rms
        self.last_loud_at = None
        self.echo_table = None   # set by echo(): kefu's audio goes back through it
        self.echo_delay = 0.0
        self.echo_buf = collections.deque()  # (arrival, payload)
        self.echoed = 0          # packets sent back as echo
        self.sent = 0
        # pacing, driven by the Hub's sender
        self.t0 = None
        self.k = 0
        self.next_due = None

    # -- what to send
    def play(self, clip):
        """Queue a clip's frames (replacing any not sent yet); returns the run id."""
        with self.lock:
            self.run_id += 1
            self.queue = collections.deque((self.run_id, i, f) for i, f in enumerate(clip.frames))
            return self.run_id

    def playing(self):
        with self.lock:
            return bool(self.queue)

    def echo(self, delay=0.060, gain_db=-12.0):
        """Send kefu's received audio back, `gain_db` and `delay` s later, when no clip plays."""
        with self.lock:
            self.echo_delay = delay
            self.echo_table = gain_table(gain_db)
            self.echo_buf.clear()

    def _echo_payload(self, now):
        buf = self.echo_buf
        while len(buf) > 1 and buf[1][0] + self.echo_delay <= now:  # keep the delay, not a backlog
            buf.popleft()
        if buf and buf[0][0] + self.echo_delay <= now:
            self.echoed += 1
            return buf.popleft()[1].translate(self.echo_table)
        return None

    def start(self, now=None):
        self.t0 = time.monotonic() if now is None else now
        self.k = 1
        self.next_due = self.t0 + PTIME

    def send_next(self):
        """Send the packet due at `next_due` (the Hub calls this)."""
        now = time.monotonic()
        with self.lock:
            item = self.queue.popleft() if self.queue else None
            payload = item[2] if item else None
            if payload is None and self.echo_table is not None:
                payload = self._echo_payload(now)
        if payload is None:
            payload = ULAW_SILENCE
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
                self.sent_cond.notify_all()
        self.sent += 1
        self.seq = (self.seq + 1) & 0xFFFF
        self.ts = (self.ts + FRAME) & 0xFFFFFFFF
        due = self.next_due
        self.k += 1
        self.next_due = self.t0 + self.k * PTIME
        if sent - due > 0.2:  # far behind (stopped machine): resynchronise
            self.start(sent)

    def wait_sent(self, run, frame, timeout):
        """Send time of frame `frame` of clip run `run`, waiting up to `timeout` s."""
        end = time.monotonic() + timeout
        with self.lock:
            while (run, frame) not in self.sent_at:
                left = end - time.monotonic()
                if left <= 0:
                    return None
                self.sent_cond.wait(left)
            return self.sent_at[(run, frame)]

    # -- what kefu sends
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
        r = rms_ulaw(payload)
        with self.lock:
            self.rx_t.append(now)
            self.rx_rms.append(r)
            if r > self.loud_rms:
                self.last_loud_at = now
            if self.echo_table is not None:
                self.echo_buf.append((now, payload))

    def loud_since(self, t, thr):
        """First arrival >= t with RMS > thr, else None."""
        with self.lock:
            i = bisect.bisect_left(self.rx_t, t)
            n = len(self.rx_t)
            while i < n:
                if self.rx_rms[i] > thr:
                    return self.rx_t[i]
                i += 1
        return None

    def last_loud(self, thr=None):
        with self.lock:
            if thr is None or thr == self.loud_rms:
                return self.last_loud_at
            for i in range(len(self.rx_t) - 1, -1, -1):
                if self.rx_rms[i] > thr:
                    return self.rx_t[i]
        return None

    def received(self):
        """[(arrival, rms)] of every audio packet kefu sent so far."""
        with self.lock:
            return list(zip(self.rx_t, self.rx_rms))


# ---------------------------------------------------------------- shared I/O threads
class Hub:
    """One receiver thread (select over every call's sockets) and one RTP sender thread."""

    def __init__(self):
        self.sel = selectors.DefaultSelector()
        self.lock = threading.Lock()
        self.changes = []   # ("add", sock, handler) / ("del", sock, None)
        self.senders = []   # Rtp objects being paced
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._recv_loop, daemon=True, name="vc-recv"),
                        threading.Thread(target=self._send_loop, daemon=True, name="vc-send")]
        for t in self.threads:
            t.start()

    def watch(self, sock, handler):
        """handler(data, monotonic arrival) for every datagram on sock."""
        with self.lock:
            self.changes.append(("add", sock, handler))

    def unwatch(self, sock):
        with self.lock:
            self.changes.append(("del", sock, None))

    def start_sending(self, rtp):
        with self.lock:
            rtp.start()
            self.senders.append(rtp)

    def stop_sending(self, rtp):
        with self.lock:
            if rtp in self.senders:
                self.senders.remove(rtp)

    def close(self):
        self.stop.set()
        for t in self.threads:
            t.join(1.0)

    def _recv_loop(self):
        while not self.stop.is_set():
            with self.lock:
                changes, self.changes = self.changes, []
            for op, sock, handler in changes:
                try:
                    if op == "add":
                        self.sel.register(sock, selectors.EVENT_READ, handler)
                    else:
                        self.sel.unregister(sock)
                except (KeyError, ValueError, OSError):
                    pass
            if not self.sel.get_map():
                time.sleep(0.02)
                continue
            for key, _ in self.sel.select(0.02):
                try:
                    data, _ = key.fileobj.recvfrom(4096)
                except OSError:
                    continue
                key.data(data, time.monotonic())

    def _send_loop(self):
        while not self.stop.is_set():
            with self.lock:
                active = list(self.senders)
            if not active:
                time.sleep(0.005)
                continue
            due = min(r.next_due for r in active)
            d = due - time.monotonic()
            if d > 0:
                time.sleep(d)
            now = time.monotonic()
            for r in active:
                if r.next_due <= now + 0.0005:
                    r.send_next()


_HUB = None


def hub():
    """The process's Hub, started on first use."""
    global _HUB
    if _HUB is None:
        _HUB = Hub()
    return _HUB


# ---------------------------------------------------------------- one call
class Call:
    """A call to kefu: its own SIP and RTP sockets, served by the shared Hub."""

    def __init__(self, server, name="vlat", user_agent="kefu-voice-latency", loud_rms=300, hub_=None):
        self.hub = hub_ or hub()
        self.sip = Sip(server, name=name, user_agent=user_agent)
        self.rtp = Rtp(loud_rms=loud_rms)
        self.remote = None
        self.answered = None
        self.hub.watch(self.sip.sock, self.sip.on_datagram)
        self.hub.watch(self.rtp.sock, self.rtp.on_datagram)

    @property
    def bye_received(self):
        return self.sip.bye_received

    def dial(self, timeout=10.0):
        """INVITE/ACK; returns ((kefu RTP host, port), payload type). Raises RuntimeError."""
        remote, pt = self.sip.invite(self.rtp.port, timeout)
        self.remote = remote
        self.rtp.remote, self.rtp.rx_pt = remote, pt
        return remote, pt

    def start_media(self):
        """Start the 50 packets/s stream (silence until play())."""
        self.answered = time.monotonic()
        self.hub.start_sending(self.rtp)

    def play(self, clip):
        return self.rtp.play(clip)

    def playing(self):
        return self.rtp.playing()

    def wait_played(self, timeout=30.0):
        end = time.monotonic() + timeout
        while self.rtp.playing() and time.monotonic() < end:
            time.sleep(0.01)

    def wait_sent(self, run, frame, timeout):
        return self.rtp.wait_sent(run, frame, timeout)

    def loud_since(self, t, thr):
        return self.rtp.loud_since(t, thr)

    def last_loud(self, thr=None):
        return self.rtp.last_loud(thr)

    def wait_loud(self, since, thr, timeout, poll=0.005):
        """First kefu packet with RMS > thr arriving at or after `since`, within `timeout` s of now."""
        deadline = time.monotonic() + timeout
        while True:
            t = self.rtp.loud_since(since, thr)
            if t is not None or time.monotonic() >= deadline or self.bye_received.is_set():
                return t
            time.sleep(poll)

    def wait_quiet(self, thr, quiet, timeout, need_speech_since=None, poll=0.02):
        """Wait until kefu has been silent for `quiet` s (after speaking, if need_speech_since)."""
        end = time.monotonic() + timeout
        while time.monotonic() < end and not self.bye_received.is_set():
            now = time.monotonic()
            last = self.rtp.last_loud(thr)
            if need_speech_since is not None and (last is None or last < need_speech_since):
                time.sleep(poll)
                continue
            if last is None or now - last >= quiet:
                return True
            time.sleep(poll)
        return False

    def hangup(self):
        """BYE unless kefu hung up; returns True (200), False (no 200) or None (kefu's BYE)."""
        if self.bye_received.is_set():
            return None
        return self.sip.bye()

    def stop_media(self):
        self.hub.stop_sending(self.rtp)

    def close(self):
        self.stop_media()
        self.hub.unwatch(self.sip.sock)
        self.hub.unwatch(self.rtp.sock)


# ---------------------------------------------------------------- kefu log
LOG_RE = re.compile(r"^(\S+Z)\s+\w+.*?\btranscript\b.*?\bwho=\"?(caller|kefu)\"?(?:.*?\btext=\"(.*)\")?")
CALL_RE = re.compile(r"\bcall=(\d+)")
OFFERED_RE = re.compile(r"\bcall\{id=(\d+)\}.*\boffered\b.*\brtp_port=(\d+)")
ANSI_RE = re.compile(r"\x1b\[[0-9;]*m")


def _log_lines(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return [ANSI_RE.sub("", l) for l in f.read().splitlines()]
    except OSError:
        return []


def log_time(ts):
    """kefu's UTC log timestamp (2026-01-02T03:04:05.123456Z) as a Unix time, or None."""
    try:
        base, frac = (ts[:-1].split(".") + ["0"])[:2]
        return datetime.datetime.strptime(base, "%Y-%m-%dT%H:%M:%S").replace(
            tzinfo=datetime.timezone.utc).timestamp() + float("0." + frac)
    except ValueError:
        return None


def parse_log(path):
    """[(wall time, "caller"|"kefu", text, kefu call id or None)] of the `transcript` lines."""
    events = []
    for line in _log_lines(path):
        m = LOG_RE.match(line)
        if not m:
            continue
        t = log_time(m.group(1))
        if t is None:
            continue
        c = CALL_RE.search(line)
        events.append((t, m.group(2), m.group(3) or "", int(c.group(1)) if c else None))
    return events


def kefu_call_ids(path):
    """{kefu's RTP port: kefu's call id} from the `offered rtp_port=` lines."""
    ids = {}
    for line in _log_lines(path):
        m = OFFERED_RE.search(line)
        if m:
            ids[int(m.group(2))] = int(m.group(1))
    return ids
