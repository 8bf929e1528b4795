#!/usr/bin/env python3
"""RFC 4475 / RFC 5118 torture runner for kefu (python3 standard library only).

For each row of the torture manifest (see /work/shared/sip-torture/README.md):

1. send the fixture's bytes as ONE UDP datagram to the server. When the message repeats an
   earlier message's Call-ID, or its top-Via branch + method, that value is byte-replaced by a
   suffixed one (only in the Call-ID header / the top Via) so that a correct server does not
   take it for a retransmission;
2. collect responses for --window seconds (extended up to --max-wait while only provisional
   responses arrived) on the sending socket AND on listener sockets on 127.0.0.1 at the ports
   named in the top Vias (RFC 3261 18.2.2 sends responses to the Via port: 5060 when absent,
   also 5050, 5070, 6050, 19823 in the fixtures); responses are matched by Call-ID;
3. score by the manifest `rule` (accept, reject, liberal, error, expect, drop, survive);
4. send an OPTIONS liveness probe; a 200 must come within --probe-timeout seconds;
5. a 2xx to an INVITE is cleaned up with ACK + BYE (best effort); requests the server sends
   us (a BYE after its no-input timeout, say) are answered 200 (BYE) or ignored.

Prints one table row per message and the last line "N passed, M failed"; exits 1 on any failure.
SOFT means passed, but the final code is not one the RFC prefers.

Run the server on a port other than the Via ports (not 5060), and preferably inside a
private network namespace (see run-torture.sh): the fixtures carry 192.0.2.x / example.com
addresses and SDP, so an answering server will try to send RTP there.
"""

import argparse
import csv
import os
import re
import select
import socket
import sys
import time

DEFAULT_MANIFEST = os.environ.get("SIP_TORTURE_MANIFEST", "/work/shared/sip-torture/manifest.tsv")
EXTRA_VIA_PORTS = [5060, 5050, 5070, 6050, 19823]

RE_CALLID = re.compile(rb"(?im)^(?:call-id|i)[ \t]*:[ \t]*([^\r\n]*?)[ \t]*\r?$")
RE_VIA = re.compile(
    rb"(?im)^(?:via|v)[ \t]*:[ \t]*SIP[ \t]*/[ \t]*2\.0[ \t]*/[ \t]*([A-Za-z0-9\-]+)[ \t\r\n]+"
    rb"((?:\[[^\]]*\]|[^;,\s:])+)(?:[ \t]*:[ \t]*(\d+))?([^\r\n]*)"
)
RE_BRANCH = re.compile(rb"(?i)branch[ \t]*=[ \t]*([^;,\s]+)")
RE_STATUS = re.compile(rb"^SIP/2\.0[ \t]+(\d{3})[ \t]")
RE_CSEQ = re.compile(rb"(?im)^CSeq[ \t]*:[ \t]*(\d+)[ \t]+([A-Za-z]+)")


def header(msg, names):
    """First value of a header (full or compact names, case-insensitive), or None."""
    alt = b"|".join(re.escape(n) for n in names)
    m = re.search(rb"(?im)^(?:" + alt + rb")[ \t]*:[ \t]*([^\r\n]*)", msg)
    return m.group(1).strip() if m else None


def call_id_of(msg):
    m = RE_CALLID.search(msg)
    return m.group(1).strip() if m else None


def top_via(msg):
    """(transport, host, port or None, branch or None, (span of branch value)) of the first Via."""
    m = RE_VIA.search(msg)
    if not m:
        return None
    port = int(m.group(3)) if m.group(3) else None
    b = RE_BRANCH.search(m.group(4))
    span = (m.start(4) + b.start(1), m.start(4) + b.end(1)) if b else None
    return m.group(1).upper(), m.group(2), port, (b.group(1) if b else None), span


def method_of(msg):
    if msg.startswith(b"SIP/"):
        return None
    return msg.split(b" ", 1)[0].split(b"\r", 1)[0]


def status_of(msg):
    m = RE_STATUS.match(msg)
    return int(m.group(1)) if m else None


