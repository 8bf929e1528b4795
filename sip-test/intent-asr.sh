#!/usr/bin/env bash
# sip-test/intent-asr.sh: intent accuracy of the bundled dialplans with ASR in the loop.
#
# `kefu dialplan eval` scores the intent classifier on typed phrasings (dialplans/eval/*.tsv,
# `intent<TAB>phrase`). On a call the classifier gets Whisper's transcript of a phone line
# instead. This benchmark puts that in between: each phrasing is
#   1. spoken by `kefu say --batch` (English: the Piper voice en_US-joe-medium; Mandarin:
#      espeak-ng's cmn-latn-pinyin, there is no Chinese Piper voice),
#   2. carried over a phone line: sox to 8 kHz mono G.711 µ-law, as sip-test/wer.sh does
#      (kefu reads µ-law WAV and upsamples it for Whisper as on a call),
#   3. transcribed by `kefu transcribe` with many files per run (English: base-q8_0 with
#      --language en; Mandarin: the multilingual base with --language zh),
# and the transcripts, labelled with the phrasing's intent, are scored by `kefu dialplan eval`
# like the typed set. Whisper base tends to write Mandarin in traditional characters, and the
# zh dialplan's examples are simplified: for zh the transcripts are also scored after OpenCC's
# traditional -> simplified conversion (`opencc -c t2s.json`, Debian `opencc`, installed when
# missing), which separates the script from the recognition errors.
#
# Prints accuracy text-only vs with ASR per language, what the ASR cost (phrasings right as
# typed and wrong as heard) and gained, the word (English) or character (Mandarin) error rate of
# the transcripts against the written phrasings, samples and misses, and a Markdown block for
# BENCHMARKS.md.
#
# Synthetic speech is a weak stand-in for callers (clean, one voice, and espeak's Mandarin is
# robotic); the written phrasings contain deliberate recognizer slips ("wear is my order",
# "定单"), which the voices read as written.
#
# Env: LANGS ("en zh"), LIMIT (all; N takes N phrasings spread evenly over each set),
#      VOICE_EN (en_US-joe-medium), VOICE_ZH (espeak:cmn-latn-pinyin), MODEL_EN (base-q8_0),
#      MODEL_ZH (base), LINE (ulaw; `none` transcribes the voice's own 22 kHz audio), T2S (1;
#      0 skips the zh t2s figure), THREADS (1: Whisper threads; 1 is robust on a machine whose
#      cores other work keeps busy, where 2 threads were 4× slower), SHOW (6 samples and up to
#      3×SHOW misses per language), KEEP=1 keeps the work folder, KEFU_BIN.
# Exit 0 when the benchmark ran (the figures are the result), 2 when it could not.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

LANGS="${LANGS:-en zh}"
LIMIT="${LIMIT:-0}"
LINE="${LINE:-ulaw}"
SHOW="${SHOW:-6}"
T2S="${T2S:-1}"
THREADS="${THREADS:-1}"
case "$LINE" in ulaw|none) ;; *) die "LINE=$LINE: use ulaw or none" ;; esac
case "$LIMIT" in ''|*[!0-9]*) die "LIMIT=$LIMIT: a number of phrasings per language" ;; esac
[ -x "$KEFU_BIN" ] || die "kefu binary not found at $KEFU_BIN (set KEFU_BIN; build with cargo build --release)"
[ "$LINE" = none ] || ensure_pkg sox sox
case " $LANGS " in *" zh "*) [ "$T2S" = 0 ] || ensure_pkg opencc opencc ;; esac

