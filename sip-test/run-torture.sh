#!/usr/bin/env bash
# sip-test/run-torture.sh: RFC 4475 / RFC 5118 torture messages against a real kefu.
#
#   KEFU_BIN=target/debug/kefu sip-test/run-torture.sh [torture.py options, e.g. --only wsinv -v]
#
# Runs kefu and sip-test/torture.py inside a private network namespace that has only
# loopback (unshare -n; needs root), so the RTP kefu starts towards the fixtures' SDP
# addresses (192.0.2.x, example.com) goes nowhere. Falls back to the host's loopback
# with a warning when unshare is not possible (the RTP then leaves via the default route!
# set TORTURE_NO_FALLBACK=1 to fail instead).
# kefu listens on a free port that is not one of the fixtures' Via ports (5060, 5050, 5070,
# 6050, 19823), where torture.py listens for responses sent per RFC 3261 18.2.2.
# Manifest: $SIP_TORTURE_MANIFEST (default /work/shared/sip-torture/manifest.tsv).
# Last line: "N passed, M failed"; exit 1 on any failure.
set -u
. "$(dirname "$0")/lib.sh"

if [ "${1:-}" != "--inside-netns" ]; then
  if command -v unshare >/dev/null && command -v ip >/dev/null && unshare -n true 2>/dev/null; then
    exec unshare -n -- bash "$0" --inside-netns "$@"
  fi
  [ -n "${TORTURE_NO_FALLBACK:-}" ] && die "unshare -n not possible (root? CAP_SYS_ADMIN?)"
  warn "unshare -n not possible: running on the host loopback; kefu may send RTP to the fixtures' SDP addresses"
else
  shift
  ip link set lo up || die "ip link set lo up failed inside the namespace"
  log "in a private network namespace: $(ip -o addr show lo | awk '{print $4}' | tr '\n' ' ')"
fi

# responses go to the Via ports: kefu must not sit on one of them
KEFU_SIP_PORT="${KEFU_SIP_PORT:-$(free_port both)}"
case " 5060 5050 5070 6050 19823 " in *" $KEFU_SIP_PORT "*) die "KEFU_SIP_PORT=$KEFU_SIP_PORT is a fixture Via port" ;; esac
export KEFU_SIP_PORT

trap 'stop_kefu' EXIT
trap 'exit 130' INT TERM
start_kefu || { echo "0 passed, 1 failed"; exit 1; }

python3 "$SIPTEST_DIR/torture.py" --server "127.0.0.1:$KEFU_SIP_PORT" "$@" | tee "$KEFU_DATA/torture.out"
rc=${PIPESTATUS[0]}

if ! kefu_alive; then
  echo "kefu (pid $KEFU_PID) is no longer running; log tail:"; tail -n 40 "$KEFU_LOG"
  rc=1
fi
if [ $rc -ne 0 ]; then
  echo "kefu log: $KEFU_LOG (kept)"; trap - EXIT; stop_kefu
fi
exit $rc