class Net:
    """The sending socket plus listeners on the Via ports; everything received is parsed."""

    def __init__(self, server, ports, verbose=False):
        self.server = server
        self.verbose = verbose
        self.main = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.main.bind(("127.0.0.1", 0))
        self.local_port = self.main.getsockname()[1]
        self.socks = [self.main]
        self.tcp_listeners = []
        self.tcp_conns = {}
        self.bound = []
        for p in sorted(set(ports)):
            if p == server[1]:
                continue
            try:
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                s.bind(("127.0.0.1", p))
                self.socks.append(s)
                self.bound.append(p)
            except OSError as e:
                print(f"warning: cannot listen on udp 127.0.0.1:{p}: {e}", file=sys.stderr)
            # responses to a request whose Via says TCP may come over a new TCP connection
            try:
                t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                t.bind(("127.0.0.1", p))
                t.listen(16)
                self.tcp_listeners.append(t)
            except OSError:
                pass
        self.inbox = []  # (time, via_sock_port, data)

    def send(self, data):
        self.main.sendto(data, self.server)

    def poll(self, timeout, first=False):
        """Receive for up to `timeout` seconds (with first=True: return as soon as something
        came); returns a list of (t, port, data, reply_to)."""
        got = []
        end = time.monotonic() + timeout
        while True:
            left = end - time.monotonic()
            if left <= 0 or (first and got):
                break
            rs = self.socks + self.tcp_listeners + list(self.tcp_conns)
            r, _, _ = select.select(rs, [], [], left)
            for s in r:
                if s in self.tcp_listeners:
                    c, _ = s.accept()
                    self.tcp_conns[c] = b""
                    continue
                if s in self.tcp_conns:
                    try:
                        d = s.recv(65535)
                    except OSError:
                        d = b""
                    if not d:
                        del self.tcp_conns[s]
                        s.close()
                        continue
                    buf = self.tcp_conns[s] + d
                    # split on Content-Length (responses from a UAS are small)
                    while b"\r\n\r\n" in buf:
                        head, rest = buf.split(b"\r\n\r\n", 1)
                        cl = header(head + b"\r\n", [b"content-length", b"l"])
                        n = int(cl) if cl and cl.isdigit() else 0
                        if len(rest) < n:
                            break
                        msg, buf = head + b"\r\n\r\n" + rest[:n], rest[n:]
                        got.append((time.monotonic(), "tcp", msg, None))
                    self.tcp_conns[s] = buf
                    continue
                try:
                    d, addr = s.recvfrom(65535)
                except OSError:
                    continue
                got.append((time.monotonic(), s.getsockname()[1], d, (s, addr)))
        for t, port, d, reply in got:
            if self.verbose:
                first = d.split(b"\r\n", 1)[0][:100]
                print(f"  <- [{port}] {first!r}", file=sys.stderr)
            if status_of(d) is None and reply is not None:
                self.answer_request(d, reply)
        return got

    def answer_request(self, req, reply):
        """The server sent us a request (e.g. BYE after its timeout): 200 for BYE, else ignore."""
        if method_of(req) not in (b"BYE", b"OPTIONS", b"NOTIFY"):
            return
        lines = [b"SIP/2.0 200 OK"]
        for name, compact in ((b"via", b"v"), (b"from", b"f"), (b"to", b"t"), (b"call-id", b"i"), (b"cseq", None)):
            for m in re.finditer(rb"(?im)^(?:" + name + (rb"|" + compact if compact else b"") + rb")[ \t]*:[^\r\n]*", req):
                lines.append(m.group(0))
        lines.append(b"Content-Length: 0")
        sock, addr = reply
        try:
            sock.sendto(b"\r\n".join(lines) + b"\r\n\r\n", addr)
        except OSError:
            pass