WORK="$(mktemp -d /tmp/kefu-intent-asr.XXXXXX)"
# shellcheck disable=SC2329  # run by the EXIT trap
cleanup() {
  if [ -z "${KEEP:-}" ]; then rm -rf "$WORK"
  else echo "kept: $WORK (per language: set.tsv, tts/, line/, heard.tsv, asr.tsv, eval-*.txt, logs)"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

now() { date +%s.%N; }
secs_since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# lang_config LANG: sets PLAN, SET, VOICE, MODEL, ASR_LANG for one language.
lang_config() {
  case "$1" in
    en) PLAN=dialplans/shop.toml; SET=dialplans/eval/shop.en.tsv
        VOICE="${VOICE_EN:-en_US-joe-medium}"; MODEL="${MODEL_EN:-base-q8_0}"; ASR_LANG=en ;;
    zh) PLAN=dialplans/shop-zh.toml; SET=dialplans/eval/shop-zh.zh.tsv
        VOICE="${VOICE_ZH:-espeak:cmn-latn-pinyin}"; MODEL="${MODEL_ZH:-base}"; ASR_LANG=zh ;;
    *) die "LANGS: unknown language $1 (en, zh)" ;;
  esac
  case "$MODEL" in
    */*|*.bin) model_file="$MODEL" ;;
    *) model_file="$REPO_ROOT/models/whisper/ggml-$MODEL.bin" ;;
  esac
  [ -f "$model_file" ] || die "Whisper model $MODEL not found ($model_file); make models"
  [ -f "$REPO_ROOT/$PLAN" ] && [ -f "$REPO_ROOT/$SET" ] || die "$PLAN or $SET missing"
}

# select_set SET LIMIT OUT_SET OUT_SAY: the phrasings of SET (all, or LIMIT spread evenly) as
# OUT_SET (`intent<TAB>phrase`, for eval) and OUT_SAY (`NNN<TAB>phrase`, for kefu say --batch).
select_set() {
  python3 - "$@" <<'EOF'
import sys
src, limit, out_set, out_say = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
rows = []
for n, line in enumerate(open(src, encoding="utf-8"), 1):
    line = line.strip()
    if not line or line.startswith("#"):
        continue
    want, sep, phrase = line.partition("\t")
    if not sep or not phrase.strip():
        sys.exit(f"{src}:{n}: expected intent<TAB>phrase")
    rows.append((want.strip(), phrase.strip()))
if limit and limit < len(rows):
    rows = [rows[i * len(rows) // limit] for i in range(limit)]
with open(out_set, "w", encoding="utf-8") as s, open(out_say, "w", encoding="utf-8") as t:
    for i, (want, phrase) in enumerate(rows, 1):
        s.write(f"{want}\t{phrase}\n")
        t.write(f"{i:03d}\t{phrase}\n")
print(len(rows))
EOF
}

# label_transcripts SET HEARD OUT: `intent<TAB>transcript` in SET's order from `kefu transcribe`'s
# `FILE<TAB>text` lines (files named NNN.wav). An empty transcript, or none (the decode failed,
# e.g. past its deadline: a call would get nothing either), becomes "-": eval needs a phrase,
# and "-" classifies as none. Prints how many had no transcript.
label_transcripts() {
  python3 - "$@" <<'EOF'
import os, sys
set_file, heard_file, out = sys.argv[1:4]
rows = [l.rstrip("\n").split("\t", 1) for l in open(set_file, encoding="utf-8")]
heard = {}
for l in open(heard_file, encoding="utf-8"):
    f, _, text = l.rstrip("\n").partition("\t")
    heard[int(os.path.basename(f).split(".")[0])] = text.strip()
with open(out, "w", encoding="utf-8") as o:
    for i, (want, _) in enumerate(rows, 1):
        o.write(f"{want}\t{heard.get(i) or '-'}\n")
print(sum(i not in heard for i in range(1, len(rows) + 1)))
EOF
}

# report LANG DIR: the figures of one language from DIR's files; appends a row to $WORK/table.md.
report() {
  python3 - "$@" "$SHOW" "$VOICE" "$MODEL" "$LINE" "$WORK/table.md" <<'EOF'
import re, sys, unicodedata
lang, d, show, voice, model, line, table = sys.argv[1:8]
show = int(show)
rows = [l.rstrip("\n").split("\t", 1) for l in open(f"{d}/set.tsv", encoding="utf-8")]
read_heard = lambda f: [l.rstrip("\n").split("\t", 1)[1] for l in open(f, encoding="utf-8")]
heard = read_heard(f"{d}/asr.tsv")
try:
    simplified = read_heard(f"{d}/asr-t2s.tsv")
except FileNotFoundError:
    simplified = None
timing = dict(l.split() for l in open(f"{d}/times", encoding="utf-8"))

def evaluation(path, texts):
    """(right, total, misses by row index -> (got, confidence)), matching eval's --verbose
    miss lines to the rows in order (eval reads the set top to bottom)."""
    out = open(path, encoding="utf-8").read()
    m = re.search(r"intent accuracy [\d.]+% \((\d+)/(\d+)\)", out)
    if not m:
        sys.exit(f"{path}: no accuracy line")
    misses, i = {}, 0
    for want, got, conf, phrase in re.findall(r"^miss: (\S+) -> (\S+) \(([\d.]+)\): (.*)$", out, re.M):
        while i < len(rows) and not (rows[i][0] == want and texts[i].strip() == phrase.strip()):
            i += 1
        if i == len(rows):
            sys.exit(f"{path}: miss not found in the set: {phrase}")
        misses[i] = (got, float(conf))
        i += 1
    right, total = int(m.group(1)), int(m.group(2))
    if total - right != len(misses):
        sys.exit(f"{path}: {total - right} misses counted, {len(misses)} listed")
    return right, total, misses

t_right, total, t_miss = evaluation(f"{d}/eval-text.txt", [p for _, p in rows])
a_right, _, a_miss = evaluation(f"{d}/eval-asr.txt", heard)
if simplified:
    s_right, _, s_miss = evaluation(f"{d}/eval-asr-t2s.txt", simplified)
lost = [i for i in a_miss if i not in t_miss]
gained = [i for i in t_miss if i not in a_miss]

# Error rate of the transcripts against the written phrasings: words for English (lowercase,
# punctuation and the fillers Whisper never writes dropped), characters for Mandarin
# (punctuation, spaces and 嗯 dropped).
FILLERS = {"um", "uh", "er", "erm", "ah", "hmm", "mm"}
def units(s):
    s = "".join(c if not unicodedata.category(c).startswith("P") else " " for c in s.lower())
    if lang == "zh":
        return [c for c in s if not c.isspace() and c != "嗯"]
    return [w for w in s.replace("'", "").split() if w not in FILLERS]

def edits(a, b):
    prev = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        cur = [i]
        for j, y in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x != y)))
        prev = cur
    return prev[-1]

ref_n = sum(len(units(p)) for _, p in rows)
scored = simplified or heard  # Mandarin: compare characters in one script
err = sum(edits(units(p), units(h if h != "-" else "")) for (_, p), h in zip(rows, scored))
er = 100.0 * err / max(ref_n, 1)
unit = "CER" if lang == "zh" else "WER"
exact = sum(units(p) == units(h) for (_, p), h in zip(rows, scored))
empty = sum(h == "-" for h in heard)

pct = lambda a, b: 100.0 * a / max(b, 1)
print(f"\n==== {lang}: {total} phrasings, voice {voice}, Whisper {model}, line {line}")
print(f"intent accuracy, text only : {pct(t_right, total):5.1f}% ({t_right}/{total})")
print(f"intent accuracy, with ASR  : {pct(a_right, total):5.1f}% ({a_right}/{total})")
if simplified:
    print(f"  the same after t2s        : {pct(s_right, total):5.1f}% ({s_right}/{total})"
          f"  (transcripts in traditional characters: {sum(a != b for a, b in zip(heard, simplified))})")
print(f"  right as typed, wrong as heard: {len(lost)}; wrong as typed, right as heard: {len(gained)}")
print(f"  transcripts: {unit} {er:.1f}% against the written phrasings, fillers aside ({err} edits / {ref_n})"
      f"{' after t2s' if simplified else ''}, {exact} word for word, {empty} empty"
      f" ({timing['failed']} of them decodes that failed)")
print(f"  time: synthesis {timing['say']} s, line {timing['line']} s, transcription {timing['asr']} s"
      f" ({timing['audio']} s of audio)")
print("samples (typed -> heard):")
for k in range(min(show, total)):
    i = k * total // min(show, total)
    print(f"  [{rows[i][0]}] {rows[i][1]}  ->  {heard[i]}")
if simplified:
    still = [i for i in s_miss if i not in t_miss]
    print(f"misses the ASR caused even after t2s (typed -> heard, in simplified => classified as): {len(still)}")
    for i in still[: 3 * show]:
        got, conf = s_miss[i]
        print(f"  [{rows[i][0]}] {rows[i][1]}  ->  {simplified[i]}  => {got} ({conf:.2f})")
    script = [i for i in lost if i not in s_miss]
    print(f"misses from traditional characters alone (right after t2s): {len(script)}")
    for i in script[:show]:
        print(f"  [{rows[i][0]}] {rows[i][1]}  ->  {heard[i]}  => {a_miss[i][0]} ({a_miss[i][1]:.2f})")
elif lost:
    print(f"misses the ASR caused (intent: typed -> heard => classified as):")
    for i in lost[: 3 * show]:
        got, conf = a_miss[i]
        print(f"  [{rows[i][0]}] {rows[i][1]}  ->  {heard[i]}  => {got} ({conf:.2f})")
both = [i for i in a_miss if i in t_miss]
if both:
    print(f"missed as typed and as heard: {len(both)} (e.g. [{rows[both[0]][0]}] {rows[both[0]][1]}"
          f" => {a_miss[both[0]][0]})")

with open(table, "a", encoding="utf-8") as f:
    f.write(f"| {lang} | {total} | {voice} | {model} | {'8 kHz µ-law' if line == 'ulaw' else 'none'} "
            f"| {pct(t_right, total):.1f} % ({t_right}/{total}) | {pct(a_right, total):.1f} % ({a_right}/{total}) "
            + (f"(t2s: {pct(s_right, total):.1f} % ({s_right}/{total})) " if simplified else "") +
            f"| {len(lost)} / {len(gained)} | {unit} {er:.1f} % |\n")
EOF
}

started=$(now)
: >"$WORK/table.md"
cd "$REPO_ROOT"   # kefu finds models/ and the dialplans' files relative to the repository
for lang in $LANGS; do
  lang_config "$lang"
  d="$WORK/$lang"
  mkdir -p "$d/tts" "$d/line"
  n=$(select_set "$SET" "$LIMIT" "$d/set.tsv" "$d/say.tsv")
  log "$lang: $n phrasings of $SET; voice $VOICE; Whisper $MODEL --language $ASR_LANG; line $LINE"

  t=$(now)
  "$KEFU_BIN" say --batch "$d/say.tsv" --out-dir "$d/tts" --voice "$VOICE" >"$d/say.out" 2>"$d/say.log" ||
    { tail -n 20 "$d/say.log" >&2; die "kefu say --batch failed ($lang)"; }
  say_s=$(secs_since "$t")

  t=$(now)
  if [ "$LINE" = ulaw ]; then
    for wav in "$d"/tts/*.wav; do
      sox -V1 "$wav" -r 8000 -c 1 -e u-law -b 8 "$d/line/$(basename "$wav")" || die "sox failed on $wav"
    done
    heard_dir="$d/line"
  else
    heard_dir="$d/tts"
  fi
  line_s=$(secs_since "$t")

  t=$(now)
  # exit 1: some decodes failed (reported in the log, the others printed); 2: could not run
  rc=0
  "$KEFU_BIN" transcribe --model "$MODEL" --language "$ASR_LANG" --threads "$THREADS" "$heard_dir"/*.wav \
    >"$d/heard.tsv" 2>"$d/transcribe.log" || rc=$?
  [ "$rc" -le 1 ] || { tail -n 20 "$d/transcribe.log" >&2; die "kefu transcribe failed ($lang)"; }
  asr_s=$(secs_since "$t")
  audio_s=$(sed -n 's/^kefu: [0-9]* files, \([0-9.]*\) s of audio.*/\1/p' "$d/transcribe.log")
  failed=$(label_transcripts "$d/set.tsv" "$d/heard.tsv" "$d/asr.tsv")
  [ "$failed" = 0 ] || { warn "$lang: $failed decodes failed, scored as no transcript:";
                         grep -v ' s of audio' "$d/transcribe.log" | head -n 5 >&2 || true; }
  printf 'say %s\nline %s\nasr %s\naudio %s\nfailed %s\n' \
    "$say_s" "$line_s" "$asr_s" "${audio_s:-?}" "$failed" >"$d/times"

  "$KEFU_BIN" dialplan eval --verbose "$PLAN" "$d/set.tsv" >"$d/eval-text.txt" ||
    { cat "$d/eval-text.txt" >&2; die "kefu dialplan eval failed on the typed set ($lang)"; }
  "$KEFU_BIN" dialplan eval --verbose "$PLAN" "$d/asr.tsv" >"$d/eval-asr.txt" ||
    { cat "$d/eval-asr.txt" >&2; die "kefu dialplan eval failed on the transcripts ($lang)"; }
  if [ "$lang" = zh ] && [ "$T2S" != 0 ]; then
    t2s_note="; zh also after \`opencc -c t2s.json\` (Whisper's traditional characters to simplified)"
    opencc -c t2s.json -i "$d/asr.tsv" -o "$d/asr-t2s.tsv" || die "opencc failed"
    "$KEFU_BIN" dialplan eval --verbose "$PLAN" "$d/asr-t2s.tsv" >"$d/eval-asr-t2s.txt" ||
      { cat "$d/eval-asr-t2s.txt" >&2; die "kefu dialplan eval failed on the t2s transcripts"; }
  fi
  report "$lang" "$d"
