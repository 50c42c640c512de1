#!/usr/bin/env bash
# Throughput and latency of a real server under wrk (Debian package `wrk`), one endpoint per API,
# each with the platform's own credentials. Usage: bash bench/load.sh [seconds] [connections]
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-15}
CONNECTIONS=${2:-32}
PORT=${PORT:-18080}
BASE="http://127.0.0.1:$PORT"
PY=${PYTHON:-python3}

"$PY" -m instancemock serve --port "$PORT" --seed 1 --now 2026-01-01T00:00:00Z --log-level WARNING &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; wait $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 200); do curl -sf "$BASE/__admin/health" >/dev/null && break; sleep 0.05; done

json() { "$PY" -c "import json,sys; print(json.load(sys.stdin)$1)"; }
KIANDA=$(curl -s "$BASE/kianda/Token" -d username=admin@acme.ie -d 'password=Kianda-Admin-2026!' \
  -d grant_type=password -d scope=3f6c2a9e-8b1d-4e7a-9c52-0d4b7e1a6f83 | json '["access_token"]')
TICKET=$(curl -s "$BASE/barium/api/v1.1/Authenticate" -d apikey=2f9d8c7b-6a5e-4d3c-b2a1-0f9e8d7c6b5a \
  -d username=anna.berg@nordvik.se -d 'password=Sommar2024!')  # the bare ticket (text/plain)
ALTINN=$(curl -s "$BASE/altinn/testtools/api/GetEnterpriseToken?env=tt02&org=ttd&orgNo=991825827&scopes=altinn:serviceowner/instances.read")

run() {
  local name=$1 header=$2 url=$3
  echo "== $name: GET ${url#"$BASE"}"
  wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency -H "$header" "$url" | grep -E "Requests/sec|Latency|50%|99%|Non-2xx"
}
run health "X-None: 1" "$BASE/__admin/health"
run kianda "Authorization: Bearer $KIANDA" "$BASE/kianda/api/instances/training-approval-request-1"
run barium "ticket: $TICKET" "$BASE/barium/api/v1.1/Instances?Status=active&Max=20"
run altinn-storage "Authorization: Bearer $ALTINN" "$BASE/altinn/storage/api/v1/instances?org=ttd&size=20"
