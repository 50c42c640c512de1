#!/bin/bash
# Server CPU time per request: robust to a loaded machine, where req/s is not.
#   bench/cpu_per_request.sh PID URL ['Header: value'] [SECONDS]
#   LUA=script.lua bench/cpu_per_request.sh PID URL   # requests built by a wrk Lua script (a PUT, a
#                                                       stream): bench/harness/script.py prints a scenario's
# Reads the server process's utime+stime (/proc/PID/stat) around one `wrk -t1 -c16` run and
# divides by the requests wrk completed; prints microseconds per request (and any non-2xx count).
set -euo pipefail
pid=$1
url=$2
header=${3:-"X-Bench: 1"}
seconds=${4:-6}
ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
hz=$(getconf CLK_TCK)
before=$(ticks)
script=()
if [[ -n ${LUA:-} ]]; then
  script=(-s "$LUA")
fi
out=$(wrk -t1 -c16 -d"${seconds}s" -H "$header" "${script[@]}" "$url")
after=$(ticks)
requests=$(echo "$out" | awk '/requests in/ {print $1}')
echo "$out" | grep -q "Non-2xx" && echo "$out" | grep "Non-2xx"
python3 -c "print(f'{($after - $before) * 1e6 / $hz / $requests:.0f} us/req over $requests requests')"
