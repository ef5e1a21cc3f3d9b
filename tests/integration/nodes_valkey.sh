#!/usr/bin/env bash
# Two "demux serve" nodes on this machine (node-a, node-b: their own state
# directories, listeners and port ranges) sharing one real Valkey (or Redis)
# server with a password and one Caddy, with real Podman + CRIU and the
# shop-fixture template.
#
# 1. min_ready and max_instances hold for the pool as a whole.
# 2. Concurrent claims (through the front door and at each node's own
#    listener): every copy handed out once, copies of both nodes used, each
#    demo's URL answers 200 through the shared proxy.
# 3. node-b killed with SIGKILL: within its heartbeat timeout node-a removes
#    node-b's routes and records; node-a's demos keep answering.
# 4. node-b started again: its reconciliation removes its orphaned containers.
# 5. The store server stopped for 10 s: claims answer 503 with reason
#    "dependency" and /healthz says degraded; after it is back both nodes
#    hand out demos again without a restart, and no copy was ever handed
#    out twice.
set -uo pipefail
. "$(dirname "$0")/../lib/common.sh"
t_init

[ -x "$DEMUX_BIN" ] || t_skip_all "demux is not built ($DEMUX_BIN)"
command -v caddy >/dev/null || t_skip_all "caddy is not installed"
command -v podman >/dev/null || t_skip_all "podman is not installed"
command -v valkey-server >/dev/null || command -v redis-server >/dev/null ||
	t_skip_all "neither valkey-server nor redis-server is installed"
t_remove_containers_at_exit nodes_valkey

TEMPLATE=nodeshop
BD=demo.localhost
HB=6 # heartbeat_timeout, seconds
MIN_READY=3
MAX_INSTANCES=8
P=demux: # redis_key_prefix (the default)

need_podman_service || { t_fail "podman service starts"; t_done; }
if ! bash "$DEMUX_ROOT/scripts/build-image" shop-fixture >"$T_DIR/build-image.log" 2>&1; then
	t_fail "build the shop-fixture image" "$(tail -5 "$T_DIR/build-image.log")"
	t_done
fi
start_caddy || { t_fail "caddy starts" "$(tail -5 "$T_DIR/caddy/caddy.log")"; t_done; }
start_store_server || { t_fail "store server starts" "$(tail -5 "$T_DIR/store/server.log")"; t_done; }
echo "# store server: $("$STORE_SERVER" --version | head -1)"

serve_setup
declare -A LISTEN PORT_MIN PID
LISTEN[a]=$API_PORT
LISTEN[b]=$(free_port)
PORT_MIN[a]=47000
PORT_MIN[b]=47100

# write_conf NODE: the node's configuration; everything but the state
# directory, listener, node name and port range is shared.
write_conf() {
	local n=$1
	{
		serve_conf_head | sed -e "s|^state_dir = .*|state_dir = $T_DIR/state-$n|" \
			-e "s|^listen = 127.0.0.1:$API_PORT|listen = 127.0.0.1:${LISTEN[$n]}|" \
			-e "s|^claims_per_ip_per_minute = .*|claims_per_ip_per_minute = 1000\nmax_active_per_client = 50|"
		cat <<CONF
front_upstreams = 127.0.0.1:${LISTEN[a]} 127.0.0.1:${LISTEN[b]}
[store]
backend = valkey
redis_host = 127.0.0.1
redis_port = $STORE_PORT
redis_password_file = $T_DIR/store-password
node_name = node-$n
node_address = 127.0.0.1
heartbeat_timeout = ${HB}s
[pool $TEMPLATE]
min_ready = $MIN_READY
max_instances = $MAX_INSTANCES
provision_concurrency = 2
ttl = 30m
port_min = ${PORT_MIN[$n]}
port_max = $((PORT_MIN[$n] + 99))
CONF
	} >"$T_DIR/node-$n.conf"
}
write_conf a
write_conf b
t_check "both configurations pass demux config check" \
	bash -c "'$DEMUX_BIN' config check --config '$T_DIR/node-a.conf' && '$DEMUX_BIN' config check --config '$T_DIR/node-b.conf'"

if ! "$DEMUX_BIN" template create --config "$T_DIR/node-a.conf" --name "$TEMPLATE" \
	--image localhost/demux/shop-fixture:latest --label demux.test=nodes_valkey \
	>"$T_DIR/template.log" 2>&1; then
	t_fail "demux template create" "$(tail -5 "$T_DIR/template.log")"
	t_done
fi
# The same template on the second node (as a copy of its directory would be
# on another host).
mkdir -p "$T_DIR/state-b/templates"
cp -a "$T_DIR/state-a/templates/$TEMPLATE" "$T_DIR/state-b/templates/"

