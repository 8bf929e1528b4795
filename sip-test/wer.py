#!/usr/bin/env python3
"""wer.py: word error rate of `kefu transcribe` on phone-quality audio vs the 16 kHz originals.

For every clip of the list (audio/wer/clips.tsv) the work folder holds two WAVs made by wer.sh:
  16k/NAME.wav  the original, 16 kHz 16-bit mono;
  8k/NAME.wav   the same audio as a phone line carries it, 8 kHz G.711 µ-law.
Each is transcribed by a separate `kefu transcribe FILE --model M --language L` (one file per
run; the model load is in the wall time, kefu's own "transcribed in N ms" is reported apart).

Scoring: reference and hypothesis are normalized the same way (lowercase; [..] and (..)
annotations dropped; hyphens, dashes and slashes split words; other punctuation removed;
"$5" -> five dollars, "5%" -> five percent, "&" -> and; "4th" -> fourth; mr/mrs/dr/ok spelled
out; fillers uh/um/hmm/mm/mhm removed). A number written in digits can be read several ways
("692": six hundred ninety two / six nine two; "1995": nineteen ninety five; "0": zero / oh);
every reading is a valid rendering of the same speech, so the one closest to the reference is
scored (sclite's alternates, for numbers only). Errors are the Levenshtein distance over words
(substitutions, deletions, insertions); corpus WER = all errors / all reference words.

Prints one line per clip (the texts of clips with errors, or of all with --verbose), then the
corpus WER at 16 kHz and at 8 kHz µ-law and their ratio (8k / 16k) against the target
(--target, 1.25x: WER 8k <= target x WER 16k), and the same over substitutions and deletions
alone (a decode that repeats itself adds the same insertions at both rates and hides the rest).
--markdown FILE writes the BENCHMARKS.md rows.
Exit 0 when every clip was transcribed (the figures are the result, not a pass/fail);
2 when the benchmark could not run (a missing file, kefu failed).
"""

import argparse
import os
import re
import subprocess
import sys
import time
import wave
from fractions import Fraction

# ---------------------------------------------------------------- numbers in words
ONES = ("zero one two three four five six seven eight nine ten eleven twelve thirteen "
        "fourteen fifteen sixteen seventeen eighteen nineteen").split()
TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
SCALES = ((10**12, "trillion"), (10**9, "billion"), (10**6, "million"), (1000, "thousand"))
ORDINAL_IRREGULAR = {"one": "first", "two": "second", "three": "third", "five": "fifth",
                     "eight": "eighth", "nine": "ninth", "twelve": "twelfth"}


