#!/bin/sh
# Screenshots of the web console's pages from a running kefu, to look at by
# eye: the dashboard, the call list, every report, agents, queues and
# dialplans, 1280x1000 each, taken by headless Chromium.
#
# Usage: sip-test/console-shot.sh http://127.0.0.1:8080 API_KEY [OUT_DIR]
# (OUT_DIR defaults to target/console-shots/live). Needs chromium. The
# supervisor floor is taken too (the key must be supervisor or admin).
#
# The agent desk with a screen-pop and the supervisor floor with a waiting
# caller need calls being offered; `sip-test/console-shot.sh desk` takes
# them from the console test's own desk (a stored Chinese handoff package,
# an offer, live lines, a queued caller) and writes
# target/console-shots/agent-desk.png and target/console-shots/supervisor.png.
set -eu

if [ "${1:-}" = desk ]; then
    cargo test -p kefu --test console agent_desk_and_supervisor_floor_follow_the_live_feed
    ls target/console-shots/agent-desk.png target/console-shots/supervisor.png
    exit 0
fi

base=${1:?usage: $0 HTTP_BASE API_KEY [OUT_DIR]}
key=${2:?usage: $0 HTTP_BASE API_KEY [OUT_DIR]}
out=${3:-target/console-shots/live}
chromium=${CHROMIUM:-chromium}

command -v "$chromium" >/dev/null 2>&1 || {
    echo "$chromium not found: apt-get install -y chromium" >&2
    exit 1
}
mkdir -p "$out"
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT

shot_url() { # NAME URL
    "$chromium" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
        --disable-background-networking --disable-component-update --disable-sync \
        --hide-scrollbars --user-data-dir="$profile" --window-size=1280,1000 \
        --virtual-time-budget=8000 --screenshot="$out/$1.png" "$2" 2>/dev/null
    echo "$out/$1.png"
}

shot() { # NAME ROUTE
    sep='?'
    case $2 in *\?*) sep='&' ;; esac
    shot_url "$1" "$base/console/#$2${sep}key=$key"
}

shot dashboard /
shot calls /calls
for r in calls containment transfers queues agents complaints csat campaigns quality; do
    shot "report-$r" "/reports/$r"
done
shot agents /agents
shot queues /queues
shot dialplans /dialplans
shot_url supervisor "$base/console/supervisor.html#key=$key"
shot_url agent-sign-in "$base/console/agent.html"
