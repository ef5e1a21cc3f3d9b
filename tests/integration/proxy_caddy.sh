#!/usr/bin/env bash
# Integration: demux's Caddy route manager against a real Caddy on loopback,
# started with nothing but its admin endpoint: demux creates its server,
# routes by Host, keeps the front door and the 404 last, replaces a route
# without duplicating it, removes idempotently, refuses hostile names before
# any request, reports a killed Caddy clearly and recovers when Caddy comes
# back empty (as after a crash without --resume).
set -uo pipefail
. "$(dirname "$0")/../lib/common.sh"
t_init
command -v caddy >/dev/null || t_skip_all "caddy not installed"
command -v socat >/dev/null || t_skip_all "socat not installed"
[ -x "$DEMUX_BIN" ] || t_skip_all "demux not built ($DEMUX_BIN)"

BD=demo.localhost
SERVER=demux-test
PROXY_PORT=$(free_port)
start_http_echo front && FRONT=$ECHO_PORT
start_http_echo up1 && UP1=$ECHO_PORT
start_http_echo up2 && UP2=$ECHO_PORT
start_caddy || {
	t_fail "caddy starts" "$(tail -5 "$T_DIR/caddy/caddy.log")"
	t_done
}
cat >"$T_DIR/demux.conf" <<EOF
[demux]
state_dir = $T_DIR
[server]
listen = 127.0.0.1:$FRONT
base_domain = $BD
[proxy]
backend = caddy
listen = 127.0.0.1:$PROXY_PORT
caddy_admin = $CADDY_ADMIN
caddy_server = $SERVER
EOF
export DEMUX_CONFIG=$T_DIR/demux.conf

dx() { "$DEMUX_BIN" proxy "$@"; }
via() { curl -s -m 5 -H "Host: $1" "http://127.0.0.1:$PROXY_PORT/"; }
code() { curl -s -o /dev/null -m 5 -w '%{http_code}' -H "Host: $1" "http://127.0.0.1:$PROXY_PORT/"; }
routes_json() { curl -s -m 5 "$CADDY_ADMIN/config/apps/http/servers/$SERVER/routes"; }
ids() { routes_json | python3 -c 'import json,sys; print(",".join(r.get("@id","-") for r in (json.load(sys.stdin) or [])))'; }

# --- config --------------------------------------------------------------------------
out=$(dx config caddy)
t_check "demux proxy config caddy prints JSON" python3 -c 'import json,sys; json.loads(sys.argv[1])' "$out"
t_match "config carries the admin address and demux's server" "$out" \
	"\"listen\": \"${CADDY_ADMIN#http://}\".*\"$SERVER\": \\{.*\"127.0.0.1:$PROXY_PORT\""
printf '%s\n' "$out" >"$T_DIR/gen.json"
t_check "caddy accepts the generated config" env HOME="$T_DIR/caddy" XDG_CONFIG_HOME="$T_DIR/caddy" \
	XDG_DATA_HOME="$T_DIR/caddy" caddy validate --config "$T_DIR/gen.json"

# --- front door ------------------------------------------------------------------------
t_check "front creates demux's server in caddy" dx front
before=$(curl -s "$CADDY_ADMIN/config/")
out=$(dx front 2>&1)
t_eq "front again" "$?" 0
t_eq "front is idempotent: config unchanged" "$(curl -s "$CADDY_ADMIN/config/")" "$before"
t_unlike "front writes nothing when the server is as it should be" "$out" "caddy: (updated|created)"
t_eq "front door reaches demux's listener" "$(via $BD)" "front host=$BD"
# demux takes the right-most X-Forwarded-For entry as the client.
t_forwarded_for_is_the_peer "$PROXY_PORT" "$BD"
t_eq "unknown host gets 404" "$(code zz.$BD)" 404

# --- routing ------------------------------------------------------------------------------
t_check "add a" dx add a.$BD 127.0.0.1:$UP1
t_check "add b" dx add b.$BD 127.0.0.1:$UP2
t_eq "a routed to its upstream, Host kept" "$(via a.$BD)" "up1 host=a.$BD"
t_eq "b routed to its upstream" "$(via b.$BD)" "up2 host=b.$BD"
t_eq "Host with port and capitals is routed" "$(via "A.Demo.Localhost:$PROXY_PORT")" \
	"up1 host=A.Demo.Localhost:$PROXY_PORT"
