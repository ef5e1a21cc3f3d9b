#!/usr/bin/env bash
# Dependencies going down under "demux serve" (real Podman + CRIU, Caddy,
# the shop-fixture template), one at a time, and coming back:
#   podman    the test's own Podman service (its own socket) is stopped
#   proxy     Caddy is stopped (admin API and visitors' port); it comes back
#             with --resume, the way a service manager restarts it
#   database  the copies' MariaDB refuses the post-restore hook (the template's
#             database password no longer matches; demux restarted on it)
#   disk      the state directory (a tmpfs of its own) is full
# For each: a claim with nothing ready answers 503, reason "dependency",
# naming it; /healthz (admin) names it; once it is back the pool refills
# and a claim gets a demo that answers. After the full disk, SQLite's
# integrity_check passes. The API is called on demux's own port, since the
# proxy is one of the things that goes away.
set -uo pipefail
. "$(dirname "$0")/../lib/common.sh"
t_init

need_serve_stack
[ "$(id -u)" = 0 ] || t_skip_all "mounting the state directory's tmpfs needs root"
t_remove_containers_at_exit dependency_down

TEMPLATE=depshop
BD=demo.localhost

if ! bash "$DEMUX_ROOT/scripts/build-image" shop-fixture >"$T_DIR/build-image.log" 2>&1; then
	t_fail "build the shop-fixture image" "$(tail -5 "$T_DIR/build-image.log")"
	t_done
fi
# Our own Podman service, which this test stops and starts.
OWN_SOCK=$T_DIR/podman-own.sock
start_own_podman() {
	podman system service --time=0 "unix://$OWN_SOCK" >>"$T_DIR/podman-own.log" 2>&1 &
	OWN_PODMAN_PID=$!
	_t_pids+=("$OWN_PODMAN_PID")
	wait_for "own podman service" 30 curl -sf --unix-socket "$OWN_SOCK" http://d/v5.0.0/libpod/_ping
}
start_own_podman || { t_fail "own podman service starts"; t_done; }
start_caddy || { t_fail "caddy starts" "$(tail -5 "$T_DIR/caddy/caddy.log")"; t_done; }
serve_setup
DEMUX_TEST_PODMAN_SOCKET=$OWN_SOCK

mkdir -p "$T_DIR/state"
mount -t tmpfs -o size=400m,mode=0700 demux-test-state "$T_DIR/state" ||
	{ t_fail "mount a tmpfs for the state directory"; t_done; }
t_on_exit "umount -l '$T_DIR/state'"

{
	serve_conf_head
	cat <<CONF
[pool $TEMPLATE]
min_ready = 1
max_instances = 3
provision_concurrency = 1
ttl = 10m
port_min = 47100
port_max = 47199
CONF
} >"$T_DIR/demux.conf"
shop_template "$TEMPLATE" dependency_down

SERVE_PID=
start_serve() {
	"$DEMUX_BIN" serve --config "$T_DIR/demux.conf" >>"$T_DIR/serve.log" 2>&1 &
	SERVE_PID=$!
	_t_pids+=("$SERVE_PID")
	wait_for "demux serve" 30 curl -s -o /dev/null -H "Host: $BD" "http://127.0.0.1:$API_PORT/healthz"
}
stop_serve() { stop_pid "$SERVE_PID"; }

# api METHOD PATH [TOKEN]: on demux's own port; sets CODE and RESP.
api() {
	local args=(-s -m 60 -o "$T_DIR/resp" -w '%{http_code}' -X "$1" -H "Host: $BD")
	[ -n "${3:-}" ] && args+=(-H "Authorization: Bearer $3")
	CODE=$(curl "${args[@]}" "http://127.0.0.1:$API_PORT$2")
	RESP=$(cat "$T_DIR/resp")
}
jf() { json_field "$1" "${2:-$RESP}"; }
ready_count() {
	api GET /api/v1/pool "$TOKEN"
	python3 -c 'import json,sys; print(json.loads(sys.argv[1])["pools"][0]["ready"])' "$RESP" 2>/dev/null
}
pool_ready() { [ "$(ready_count)" -ge 1 ] 2>/dev/null; }
page() { curl -s -m 20 -o /dev/null -w '%{http_code}' -H "Host: $1.$BD:$PROXY_PORT" "http://127.0.0.1:$PROXY_PORT/"; }
# Claims until one answers 503 naming $1; a demo handed out meanwhile (one
# was ready) is ended again, so that the pool never fills up.
claim_until_503() {
	local id
	api POST /api/v1/demos
	if [ "$CODE" = 201 ]; then
		id=$(jf id)
		api DELETE "/api/v1/demos/$id" "$TOKEN"
		return 1
	fi
	[ "$CODE" = 503 ] && [ "$(jf reason)" = dependency ] && [ "$(jf dependency)" = "$1" ]
}
# check_down DEP: the claim's 503 and /healthz both name DEP.
check_down() {
	local dep=$1 check=$2
	if wait_for "a 503 naming $dep" 90 claim_until_503 "$dep"; then
		t_ok "$dep down: POST /api/v1/demos answers 503, reason dependency, dependency $dep"
	else
		t_fail "$dep down: POST /api/v1/demos answers 503 naming $dep" "last: $CODE $RESP"
	fi
	api GET /healthz "$TOKEN"
	t_eq "$dep down: /healthz is 503 and its $check check fails" \
		"$CODE $(jf "checks.$check.ok")" "503 False"
	[ "$dep" != "$check" ] && t_match "$dep down: /healthz names $dep" \
		"$(jf "checks.$check.error")" "$dep"
}
# check_back DEP: the pool refills and a new claim's demo answers.
check_back() {
	local dep=$1 id
	if wait_for "the pool to refill" 120 pool_ready; then
		t_ok "$dep back: the pool refills"
	else
		t_fail "$dep back: the pool refills" "$(grep -E 'level=(warn|error)' "$T_DIR/serve.log" | tail -3)"
	fi
	api POST /api/v1/demos
	id=$(jf id)
	t_eq "$dep back: a claim gets a demo" "$CODE" 201
	[ -n "$id" ] && t_eq "$dep back: its page answers" "$(page "$id")" 200
	[ -n "$id" ] && api DELETE "/api/v1/demos/$id" "$TOKEN"
}