start_node() {
	local n=$1
	"$DEMUX_BIN" serve --config "$T_DIR/node-$n.conf" >>"$T_DIR/serve-$n.log" 2>&1 &
	PID[$n]=$!
	_t_pids+=("${PID[$n]}")
}
node_healthy() { curl -sf -H "Host: $BD" "http://127.0.0.1:${LISTEN[$1]}/healthz" >/dev/null; }
rcount() { store_cli "$@" 2>/dev/null; }
ready_count() { rcount ZCARD "${P}ready:$TEMPLATE"; }
records() { rcount SCARD "${P}all"; }
# node_of ID: the node holding a record ("" when there is none).
node_of() { rcount HGET "${P}i:$1" node; }
ids_of_node() {
	local id
	for id in $(rcount SMEMBERS "${P}all"); do
		[ "$(node_of "$id")" = "node-$1" ] && echo "$id"
	done
}
routes() { curl -s "$CADDY_ADMIN/config/apps/http/servers/demux/routes"; }
# claim URL_PORT HOST_HEADER OWNER_IP: one POST; prints "CODE ID REASON".
claim() {
	local out code
	out=$(curl -s -m 30 -o - -w '\n%{http_code}' -X POST -H "Host: $2" \
		-H "X-Forwarded-For: $3" \
		"http://127.0.0.1:$1/api/v1/demos")
	code=${out##*$'\n'}
	python3 -c 'import json,sys
try: d = json.loads(sys.argv[1])
except Exception: d = {}
print(sys.argv[2], d.get("id") or "-", d.get("reason") or "-")' "${out%$'\n'*}" "$code"
}
# claim_until_201 URL_PORT HOST_HEADER OWNER_IP TIMEOUT: retries 202 and 503
# until a demo is handed out; prints its id, or nothing.
claim_until_201() {
	local end=$((SECONDS + $4)) r
	while [ "$SECONDS" -lt "$end" ]; do
		r=$(claim "$1" "$2" "$3")
		case $r in
		"201 "*) echo "$r" | awk '{print $2}'; return 0 ;;
		esac
		sleep 1
	done
	return 1
}
demo_answers() {
	[ "$(curl -s -m 20 -o /dev/null -w '%{http_code}' -H "Host: $1.$BD:$PROXY_PORT" \
		"http://127.0.0.1:$PROXY_PORT/")" = 200 ]
}
# demo_state ID: what the store, the proxy and Podman hold for a demo, for
# a failure's message.
demo_state() {
	local route=no ctr
	case $(routes) in *"\"$1.$BD\""*) route=yes ;; esac
	ctr=$(podman container inspect -f '{{.State.Status}}' "demux-$1" 2>/dev/null || echo missing)
	echo "$1: node=$(node_of "$1") state=$(rcount HGET "${P}i:$1" state) route=$route container=$ctr"
}
ALL_CLAIMS=$T_DIR/all-claims

# --- 1. two nodes fill one pool -------------------------------------------------
start_node a
start_node b
wait_for "node-a" 60 node_healthy a || t_fail "node-a starts" "$(tail -5 "$T_DIR/serve-a.log")"
wait_for "node-b" 60 node_healthy b || t_fail "node-b starts" "$(tail -5 "$T_DIR/serve-b.log")"
t_eq "both nodes registered with a heartbeat" "$(rcount EXISTS "${P}node:node-a" "${P}node:node-b")" 2
filled() { [ "$(ready_count)" -ge "$MIN_READY" ]; }
if wait_for "$MIN_READY ready copies in the shared pool" 120 filled; then
	t_ok "the shared pool reaches min_ready ($MIN_READY)"
else
	t_fail "the shared pool reaches min_ready" "ready=$(ready_count) records=$(records)" "$(grep -E 'level=(warn|error)' "$T_DIR"/serve-*.log | tail -5)"
fi
sleep 4 # both nodes' workers have had time to add more if they counted per node
t_eq "min_ready holds for the pool, not per node: $MIN_READY records in all" "$(records)" "$MIN_READY"

front=$(curl -s "$CADDY_ADMIN/id/demux.front")
t_match "the front door balances over both nodes' listeners" "$front" \
	"127.0.0.1:${LISTEN[a]}.*127.0.0.1:${LISTEN[b]}"

