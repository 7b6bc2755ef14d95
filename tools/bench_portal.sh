#!/usr/bin/env bash
# Times the portal's pages on a running node: the median and slowest of N sequential GETs of
# each page, in milliseconds. With COOKIE set (a signed-in session, `civitas_session=...`, taken
# from a browser's developer tools), also the signed-in pages.
#
#   tools/bench_portal.sh http://127.0.0.1:8080 [N]
set -euo pipefail
base=${1:?usage: tools/bench_portal.sh <node address> [requests per page]}
n=${2:-30}
year=$(curl -sf "$base/v1/status" | python3 -c 'import json,sys,datetime; print(datetime.datetime.fromtimestamp(json.load(sys.stdin)["timestamp"]/1000, datetime.timezone.utc).year)')
pages=(/ /explorer /verify "/spending/$year" "/spending/$year/agency/health" /procurement /procurement/tenders/1 /explorer/epochs/0)
if [[ -n "${COOKIE:-}" ]]; then pages+=(/account /console); fi
for page in "${pages[@]}"; do
  for _ in $(seq "$n"); do
    curl -s -o /dev/null -H "cookie: ${COOKIE:-}" -w "%{time_total}\n" "$base$page"
  done | sort -n | awk -v p="$page" '{a[NR]=$1} END {printf "%-34s median %6.1f ms  max %6.1f ms  (%d requests)\n", p, a[int((NR+1)/2)]*1000, a[NR]*1000, NR}'
done