t_eq "instance routes come before the front door and the 404" "$(ids)" \
	"demux-b,demux-a,demux.front,demux.fallback"
t_eq "list shows both routes" "$(dx list | sort | tr '\n' ,)" \
	"a.$BD 127.0.0.1:$UP1,b.$BD 127.0.0.1:$UP2,"
t_check "re-add a with another upstream" dx add a.$BD 127.0.0.1:$UP2
t_eq "a now reaches the new upstream" "$(via a.$BD)" "up2 host=a.$BD"
t_eq "caddy holds one route for a, not two" "$(ids)" "demux-b,demux-a,demux.front,demux.fallback"
t_check "remove a" dx remove a.$BD
t_eq "removed host gets 404" "$(code a.$BD)" 404
t_check "removing it again is not an error" dx remove a.$BD
t_eq "list shows b only" "$(dx list | tr '\n' ,)" "b.$BD 127.0.0.1:$UP2,"

# Someone deletes the front door by hand: front puts it back, keeping the routes.
curl -s -X DELETE "$CADDY_ADMIN/id/demux.front" >/dev/null
t_eq "without its front door the base domain gets 404" "$(code $BD)" 404
t_check "front repairs it" dx front
t_eq "front door back, last before the 404" "$(ids)" "demux-b,demux.front,demux.fallback"
t_eq "front door works again" "$(via $BD)" "front host=$BD"
t_eq "b kept its route through the repair" "$(via b.$BD)" "up2 host=b.$BD"

# Nodes sharing this Caddy: one adds routes while another removes its own
# and a third rewrites the server (front upstreams changing back and forth,
# so that every front writes). Caddy resolves /id/ paths to an index before
# it takes its lock, so edits are made by path with If-Match: no route is
# lost, none removed but the ones asked for, no front door duplicated.
N_RACE=200
for i in $(seq 1 "$N_RACE"); do echo "add r$i.$BD 127.0.0.1:$UP1"; done >"$T_DIR/race.adds"
for i in $(seq 1 "$N_RACE"); do echo "add q$i.$BD 127.0.0.1:$UP2"; done | dx batch >/dev/null 2>&1
sed 's/^add r\([0-9]*\)\.\([^ ]*\) .*/remove q\1.\2/' "$T_DIR/race.adds" >"$T_DIR/race.removes"
dx batch <"$T_DIR/race.adds" >"$T_DIR/race.out" 2>&1 &
adder=$!
dx batch <"$T_DIR/race.removes" >"$T_DIR/race.rm.out" 2>&1 &
remover=$!
fronts=0
while kill -0 "$adder" 2>/dev/null || kill -0 "$remover" 2>/dev/null; do
	other=$UP1
	[ $((fronts % 2)) = 1 ] && other=$UP2
	DEMUX_PROXY_FRONT_UPSTREAMS="127.0.0.1:$FRONT 127.0.0.1:$other" DEMUX_DEMUX_LOG_LEVEL=debug \
		dx front 2>>"$T_DIR/race.fronts" || echo "front failed" >>"$T_DIR/race.fronts"
	fronts=$((fronts + 1))
done
wait "$adder"
wait "$remover"
t_eq "all $N_RACE adds answered ok" "$(grep -c '^ok$' "$T_DIR/race.out")" "$N_RACE"
t_eq "all $N_RACE removes answered ok" "$(grep -c '^ok$' "$T_DIR/race.rm.out")" "$N_RACE"
echo "# $fronts front updates ran meanwhile; $(grep -c 'moved while' "$T_DIR/race.fronts") of their edits found the route moved and read it again"
t_check "front ran at least 5 times meanwhile" test "$fronts" -ge 5
t_unlike "no front failed" "$(cat "$T_DIR/race.fronts")" "front failed|level=error"
dx list >"$T_DIR/race.list"
t_eq "every route added is there" "$(grep -E "^r[0-9]+\.$BD " "$T_DIR/race.list" | sort -u | wc -l)" "$N_RACE"
t_eq "every route removed is gone" "$(grep -cE "^q[0-9]+\.$BD " "$T_DIR/race.list")" 0
t_eq "b, added before, is still there" "$(grep -c "^b\.$BD " "$T_DIR/race.list")" 1
sed 's/^add \([^ ]*\) .*/remove \1/' "$T_DIR/race.adds" | dx batch >/dev/null 2>&1
t_check "front with the configured upstream again" dx front
t_eq "one front door and one 404, last" "$(ids)" "demux-b,demux.front,demux.fallback"

