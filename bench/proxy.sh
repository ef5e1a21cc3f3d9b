#!/usr/bin/env bash
# Route managers: how long one route change takes (add, remove) with 10, 100
# and 1000 live routes, through Caddy's admin API and through HAProxy's
# runtime map, and how many requests per second each proxy passes to the
# same upstream, next to that upstream served directly (the baseline).
#
# The proxies run from the configs `demux proxy config caddy|haproxy` prints,
# on loopback ports, with data in a temporary directory. The upstream is a
# one-thread HAProxy answering a fixed 200, so it is not the bottleneck.
# `make bench` builds ./demux and build/bench/proxy_bench first.
#
# Knobs: PROXY_BENCH_SIZES (10,100,1000), PROXY_BENCH_CHANGES_HAPROXY (500),
# PROXY_BENCH_CHANGES_CADDY (100), PROXY_BENCH_WRK ("-t2 -c32 -d10s").
# PROXY_BENCH_CADDY_BASELINE=PATH: a proxy_bench built from another commit;
# its Caddy changes are timed in the same run, each binary against a fresh
# Caddy, old and new twice in turn (PROXY_BENCH_ONLY=caddy skips the rest).
set -uo pipefail
cd "$(dirname "$0")/.."
DEMUX_ROOT=$PWD
. tests/lib/common.sh

BENCH=${PROXY_BENCH_BIN:-$DEMUX_ROOT/build/bench/proxy_bench}
SIZES=${PROXY_BENCH_SIZES:-10,100,1000}
CH_HAPROXY=${PROXY_BENCH_CHANGES_HAPROXY:-500}
CH_CADDY=${PROXY_BENCH_CHANGES_CADDY:-100}
WRK_ARGS=${PROXY_BENCH_WRK:--t2 -c32 -d10s}
BD=demo.localhost

ONLY=${PROXY_BENCH_ONLY:-}
BASELINE=${PROXY_BENCH_CADDY_BASELINE:-}
for need in caddy haproxy wrk "$BENCH" "$DEMUX_BIN" ${BASELINE:+"$BASELINE"}; do
	command -v "$need" >/dev/null || { echo "proxy: skipped, $need not found"; exit 0; }
done

# The map file goes on the disk (ext4 here, like /var/lib) and on tmpfs (like /run).
T_DIR=$(mktemp -d /tmp/demux-bench.XXXXXX)
SHM=$(mktemp -d /dev/shm/demux-bench.XXXXXX 2>/dev/null || mktemp -d)
bench_cleanup() {
	local p
	for p in "${_t_pids[@]}"; do stop_pid "$p"; done
	rm -rf "$T_DIR" "$SHM"
}
trap bench_cleanup EXIT

UP=$(free_port)
HA_PORT=$(free_port)
CADDY_PORT=$(free_port)
ADMIN_PORT=$(free_port)
FRONT=$(free_port)
SOCK=$T_DIR/haproxy.sock
MAP=$T_DIR/hosts.map
cat >"$T_DIR/demux.conf" <<EOF
[demux]
state_dir = $T_DIR
log_level = warn
[server]
listen = 127.0.0.1:$FRONT
base_domain = $BD
[proxy]
listen = 127.0.0.1:$HA_PORT
caddy_admin = http://127.0.0.1:$ADMIN_PORT
haproxy_socket = $SOCK
haproxy_map = $MAP
EOF
export DEMUX_CONFIG=$T_DIR/demux.conf

cat >"$T_DIR/upstream.cfg" <<EOF
global
	nbthread 1
defaults
	mode http
	timeout client 30s
	timeout connect 5s
	timeout server 30s
frontend upstream
	bind 127.0.0.1:$UP
	http-request return status 200 content-type text/plain string "ok"
EOF
haproxy -db -f "$T_DIR/upstream.cfg" >"$T_DIR/upstream.log" 2>&1 &
_t_pids+=("$!")
wait_for "upstream" 10 tcp_open "$UP" || exit 1

echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(uname -r), $(nproc) cpus, load $(cut -d" " -f1-3 /proc/loadavg), caddy $(caddy version | cut -d' ' -f1)," \
	"haproxy $(haproxy -v | head -1 | cut -d' ' -f3), $(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2)"
echo "# route changes: median / p95 in ms of each add and each remove of a probe route"

# fresh_haproxy MAPFILE: HAProxy from demux's config, with an empty map there.
HA_PID=
fresh_haproxy() {
	[ -n "$HA_PID" ] && stop_pid "$HA_PID"
	export DEMUX_PROXY_HAPROXY_MAP=$1
	rm -f "$1" "$SOCK"
	"$DEMUX_BIN" proxy config haproxy >"$T_DIR/haproxy.cfg" || exit 1
	install -m 644 /dev/null "$1"
	haproxy -W -db -f "$T_DIR/haproxy.cfg" >"$T_DIR/haproxy.log" 2>&1 &
	HA_PID=$!
	_t_pids+=("$HA_PID")
	wait_for "haproxy socket" 10 test -S "$SOCK" || { cat "$T_DIR/haproxy.log"; exit 1; }
}

