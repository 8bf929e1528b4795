# shellcheck shell=bash
# sip-test/lib.sh: helpers shared by the end-to-end scripts in sip-test/.
#
# Source it:  . "$(dirname "$0")/lib.sh"
#
# Everything runs on 127.0.0.1 (or in a network namespace the caller made).
# The binary under test comes from $KEFU_BIN (default target/release/kefu,
# relative to the repository root).

SIPTEST_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SIPTEST_DIR/.." && pwd)"
KEFU_BIN="${KEFU_BIN:-target/release/kefu}"
case "$KEFU_BIN" in /*) ;; *) KEFU_BIN="$REPO_ROOT/$KEFU_BIN" ;; esac
export KEFU_BIN

SPEECH_WAV="$SIPTEST_DIR/audio/speech-8k-ulaw.wav"     # 8 kHz mu-law mono, for SIPp rtp_stream
SPEECH_WAV_S16="$SIPTEST_DIR/audio/speech-8k-s16.wav"  # 8 kHz s16 mono, for baresip aufile

# ---------------------------------------------------------------- output
if [ -t 1 ]; then _G=$'\e[32m'; _R=$'\e[31m'; _Y=$'\e[33m'; _N=$'\e[0m'; else _G=; _R=; _Y=; _N=; fi
log()  { printf '%s\n' "== $*" >&2; }
warn() { printf '%s\n' "${_Y}WARN${_N} $*" >&2; }
die()  { printf '%s\n' "${_R}ERROR${_N} $*" >&2; exit 2; }

# ---------------------------------------------------------------- result accounting
PASS_COUNT=0
FAIL_COUNT=0
FAILED_NAMES=()
pass() { PASS_COUNT=$((PASS_COUNT + 1)); printf '%-34s %s\n' "$1" "${_G}PASS${_N}${2:+  $2}"; }
fail() { FAIL_COUNT=$((FAIL_COUNT + 1)); FAILED_NAMES+=("$1"); printf '%-34s %s\n' "$1" "${_R}FAIL${_N}${2:+  $2}"; }
# summary: prints the machine-readable last line and returns non-zero on failure.
summary() {
  if [ "$FAIL_COUNT" -gt 0 ]; then echo "failed: ${FAILED_NAMES[*]}"; fi
  echo "$PASS_COUNT passed, $FAIL_COUNT failed"
  [ "$FAIL_COUNT" -eq 0 ]
}

# ---------------------------------------------------------------- assertions
# Each prints nothing on success and a reason on stderr on failure (return 1).
assert_file_nonempty() { [ -s "$1" ] || { echo "expected non-empty file: $1" >&2; return 1; }; }
assert_http_200() {  # URL
  local code
  code=$(curl -s -o /dev/null -m 5 -w '%{http_code}' "$1" 2>/dev/null || python3 - "$1" <<'EOF'
import sys, urllib.request
try:
    print(urllib.request.urlopen(sys.argv[1], timeout=5).status)
except Exception as e:
    print(getattr(e, "code", 0))
EOF
)
  [ "$code" = 200 ] || { echo "GET $1 -> $code (want 200)" >&2; return 1; }
}
# http_get URL: body on stdout (python, so curl is not required)
http_get() {
  python3 -c 'import sys,urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode("utf-8","replace"))' "$1"
}
# metric_value NAME [URL]: sum of all samples of a Prometheus metric (any labels); empty if absent.
metric_value() {
  local name="$1" url="${2:-http://127.0.0.1:$KEFU_HTTP_PORT/metrics}"
  http_get "$url" 2>/dev/null | awk -v n="$name" '
    $0 ~ "^"n"([{ ]|$)" { s += $NF; found = 1 } END { if (found) print s }'
}
assert_metric_ge() {  # NAME MIN
  local v; v=$(metric_value "$1")
  [ -n "$v" ] || { echo "metric $1 absent from /metrics" >&2; return 1; }
  python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) >= float(sys.argv[2]) else 1)' "$v" "$2" ||
    { echo "metric $1 = $v (want >= $2)" >&2; return 1; }
}
# wav_check FILE [MIN_SECONDS] [CHANNEL_TO_CHECK_RMS MIN_RMS]
# Valid RIFF/WAVE, stereo, 8 kHz, 16-bit, >= MIN_SECONDS long; optional RMS floor on one channel
# (0 = left, 1 = right). Prints "ch=2 rate=8000 width=2 secs=X rms0=A rms1=B".
wav_check() {
  python3 - "$@" <<'EOF'
import sys, wave, array, math
path = sys.argv[1]
min_secs = float(sys.argv[2]) if len(sys.argv) > 2 else 0.0
chk = int(sys.argv[3]) if len(sys.argv) > 3 else -1
min_rms = float(sys.argv[4]) if len(sys.argv) > 4 else 0.0
try:
    w = wave.open(path, "rb")
except Exception as e:
    print(f"not a valid WAV: {e}", file=sys.stderr); sys.exit(1)
ch, rate, width, n = w.getnchannels(), w.getframerate(), w.getsampwidth(), w.getnframes()
secs = n / rate if rate else 0
data = w.readframes(n)
rms = []
if width == 2:
    a = array.array("h"); a.frombytes(data[: len(data) // 2 * 2])
    if sys.byteorder != "little": a.byteswap()
    for c in range(ch):
        s = a[c::ch]
        rms.append(math.sqrt(sum(x * x for x in s) / len(s)) if len(s) else 0.0)
print(f"ch={ch} rate={rate} width={width} secs={secs:.2f} " + " ".join(f"rms{i}={r:.0f}" for i, r in enumerate(rms)))
errs = []
if ch != 2: errs.append(f"channels={ch} (want 2)")
if rate != 8000: errs.append(f"rate={rate} (want 8000)")
if width != 2: errs.append(f"sampwidth={width} (want 2)")
if secs < min_secs: errs.append(f"duration {secs:.2f}s < {min_secs}s")
if chk >= 0 and (chk >= len(rms) or rms[chk] < min_rms):
    errs.append(f"channel {chk} RMS {rms[chk] if chk < len(rms) else 'n/a'} < {min_rms} (silent?)")
if errs:
    print("; ".join(errs), file=sys.stderr); sys.exit(1)
EOF
}

# ---------------------------------------------------------------- packages
_APT_UPDATED=
# ensure_pkg CMD PKG: install PKG with apt-get when CMD is not on PATH.
ensure_pkg() {
  local cmd="$1" pkg="${2:-$1}"
  command -v "$cmd" >/dev/null 2>&1 && return 0
  [ "$(id -u)" = 0 ] || die "$cmd missing and not root: apt-get install $pkg"
  log "installing $pkg (for $cmd)"
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y -qq "$pkg" >/dev/null 2>&1; then
    if [ -z "$_APT_UPDATED" ]; then apt-get update -qq >/dev/null 2>&1; _APT_UPDATED=1; fi
    apt-get install -y -qq "$pkg" >/dev/null 2>&1 || die "apt-get install $pkg failed"
  fi
  command -v "$cmd" >/dev/null 2>&1 || die "$pkg installed but $cmd still missing"
}

# ---------------------------------------------------------------- ports
# free_port [udp|tcp|both]: a port the kernel reports free on 127.0.0.1 (default: free for both).
free_port() {
  python3 - "${1:-both}" <<'EOF'
import socket, sys
kind = sys.argv[1]
for _ in range(50):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM if kind == "udp" else socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]
    ok = True
    if kind == "both":
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try: u.bind(("127.0.0.1", p))
        except OSError: ok = False
        u.close()
    s.close()
    if ok and p not in (5060, 5050, 5070, 6050, 19823):
        print(p); break
EOF
}
# free_port_range N: first port P of a block P..P+N-1 whose UDP ports are all free right now,
# outside the ephemeral port range (so it cannot collide with free_port's picks)
free_port_range() {
  python3 - "$1" <<'EOF'
import socket, sys, random
n = int(sys.argv[1])
# stay out of the kernel's ephemeral range, where free_port (port 0) picks SIP/HTTP/SIPp ports
try:
    lo, hi = map(int, open("/proc/sys/net/ipv4/ip_local_port_range").read().split())
except OSError:
    lo, hi = 32768, 60999
spans = [(s, e) for s, e in ((10000, lo - 1), (hi + 1, 65535)) if e - s >= n + 2]
if not spans:
    spans = [(1024, 65535)]
for _ in range(200):
    s, e = random.choice(spans)
    base = random.randrange(s, e - n) & ~1
    socks = []
    try:
        for p in range(base, base + n):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); socks.append(s); s.bind(("127.0.0.1", p))
    except OSError:
        continue
    finally:
        for s in socks: s.close()
    print(base); break
EOF
}

# ---------------------------------------------------------------- kefu lifecycle
KEFU_PID=
# start_kefu [extra args...]: start kefu serve in the background.
# Env knobs: KEFU_SIP_PORT (default: free), KEFU_RTP_RANGE (default: 200 free ports),
#            KEFU_DIALPLAN (name or file), KEFU_READY_TIMEOUT (30 s), KEFU_ARGS (extra words).
# Exports KEFU_SIP_PORT KEFU_HTTP_PORT KEFU_PID KEFU_DATA KEFU_LOG.
start_kefu() {
  [ -x "$KEFU_BIN" ] || die "kefu binary not found at $KEFU_BIN (set KEFU_BIN; build with cargo build --release)"
  KEFU_DATA="${KEFU_DATA:-$(mktemp -d /tmp/kefu-sip-test.XXXXXX)}"
  mkdir -p "$KEFU_DATA"
  KEFU_LOG="$KEFU_DATA/kefu.log"
  KEFU_SIP_PORT="${KEFU_SIP_PORT:-$(free_port both)}"
  KEFU_HTTP_PORT="${KEFU_HTTP_PORT:-$(free_port tcp)}"
  if [ -z "${KEFU_RTP_RANGE:-}" ]; then
    local base; base=$(free_port_range "${KEFU_RTP_COUNT:-200}")
    KEFU_RTP_RANGE="$base-$((base + ${KEFU_RTP_COUNT:-200} - 1))"
  fi
  local args=(serve --sip-listen "127.0.0.1:$KEFU_SIP_PORT" --rtp-ports "$KEFU_RTP_RANGE"
              --data-dir "$KEFU_DATA" --http-listen "127.0.0.1:$KEFU_HTTP_PORT")
  [ -n "${KEFU_DIALPLAN:-}" ] && args+=(--dialplan "$KEFU_DIALPLAN")
  # shellcheck disable=SC2206
  [ -n "${KEFU_ARGS:-}" ] && args+=($KEFU_ARGS)
  args+=("$@")
  log "starting: $KEFU_BIN ${args[*]}"
  # KEFU_LOG is the log file here; kefu reads its tracing filter from KEFU_LOG too, so pass
  # KEFU_FILTER (e.g. "info,kefu=debug") as that, or nothing.
  if [ -n "${KEFU_FILTER:-}" ]; then
    KEFU_LOG="$KEFU_FILTER" "$KEFU_BIN" "${args[@]}" >"$KEFU_LOG" 2>&1 &
  else
    env -u KEFU_LOG "$KEFU_BIN" "${args[@]}" >"$KEFU_LOG" 2>&1 &
  fi
  KEFU_PID=$!
  export KEFU_SIP_PORT KEFU_HTTP_PORT KEFU_PID KEFU_DATA KEFU_LOG KEFU_RTP_RANGE
  local deadline=$((SECONDS + ${KEFU_READY_TIMEOUT:-30}))
  while [ $SECONDS -lt $deadline ]; do
    if grep -q 'kefu ready sip=' "$KEFU_LOG" 2>/dev/null; then
      log "kefu ready (pid $KEFU_PID, sip $KEFU_SIP_PORT, http $KEFU_HTTP_PORT, rtp $KEFU_RTP_RANGE, data $KEFU_DATA)"
      return 0
    fi
    if ! kill -0 "$KEFU_PID" 2>/dev/null; then
      wait "$KEFU_PID"; local rc=$?
      echo "kefu exited (rc=$rc) before ready; log tail:" >&2; tail -n 40 "$KEFU_LOG" >&2
      KEFU_PID=; return 1
    fi
    sleep 0.2
  done
  echo "kefu not ready after ${KEFU_READY_TIMEOUT:-30}s; log tail:" >&2; tail -n 40 "$KEFU_LOG" >&2
  stop_kefu; return 1
}
# kefu_alive: the process we started is still running
kefu_alive() { [ -n "$KEFU_PID" ] && kill -0 "$KEFU_PID" 2>/dev/null; }
# stop_kefu: TERM the PID we started, KILL after 5 s, reap it.
stop_kefu() {
  [ -n "${KEFU_PID:-}" ] || return 0
  if kill -0 "$KEFU_PID" 2>/dev/null; then
    kill -TERM "$KEFU_PID" 2>/dev/null
    local i; for i in $(seq 50); do kill -0 "$KEFU_PID" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$KEFU_PID" 2>/dev/null && { warn "kefu $KEFU_PID ignored SIGTERM for 5 s; SIGKILL"; kill -KILL "$KEFU_PID" 2>/dev/null; }
  fi
  wait "$KEFU_PID" 2>/dev/null
  KEFU_PID=
}
# kefu_proc_stats: "rss_kb=.. hwm_kb=.. cpu_s=.." for the kefu we started
kefu_proc_stats() {
  local pid="${1:-$KEFU_PID}"
  python3 - "$pid" <<'EOF'
import os, sys
pid = sys.argv[1]
st = {}
for line in open(f"/proc/{pid}/status"):
    k, _, v = line.partition(":"); st[k] = v.strip()
f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
tck = os.sysconf("SC_CLK_TCK")
ut, stt = int(f[11]) / tck, int(f[12]) / tck
print(f"rss_kb={st.get('VmRSS','0 kB').split()[0]} hwm_kb={st.get('VmHWM','0 kB').split()[0]} "
      f"threads={st.get('Threads','?')} cpu_user_s={ut:.2f} cpu_sys_s={stt:.2f} cpu_s={ut+stt:.2f}")
EOF
}
# newest_recording: path of the most recently modified recording WAV (empty if none)
newest_recording() {
  ls -t "$KEFU_DATA"/recordings/*.wav 2>/dev/null | head -n1
}

# udp_drops: the host's UDP receive-buffer and memory drop counters (all sockets,
# kefu's and the load generator's): "RcvbufErrors=N InErrors=M".
udp_drops() {
  awk '/^Udp:/ { if (!h) { for (i = 1; i <= NF; i++) n[i] = $i; h = 1 } else { for (i = 1; i <= NF; i++) v[n[i]] = $i } }
       END { printf "RcvbufErrors=%s InErrors=%s\n", v["RcvbufErrors"], v["InErrors"] }' /proc/net/snmp
}

# kefu_socket_drops [PID]: datagrams the kernel dropped on kefu's own UDP sockets (receive
# buffer full), summed over the "drops" column of /proc/net/udp{,6} for the socket inodes that
# kefu holds open. This is "lost inside kefu": what arrived but kefu did not read in time.
kefu_socket_drops() {
  local pid="${1:-$KEFU_PID}"
  python3 - "$pid" <<'PYEOF'
import os, sys
pid = sys.argv[1]
inodes = set()
for fd in os.listdir(f"/proc/{pid}/fd"):
    try:
        t = os.readlink(f"/proc/{pid}/fd/{fd}")
    except OSError:
        continue
    if t.startswith("socket:["):
        inodes.add(t[8:-1])
drops = sockets = 0
for table in ("/proc/net/udp", "/proc/net/udp6"):
    try:
        lines = open(table).read().splitlines()[1:]
    except OSError:
        continue
    for l in lines:
        f = l.split()
        if len(f) >= 13 and f[9] in inodes:
            sockets += 1
            drops += int(f[12])
print(f"sockets={sockets} drops={drops}")
PYEOF
}

# ---------------------------------------------------------------- real recordings
# Debian's pocketsphinx-testdata (CMU, BSD-2-Clause; its LibriVox readings are public domain):
# the real speech the voice tests and benchmarks use. Installs it when missing; sets TESTDATA.
TESTDATA=/usr/share/pocketsphinx/test/data
ensure_testdata() {
  [ -f "$TESTDATA/goforward.raw" ] && [ -d "$TESTDATA/librivox" ] && return 0
  log "installing pocketsphinx-testdata (real recordings)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq pocketsphinx-testdata >/dev/null 2>&1 ||
    { apt-get update -qq >/dev/null 2>&1; apt-get install -y -qq pocketsphinx-testdata >/dev/null 2>&1; } ||
    die "apt-get install pocketsphinx-testdata failed"
}

# cut_turn_clips DIR: cuts the clips of audio/turns/clips.tsv (name, source, start, end) out of
# the recordings into DIR/NAME.wav, 8 kHz mono µ-law (sox); their paths go to the array CLIPS.
cut_turn_clips() {
  local dir=$1 name src start end _words in trim
  ensure_pkg sox sox
  ensure_testdata
  mkdir -p "$dir"
  CLIPS=()
  while IFS=$'\t' read -r name src start end _words; do
    case "$name" in ''|'#'*) continue ;; esac
    in=(); case "$src" in *.raw) in=(-t raw -r 16000 -e signed -b 16 -c 1) ;; esac
    trim=(trim "$start"); [ "$end" != "-" ] && trim+=("=$end")
    sox -V1 "${in[@]}" "$TESTDATA/$src" -r 8000 -c 1 -e u-law -b 8 "$dir/$name.wav" "${trim[@]}" ||
      die "sox failed on $src"
    CLIPS+=("$dir/$name.wav")
  done <"$SIPTEST_DIR/audio/turns/clips.tsv"
  log "${#CLIPS[@]} clips in $dir"
}

# write_bench_dialplan FILE: the voice benchmarks' dialplan: dialplans/speech.toml's engines and
# settings with a short fixed reply (REPLY, "Okay."), so that turns are quick, and no goodbye
# words, so that no clip can end the call. Env: VOICE, MODEL, END_OF_SPEECH_MS (600).
write_bench_dialplan() {
  cat >"$1" <<TOML
# voice benchmark: dialplans/speech.toml with a short fixed reply.
kind = "speech"
prompts = "$REPO_ROOT/dialplans/default/prompts"
answer_after_ms = 300

[speech]
language = "en"
voice = "${VOICE:-en_US-joe-medium}"
model = "${MODEL:-base-q8_0}"
greeting = "Hello, this is kefu. How can I help you?"
default_reply = "${REPLY:-Okay.}"
goodbye = "Goodbye."
goodbye_words = ["end the benchmark call now"]
no_input = "Are you still there?"
max_no_input = 5
fallback_prompt = "sorry"
barge_in = true
end_of_speech_ms = ${END_OF_SPEECH_MS:-600}
TOML
}
