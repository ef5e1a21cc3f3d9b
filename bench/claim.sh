#!/usr/bin/env bash
# How long a visitor waits for a demo when the pool is warm: POST
# /api/v1/demos through Caddy to a real `demux serve` whose pool holds READY
# copies of the shop-fixture template, side by side with GET / of the front
# door (the baseline: the landing page, through the same proxy and server,
# without a claim) and GET /healthz (which also checks the store, Podman and
# the proxy), and with the first page of each claimed demo (the shop itself,
# through the proxy). Each claim takes one READY copy, so the pool is filled
# with N first and the claims are timed one after another.
#   bash bench/claim.sh          (N=8 by default: DEMUX_BENCH_CLAIMS=N)
set -uo pipefail
cd "$(dirname "$0")/.."
export DEMUX_ROOT=$PWD
. tests/lib/common.sh
t_init
N=${DEMUX_BENCH_CLAIMS:-8}
BIN=$DEMUX_ROOT/demux
[ -x "$BIN" ] || { echo "skipped: ./demux is not built (make)"; exit 0; }
t_on_exit "podman ps -aq --filter label=demux.bench=claim | xargs -r podman rm -f -t 0"
need_podman_service || exit 1
bash scripts/build-image shop-fixture >"$T_DIR/build-image.log" 2>&1 || { tail -5 "$T_DIR/build-image.log"; exit 1; }
start_caddy || exit 1
PROXY_PORT=$(free_port)
API_PORT=$(free_port)
BD=demo.localhost
head -c 32 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 32 >"$T_DIR/admin-token"
chmod 600 "$T_DIR/admin-token"
cat >"$T_DIR/demux.conf" <<CONF
[demux]
state_dir = $T_DIR/state
[server]
listen = 127.0.0.1:$API_PORT
base_domain = $BD
public_port = $PROXY_PORT
admin_token_file = $T_DIR/admin-token
claims_per_ip_per_minute = 1000
[podman]
socket = $DEMUX_TEST_PODMAN_SOCKET
[proxy]
backend = caddy
caddy_admin = $CADDY_ADMIN
listen = 127.0.0.1:$PROXY_PORT
[pool bench]
min_ready = $N
max_instances = $((N + 1))
provision_concurrency = 2
ttl = 10m
port_min = 45000
port_max = 45199
CONF
"$BIN" template create --config "$T_DIR/demux.conf" --name bench \
	--image localhost/demux/shop-fixture:latest --label demux.bench=claim >"$T_DIR/template.log" 2>&1 ||
	{ tail -5 "$T_DIR/template.log"; exit 1; }
"$BIN" serve --config "$T_DIR/demux.conf" >"$T_DIR/serve.log" 2>&1 &
_t_pids+=("$!")
wait_for "demux serve" 30 curl -sf -H "Host: $BD" "http://127.0.0.1:$PROXY_PORT/healthz" || exit 1
ready() {
	curl -s -H "Host: $BD" -H "Authorization: Bearer $(cat "$T_DIR/admin-token")" \
		"http://127.0.0.1:$PROXY_PORT/api/v1/pool" |
		python3 -c 'import json,sys; sys.exit(0 if json.load(sys.stdin)["pools"][0]["ready"] >= int(sys.argv[1]) else 1)' "$N"
}
wait_for "$N ready copies" 300 ready || exit 1

printf '# %s %s cores, load %s, %d claims, pool warm (%d ready)\n' "$(date -u +%FT%TZ)" "$(nproc)" \
	"$(cut -d' ' -f1-3 /proc/loadavg)" "$N" "$N"
lp=() hz=() cl=() pg=()
for i in $(seq 1 "$N"); do
	lp+=("$(curl -s -o /dev/null -w '%{time_total}' -H "Host: $BD" "http://127.0.0.1:$PROXY_PORT/")")
	hz+=("$(curl -s -o /dev/null -w '%{time_total}' -H "Host: $BD" "http://127.0.0.1:$PROXY_PORT/healthz")")
	out=$(curl -s -o "$T_DIR/claim" -w '%{http_code} %{time_total}' -X POST -H "Host: $BD" \
		"http://127.0.0.1:$PROXY_PORT/api/v1/demos")
	[ "${out%% *}" = 201 ] || { echo "claim $i answered ${out%% *}: $(cat "$T_DIR/claim")"; exit 1; }
	cl+=("${out#* }")
	id=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$T_DIR/claim")
	pg+=("$(curl -s -o /dev/null -w '%{time_total}' -H "Host: $id.$BD:$PROXY_PORT" "http://127.0.0.1:$PROXY_PORT/")")
done
summary() { # LABEL SECONDS...
	local label=$1
	shift
	printf '%s\n' "$@" | sort -n | awk -v n="$#" -v l="$label" '
		{ v[NR] = $1 * 1000 } END {
			printf "%-40s n=%-3d median=%8.2f  min=%8.2f  max=%8.2f ms\n",
				l, n, v[int((n + 1) / 2)], v[1], v[n] }'
}
summary "GET / front page via caddy (baseline)" "${lp[@]}"
summary "GET /healthz via caddy" "${hz[@]}"
summary "POST /api/v1/demos via caddy (claim)" "${cl[@]}"
summary "the claimed demo's first page via caddy" "${pg[@]}"