b() { "$BENCH" --config "$DEMUX_CONFIG" --routes "$SIZES" "$@"; }

# fresh_caddy: Caddy from demux's config, no routes yet.
CADDY_PID=
fresh_caddy() {
	[ -n "$CADDY_PID" ] && stop_pid "$CADDY_PID"
	export DEMUX_PROXY_BACKEND=caddy DEMUX_PROXY_LISTEN=127.0.0.1:$CADDY_PORT
	"$DEMUX_BIN" proxy config caddy >"$T_DIR/caddy.json" || exit 1
	rm -rf "$T_DIR/caddy"
	mkdir -p "$T_DIR/caddy"
	HOME=$T_DIR/caddy XDG_DATA_HOME=$T_DIR/caddy XDG_CONFIG_HOME=$T_DIR/caddy \
		caddy run --config "$T_DIR/caddy.json" >"$T_DIR/caddy.log" 2>&1 &
	CADDY_PID=$!
	_t_pids+=("$CADDY_PID")
	wait_for "caddy admin" 20 curl -sf "http://127.0.0.1:$ADMIN_PORT/config/" || exit 1
}

if [ "$ONLY" = caddy ]; then
	[ -n "$BASELINE" ] || { echo "proxy: PROXY_BENCH_ONLY=caddy needs PROXY_BENCH_CADDY_BASELINE"; exit 1; }
	for round in 1 2; do
		fresh_caddy
		BENCH=$BASELINE b --changes "$CH_CADDY" --label "caddy, baseline $round"
		fresh_caddy
		b --changes "$CH_CADDY" --label "caddy, this build $round"
	done
	exit 0
fi

export DEMUX_PROXY_BACKEND=haproxy DEMUX_PROXY_LISTEN=127.0.0.1:$HA_PORT
fresh_haproxy "$MAP"
b --changes "$CH_HAPROXY" --raw-socket
fresh_haproxy "$MAP"
b --changes "$CH_HAPROXY" --label "haproxy map=disk+fsync" --fsync
fresh_haproxy "$MAP"
b --changes "$CH_HAPROXY" --label "haproxy map=disk"
fresh_haproxy "$SHM/hosts.map"
b --changes "$CH_HAPROXY" --label "haproxy map=tmpfs" --upstream "127.0.0.1:$UP"

fresh_caddy
b --changes "$CH_CADDY" --label "caddy" --upstream "127.0.0.1:$UP"
if [ -n "$BASELINE" ]; then
	fresh_caddy
	BENCH=$BASELINE b --changes "$CH_CADDY" --label "caddy, baseline"
fi

# Requests through each proxy, 1000 (or the largest size) routes live.
# r000000 was added first: Caddy matches routes in order and demux inserts
# each new one first, so it is Caddy's last route; the newest is its first.
last=$(printf 'r%06d' $((${SIZES##*,} - 1)))
rps() {
	local label=$1 url=$2 host=${3:-} out
	if [ -n "$host" ]; then
		out=$(wrk $WRK_ARGS -H "Host: $host" "$url" 2>&1)
	else
		out=$(wrk $WRK_ARGS "$url" 2>&1)
	fi
	if ! printf '%s\n' "$out" | grep -q '^Requests/sec'; then
		echo "$label: wrk failed: $(printf '%s' "$out" | tail -3)"
		return
	fi
	if printf '%s\n' "$out" | grep -q 'Non-2xx'; then
		echo "$label: non-2xx answers: $(printf '%s\n' "$out" | grep Non-2xx)"
	fi
	printf '%-44s %10s req/s   latency avg %s\n' "$label" \
		"$(printf '%s\n' "$out" | awk '/^Requests\/sec/ {print $2}')" \
		"$(printf '%s\n' "$out" | awk '$1 == "Latency" {print $2}')"
}
echo "# requests per second, wrk $WRK_ARGS, same upstream"
rps "direct to upstream (baseline)" "http://127.0.0.1:$UP/"
rps "haproxy, first route added (r000000)" "http://127.0.0.1:$HA_PORT/" "r000000.$BD"
rps "haproxy, last route added ($last)" "http://127.0.0.1:$HA_PORT/" "$last.$BD"
rps "caddy, first route added (r000000)" "http://127.0.0.1:$CADDY_PORT/" "r000000.$BD"
rps "caddy, last route added ($last)" "http://127.0.0.1:$CADDY_PORT/" "$last.$BD"
