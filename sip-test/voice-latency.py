#!/usr/bin/env python3
"""voice-latency.py: voice-to-voice turn latency of kefu's speech dialplan, on the RTP wire.

A minimal SIP UAC + RTP endpoint (voicecall.py; python3 stdlib, UDP, 127.0.0.1): INVITE (PCMU +
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
import os
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import voicecall  # noqa: E402
from voicecall import PTIME, Clip, percentile, short  # noqa: E402


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

    call = voicecall.Call((host, int(port)), loud_rms=a.reply_rms)
    try:
        remote, pt = call.dial()
    except RuntimeError as e:
        print(f"call setup failed: {e}", file=sys.stderr)
        return 2
    if pt != 0:
        print(f"kefu answered with PT {pt}; only PCMU (0) is decoded", file=sys.stderr)
        return 2
    call.start_media()
    answered = call.answered
    print(f"call up: kefu RTP at {remote[0]}:{remote[1]}, ours {call.rtp.port}; waiting for the greeting")

    if not call.wait_quiet(a.reply_rms, a.quiet_ms / 1000, 20.0, need_speech_since=answered):
        print("no greeting heard (or it did not end) within 20 s", file=sys.stderr)
    greet = call.loud_since(answered, a.reply_rms)
    if greet:
        print(f"greeting: first audio {1000 * (greet - answered):.0f} ms after the 200 OK")

    results = []
    print(f"{'turn':>4} {'clip':<16} {'dur_s':>5} {'eos_s':>5} {'latency_ms':>10}")
    for n in range(turns):
        if call.bye_received.is_set():
            print("kefu hung up (BYE); stopping early")
            break
        clip = clips[n % len(clips)]
        run = call.play(clip)
        begin = time.monotonic()
        eos = call.wait_sent(run, clip.eos_frame, clip.duration + 2)
        res = {"clip": clip.name, "dur": clip.duration, "eos_in_clip": (clip.eos_frame + 1) * PTIME,
               "start": wall(begin), "eos": wall(eos) if eos else None, "latency": None}
        reply = None
        if eos is not None:
            deadline = eos + a.turn_timeout
            while time.monotonic() < deadline and not call.bye_received.is_set():
                reply = call.loud_since(eos, a.reply_rms)
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
        while call.playing():
            time.sleep(0.01)
        if reply:
            call.wait_quiet(a.reply_rms, a.quiet_ms / 1000, a.reply_max, need_speech_since=reply)
        else:
            call.wait_quiet(a.reply_rms, a.quiet_ms / 1000, a.reply_max)

    hung_up = call.bye_received.is_set()
    if not hung_up:
        ok = call.hangup()
        print("BYE -> 200" if ok else "BYE: no 200 within 3 s")
    call.stop_media()
    time.sleep(0.3)
    call.close()

    # ---- breakdown from kefu's log
    have_log = False
    if a.kefu_log:
        time.sleep(0.2)
        ev = [e[:3] for e in voicecall.parse_log(a.kefu_log)]
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
