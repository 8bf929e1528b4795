#!/usr/bin/env python3
"""barge-in.py: kefu's barge-in over SIP/RTP, three calls, judged on the RTP wire (barge-in.sh).

kefu runs a dialplan with a long greeting (sip-test/dialplans/barge-in.toml, about 10 s of speech)
and barge_in = true. Its audio "has speech" in a 20 ms packet whose µ-law RMS is above
--reply-rms (300). The greeting's natural length (first to last packet with speech) comes from
--greeting-ref, the same text rendered by `kefu say --rate 8000`.

  a. interrupt: 1.5 s into the greeting the caller streams --clip (a 2-3 s recording).
     The stop = arrival of kefu's last packet with speech before the clip's end of speech.
     PASS barge_in_interrupts: the stop comes within 1 s of the caller's speech onset (send
     time of the clip's first frame with speech) and at least 2 s before the greeting's natural
     end. Barge-in latency = stop - onset (printed, not judged).
     PASS barge_in_heard_caller: kefu's log (--log-pii) has a caller transcript for this call
     with one of --keywords. PASS barge_in_replies: kefu's audio has speech again within 8 s
     after the clip's end of speech.
  b. echo: the caller sends back kefu's own audio, --echo-db (-12 dB) and --echo-ms (60 ms)
     later, as a line without an echo canceller, and nothing else. The greeting = kefu's speech
     from its first packet to the first pause over --max-pause (0.8 s; the greeting's sentence
     breaks are <= 0.4 s, an interruption leaves end_of_speech_ms + ASR before kefu speaks again).
     PASS echo_does_not_interrupt: the greeting lasts its natural length, -1 s (not cut short)
     to +--max-stretch (1.5 s; not stretched by pauses: echo taken for the caller pauses the
     playout). Whether kefu transcribed (and answered) its own echo is printed, not judged.
  c. backchannel: 4 s into the greeting the caller says a --backchannel-ms (200 ms) "mm".
     A short pause of kefu's audio is allowed. PASS backchannel_does_not_stop: kefu's audio has
     speech again within 1 s after the backchannel's last packet, and the greeting (as in b)
     lasts at least its natural length - 1 s.
  Each case waits until kefu's speech pauses for --max-pause after the greeting, then hangs up;
  --dump DIR writes each call's received packets (time, RMS) for a look afterwards.

Prints informational lines and one line per check: `RESULT PASS|FAIL name detail`.
Exit 0 when every check passed, 1 otherwise, 2 on bad arguments.
"""

import argparse
import array
import math
import os
import sys
import time
import wave

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import voicecall  # noqa: E402
from voicecall import FRAME, PTIME, ULAW, Clip, ulaw_encode  # noqa: E402

RESULTS = []
DUMP = None  # --dump: a folder for each call's received packets


def result(ok, name, detail=""):
    RESULTS.append(ok)
    print(f"RESULT {'PASS' if ok else 'FAIL'} {name} {detail}".rstrip(), flush=True)


def info(msg):
    print(f"  {msg}", flush=True)


