#!/usr/bin/env bash
# Configuration reload (SIGHUP) of "demux serve" behind a real Caddy, with
# real Podman + CRIU and two templates made from the shop-fixture image,
# while a poller GETs every claimed demo through the proxy every 0.5 s:
#   (a) a file adding pool rlb: it fills, shows in /api/v1/pool, /metrics
#       and the landing page, and a claim on it answers 201;
#   (b) rla's min_ready 1 -> 2, a [pages] key, and a [server] key that needs
#       a restart: a second ready copy appears, the landing page shows the
#       new product name, the restart key is named in the log;
#   (c) an invalid file (the message demux config check prints is logged),
#       a pool without a template, a port range change: each refused,
#       demux keeps running its configuration;
#   (d) rlb removed: its ready copy goes (container, route, record), its
#       claimed demo answers until released, a claim on rlb answers as for
#       an unknown template, its threads stop once its last copy is gone.
# The poller never sees anything but 200, and at the end the store's
# records, the containers and Caddy's routes name the same demos.
set -uo pipefail
. "$(dirname "$0")/../lib/common.sh"
t_init

need_serve_stack
t_remove_containers_at_exit reload
t_on_exit "cp '$T_DIR/serve.log' '$T_DIR/poll.log' '$T_DIR/caddy/caddy.log' '${DEMUX_TEST_OUT:-/tmp}/'"
START=$SECONDS
BD=demo.localhost

serve_stack_up
serve_setup

# pool NAME MIN_READY PORT_MIN: a [pool] section.
pool() {
	printf '[pool %s]\nmin_ready = %s\nmax_instances = 4\nttl = 10m\nport_min = %s\nport_max = %s\n' \
		"$1" "$2" "$3" "$(($3 + 99))"
}
# conf SECTIONS...: writes $T_DIR/demux.conf from the common head and the
# sections given (each a string).
conf() {
	{
		serve_conf_head
		printf '%s\n' "$@"
	} >"$T_DIR/demux.conf"
}
conf "$(pool rla 1 46400)" "$(pool rlb 1 46500)"

# Both templates at once (each restored copy's template is its own).
for t in rla rlb; do
	"$DEMUX_BIN" template create --config "$T_DIR/demux.conf" --name "$t" \
		--image localhost/demux/shop-fixture:latest --label demux.test=reload \
		>"$T_DIR/template-$t.log" 2>&1 &
	eval "TPID_$t=\$!"
done
for t in rla rlb; do
	pid_var=TPID_$t
	wait "${!pid_var}" || { t_fail "demux template create $t" "$(tail -5 "$T_DIR/template-$t.log")"; t_done; }
done
t_ok "templates rla and rlb made ($((SECONDS - START)) s so far)"

conf "$(pool rla 1 46400)"
serve_up

# api METHOD PATH [BODY]: with the admin token (no per-client limits),
# through the proxy; sets CODE and RESP.
api() {
	local args=(-s -m 60 -o "$T_DIR/resp" -w '%{http_code}' -X "$1" -H "Host: $BD:$PROXY_PORT"
		-H "Authorization: Bearer $TOKEN")
	[ -n "${3:-}" ] && args+=(-H 'Content-Type: application/json' --data-binary "$3")
	CODE=$(curl "${args[@]}" "http://127.0.0.1:$PROXY_PORT$2")
	RESP=$(cat "$T_DIR/resp")
}
jf() { json_field "$1" "${2:-$RESP}"; }
# pool_field NAME FIELD: a field of pool NAME in /api/v1/pool ("" when absent).
pool_field() {
	api GET /api/v1/pool
	python3 -c 'import json,sys
p=[p for p in json.loads(sys.argv[1])["pools"] if p["template"]==sys.argv[2]]
print(p[0][sys.argv[3]] if p else "")' "$RESP" "$1" "$2" 2>/dev/null
}
ready_is() { [ "$(pool_field "$1" ready)" = "$2" ]; }
# claim NAME: a 201 claim on NAME; sets ID.
claim() {
	api POST /api/v1/demos "{\"template\":\"$1\"}"
	ID=$(jf id)
	[ "$CODE" = 201 ]
}
# ids NAME STATE: the demos of template NAME in STATE, from the admin list.
ids() {
	api GET /api/v1/demos
	python3 -c 'import json,sys
print(" ".join(d["id"] for d in json.loads(sys.argv[1])["demos"] if d["template"]==sys.argv[2] and d["state"]==sys.argv[3]))' \
		"$RESP" "$1" "$2"
}
# page ID [FORMAT]: the HTTP status of the demo's first page through the
# proxy (curl's -w FORMAT, default %{http_code}).
page() { curl -s -m 5 -o /dev/null -w "${2:-%{http_code\}}" -H "Host: $1.$BD:$PROXY_PORT" "http://127.0.0.1:$PROXY_PORT/"; }
routes() { curl -s "$CADDY_ADMIN/config/apps/http/servers/demux/routes" | grep -oE "\"[a-z2-7]{16}\.$BD\"" | tr -d '"' | cut -d. -f1 | sort; }
containers() { podman ps -a --filter label=demux.test=reload --format '{{.Names}}' | grep -oE '^demux-[a-z2-7]{16}$' | cut -d- -f2 | sort; }
records() {
	api GET /api/v1/demos
	python3 -c 'import json,sys; print("\n".join(sorted(d["id"] for d in json.loads(sys.argv[1])["demos"])))' "$RESP"
}
# hup: SIGHUP, then waits for the reload's outcome line; sets OUTCOME.
reloads() { grep -cE 'msg=configuration (reloaded|reload refused)' "$T_DIR/serve.log"; }
hup() {
	local before
	before=$(reloads)
	kill -HUP "$SERVE_PID"
	wait_for "the reload's log line" 30 bash -c "[ \$(grep -cE 'msg=configuration (reloaded|reload refused)' '$T_DIR/serve.log') -gt $before ]"
	OUTCOME=$(grep -E 'msg=configuration (reloaded|reload refused)' "$T_DIR/serve.log" | tail -1)
}

