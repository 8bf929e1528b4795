#!/usr/bin/env python3
"""voice-capacity.py: N simultaneous talking callers against kefu's speech dialplan (voice-capacity.sh).

Every call (voicecall.py: its own SIP and RTP socket, one shared receiver and one shared sender
thread) is a caller who talks about --talk (40 %) of the time: after the greeting, turn after
turn, it streams a clip (cycling through the clips, each call from its own offset), waits for
kefu's reply and its end (--quiet-ms of silence), and stays silent until the turn has lasted
clip length / --talk (if the reply came late, the next turn starts at once). Calls start
--stagger s apart and make turns until --duration s after the first one started.

Per turn, as voice-latency.py: latency = arrival of kefu's first packet with RMS > --reply-rms
after the caller's end of speech (send time of the clip's last frame with speech); no such
packet within --turn-timeout (8 s) = a failed turn. Reported: turns, failed turns, p50 / p95 /
max over all calls (nearest rank), the callers' real talk share, and with --kefu-pid kefu's RSS
(VmRSS every second: idle = before the first call, peak = during the run) and CPU (utime +
stime: mean over the run, highest 5 s window).

--json FILE writes the figures (voice-capacity.sh reads them for the table and SWEEP), --turns-tsv
FILE every turn; --report
FILE... prints, instead of running, the Markdown table of earlier --json files.
Exit 0 when the run happened (the figures are the result), 2 when no call could be set up.
"""

import argparse
import json
import os
import sys
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import voicecall  # noqa: E402
from voicecall import Clip, percentile  # noqa: E402

P95_GOAL_MS = 1200