# --- 2. concurrent claims -------------------------------------------------------------
N=7
CLIENTS=()
: >"$ALL_CLAIMS"
for i in $(seq 1 "$N"); do
	case $((i % 3)) in
	0) port=$PROXY_PORT ;; # the front door
	1) port=${LISTEN[a]} ;;
	2) port=${LISTEN[b]} ;;
	esac
	claim_until_201 "$port" "$BD" "127.0.0.$((20 + i))" 150 >"$T_DIR/claim-$i" &
	CLIENTS+=("$!")
done
wait "${CLIENTS[@]}" # not the servers this test started
cat "$T_DIR"/claim-* >"$T_DIR/round1"
cat "$T_DIR/round1" >>"$ALL_CLAIMS"
t_eq "$N concurrent claims each got a demo" "$(grep -c . "$T_DIR/round1")" "$N"
t_eq "no copy handed out twice" "$(sort "$T_DIR/round1" | uniq -d | wc -l)" 0
nodes_used=$(for id in $(cat "$T_DIR/round1"); do node_of "$id"; done | sort -u | tr '\n' ' ')
t_eq "copies of both nodes were handed out" "$nodes_used" "node-a node-b "
bad=
for id in $(cat "$T_DIR/round1"); do
	demo_answers "$id" || { bad="$bad $id" && echo "# $(demo_state "$id")"; }
done
t_eq "every demo answers 200 through the shared proxy" "$bad" ""
t_check "no more than max_instances ($MAX_INSTANCES) records" bash -c "[ $(records) -le $MAX_INSTANCES ]"

status=$("$DEMUX_BIN" status --config "$T_DIR/node-a.conf" 2>&1)
t_match "demux status shows both nodes" "$status" \
	"node node-a \(this one\) at 127.0.0.1: alive.*node node-b at 127.0.0.1: alive"
metrics=$(curl -s -H "Host: $BD" "http://127.0.0.1:${LISTEN[b]}/metrics")
t_match "/metrics has per-node figures" "$metrics" \
	'demux_node_up\{node="node-a",self="false"\} 1'
b_claimed=$(printf '%s\n' "$metrics" | awk '$1 == "demux_node_instances{node=\"node-b\",state=\"claimed\"}" { print $2 }')
want=0
for id in $(cat "$T_DIR/round1"); do [ "$(node_of "$id")" = node-b ] && want=$((want + 1)); done
t_eq "node-b's claimed copies in /metrics match the store" "$b_claimed" "$want"

# --- 3. node-b killed ---------------------------------------------------------------
mapfile -t B_IDS < <(ids_of_node b)
mapfile -t A_CLAIMED < <(for id in $(cat "$T_DIR/round1"); do [ "$(node_of "$id")" = node-a ] && echo "$id"; done)
echo "# node-b held ${#B_IDS[@]} copies: ${B_IDS[*]}"
kill -9 "${PID[b]}"
wait "${PID[b]}" 2>/dev/null
killed_at=$SECONDS
b_gone() {
	[ -z "$(ids_of_node b)" ] || return 1
	local r id
	r=$(routes)
	for id in "${B_IDS[@]}"; do
		case $r in *"\"$id.$BD\""*) return 1 ;; esac
	done
}
if wait_for "node-a to remove node-b's copies" $((2 * HB + 5)) b_gone; then
	took=$((SECONDS - killed_at))
	echo "# node-b's copies were removed $took s after the kill"
	# SECONDS counts whole seconds: one more for its rounding, one for polling.
	t_check "node-a removed node-b's routes and records within heartbeat_timeout (${HB}s): ${took}s" \
		test "$took" -le $((HB + 2))
else
	t_fail "node-a removed node-b's routes and records" "left: $(ids_of_node b | tr '\n' ' ')"
fi
t_match "node-a logged node-b as lapsed" "$(cat "$T_DIR/serve-a.log")" "node lapsed node=node-b"
bad=
for id in "${A_CLAIMED[@]}"; do demo_answers "$id" || bad="$bad $id"; done
t_eq "node-a's demos still answer" "$bad" ""
left=0
for id in "${B_IDS[@]}"; do podman container exists "demux-$id" && left=$((left + 1)); done
echo "# node-b's containers still there while it is down: $left of ${#B_IDS[@]}"

# --- 4. node-b back -----------------------------------------------------------------
start_node b
wait_for "node-b again" 60 node_healthy b || t_fail "node-b starts again" "$(tail -5 "$T_DIR/serve-b.log")"
orphans_gone() {
	local id
	for id in "${B_IDS[@]}"; do podman container exists "demux-$id" && return 1; done
	return 0
}
if [ "${#B_IDS[@]}" -gt 0 ] && wait_for "node-b's orphans removed" 30 orphans_gone; then
	t_ok "node-b's reconciliation removed its ${#B_IDS[@]} orphaned containers"