wait_for "a ready copy of rla" 60 ready_is rla 1 || { t_fail "rla fills" "$(tail -5 "$T_DIR/serve.log")"; t_done; }
A1= A2=
wait_for "a claim on rla" 30 claim rla && A1=$ID
wait_for "a second claim on rla" 60 claim rla && A2=$ID
t_check "two demos claimed on rla" test -n "$A1" -a -n "$A2"

# The poller: every claimed demo in $T_DIR/poll.ids, every 0.5 s.
printf '%s\n' "$A1" "$A2" >"$T_DIR/poll.ids"
(
	while [ ! -e "$T_DIR/poll.stop" ]; do
		for id in $(cat "$T_DIR/poll.ids"); do
			echo "$id $(page "$id" '%{http_code} %{time_total}s exit=%{exitcode} %{errormsg}') $(date +%T.%N)" >>"$T_DIR/poll.log"
		done
		sleep 0.5
	done
) &
POLL_PID=$!
_t_pids+=("$POLL_PID")

# --- (a) a pool added -----------------------------------------------------------
conf "$(pool rla 1 46400)" "$(pool rlb 1 46500)"
hup
t_match "(a) reload adds rlb" "$OUTCOME" 'msg=configuration reloaded added=rlb removed= changed= needs_restart=""'
t_check "(a) rlb's template is loaded as at start-up" grep -qE 'pool configured template=rlb version=[0-9]+ profile=' "$T_DIR/serve.log"
if wait_for "a ready copy of rlb" 60 ready_is rlb 1; then t_ok "(a) rlb fills to min_ready"; else t_fail "(a) rlb fills to min_ready" "$RESP"; fi
t_match "(a) rlb in /metrics" "$(curl -s -H "Host: $BD" "http://127.0.0.1:$PROXY_PORT/metrics")" 'demux_instances\{template="rlb",state="ready"\} 1'
t_match "(a) rlb on the landing page" "$(curl -s -H "Host: $BD" "http://127.0.0.1:$PROXY_PORT/")" 'name="template" value="rlb"'
claim rlb
t_eq "(a) a claim on rlb answers 201" "$CODE $(jf template)" "201 rlb"
B1=$ID
printf '%s\n' "$A1" "$A2" "$B1" >"$T_DIR/poll.ids.new" && mv "$T_DIR/poll.ids.new" "$T_DIR/poll.ids"
t_eq "(a) rlb's demo answers through the proxy" "$(page "$B1")" 200

# --- (b) min_ready 1 -> 2, and a key that needs a restart -------------------------
conf "$(pool rla 2 46400)" "$(pool rlb 1 46500)" "$(printf '[server]\nclaims_per_ip_per_minute = 50\n[pages]\nproduct_name = Reloaded Shop')"
hup
t_match "(b) reload changes rla" "$OUTCOME" 'added= removed= changed=rla needs_restart="\[server\] claims_per_ip_per_minute"'
t_check "(b) the key that needs a restart is named" \
	grep -q 'configuration reload: \[server\] claims_per_ip_per_minute changed and needs a restart' "$T_DIR/serve.log"
t_match "(b) a [pages] key applies at once" "$(curl -s -H "Host: $BD" "http://127.0.0.1:$PROXY_PORT/")" 'Reloaded Shop'
if wait_for "2 ready copies of rla" 60 ready_is rla 2; then t_ok "(b) rla fills to the new min_ready 2"; else t_fail "(b) rla fills to 2" "$RESP"; fi
t_eq "(b) /api/v1/pool shows the new min_ready" "$(pool_field rla min_ready)" 2
wait_for "rlb to refill after its claim" 60 ready_is rlb 1
GOOD=$(cat "$T_DIR/demux.conf")