def build_in_dialog(method, resp, net, cseq_num, n):
    """ACK or BYE for the dialog a 2xx to INVITE created (UAC side, RFC 3261 13.2.2.4, 15.1.1)."""
    contact = header(resp, [b"contact", b"m"]) or b""
    m = re.search(rb"<([^>]+)>", contact)
    target = m.group(1) if m else (contact.split(b";")[0].strip() or b"sip:%s:%d" % (net.server[0].encode(), net.server[1]))
    frm = header(resp, [b"from", b"f"]) or b"<sip:torture@invalid>"
    to = header(resp, [b"to", b"t"]) or b"<sip:torture@invalid>"
    cid = call_id_of(resp) or b"none"
    rr = [x.strip() for x in re.findall(rb"(?im)^Record-Route[ \t]*:[ \t]*([^\r\n]*)", resp)]
    lines = [
        method + b" " + target + b" SIP/2.0",
        b"Via: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK-torture-%s-%d;rport" % (net.local_port, method.lower(), n),
        b"Max-Forwards: 70",
        b"From: " + frm,
        b"To: " + to,
        b"Call-ID: " + cid,
        b"CSeq: %d %s" % (cseq_num, method),
    ]
    for r in reversed(rr):
        lines.append(b"Route: " + r)
    lines.append(b"Content-Length: 0")
    return b"\r\n".join(lines) + b"\r\n\r\n"


def ack_final(net, req, resp, n, acked, notes):
    """ACK a final response to our INVITE at once, so the server stops retransmitting it.
    2xx: ACK in the new dialog (own branch; BYE follows after the window).
    300-699: ACK in the INVITE's transaction (RFC 3261 17.1.1.3: same Request-URI, top Via,
    From, Call-ID, CSeq number; To from the response)."""
    st = status_of(resp)
    cs = RE_CSEQ.search(resp)
    if not st or st < 200 or not cs or cs.group(2).upper() != b"INVITE":
        return
    num = int(cs.group(1))
    if 200 <= st < 300:
        if "dialog" not in acked:
            acked["dialog"] = (resp, num)
        net.send(build_in_dialog(b"ACK", resp, net, num, n))  # also for each retransmitted 2xx
        return
    if acked.get("non2xx"):
        net.send(acked["non2xx"])
        return
    ruri = req.split(b"\r\n", 1)[0].split(b" ")
    ruri = ruri[1] if len(ruri) > 2 else b"sip:invalid"
    via = re.search(rb"(?im)^(?:via|v)[ \t]*:[^\r\n]*", resp)
    via = via.group(0).split(b",")[0] if via else b"Via: SIP/2.0/UDP invalid"
    ack = b"\r\n".join([
        b"ACK " + ruri + b" SIP/2.0", via, b"Max-Forwards: 70",
        b"From: " + (header(req, [b"from", b"f"]) or b"<sip:x@invalid>"),
        b"To: " + (header(resp, [b"to", b"t"]) or b"<sip:x@invalid>"),
        b"Call-ID: " + (call_id_of(resp) or b"none"),
        b"CSeq: %d ACK" % num, b"Content-Length: 0"]) + b"\r\n\r\n"
    acked["non2xx"] = ack
    net.send(ack)
    notes.append(f"ACKed {st}")


def probe(net, n, timeout):
    """OPTIONS liveness probe: (ok, detail)."""
    cid = b"torture-probe-%d-%d@127.0.0.1" % (os.getpid(), n)
    msg = b"\r\n".join([
        b"OPTIONS sip:probe@%s:%d SIP/2.0" % (net.server[0].encode(), net.server[1]),
        b"Via: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK-torture-probe-%d-%d;rport" % (net.local_port, os.getpid(), n),
        b"Max-Forwards: 70",
        b"From: <sip:probe@127.0.0.1>;tag=probe%d" % n,
        b"To: <sip:probe@%s>" % net.server[0].encode(),
        b"Call-ID: " + cid,
        b"CSeq: 1 OPTIONS",
        b"Content-Length: 0",
    ]) + b"\r\n\r\n"
    t0 = time.monotonic()
    net.send(msg)
    codes = []
    while time.monotonic() - t0 < timeout:
        for _, _, d, _ in net.poll(min(0.1, timeout), first=True):
            if call_id_of(d) == cid and status_of(d):
                codes.append(status_of(d))
                if status_of(d) >= 200:
                    dt = (time.monotonic() - t0) * 1000
                    return status_of(d) == 200, f"{status_of(d)} in {dt:.0f} ms"
    return False, f"no final response in {timeout:.0f} s" + (f" (got {codes})" if codes else "")