def cardinal(n):
    """English words of a non-negative integer, without "and": 123 -> one hundred twenty three."""
    if n < 20:
        return [ONES[n]]
    if n < 100:
        return [TENS[n // 10]] + ([ONES[n % 10]] if n % 10 else [])
    if n < 1000:
        return [ONES[n // 100], "hundred"] + (cardinal(n % 100) if n % 100 else [])
    for value, name in SCALES:
        if n >= value:
            return cardinal(n // value) + [name] + (cardinal(n % value) if n % value else [])
    return [str(n)]  # beyond trillions: left as written


def ordinal(n):
    """4 -> fourth, 21 -> twenty first, 30 -> thirtieth."""
    words = cardinal(n)
    last = words[-1]
    if last in ORDINAL_IRREGULAR:
        last = ORDINAL_IRREGULAR[last]
    elif last.endswith("y"):
        last = last[:-1] + "ieth"
    else:
        last += "th"
    return words[:-1] + [last]


def readings(digits):
    """The ways a string of digits is read aloud, the usual one first."""
    alts = [cardinal(int(digits)) if len(digits) <= 15 else []]
    if len(digits) > 1 or digits == "0":
        alts.append([ONES[int(d)] for d in digits])                       # six nine two
        alts.append(["oh" if d == "0" else ONES[int(d)] for d in digits])  # oh six nine
    if len(digits) == 4 and digits[0] != "0":                             # years: 1995, 1905
        hi, lo = int(digits[:2]), int(digits[2:])
        if lo == 0:
            alts.append(cardinal(hi) + ["hundred"])
        elif lo < 10:
            alts.append(cardinal(hi) + ["oh", ONES[lo]])
        else:
            alts.append(cardinal(hi) + cardinal(lo))
    unique = []
    for a in alts:
        if a and a not in unique:
            unique.append(a)
    return unique or [[digits]]


# ---------------------------------------------------------------- normalization
SPELLED = {"mr": ["mister"], "mrs": ["missus"], "dr": ["doctor"], "ok": ["okay"]}
FILLERS = {"uh", "um", "umm", "uhm", "hmm", "mm", "mmm", "mhm"}


def normalize(text):
    """Text -> list of slots; a slot is a list of alternative word lists (one unless a number)."""
    t = text.lower().replace("\u2019", "'").replace("\u2018", "'")
    t = re.sub(r"\[[^\]]*\]|\([^)]*\)|<[^>]*>", " ", t)          # [BLANK_AUDIO], (music), <s>
    t = re.sub(r"(?<=\d),(?=\d{3}\b)", "", t)                     # 1,000 -> 1000
    t = re.sub(r"\$(\d+(?:\.\d+)?)", r"\1 dollars", t)
    t = re.sub(r"(\d)\s*%", r"\1 percent", t)
    t = t.replace("&", " and ")
    t = re.sub(r"(?<=\d):(?=\d)", " ", t)                         # 10:30 -> 10 30
    t = re.sub(r"[-\u2010-\u2015/]", " ", t)                      # cold-hearted -> cold hearted
    t = t.replace("'", "")                                        # don't -> dont
    t = re.sub(r"(\d)(?!(?:st|nd|rd|th)\b)([a-z])", r"\1 \2", t)  # 3pm -> 3 pm, but 4th stays
    t = re.sub(r"([a-z])(\d)", r"\1 \2", t)
    slots = []
    for tok in re.findall(r"[a-z0-9.]+", t):
        tok = tok.strip(".")
        if not tok:
            continue
        m = re.fullmatch(r"(\d+)(st|nd|rd|th)", tok)
        if m:
            slots.append([ordinal(int(m.group(1)))])
        elif tok.isdigit():
            slots.append(readings(tok))
        elif re.fullmatch(r"\d+\.\d+", tok):
            whole, frac = tok.split(".")
            slots.append([w + ["point"] + [ONES[int(d)] for d in frac] for w in readings(whole)])
        else:
            tok = tok.replace(".", "")                            # u.s -> us
            if tok in FILLERS:
                continue
            slots.append([SPELLED.get(tok, [tok])])
    return slots


def flatten(slots, choice=None):
    words = []
    for i, alts in enumerate(slots):
        words += alts[choice[i] if choice else 0]
    return words


# ---------------------------------------------------------------- alignment
def align(ref, hyp):
    """Levenshtein over words -> (substitutions, deletions, insertions)."""
    n, m = len(ref), len(hyp)
    d = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n + 1):
        d[i][0] = i
    for j in range(m + 1):
        d[0][j] = j
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            d[i][j] = min(d[i - 1][j - 1] + (ref[i - 1] != hyp[j - 1]),
                          d[i - 1][j] + 1, d[i][j - 1] + 1)
    s = dl = ins = 0
    i, j = n, m
    while i or j:  # backtrace: match/substitution first, then deletion, then insertion
        if i and j and d[i][j] == d[i - 1][j - 1] + (ref[i - 1] != hyp[j - 1]):
            s += ref[i - 1] != hyp[j - 1]
            i, j = i - 1, j - 1
        elif i and d[i][j] == d[i - 1][j] + 1:
            dl += 1
            i -= 1
        else:
            ins += 1
            j -= 1
    return s, dl, ins


def score(ref_words, hyp_text):
    """Best alignment over the readings of the hypothesis's numbers -> (S, D, I, words)."""
    slots = normalize(hyp_text)
    choice = [0] * len(slots)
    best = align(ref_words, flatten(slots, choice))
    # Coordinate descent over the slots that have alternatives: a few numbers per utterance,
    # so two passes settle it.
    for _ in range(2):
        for i, alts in enumerate(slots):
            for k in range(len(alts)):
                trial = choice[:i] + [k] + choice[i + 1:]
                r = align(ref_words, flatten(slots, trial))
                if sum(r) < sum(best):
                    best, choice = r, trial
    return best + (flatten(slots, choice),)


# ---------------------------------------------------------------- transcription
def transcribe(kefu, path, model, language):
    """Runs kefu transcribe -> (text, wall seconds, kefu's transcription ms or None)."""
    cmd = [kefu, "transcribe", path, "--model", model, "--language", language]
    t0 = time.monotonic()
    p = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.monotonic() - t0
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: exit {p.returncode}: {p.stderr.strip()}")
    m = re.search(r"transcribed in (\d+) ms", p.stderr)
    return p.stdout.strip(), wall, int(m.group(1)) if m else None


def wav_seconds(path):
    with wave.open(path, "rb") as w:
        return w.getnframes() / w.getframerate()


def read_clips(path):
    clips = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line.strip() or line.startswith("#"):
                continue
            cols = line.split("\t")
            if len(cols) != 6:
                raise ValueError(f"{path}: want 6 tab-separated columns: {line!r}")
            clips.append({"name": cols[0], "source": cols[1], "ref": cols[5]})
    return clips


# ---------------------------------------------------------------- report
def pct(errors, words):
    return f"{100 * errors / words:.1f} %" if words else "n/a"


def ratio_verdict(e16, e8, target):
    """(ratio text, verdict text) for the corpus: met when WER 8k <= target x WER 16k."""
    met = e8 <= target * e16  # same reference words for both, so errors compare as WER
    if e16 == 0:
        ratio = "undefined (16 kHz WER is 0)"
        verdict = "met (no errors at either rate)" if e8 == 0 else "not met (errors only at 8 kHz)"
        return ratio, verdict
    return f"{e8 / e16:.2f}x", "met" if met else "not met"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--clips", required=True, help="clip list (audio/wer/clips.tsv)")
    ap.add_argument("--work", required=True, help="folder holding 16k/NAME.wav and 8k/NAME.wav")
    ap.add_argument("--kefu", default=os.environ.get("KEFU_BIN", "target/release/kefu"))
    ap.add_argument("--model", default="base-q8_0")
    ap.add_argument("--language", default="en")
    ap.add_argument("--target", default="1.25", help="allowed WER ratio 8k / 16k (1.25)")
    ap.add_argument("--markdown", help="write the BENCHMARKS.md rows here")
    ap.add_argument("-v", "--verbose", action="store_true", help="print the texts of every clip")
    a = ap.parse_args()
    target = Fraction(a.target)

    try:
        clips = read_clips(a.clips)
    except (OSError, ValueError) as e:
        print(f"wer.py: {e}", file=sys.stderr)
        return 2
    if not clips:
        print(f"wer.py: no clips in {a.clips}", file=sys.stderr)
        return 2
    rates = (("16k", "16 kHz"), ("8k", "8 kHz µ-law"))
    tot = {r: {"S": 0, "D": 0, "I": 0, "wall": 0.0, "ms": 0, "ms_n": 0} for r, _ in rates}
    ref_total = 0
    secs_total = 0.0
    print(f"model {a.model}, {len(clips)} clips; per clip: errors (S/D/I), kefu transcribe "
          "wall time (model load included)")
    print(f"{'clip':<16} {'secs':>5} {'words':>5} | {'16 kHz':^22} | {'8 kHz µ-law':^22}")
    for c in clips:
        ref_words = flatten(normalize(c["ref"]))
        ref_total += len(ref_words)
        row, texts = {}, {}
        for r, _ in rates:
            path = os.path.join(a.work, r, c["name"] + ".wav")
            try:
                if r == "16k":
                    secs_total += wav_seconds(path)
                text, wall, ms = transcribe(a.kefu, path, a.model, a.language)
            except (OSError, RuntimeError, wave.Error) as e:
                print(f"wer.py: {c['name']}: {e}", file=sys.stderr)
                return 2
            s, d, i, hyp_words = score(ref_words, text)
            row[r] = (s, d, i, wall)
            texts[r] = (text, " ".join(hyp_words))
            t = tot[r]
            t["S"] += s
            t["D"] += d
            t["I"] += i
            t["wall"] += wall
            if ms is not None:
                t["ms"] += ms
                t["ms_n"] += 1
        cells = [f"{s + d + i:>2} ({s}/{d}/{i}) {wall * 1000:>6.0f} ms" for s, d, i, wall in
                 (row[r] for r, _ in rates)]
        secs = wav_seconds(os.path.join(a.work, "16k", c["name"] + ".wav"))
        print(f"{c['name']:<16} {secs:>5.2f} {len(ref_words):>5} | {cells[0]:>22} | {cells[1]:>22}")
        if a.verbose or any(sum(row[r][:3]) for r, _ in rates):
            print(f"    ref:          {' '.join(ref_words)}")
            for r, label in rates:
                print(f"    {label + ':':<13} {texts[r][1]}    [{texts[r][0]}]")

    n = len(clips)
    errs = {r: tot[r]["S"] + tot[r]["D"] + tot[r]["I"] for r, _ in rates}
    ratio, verdict = ratio_verdict(errs["16k"], errs["8k"], target)
    print()
    print(f"model {a.model}: {n} clips, {secs_total:.1f} s of speech, {ref_total} reference words "
          f"(one word error = {100 / ref_total:.2f} points of WER)")
    summary = {}
    for r, label in rates:
        t = tot[r]
        summary[r] = (f"{pct(errs[r], ref_total)} ({errs[r]} errors: "
                      f"S {t['S']}, D {t['D']}, I {t['I']})")
        mean_ms = f", kefu's transcription {t['ms'] / t['ms_n']:.0f} ms" if t["ms_n"] else ""
        print(f"WER {label + ':':<13} {summary[r]}; per clip: wall {t['wall'] / n * 1000:.0f} ms"
              f"{mean_ms}")
    print(f"ratio 8k / 16k:   {ratio}; target <= {float(target):g}x: {verdict}")
    # Insertions from a decode that repeats itself come out the same at both rates and pull the
    # ratio towards 1; the ratio over substitutions and deletions alone shows the rest.
    sd = {r: tot[r]["S"] + tot[r]["D"] for r, _ in rates}
    sd_ratio = f"{sd['8k'] / sd['16k']:.2f}x" if sd["16k"] else "undefined (0 at 16 kHz)"
    sd_line = (f"substitutions and deletions only (insertions left out): 16 kHz "
               f"{pct(sd['16k'], ref_total)}, 8 kHz µ-law {pct(sd['8k'], ref_total)}, "
               f"ratio {sd_ratio}")
    print(sd_line)

    if a.markdown:
        t16, t8 = tot["16k"], tot["8k"]
        with open(a.markdown, "w", encoding="utf-8") as f:
            f.write("| model | clips | words | WER 16 kHz | WER 8 kHz µ-law | ratio 8k / 16k "
                    "| target | verdict |\n")
            f.write("|---|---|---|---|---|---|---|---|\n")
            f.write(f"| {a.model} | {n} ({secs_total:.1f} s) | {ref_total} | {summary['16k']} "
                    f"| {summary['8k']} | {ratio} | ≤ {float(target):g}x | {verdict} |\n")
            f.write("\nTime per clip (`kefu transcribe`, one process per clip, model load "
                    f"included): 16 kHz {t16['wall'] / n * 1000:.0f} ms, 8 kHz "
                    f"{t8['wall'] / n * 1000:.0f} ms wall")
            if t16["ms_n"] and t8["ms_n"]:
                f.write(f"; transcription alone {t16['ms'] / t16['ms_n']:.0f} / "
                        f"{t8['ms'] / t8['ms_n']:.0f} ms")
            f.write(".\n")
            f.write(f"\n{sd_line[0].upper() + sd_line[1:]}.\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