# ---------------------------------------------------------------- kefu's process
class ProcSampler:
    """VmRSS and CPU seconds of a PID, every second, in a thread."""

    def __init__(self, pid):
        self.pid = pid
        self.tck = os.sysconf("SC_CLK_TCK")
        self.samples = []  # (monotonic, rss_kb, cpu_s)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def sample(self):
        try:
            rss = 0
            with open(f"/proc/{self.pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        rss = int(line.split()[1])
            with open(f"/proc/{self.pid}/stat") as f:
                st = f.read().rsplit(")", 1)[1].split()
            cpu = (int(st[11]) + int(st[12])) / self.tck
        except (OSError, ValueError, IndexError):
            return None
        s = (time.monotonic(), rss, cpu)
        self.samples.append(s)
        return s

    def _run(self):
        while not self.stop.wait(1.0):
            self.sample()

    def start(self):
        self.thread.start()

    def finish(self):
        self.stop.set()
        self.thread.join(2)
        self.sample()


# ---------------------------------------------------------------- one caller
class Caller(threading.Thread):
    def __init__(self, i, a, clips, t_first, t_end):
        super().__init__(daemon=True, name=f"caller-{i}")
        self.i, self.a, self.clips = i, a, clips
        self.t_start = t_first + i * a.stagger
        self.t_end = t_end
        self.offset = (i * 7) % len(clips)
        self.turns = []   # dicts: clip, dur, eos, latency (ms) or None
        self.error = None
        self.hung_up = False
        self.talk_s = 0.0
        self.call_s = 0.0

    def run(self):
        a = self.a
        time.sleep(max(0.0, self.t_start - time.monotonic()))
        call = voicecall.Call(a.server_addr, name=f"vcap{self.i}", user_agent="kefu-voice-capacity",
                              loud_rms=a.reply_rms)
        try:
            _, pt = call.dial()
        except RuntimeError as e:
            self.error = f"setup: {e}"
            call.close()
            return
        if pt != 0:
            self.error = f"kefu answered with PT {pt}"
            call.hangup()
            call.close()
            return
        call.start_media()
        quiet = a.quiet_ms / 1000
        call.wait_quiet(a.reply_rms, quiet, 20.0, need_speech_since=call.answered)
        k = self.offset
        while time.monotonic() < self.t_end and not call.bye_received.is_set():
            clip = self.clips[k % len(self.clips)]
            k += 1
            begin = time.monotonic()
            run = call.play(clip)
            eos = call.wait_sent(run, clip.eos_frame, clip.duration + 2)
            reply = None
            if eos is not None:
                reply = call.wait_loud(eos, a.reply_rms, a.turn_timeout, poll=0.02)
            self.turns.append({"clip": clip.name, "dur": clip.duration, "eos": eos,
                               "latency": 1000 * (reply - eos) if reply else None})
            self.talk_s += clip.duration
            call.wait_played(clip.duration + 2)
            if reply:
                call.wait_quiet(a.reply_rms, quiet, a.reply_max, need_speech_since=reply)
            else:
                call.wait_quiet(a.reply_rms, quiet, a.reply_max)
            pad = begin + clip.duration / a.talk - time.monotonic()
            if time.monotonic() + max(pad, 0) >= self.t_end:
                break  # no time left for this turn's silence: the run is over
            if pad > 0:
                call.bye_received.wait(pad)
        self.hung_up = call.bye_received.is_set()
        self.call_s = time.monotonic() - call.answered
        call.hangup()
        call.close()


# ---------------------------------------------------------------- report
def fmt_mb(kb):
    return f"{kb / 1024:.0f} MiB" if kb else "-"


def markdown(runs, command, notes=()):
    """The BENCHMARKS.md block; notes: (figure, value) pairs about the setup."""
    out = ["```sh", command, "```", ""]
    if len(runs) == 1:
        r = runs[0]
        out += ["| figure | value |", "|---|---|",
                f"| simultaneous calls, duration, caller talk share | {r['calls']}, {r['duration']:.0f} s,"
                f" {100 * r['talk_share']:.0f} % (clips {r['talk_s']:.0f} s of {r['call_s']:.0f} s in calls) |",
                f"| turns / with a reply / failed (no reply audio within {r['turn_timeout']:.0f} s) |"
                f" {r['turns']} / {r['n']} / {r['failures']} |",
                f"| end of speech → first reply packet with speech, p50 / p95 / max |"
                f" {r['p50']:.0f} / {r['p95']:.0f} / {r['max']:.0f} ms |",
                f"| calls not set up / hung up by kefu | {r['setup_failures']} / {r['hung_up']} |"]
        if r.get("rss_idle_kb"):
            out += [f"| kefu RSS idle (models loaded, before the calls) / peak during the run |"
                    f" {fmt_mb(r['rss_idle_kb'])} / {fmt_mb(r['rss_peak_kb'])} |",
                    f"| kefu CPU, mean over the run / highest 5 s (100 % = one core; {r['cores']} cores) |"
                    f" {r['cpu_mean_pct']:.0f} % / {r['cpu_max5_pct']:.0f} % |"]
        out.append(f"| clips | {r['clips']} real recordings from Debian pocketsphinx-testdata"
                   " (`sip-test/audio/turns/`) |")
        out += [f"| {k} | {v} |" for k, v in notes]
    else:
        out += ["| calls | turns | failed | p50 | p95 | max | kefu RSS idle / peak | kefu CPU mean / max 5 s |",
                "|---:|---:|---:|---:|---:|---:|---|---|"]
        for r in runs:
            out.append(f"| {r['calls']} | {r['turns']} | {r['failures']} | {r['p50']:.0f} ms | {r['p95']:.0f} ms |"
                       f" {r['max']:.0f} ms | {fmt_mb(r.get('rss_idle_kb'))} / {fmt_mb(r.get('rss_peak_kb'))} |"
                       f" {r.get('cpu_mean_pct', float('nan')):.0f} % / {r.get('cpu_max5_pct', float('nan')):.0f} % |")
        ok = [r["calls"] for r in runs if r["p95_all"] < P95_GOAL_MS and r["setup_failures"] == 0]
        best = max(ok) if ok else None
        out += ["", f"Largest N with p95 < {P95_GOAL_MS / 1000:.1f} s (failed turns counted as slower):"
                    f" **{best if best is not None else 'none'}** ({runs[0]['duration']:.0f} s runs,"
                    f" callers talking {100 * runs[0]['talk']:.0f} % of the time, {runs[0]['cores']} cores)."]
        out += [""] + [f"- {k}: {v}" for k, v in notes]
        out.append(f"- clips: {runs[0]['clips']} real recordings from Debian pocketsphinx-testdata"
                   " (`sip-test/audio/turns/`)")
    return "\n".join(out) + "\n"


def summarize(a, callers, sampler, t_first, t_last_end, clips):
    turns = [t for c in callers for t in c.turns]
    lats = [t["latency"] for t in turns if t["latency"] is not None]
    fails = [t for t in turns if t["latency"] is None]
    # failed turns count as slower than any reply for the capacity criterion
    all_lat = lats + [float("inf")] * len(fails)
    r = {
        "calls": a.calls, "duration": a.duration, "talk": a.talk, "turn_timeout": a.turn_timeout,
        "turns": len(turns), "n": len(lats), "failures": len(fails),
        "p50": percentile(lats, 50), "p95": percentile(lats, 95),
        "max": max(lats) if lats else float("nan"), "min": min(lats) if lats else float("nan"),
        "p95_all": percentile(all_lat, 95) if all_lat else float("inf"),
        "setup_failures": sum(1 for c in callers if c.error),
        "hung_up": sum(1 for c in callers if c.hung_up),
        "talk_s": sum(c.talk_s for c in callers), "call_s": sum(c.call_s for c in callers),
        "clips": len(clips), "cores": os.cpu_count(),
    }
    r["talk_share"] = r["talk_s"] / r["call_s"] if r["call_s"] else 0.0
    if sampler and sampler.samples:
        s = sampler.samples
        idle = [x for x in s if x[0] <= t_first]
        run = [x for x in s if t_first <= x[0] <= t_last_end]
        r["rss_idle_kb"] = (idle[-1] if idle else s[0])[1]
        r["rss_peak_kb"] = max(x[1] for x in run) if run else None
        if len(run) >= 2:
            r["cpu_s"] = run[-1][2] - run[0][2]
            r["cpu_mean_pct"] = 100 * r["cpu_s"] / (run[-1][0] - run[0][0])
            best = 0.0
            for i, x in enumerate(run):
                j = next((j for j in range(i, len(run)) if run[j][0] - x[0] >= 5.0), None)
                if j is not None:
                    best = max(best, 100 * (run[j][2] - x[2]) / (run[j][0] - x[0]))
            r["cpu_max5_pct"] = best or r["cpu_mean_pct"]
    return r


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--server", help="kefu SIP address HOST:PORT (UDP)")
    ap.add_argument("clips", nargs="*", help="8 kHz mono µ-law WAV files")
    ap.add_argument("--calls", type=int, default=20, help="simultaneous calls (20)")
    ap.add_argument("--duration", type=float, default=120, help="seconds of turns after the first call (120)")
    ap.add_argument("--talk", type=float, default=0.4, help="share of a call the caller talks (0.4)")
    ap.add_argument("--stagger", type=float, default=None,
                    help="seconds between call starts (default: spread over min(10 s, duration / 4))")
    ap.add_argument("--eos-floor", type=float, default=300, help="min end-of-speech RMS (300)")
    ap.add_argument("--reply-rms", type=float, default=300, help="kefu speech RMS threshold (300)")
    ap.add_argument("--quiet-ms", type=int, default=700, help="silence that ends kefu's audio (700)")
    ap.add_argument("--turn-timeout", type=float, default=8.0, help="reply must start within (8 s)")
    ap.add_argument("--reply-max", type=float, default=15.0, help="longest reply waited out (15 s)")
    ap.add_argument("--kefu-pid", type=int, help="kefu's PID, for RSS and CPU")
    ap.add_argument("--json", help="write the figures here")
    ap.add_argument("--markdown", help="write the BENCHMARKS.md block here")
    ap.add_argument("--turns-tsv", help="write every turn (call, clip, seconds into the run, latency) here")
    ap.add_argument("--command", default="bash sip-test/voice-capacity.sh", help="command shown in the block")
    ap.add_argument("--report", nargs="+", metavar="JSON", help="print the Markdown of these runs and exit")
    ap.add_argument("--note", action="append", default=[], metavar="FIGURE=VALUE",
                    help="a line about the setup for the Markdown (repeatable)")
    a = ap.parse_args()

    if a.report:
        runs = sorted((json.load(open(p)) for p in a.report), key=lambda r: r["calls"])
        sys.stdout.write(markdown(runs, a.command, [n.split("=", 1) for n in a.note if "=" in n]))
        return 0
    if not a.server or not a.clips:
        ap.error("--server and clips are required")
    host, _, port = a.server.rpartition(":")
    a.server_addr = (host, int(port))
    clips = [Clip(p, a.eos_floor) for p in a.clips]
    if a.stagger is None:
        a.stagger = min(10.0, a.duration / 4) / max(1, a.calls)

    sampler = None
    if a.kefu_pid:
        sampler = ProcSampler(a.kefu_pid)
        sampler.sample()
        sampler.start()
    voicecall.hub()
    t_first = time.monotonic() + 0.5
    t_end = t_first + a.duration
    callers = [Caller(i, a, clips, t_first, t_end) for i in range(a.calls)]
    print(f"{a.calls} calls, {a.stagger:.2f} s apart, turns for {a.duration:.0f} s, callers talking"
          f" {100 * a.talk:.0f} % of the time; {len(clips)} clips", flush=True)
    for c in callers:
        c.start()
    last = t_first
    while any(c.is_alive() for c in callers):
        time.sleep(1.0)
        now = time.monotonic()
        if now - last >= 10:
            last = now
            done = [t for c in callers for t in c.turns]
            lats = [t["latency"] for t in done if t["latency"] is not None]
            live = sum(1 for c in callers if c.is_alive())
            mem = ""
            if sampler and sampler.samples:
                mem = f", kefu RSS {sampler.samples[-1][1] / 1024:.0f} MiB"
            print(f"  {now - t_first:4.0f} s: {live} calls up, {len(done)} turns, "
                  f"{len(done) - len(lats)} failed, p50 {percentile(lats, 50):.0f} ms{mem}", flush=True)
    t_last_end = time.monotonic()
    if sampler:
        sampler.finish()
    cpu = os.times()

    print(f"{'call':>4} {'turns':>5} {'failed':>6} {'p50_ms':>7} {'max_ms':>7} {'talk':>5}  note")
    for c in callers:
        lats = [t["latency"] for t in c.turns if t["latency"] is not None]
        note = c.error or ("kefu hung up" if c.hung_up else "")
        talk = f"{100 * c.talk_s / c.call_s:4.0f}%" if c.call_s else f"{'-':>5}"
        print(f"{c.i:4d} {len(c.turns):5d} {len(c.turns) - len(lats):6d} {percentile(lats, 50):7.0f}"
              f" {max(lats) if lats else float('nan'):7.0f} {talk}  {note}")
    r = summarize(a, callers, sampler, t_first, t_last_end, clips)
    print()
    print(f"calls {r['calls']} ({r['setup_failures']} not set up, {r['hung_up']} hung up by kefu),"
          f" turns {r['turns']}: n {r['n']}, failures {r['failures']}; talk share {100 * r['talk_share']:.0f} %")
    print(f"latency ms: p50 {r['p50']:.0f}, p95 {r['p95']:.0f}, max {r['max']:.0f}, min {r['min']:.0f}"
          f" (p95 counting failed turns as slower: {r['p95_all']:.0f})")
    if "rss_idle_kb" in r:
        print(f"kefu RSS: idle {fmt_mb(r['rss_idle_kb'])}, peak {fmt_mb(r.get('rss_peak_kb'))};"
              f" CPU mean {r.get('cpu_mean_pct', float('nan')):.0f} %, max 5 s {r.get('cpu_max5_pct', float('nan')):.0f} %"
              f" of one core ({r['cores']} cores)")
    print(f"load generator CPU: {cpu.user + cpu.system:.1f} s")
    if a.turns_tsv:
        with open(a.turns_tsv, "w") as f:
            f.write("call\tclip\teos_s\tlatency_ms\n")
            for c in callers:
                for t in c.turns:
                    eos = f"{t['eos'] - t_first:.2f}" if t["eos"] is not None else "-"
                    lat = f"{t['latency']:.0f}" if t["latency"] is not None else "FAIL"
                    f.write(f"{c.i}\t{t['clip']}\t{eos}\t{lat}\n")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(r, f)
    if a.markdown:
        with open(a.markdown, "w") as f:
            f.write(markdown([r], a.command, [n.split("=", 1) for n in a.note if "=" in n]))
    return 0 if r["setup_failures"] < a.calls else 2


if __name__ == "__main__":
    sys.exit(main())