def score(rule, preferred, finals, provisionals, alive):
    """(verdict, note) where verdict is PASS, SOFT or FAIL."""
    if not alive:
        return "FAIL", "server not alive after this message"
    got_any = bool(finals or provisionals)
    bad = [c for c in finals if c in (400, 500, 505)]
    if rule == "accept":
        if not got_any:
            return "FAIL", "no response to a valid request"
        if bad:
            return "FAIL", f"rejected a valid request with {bad[0]}"
        if preferred and finals and finals[0] not in preferred:
            return "SOFT", f"RFC prefers {','.join(map(str, preferred))}"
        if not finals:
            return "PASS", "provisional only"
        return "PASS", ""
    if rule == "reject":
        if not got_any:
            return "PASS", "dropped"
        if finals and all(c == 400 for c in finals):
            return "PASS", ""
        if not finals:
            return "FAIL", "provisional but no 400 (accepted an invalid message?)"
        return "FAIL", f"invalid message answered {finals[0]} (want 400 or drop)"
    if rule == "liberal":
        return "PASS", ("dropped" if not got_any else "")
    if rule == "error":
        if not finals:
            return "PASS", "dropped" if not got_any else "provisional only"
        if all(c >= 300 for c in finals):
            return "PASS", ""
        return "FAIL", f"answered {finals[0]} (want an error >= 300 or drop)"
    if rule == "expect":
        if finals and finals[0] in preferred:
            return "PASS", ""
        if not finals:
            return "FAIL", f"no final response (want {','.join(map(str, preferred))})"
        return "FAIL", f"got {finals[0]} (want {','.join(map(str, preferred))})"
    if rule == "drop":
        if got_any:
            return "FAIL", "a response message must be discarded silently, but something was sent"
        return "PASS", ""
    if rule == "survive":
        return "PASS", ""
    return "FAIL", f"unknown rule {rule!r}"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--server", default="127.0.0.1:5080", help="HOST:PORT of the SIP server (UDP); not a Via port")
    ap.add_argument("--manifest", default=DEFAULT_MANIFEST)
    ap.add_argument("--only", action="append", default=[], help="run rows whose file contains NAME (repeatable, or comma-separated)")
    ap.add_argument("--window", type=float, default=1.0, help="seconds to collect responses per message")
    ap.add_argument("--max-wait", type=float, default=4.0, help="extend the window to this while only provisionals came")
    ap.add_argument("--probe-timeout", type=float, default=2.0)
    ap.add_argument("--no-cleanup", action="store_true", help="do not ACK/BYE dialogs created by 2xx to INVITE")
    ap.add_argument("-v", "--verbose", action="store_true")
    a = ap.parse_args()

    host, _, port = a.server.rpartition(":")
    server = (host or "127.0.0.1", int(port))
    base = os.path.dirname(os.path.abspath(a.manifest))
    with open(a.manifest, newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    only = [x for o in a.only for x in o.split(",") if x]
    if only:
        rows = [r for r in rows if any(o in r["file"] for o in only)]
    if not rows:
        print("no manifest rows selected", file=sys.stderr)
        return 2

    msgs = []
    ports = set(EXTRA_VIA_PORTS)
    for r in rows:
        data = open(os.path.join(base, r["file"]), "rb").read()
        msgs.append(data)
        v = top_via(data)
        if v:
            ports.add(v[2] or 5060)
    if server[1] in ports:
        print(f"warning: server port {server[1]} is a Via port of the fixtures: responses sent there reach the server itself", file=sys.stderr)

    net = Net(server, ports, a.verbose)
    print(f"# server {server[0]}:{server[1]}  sender 127.0.0.1:{net.local_port}  listeners udp {net.bound}")
    ok, detail = probe(net, 0, a.probe_timeout)
    if not ok:
        print(f"server not answering OPTIONS before the run: {detail}")
        print(f"0 passed, {len(rows)} failed")
        return 1

    seen_cid, seen_txn = set(), set()
    results = []
    hdr = f"{'file':42} {'rule':8} {'pref':8} {'got':16} {'probe':14} verdict"
    print(hdr)
    print("-" * len(hdr))
    for n, (r, data) in enumerate(zip(rows, msgs), start=1):
        rule = r["rule"].strip()
        preferred = [int(x) for x in r["preferred_codes"].split(",") if x.strip().isdigit()]
        notes = []
        # de-duplicate Call-ID / (branch, method) against earlier messages of this run
        m = RE_CALLID.search(data)
        cid = m.group(1).strip() if m else None
        if cid is not None and cid in seen_cid:
            new = cid + b"-t%d" % n
            s = m.start(1)
            data = data[:s] + new + data[s + len(cid):]
            notes.append("Call-ID suffixed")
            cid = new
        if cid is not None:
            seen_cid.add(cid)
        v = top_via(data)
        meth = method_of(data)
        if v and v[3] is not None and meth is not None:
            key = (v[3], meth)
            if key in seen_txn:
                s, e = v[4]
                data = data[:s] + v[3] + b"-t%d" % n + data[e:]
                notes.append("branch suffixed")
            seen_txn.add((top_via(data)[3], meth))

        net.send(data)
        t0 = time.monotonic()
        responses = []  # (port, data)
        unmatched = []
        acked = {}
        deadline = t0 + a.window
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                finals = [status_of(d) for _, d in responses if status_of(d) and status_of(d) >= 200]
                provs = [status_of(d) for _, d in responses if status_of(d) and status_of(d) < 200]
                if provs and not finals and deadline < t0 + a.max_wait:
                    deadline = t0 + a.max_wait
                    continue
                break
            for _, p, d, _ in net.poll(min(left, 0.1), first=True):
                if status_of(d) is None:
                    continue
                rc = call_id_of(d)
                if cid is not None and rc == cid:
                    responses.append((p, d))
                    if not a.no_cleanup and meth == b"INVITE":
                        ack_final(net, data, d, n, acked, notes)
                elif rc is not None and rc.startswith(b"torture-probe-"):
                    pass  # a late probe answer
                else:
                    unmatched.append((p, d))
        if not responses and unmatched and cid is None:
            responses = unmatched  # no Call-ID to match on: take what came
            notes.append("matched by time (no Call-ID)")
        elif unmatched:
            notes.append(f"{len(unmatched)} unmatched response(s): {status_of(unmatched[0][1])}")
        finals = [status_of(d) for _, d in responses if status_of(d) >= 200]
        provs = [status_of(d) for _, d in responses if status_of(d) < 200]
        where = sorted({str(p) for p, _ in responses})

        # tear down a dialog a 2xx created: BYE (the ACK went out when the 2xx came)
        if acked.get("dialog") is not None:
            d, num = acked["dialog"]
            net.send(build_in_dialog(b"BYE", d, net, num + 1, n))
            byes = [status_of(x) for _, _, x, _ in net.poll(0.5)
                    if status_of(x) and RE_CSEQ.search(x) and RE_CSEQ.search(x).group(2).upper() == b"BYE"]
            notes.append(f"ACK+BYE sent, BYE -> {byes[0] if byes else 'no answer'}")

        alive, pdetail = probe(net, n, a.probe_timeout)
        verdict, why = score(rule, preferred, finals, provs, alive)
        if why:
            notes.insert(0, why)
        got = ",".join(map(str, provs + finals)) or "-"
        if where and where != [str(net.local_port)]:
            got += f"@{'/'.join(where)}"
        print(f"{r['file']:42} {rule:8} {r['preferred_codes'] or '-':8} {got:16} {('ok ' if alive else 'DEAD ') + pdetail.split(' in ')[-1]:14} {verdict}"
              + (f"  ({'; '.join(notes)})" if notes else ""), flush=True)
        results.append(verdict)

    passed = sum(1 for v in results if v in ("PASS", "SOFT"))
    failed = len(results) - passed
    soft = results.count("SOFT")
    print("-" * len(hdr))
    print(f"# {soft} SOFT (passed, but not the RFC's preferred code)")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