done
total_s=$(secs_since "$started")
log "benchmark took $total_s s"

vars=""
[ "$LANGS" != "en zh" ] && vars+="LANGS=\"$LANGS\" "
[ "$LIMIT" != 0 ] && vars+="LIMIT=$LIMIT "
[ "$LINE" != ulaw ] && vars+="LINE=$LINE "
[ "$THREADS" != 1 ] && vars+="THREADS=$THREADS "
[ -n "${VOICE_ZH:-}" ] && vars+="VOICE_ZH=$VOICE_ZH "
[ -n "${VOICE_EN:-}" ] && vars+="VOICE_EN=$VOICE_EN "
[ -n "${MODEL_ZH:-}" ] && vars+="MODEL_ZH=$MODEL_ZH "
[ -n "${MODEL_EN:-}" ] && vars+="MODEL_EN=$MODEL_EN "
echo
echo "---- Markdown for BENCHMARKS.md"
echo
echo '```sh'
echo "${vars}bash sip-test/intent-asr.sh"
echo '```'
echo
echo "| language | phrasings | voice | Whisper | line | intent accuracy, text only | with ASR | ASR lost / gained | transcripts |"
echo "|---|---|---|---|---|---|---|---|---|"
cat "$WORK/table.md"
echo
carried="carried as 8 kHz µ-law by \`sox -r 8000 -c 1 -e u-law -b 8\`,"
[ "$LINE" = ulaw ] || carried="not carried over a phone line (LINE=none),"
echo "Whole run ${total_s} s on $(nproc) cores (synthesis, sox, transcription with the model loaded" \
  "once per language, eval). Phrasings: the held-out sets dialplans/eval/*.tsv, spoken by" \
  "\`kefu say --batch\`, $carried transcribed by \`kefu transcribe\` and scored by" \
  "\`kefu dialplan eval\`${t2s_note:-}."
exit 0