else
	t_fail "node-b's reconciliation removed its orphaned containers" "$(grep reconcile "$T_DIR/serve-b.log" | tail -5)"
fi

# Every ready or claimed copy, of either node, still has its route: node-b's
# start (its front door, its reconciliation) took nothing of node-a's.
# The records first, then the routes: a route exists before its record
# says ready and goes only after it says releasing.
live() {
	local st
	st=$(rcount HGET "${P}i:$1" state)
	[ "$st" = ready ] || [ "$st" = claimed ]
}
unrouted() {
	local ids=() id r
	for id in $(rcount SMEMBERS "${P}all"); do live "$id" && ids+=("$id"); done
	r=$(routes)
	for id in "${ids[@]}"; do
		case $r in *"\"$id.$BD\""*) continue ;; esac
		live "$id" && demo_state "$id" # not released meanwhile
	done
}
t_eq "after node-b's restart every ready or claimed copy has its route" "$(unrouted)" ""

# --- 5. the store server down for 10 s ----------------------------------------------------
# The demos claimed so far are ended first but one of node-a's (whose
# record must outlive the outage): copies of node-a claimed in the rounds
# above (node-b's went with its lapse) could otherwise hold max_instances,
# and the claims after the outage would find the pool full.
KEPT=("${A_CLAIMED[@]:0:1}")
for id in $(rcount SMEMBERS "${P}all"); do
	[ "$(rcount HGET "${P}i:$id" state)" = claimed ] || continue
	[ "$id" = "${KEPT[0]:-}" ] && continue
	curl -s -o /dev/null -m 30 -X DELETE -H "Host: $BD" -H "Authorization: Bearer $TOKEN" \
		"http://127.0.0.1:${LISTEN[a]}/api/v1/demos/$id"
done
wait_for "the pool to refill" 90 filled
stop_pid "$STORE_PID"
down_at=$SECONDS
r_front=$(claim "$PROXY_PORT" "$BD" 127.0.0.40)
r_b=$(claim "${LISTEN[b]}" "$BD" 127.0.0.41)
t_match "a claim during the outage answers 503, reason dependency" "$r_front" "^503 - dependency$"
t_match "at node-b too" "$r_b" "^503 - dependency$"
code=$(curl -s -o "$T_DIR/health" -w '%{http_code}' -H "Host: $BD" -H "Authorization: Bearer $TOKEN" \
	"http://127.0.0.1:${LISTEN[a]}/healthz")
t_eq "/healthz answers 503 while the store is down" "$code" 503
t_match "/healthz names the store" "$(cat "$T_DIR/health")" '"store": *\{[^}]*"ok": *false'
sleep $((10 - (SECONDS - down_at)))
restart_store_server || t_fail "store server starts again"
up_at=$SECONDS
: >"$T_DIR/round2"
CLIENTS=()
for n in a b a b; do
	claim_until_201 "${LISTEN[$n]}" "$BD" "127.0.0.5$((RANDOM % 10))" 90 >>"$T_DIR/round2" &
	CLIENTS+=("$!")
done
wait "${CLIENTS[@]}"
t_eq "both nodes hand out demos again without a restart" "$(grep -c . "$T_DIR/round2")" 4
echo "# first claims after the store came back took $((SECONDS - up_at)) s"
cat "$T_DIR/round2" >>"$ALL_CLAIMS"
t_eq "no copy handed out twice over the whole test" "$(sort "$ALL_CLAIMS" | uniq -d | wc -l)" 0
bad=
for id in $(cat "$T_DIR/round2"); do
	demo_answers "$id" || { bad="$bad $id" && echo "# $(demo_state "$id")"; }
done
t_eq "the demos handed out after the outage answer 200" "$bad" ""
healthy_both() { node_healthy a && node_healthy b; }
t_check "both nodes' /healthz is 200 again" wait_for "healthz" 20 healthy_both
bad=
for id in "${KEPT[@]}"; do
	[ -n "$(node_of "$id")" ] || bad="$bad $id"
done
t_eq "no node lost its records to the outage (${#KEPT[@]} claimed copy of node-a kept over it)" "$bad" ""

t_eq "at the end every ready or claimed copy has its route" "$(unrouted)" ""

# --- the end --------------------------------------------------------------------------
for n in a b; do
	kill -TERM "${PID[$n]}"
	wait "${PID[$n]}"
	t_eq "node-$n stops with status 0" "$?" 0
done
for n in a b; do cp "$T_DIR/serve-$n.log" "${DEMUX_TEST_OUT:-/tmp}/nodes_valkey.serve-$n.log" 2>/dev/null; done
t_done