# --- (c) refused files ------------------------------------------------------------
conf "$(pool rla lots 46400)" "$(pool rlb 1 46500)"
msg=$("$DEMUX_BIN" config check --config "$T_DIR/demux.conf" 2>&1)
hup
t_match "(c) demux config check refuses the file" "$msg" "^demux: .*min_ready"
t_eq "(c) serve logs config check's message, as an error" \
	"$(printf '%s' "$OUTCOME" | sed -E 's/^.* level=([a-z]+) msg=/\1 /')" \
	"error configuration reload refused, the running configuration stays: ${msg#demux: }"
conf "$(pool rla 2 46400)" "$(pool rlb 1 46500)" "$(pool rlc 1 46600)"
hup
t_match "(c) a pool without a template is refused" "$OUTCOME" 'reload refused.*\[pool rlc\]: .*create it first'
conf "$(pool rla 2 46700)" "$(pool rlb 1 46500)"
hup
t_match "(c) a port range change is refused" "$OUTCOME" 'reload refused.*\[pool rla\] port_min cannot change while demux runs'
t_check "(c) demux serve still runs" kill -0 "$SERVE_PID"
t_eq "(c) the running configuration stays" "$(pool_field rla min_ready) $(pool_field rla ready) $(pool_field rlb ready) $(pool_field rlc ready)" "2 2 1 "
t_eq "(c) the demos still answer" "$(page "$A1") $(page "$B1")" "200 200"

# --- (d) a pool removed --------------------------------------------------------------
printf '%s\n' "$GOOD" >"$T_DIR/demux.conf"
RB=$(ids rlb ready)
t_match "(d) rlb has a ready copy before" "$RB" '^[a-z2-7]{16}$'
conf "$(pool rla 2 46400)"
hup
t_match "(d) reload removes rlb" "$OUTCOME" 'added= removed=rlb changed= '
rb_gone() { [ -z "$(ids rlb ready)" ] && ! containers | grep -qx "$RB" && ! routes | grep -qx "$RB"; }
if wait_for "rlb's ready copy to go" 30 rb_gone; then
	t_ok "(d) rlb's ready copy is gone: record, container, route"
else
	t_fail "(d) rlb's ready copy is gone" "records: $(ids rlb ready)" "containers: $(containers | tr '\n' ' ')"
fi
t_eq "(d) rlb is no longer listed" "$(pool_field rlb ready)" ""
api POST /api/v1/demos '{"template":"rlb"}'
removed="$CODE $RESP"
api POST /api/v1/demos '{"template":"nosuch"}'
t_eq "(d) a claim on rlb answers as for an unknown template" "$removed" "$CODE ${RESP//nosuch/rlb}"
sleep 2 # the poller looks at B1 a few more times
t_eq "(d) rlb's claimed demo still answers" "$(page "$B1")" 200
api POST "/api/v1/demos/$B1/extend" '{"minutes": 5}'
t_eq "(d) ... and can be extended" "$CODE" 200

touch "$T_DIR/poll.stop"
wait "$POLL_PID"
polls=$(wc -l <"$T_DIR/poll.log")
bad=$(awk '$2 != 200' "$T_DIR/poll.log" | wc -l)
t_check "the poller ran all along ($polls GETs)" test "$polls" -ge 30
t_eq "the poller saw no answer but 200" "$bad" 0
[ "$bad" = 0 ] || awk '$2 != 200' "$T_DIR/poll.log" | head -5 | sed 's/^/# /'

api DELETE "/api/v1/demos/$B1"
t_eq "(d) rlb's claimed demo is released on request" "$CODE" 200
t_check "(d) ... its container is gone" bash -c "! podman container exists demux-$B1"
t_eq "(d) ... and its route" "$(routes | grep -cx "$B1")" 0
if wait_for "rlb's threads to stop" 15 grep -q 'pool removed from the configuration has no copies left template=rlb' "$T_DIR/serve.log"; then
	t_ok "(d) rlb's threads stop once its last copy is gone"
else
	t_fail "(d) rlb's threads stop once its last copy is gone"
fi

t_eq "records, containers and routes name the same demos" \
	"$(records | tr '\n' ' ')|$(routes | tr '\n' ' ')" "$(containers | tr '\n' ' ')|$(containers | tr '\n' ' ')"
t_eq "4 demos left: rla's 2 claimed and 2 ready" "$(records | grep -c .)" 4
kill -TERM "$SERVE_PID"
wait "$SERVE_PID"
t_eq "SIGTERM stops demux serve with status 0" "$?" 0
t_check "no error beyond the refused reloads" \
	bash -c "! grep -E 'level=error' '$T_DIR/serve.log' | grep -v 'reload refused'"
echo "# wall time: $((SECONDS - START)) s"
t_done
