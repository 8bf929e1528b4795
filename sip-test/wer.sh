#!/usr/bin/env bash
# sip-test/wer.sh: ASR accuracy benchmark: word error rate of `kefu transcribe` (Whisper) on
# phone-quality audio (8 kHz G.711 µ-law) against the 16 kHz originals, same model; the target
# is a WER ratio 8k / 16k of at most 1.25.
#
# Cuts the real recordings listed in audio/wer/clips.tsv out of Debian's pocketsphinx-testdata
# (installed if missing) into a temporary folder, twice: 16k/NAME.wav (16 kHz 16-bit mono, the
# original) and 8k/NAME.wav (the same audio converted by sox to 8 kHz mono µ-law, as a phone
# line carries it). Runs wer.py, which transcribes each file and scores it against the
# reference text, then prints the Markdown block for BENCHMARKS.md.
#
# Env: MODEL (base-q8_0; also base, tiny.en, or a ggml file), LANGUAGE (en), KEEP=1 keeps the
#      work folder, KEFU_BIN. Extra arguments go to wer.py (-v prints every clip's texts).
# Exit 0 when the benchmark ran (the figures are the result), non-zero when it could not run.
set -u
. "$(dirname "$0")/lib.sh"
ensure_pkg sox sox
ensure_testdata
DATA=$TESTDATA
[ -x "$KEFU_BIN" ] || die "kefu binary not found at $KEFU_BIN (set KEFU_BIN; build with cargo build --release)"
MODEL="${MODEL:-base-q8_0}"
case "$MODEL" in
  */*|*.bin) model_file="$MODEL" ;;
  *) model_file="$REPO_ROOT/models/whisper/ggml-$MODEL.bin" ;;
esac
[ -f "$model_file" ] || die "Whisper model $MODEL not found ($model_file); bash models/fetch.sh"
CLIPS="$SIPTEST_DIR/audio/wer/clips.tsv"

WORK="$(mktemp -d /tmp/kefu-wer.XXXXXX)"
cleanup() {
  if [ -z "${KEEP:-}" ]; then rm -rf "$WORK"
  else echo "kept: $WORK (16k/ and 8k/ clips, table.md)"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- clips: the 16 kHz original (raw files get a WAV header) and its 8 kHz µ-law version
mkdir -p "$WORK/16k" "$WORK/8k"
n=0
while IFS=$'\t' read -r name src start end _from _ref; do
  case "$name" in ''|'#'*) continue ;; esac
  in=(); case "$src" in *.raw) in=(-t raw -r 16000 -e signed -b 16 -c 1) ;; esac
  trim=(trim "$start"); [ "$end" != "-" ] && trim+=("=$end")
  sox -V1 "${in[@]}" "$DATA/$src" -r 16000 -c 1 -e signed -b 16 "$WORK/16k/$name.wav" "${trim[@]}" ||
    die "sox failed on $src"
  sox -V1 "$WORK/16k/$name.wav" -r 8000 -c 1 -e u-law -b 8 "$WORK/8k/$name.wav" ||
    die "sox failed on $WORK/16k/$name.wav"
  n=$((n + 1))
done <"$CLIPS"
[ "$n" -gt 0 ] || die "no clips in $CLIPS"
log "$n clips in $WORK (16k/, 8k/); model $MODEL"

# ---- transcribe and score (kefu resolves model names under models/, relative to the repo root)
started=$SECONDS
(cd "$REPO_ROOT" && python3 "$SIPTEST_DIR/wer.py" --clips "$CLIPS" --work "$WORK" \
  --kefu "$KEFU_BIN" --model "$MODEL" --language "${LANGUAGE:-en}" --markdown "$WORK/table.md" "$@")
rc=$?
[ "$rc" -eq 0 ] || { KEEP=1; echo "wer.py exit $rc"; exit "$rc"; }
log "benchmark took $((SECONDS - started)) s"

echo
echo "---- Markdown for BENCHMARKS.md"
echo
echo '```sh'
echo "${MODEL:+MODEL=$MODEL }bash sip-test/wer.sh"
echo '```'
echo
cat "$WORK/table.md"
echo
echo "Clips: $n real recordings with their reference text from Debian pocketsphinx-testdata" \
  "(\`sip-test/audio/wer/\`); 8 kHz µ-law made with \`sox -r 8000 -c 1 -e u-law -b 8\`."
exit 0