# --- hostile input never reaches caddy ----------------------------------------------------
REC_PORT=$(free_port)
socat -u "TCP-LISTEN:$REC_PORT,bind=127.0.0.1,reuseaddr,fork" "OPEN:$T_DIR/rec.bytes,creat,append" &
_t_pids+=("$!")
wait_for "recorder" 10 tcp_open "$REC_PORT"
echo probe | socat - "TCP:127.0.0.1:$REC_PORT"
wait_for "recorder records" 5 grep -q probe "$T_DIR/rec.bytes"
: >"$T_DIR/rec.bytes"
before=$(curl -s "$CADDY_ADMIN/config/")
refused=0
for h in "evil.com" "x.y.$BD" "x;y.$BD" "x y.$BD" $'x\n.'$BD "x/../y.$BD" "-x.$BD" "$BD" "" \
	"x.$BD:80" "$(head -c 300 /dev/zero | tr '\0' a).$BD" 'x"}],"handle":[{.'$BD; do
	if ! DEMUX_PROXY_CADDY_ADMIN=http://127.0.0.1:$REC_PORT dx add "$h" 127.0.0.1:$UP1 >/dev/null 2>&1 &&
		! DEMUX_PROXY_CADDY_ADMIN=http://127.0.0.1:$REC_PORT dx remove "$h" >/dev/null 2>&1; then
		refused=$((refused + 1))
	fi
done
for u in "127.0.0.1" "evil.com:80" "127.0.0.1:0" "127.0.0.1:70000" "0.0.0.0:80" "1.2.3.4:80/x"; do
	DEMUX_PROXY_CADDY_ADMIN=http://127.0.0.1:$REC_PORT dx add x.$BD "$u" >/dev/null 2>&1 ||
		refused=$((refused + 1))
done
t_eq "18 hostile hosts and upstreams refused" "$refused" 18
t_eq "nothing was sent to the admin address" "$(wc -c <"$T_DIR/rec.bytes")" 0
t_eq "caddy's config untouched" "$(curl -s "$CADDY_ADMIN/config/")" "$before"

# --- caddy killed mid-way, then back with an empty config ----------------------------------
coproc BATCH { "$DEMUX_BIN" proxy batch 2>"$T_DIR/batch.err"; }
bsend() {
	local line
	echo "$1" >&"${BATCH[1]}"
	IFS= read -r -t 20 line <&"${BATCH[0]}" || line="(no answer)"
	printf '%s' "$line"
}
t_eq "long-lived demux adds c" "$(bsend "add c.$BD 127.0.0.1:$UP1")" ok
stop_pid "$CADDY_PID"
out=$(bsend "add d.$BD 127.0.0.1:$UP1")
t_match "with caddy killed, the same process names caddy, its address and the reason" "$out" \
	"^error: caddy admin API at $CADDY_ADMIN: Connection refused \\(is caddy running\\?\\)"
out=$(dx remove c.$BD 2>&1)
t_match "remove fails clearly too" "$out" "caddy admin API at $CADDY_ADMIN: Connection refused"
out=$(dx list 2>&1)
t_match "list fails clearly too" "$out" "caddy admin API at $CADDY_ADMIN: Connection refused"

restart_caddy
t_eq "restarted caddy knows no routes" "$(dx list | tr '\n' ,)" ""
t_eq "the same demux process recovers: add d" "$(bsend "add d.$BD 127.0.0.1:$UP2")" ok
t_eq "d routed" "$(via d.$BD)" "up2 host=d.$BD"
t_eq "demux's server was recreated with its front door" "$(via $BD)" "front host=$BD"
t_eq "and its 404" "$(code zz.$BD)" 404
t_eq "re-adding c (what reconciliation does) works" "$(bsend "add c.$BD 127.0.0.1:$UP1")" ok
t_eq "c routed" "$(via c.$BD)" "up1 host=c.$BD"
t_eq "routes in order" "$(ids)" "demux-c,demux-d,demux.front,demux.fallback"
bpid=$BATCH_PID
eval "exec ${BATCH[1]}>&-"
wait "$bpid" 2>/dev/null
t_eq "batch ends with status 1, as one of its commands failed" "$?" 1

t_done