start_serve || { t_fail "demux serve starts" "$(tail -5 "$T_DIR/serve.log")"; t_done; }
wait_for "the first ready copy" 120 pool_ready || { t_fail "pool fills" "$(tail -5 "$T_DIR/serve.log")"; t_done; }
api GET /healthz "$TOKEN"
t_eq "all up: /healthz 200" "$CODE $(jf status)" "200 ok"

# --- Podman ---
stop_pid "$OWN_PODMAN_PID"
check_down podman podman
start_own_podman || t_fail "own podman service starts again"
check_back podman

# --- proxy ---
stop_pid "$CADDY_PID"
check_down proxy proxy
HOME=$T_DIR/caddy XDG_DATA_HOME=$T_DIR/caddy XDG_CONFIG_HOME=$T_DIR/caddy \
	caddy run --config "$T_DIR/caddy/init.json" --resume >>"$T_DIR/caddy/caddy.log" 2>&1 &
CADDY_PID=$!
_t_pids+=("$CADDY_PID")
wait_for "caddy admin" 20 curl -sf "$CADDY_ADMIN/config/" || t_fail "caddy starts again"
check_back proxy

# --- a copy's database refuses the post-restore hook ---
META=$T_DIR/state/templates/$TEMPLATE/template.json
stop_serve
cp "$META" "$T_DIR/template.json.good"
python3 -c 'import json,sys
m=json.load(open(sys.argv[1])); m["db_password"]="not-the-password"
json.dump(m, open(sys.argv[1],"w"))' "$META"
start_serve || t_fail "demux serve starts on the broken template"
check_down database provisioning
stop_serve
cp "$T_DIR/template.json.good" "$META"
start_serve || t_fail "demux serve starts again"
check_back database

# --- the state disk is full ---
# SQLite may still fit its writes into the WAL it reuses, so a claim may
# succeed; what must hold: /healthz names the store, no claim answers
# anything but 201, 202 or 503 naming the store, demux keeps running, and
# the database is intact afterwards.
dd if=/dev/zero of="$T_DIR/state/fill" bs=1M >/dev/null 2>&1
api GET /healthz "$TOKEN"
t_eq "disk full: /healthz is 503 and its store check fails" "$CODE $(jf checks.store.ok)" "503 False"
t_match "disk full: /healthz says the state disk is full" "$(jf checks.store.error)" "disk is full"
bad=
for i in $(seq 1 8); do
	api POST /api/v1/demos
	case $CODE in
	201 | 202) ;;
	503) [ "$(jf dependency)" = store ] || bad="$bad $CODE:$(jf dependency)" ;;
	*) bad="$bad $CODE" ;;
	esac
	sleep 1
done
t_eq "disk full: claims answer 201, 202 or 503 naming the store" "$bad" ""
if kill -0 "$SERVE_PID" 2>/dev/null; then t_ok "disk full: demux serve still runs"; else t_fail "disk full: demux serve still runs"; fi
rm -f "$T_DIR/state/fill"
t_eq "disk freed: SQLite integrity_check" \
	"$(sqlite3 "$T_DIR/state/demux.db" 'PRAGMA integrity_check' 2>&1)" ok
check_back disk
api GET /healthz "$TOKEN"
t_eq "all back: /healthz 200" "$CODE $(jf status)" "200 ok"

stop_serve
t_done