def greeting_length(path, thr):
    """(First to last 20 ms frame with speech (RMS > thr), in s; pauses over 200 ms) of a 16-bit WAV."""
    w = wave.open(path, "rb")
    if w.getsampwidth() != 2 or w.getnchannels() != 1:
        raise SystemExit(f"{path}: want 16-bit mono")
    rate = w.getframerate()
    a = array.array("h", w.readframes(w.getnframes()))
    if sys.byteorder != "little":
        a.byteswap()
    n = rate // 50
    loud = [i for i in range(len(a) // n)
            if math.sqrt(sum(x * x for x in a[i * n:(i + 1) * n]) / n) > thr]
    if not loud:
        raise SystemExit(f"{path}: no speech")
    gaps = sum(1 for b, c in zip(loud, loud[1:]) if (c - b) * PTIME > 0.2)
    return (loud[-1] - loud[0] + 1) * PTIME, gaps


class Backchannel(Clip):
    """The loudest `ms` of a clip, with 10 ms fades: a short "mm"."""

    def __init__(self, path, ms):
        super().__init__(path)
        k = max(1, round(ms / 1000 / PTIME))
        best = max(range(len(self.frames) - k + 1), key=lambda i: sum(self.rms[i:i + k]))
        pcm = [ULAW[b] for f in self.frames[best:best + k] for b in f]
        ramp = 80  # 10 ms
        for i in range(ramp):
            g = i / ramp
            pcm[i] = round(pcm[i] * g)
            pcm[-1 - i] = round(pcm[-1 - i] * g)
        data = bytes(ulaw_encode(s) for s in pcm)
        self.frames = [data[i:i + FRAME] for i in range(0, len(data), FRAME)]
        self.rms = self.rms[best:best + k]
        self.speech_start, self.eos_frame = 0, k - 1
        self.duration = k * PTIME


def loud_times(call, thr):
    return [t for t, r in call.rtp.received() if r > thr]


def longest_gap(times, lo, hi):
    """Longest stretch without speech packets between lo and hi: (gap s, starts at)."""
    ts = [lo] + [t for t in times if lo < t < hi] + [hi]
    return max(((b - a, a) for a, b in zip(ts, ts[1:])), default=(0.0, lo))


def new_call(a, name):
    call = voicecall.Call(a.server_addr, name=name, user_agent="kefu-barge-in-test", loud_rms=a.reply_rms)
    return call


def setup(call, a, label):
    """Dial, start the stream, wait for the greeting's first packet with speech."""
    try:
        remote, pt = call.dial()
    except RuntimeError as e:
        info(f"{label}: call setup failed: {e}")
        return None
    if pt != 0:
        info(f"{label}: kefu answered with PT {pt}; only PCMU (0) is decoded")
        return None
    call.start_media()
    g0 = call.wait_loud(call.answered, a.reply_rms, 10.0)
    if g0 is None:
        info(f"{label}: no greeting audio within 10 s")
        return None
    info(f"{label}: call up (kefu RTP port {remote[1]}), greeting audio {1000 * (g0 - call.answered):.0f} ms"
         " after the 200 OK")
    return g0


def finish(call):
    if not call.bye_received.is_set():
        call.hangup()
    call.close()
    if DUMP:
        t0 = call.answered or 0.0
        with open(os.path.join(DUMP, f"{call.sip.name}.rx.tsv"), "w") as f:
            f.write("# ms after the 200 OK\tRMS of kefu's packet\n")
            for t, r in call.rtp.received():
                f.write(f"{1000 * (t - t0):.1f}\t{r:.0f}\n")


def transcripts(a, call, who):
    ids = voicecall.kefu_call_ids(a.kefu_log)
    cid = ids.get(call.remote[1]) if call.remote else None
    return [txt for _, w, txt, c in voicecall.parse_log(a.kefu_log) if w == who and c == cid and cid is not None]


def case_interrupt(a, natural, clip):
    print(f"a. caller speaks over the greeting ({clip.name}, {clip.duration:.2f} s)", flush=True)
    call = new_call(a, "bargein-a")
    g0 = setup(call, a, "a")
    if g0 is None:
        for n in ("barge_in_interrupts", "barge_in_heard_caller", "barge_in_replies"):
            result(False, n, "no call/greeting")
        call.close()
        return
    time.sleep(max(0.0, g0 + a.speak_after - time.monotonic()))
    run = call.play(clip)
    onset = call.wait_sent(run, clip.speech_start, clip.duration + 2)
    eos = call.wait_sent(run, clip.eos_frame, clip.duration + 2)
    call.wait_played(clip.duration + 2)
    if onset is None or eos is None:
        result(False, "barge_in_interrupts", "the clip was not sent")
        finish(call)
        return
    reply = call.wait_loud(eos + PTIME, a.reply_rms, 8.0)
    if reply is not None:
        call.wait_quiet(a.reply_rms, 0.7, 10.0, need_speech_since=reply)
    finish(call)

    loud = loud_times(call, a.reply_rms)
    before = [t for t in loud if t <= eos]
    stop = before[-1] if before else None
    natural_end = g0 + natural
    info(f"a: caller speech {1000 * (onset - g0):.0f}-{1000 * (eos - g0):.0f} ms into the greeting"
         f" (natural length {natural:.2f} s)")
    if stop is None:
        result(False, "barge_in_interrupts", "no greeting audio before the caller's end of speech")
    else:
        lat = stop - onset
        left = natural_end - stop
        silent = eos - stop
        detail = (f"barge-in latency {1000 * lat:.0f} ms (caller speech onset -> kefu's last speech packet),"
                  f" greeting had {left:.1f} s to go, kefu silent for the caller's last {silent:.1f} s")
        ok = lat < 1.0 and left >= 2.0
        if not ok and lat >= 1.0:
            detail = f"kefu's speech went on {lat:.2f} s after the caller's onset (want < 1 s); " + detail
        result(ok, "barge_in_interrupts", detail)
        print(f"barge-in latency: {1000 * lat:.0f} ms", flush=True)
        # the first pause after the onset (a pause/resume implementation stops earlier than it decides)
        first_gap = next((b for b, c in zip(loud, loud[1:]) if b >= onset - 0.1 and c - b > 0.1), None)
        if first_gap is not None and first_gap != stop:
            info(f"a: first pause of kefu's audio after the onset at {1000 * (first_gap - onset):.0f} ms")
    heard = []
    for _ in range(30):
        heard = transcripts(a, call, "caller")
        if heard:
            break
        time.sleep(0.1)
    keys = [k.strip().lower() for k in a.keywords.split(",") if k.strip()]
    hit = [h for h in heard if any(k in h.lower() for k in keys)]
    if hit:
        result(True, "barge_in_heard_caller", f'caller: "{voicecall.short(hit[-1])}"')
    else:
        result(False, "barge_in_heard_caller",
               f"no caller transcript with {'/'.join(keys)} (got: {heard if heard else 'none'})")
    if reply is not None:
        said = transcripts(a, call, "kefu")
        what = f' (kefu: "{voicecall.short(said[-1], 40)}")' if said else ""
        result(True, "barge_in_replies",
               f"reply audio {1000 * (reply - eos):.0f} ms after the caller's end of speech{what}")
    else:
        result(False, "barge_in_replies", "no speech from kefu within 8 s after the caller's end of speech")


def greeting_end(loud, g0, max_pause):
    """kefu's last speech packet before its first pause longer than max_pause (from g0 on)."""
    end = g0
    for t in loud:
        if t < g0:
            continue
        if t - end > max_pause:
            break
        end = t
    return end


def pauses(loud, lo, hi, min_gap=0.2):
    """The pauses of kefu's speech longer than min_gap between lo and hi: [(start, length)]."""
    ts = [t for t in loud if lo <= t <= hi]
    return [(b, c - b) for b, c in zip(ts, ts[1:]) if c - b > min_gap]


def case_echo(a, natural, ref_pauses):
    print(f"b. the caller's line echoes kefu ({a.echo_db:+.0f} dB, {a.echo_ms:.0f} ms), nothing else", flush=True)
    call = new_call(a, "bargein-b")
    call.rtp.echo(a.echo_ms / 1000, a.echo_db)
    g0 = setup(call, a, "b")
    if g0 is None:
        result(False, "echo_does_not_interrupt", "no call/greeting")
        call.close()
        return
    call.wait_quiet(a.reply_rms, a.max_pause, natural + 15, need_speech_since=g0)
    finish(call)
    loud = loud_times(call, a.reply_rms)
    end = greeting_end(loud, g0, a.max_pause)
    span = end - g0
    ps = pauses(loud, g0, end)
    info(f"b: greeting {span:.2f} s (natural {natural:.2f} s), {len(ps)} pauses over 200 ms"
         f" ({ref_pauses} in kefu say's rendering), {sum(p for _, p in ps):.2f} s in all;"
         f" {call.rtp.echoed} packets of kefu's audio echoed back")
    heard = transcripts(a, call, "caller")
    if heard:
        info(f"b: WARNING: kefu transcribed its own echo as the caller: {heard}")
        said = transcripts(a, call, "kefu")[1:]
        if said:
            info(f"b: WARNING: and answered it: {said}")
    # whole: it lasts about its natural length, neither cut (an interruption) nor stretched by
    # pauses (echo taken for the caller's speech pauses the playout)
    ok = natural - 1.0 <= span <= natural + a.max_stretch and call.rtp.echoed > 50
    detail = f"greeting lasted {span:.1f} s (natural {natural:.1f} s)"
    if span < natural - 1.0:
        detail += ": cut short"
    elif span > natural + a.max_stretch:
        detail += f": stretched by pauses ({len(ps)} pauses, {sum(p for _, p in ps):.1f} s)"
    if call.rtp.echoed <= 50:
        detail += " (but too little echo was sent for the case to mean anything)"
    result(ok, "echo_does_not_interrupt", detail)


def case_backchannel(a, natural, bc):
    print(f"c. a short backchannel ({1000 * bc.duration:.0f} ms 'mm') during the greeting", flush=True)
    call = new_call(a, "bargein-c")
    g0 = setup(call, a, "c")
    if g0 is None:
        result(False, "backchannel_does_not_stop", "no call/greeting")
        call.close()
        return
    time.sleep(max(0.0, g0 + a.backchannel_after - time.monotonic()))
    run = call.play(bc)
    bc_on = call.wait_sent(run, 0, 2)
    bc_end = call.wait_sent(run, len(bc.frames) - 1, 2)
    call.wait_quiet(a.reply_rms, a.max_pause, natural + 15, need_speech_since=g0)
    finish(call)
    if bc_on is None or bc_end is None:
        result(False, "backchannel_does_not_stop", "the backchannel was not sent")
        return
    loud = loud_times(call, a.reply_rms)
    end = greeting_end(loud, g0, a.max_pause)
    span = end - g0
    resumed = next((t for t in loud if t > bc_end), None)
    gap, at = longest_gap(loud, bc_on - 0.1, bc_end + 1.0)
    info(f"c: 'mm' sent {bc_on - g0:.2f}-{bc_end - g0 + PTIME:.2f} s into the greeting; kefu's longest pause"
         f" around it {1000 * gap:.0f} ms (from {1000 * (at - bc_on):+.0f} ms after its onset);"
         f" greeting {span:.2f} s (natural {natural:.2f} s)")
    heard = transcripts(a, call, "caller")
    if heard:
        info(f"c: kefu transcribed the 'mm' as: {heard}")
    if resumed is None:
        result(False, "backchannel_does_not_stop", "kefu's speech never came back after the backchannel")
        return
    after = resumed - bc_end
    # it comes back, and is the rest of the greeting: kefu goes on without a long pause to about
    # the greeting's natural end (a reply to the "mm" instead would be short, then silence)
    ok = after <= 1.0 and span >= natural - 1.0
    detail = (f"speech {1000 * after:.0f} ms after the 'mm', greeting lasted {span:.1f} s"
              f" (natural {natural:.1f} s)")
    if after > 1.0:
        detail = "kefu stayed silent over 1 s after the 'mm'; " + detail
    elif span < natural - 1.0:
        detail += ": cut short"
    result(ok, "backchannel_does_not_stop", detail)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--server", required=True, help="kefu SIP address HOST:PORT (UDP)")
    ap.add_argument("--kefu-log", required=True, help="kefu's log (run with --log-pii)")
    ap.add_argument("--greeting-ref", required=True, help="the greeting as `kefu say --rate 8000` renders it")
    ap.add_argument("--clip", required=True, help="case a: the caller's words (8 kHz µ-law WAV, 2-3 s)")
    ap.add_argument("--keywords", required=True, help="case a: comma-separated words one of which kefu must hear")
    ap.add_argument("--backchannel", required=True, help="case c: source of the 'mm' (8 kHz µ-law WAV)")
    ap.add_argument("--backchannel-ms", type=float, default=200)
    ap.add_argument("--speak-after", type=float, default=1.5, help="case a: greeting heard before speaking (1.5 s)")
    ap.add_argument("--backchannel-after", type=float, default=4.0, help="case c: greeting heard before 'mm' (4 s)")
    ap.add_argument("--echo-db", type=float, default=-12.0)
    ap.add_argument("--echo-ms", type=float, default=60.0)
    ap.add_argument("--reply-rms", type=float, default=300, help="kefu speech RMS threshold (300)")
    ap.add_argument("--max-pause", type=float, default=0.8,
                    help="cases b, c: a longer pause ends the greeting (0.8 s; its sentence breaks are <= 0.4 s)")
    ap.add_argument("--max-stretch", type=float, default=1.5,
                    help="case b: how much longer than natural the greeting may last (1.5 s)")
    ap.add_argument("--cases", default="abc", help="which cases to run (abc)")
    ap.add_argument("--dump", help="write each call's received packets (time, RMS) to this folder")
    a = ap.parse_args()
    global DUMP
    DUMP = a.dump
    host, _, port = a.server.rpartition(":")
    a.server_addr = (host, int(port))

    natural, ref_pauses = greeting_length(a.greeting_ref, a.reply_rms)
    clip = Clip(a.clip)
    bc = Backchannel(a.backchannel, a.backchannel_ms)
    print(f"greeting: {natural:.2f} s of speech (kefu say); clip {clip.name} {clip.duration:.2f} s", flush=True)
    if "a" in a.cases:
        case_interrupt(a, natural, clip)
    if "b" in a.cases:
        case_echo(a, natural, ref_pauses)
    if "c" in a.cases:
        case_backchannel(a, natural, bc)
    return 0 if all(RESULTS) else 1


if __name__ == "__main__":
    sys.exit(main())
