#!/usr/bin/env bash
# Integration: demux's HAProxy route manager against a real HAProxy started on
# loopback from the config `demux proxy config haproxy` prints. Checks routing
# by Host through the runtime map (no reload), the front door, 404s, that
# keep-alive connections never cross instances, idempotent remove, hostile
# names refused before the socket is touched, HAProxy killed mid-way (clear
# error, nothing half-done) and HAProxy restarted and reloaded (routes kept,
# the same demux process carries on).
set -uo pipefail
. "$(dirname "$0")/../lib/common.sh"
t_init
command -v haproxy >/dev/null || t_skip_all "haproxy not installed"
command -v socat >/dev/null || t_skip_all "socat not installed"
[ -x "$DEMUX_BIN" ] || t_skip_all "demux not built ($DEMUX_BIN)"

BD=demo.localhost
PROXY_PORT=$(free_port)
start_http_echo front && FRONT=$ECHO_PORT
start_http_echo front2 && FRONT2=$ECHO_PORT
start_http_echo up1 && UP1=$ECHO_PORT
start_http_echo up2 && UP2=$ECHO_PORT
SOCK=$T_DIR/run/haproxy.sock
MAP=$T_DIR/maps/hosts.map
mkdir -p "$T_DIR/run"
cat >"$T_DIR/demux.conf" <<EOF
[demux]
state_dir = $T_DIR
[server]
listen = 127.0.0.1:$FRONT
base_domain = $BD
[proxy]
backend = haproxy
listen = 127.0.0.1:$PROXY_PORT
haproxy_socket = $SOCK
haproxy_map = $MAP
EOF
export DEMUX_CONFIG=$T_DIR/demux.conf

dx() { "$DEMUX_BIN" proxy "$@"; }
via() { curl -s -m 5 -H "Host: $1" "http://127.0.0.1:$PROXY_PORT/"; }
code() { curl -s -o /dev/null -m 5 -w '%{http_code}' -H "Host: $1" "http://127.0.0.1:$PROXY_PORT/"; }
hx() { echo "$1" | socat -t 5 - "UNIX-CONNECT:$SOCK"; }
entries() { hx "show map $MAP" | awk -v k="$1" '$2 == k' | wc -l; }

# --- config, and the error before HAProxy runs ----------------------------------
t_check "demux proxy config haproxy prints a config" dx config haproxy
dx config haproxy >"$T_DIR/haproxy.cfg" 2>/dev/null
t_match "config has demux's stats socket and map" "$(cat "$T_DIR/haproxy.cfg")" \
	"stats socket $SOCK mode 600 level admin.*map\\($MAP\\)"

out=$(dx front 2>&1)
rc=$?
t_eq "front with haproxy down fails" "$rc" 1
t_match "the error names haproxy's socket and the reason" "$out" \
	"haproxy runtime socket $SOCK: No such file or directory"
t_check "demux created the map file haproxy needs" test -f "$MAP"
t_check "haproxy accepts the generated config" haproxy -c -q -f "$T_DIR/haproxy.cfg"

start_haproxy "$T_DIR/haproxy.cfg"
wait_for "haproxy socket" 20 dx front
t_check "front door checked through the runtime socket" dx front

# --- routing ------------------------------------------------------------------------
t_eq "front door reaches demux's listener" "$(via $BD)" "front host=$BD"
# demux takes the right-most X-Forwarded-For entry as the client.
t_forwarded_for_is_the_peer "$PROXY_PORT" "$BD"
t_eq "unknown host gets 404" "$(code zz.$BD)" 404
t_check "add a" dx add a.$BD 127.0.0.1:$UP1
t_check "add b" dx add b.$BD 127.0.0.1:$UP2
t_eq "a routed to its upstream, Host kept" "$(via a.$BD)" "up1 host=a.$BD"
t_eq "b routed to its upstream" "$(via b.$BD)" "up2 host=b.$BD"
t_eq "Host with port and capitals is routed" "$(via "A.Demo.Localhost:$PROXY_PORT")" \
	"up1 host=A.Demo.Localhost:$PROXY_PORT"

# One client connection carrying requests for two instances in turn.
out=$(curl -sv -m 10 -H "Host: a.$BD" "http://127.0.0.1:$PROXY_PORT/" \
	--next -H "Host: b.$BD" "http://127.0.0.1:$PROXY_PORT/" \
	--next -H "Host: a.$BD" "http://127.0.0.1:$PROXY_PORT/" \
	--next -H "Host: b.$BD" "http://127.0.0.1:$PROXY_PORT/" 2>&1)
t_eq "keep-alive requests alternate between instances correctly" \
	"$(printf '%s\n' "$out" | grep -E '^up[12] ' | tr '\n' ,)" \
	"up1 host=a.$BD,up2 host=b.$BD,up1 host=a.$BD,up2 host=b.$BD,"
t_match "... over one client connection" "$out" "Re-using existing connection"
bad=$(for i in $(seq 1 60); do echo $((i % 2)); done |
	xargs -P 8 -I{} sh -c 'h=$([ {} = 0 ] && echo a || echo b); u=$([ {} = 0 ] && echo up1 || echo up2);
		r=$(curl -s -m 5 -H "Host: $h.'$BD'" http://127.0.0.1:'$PROXY_PORT'/); [ "$r" = "$u host=$h.'$BD'" ] || echo "$h->$r"')
t_eq "60 concurrent requests all reach their own instance" "$bad" ""

t_eq "list shows both routes" "$(dx list | sort | tr '\n' ,)" \
	"a.$BD 127.0.0.1:$UP1,b.$BD 127.0.0.1:$UP2,"
t_eq "map file holds both routes" "$(grep -v '^#' "$MAP" | sort | tr '\n' ,)" \
	"a.$BD 127.0.0.1:$UP1,b.$BD 127.0.0.1:$UP2,"

t_check "re-add a with another upstream" dx add a.$BD 127.0.0.1:$UP2
t_eq "a now reaches the new upstream" "$(via a.$BD)" "up2 host=a.$BD"
t_eq "haproxy holds one entry for a, not two" "$(entries a.$BD)" 1

t_check "remove a" dx remove a.$BD
t_eq "removed host gets 404" "$(code a.$BD)" 404
t_check "removing it again is not an error" dx remove a.$BD
t_eq "haproxy holds no entry for a" "$(entries a.$BD)" 0
t_eq "map file no longer has a" "$(grep -c "^a\\.$BD " "$MAP")" 0

# --- hostile input never reaches the socket -------------------------------------------
socat -u "UNIX-LISTEN:$T_DIR/rec.sock,fork" "OPEN:$T_DIR/rec.bytes,creat,append" &
_t_pids+=("$!")
wait_for "recorder" 10 test -S "$T_DIR/rec.sock"
echo probe | socat - "UNIX-CONNECT:$T_DIR/rec.sock"
wait_for "recorder records" 5 grep -q probe "$T_DIR/rec.bytes"
: >"$T_DIR/rec.bytes"
map_before=$(md5sum <"$MAP")
refused=0
for h in "evil.com" "x.y.$BD" "x;y.$BD" "x y.$BD" $'x\n.'$BD "x/../y.$BD" "-x.$BD" "$BD" "" \
	"x.$BD:80" "$(head -c 300 /dev/zero | tr '\0' a).$BD"; do
	if ! DEMUX_PROXY_HAPROXY_SOCKET=$T_DIR/rec.sock dx add "$h" 127.0.0.1:$UP1 >/dev/null 2>&1 &&
		! DEMUX_PROXY_HAPROXY_SOCKET=$T_DIR/rec.sock dx remove "$h" >/dev/null 2>&1; then
		refused=$((refused + 1))
	fi
done
for u in "127.0.0.1" "evil.com:80" "127.0.0.1:0" "127.0.0.1:70000" "0.0.0.0:80" "1.2.3.4:80/x"; do
	DEMUX_PROXY_HAPROXY_SOCKET=$T_DIR/rec.sock dx add x.$BD "$u" >/dev/null 2>&1 ||
		refused=$((refused + 1))
done
t_eq "17 hostile hosts and upstreams refused" "$refused" 17
t_eq "nothing was sent to the socket" "$(wc -c <"$T_DIR/rec.bytes")" 0
t_eq "map file untouched by refused input" "$(md5sum <"$MAP")" "$map_before"
out=$(dx add 'x;y.demo.localhost' 127.0.0.1:$UP1 2>&1)
t_match "the refusal explains itself" "$out" "refusing route: host is not a valid name: .*0x3b"

# --- front door checks ---------------------------------------------------------------
out=$(DEMUX_SERVER_BASE_DOMAIN=other.localhost dx front 2>&1)
t_match "front refuses a haproxy config made for another base domain" "$out" \
	"front door serves '$BD' but demux's base domain is 'other.localhost'"
t_check "front moves the front door to a new demux listener" \
	env DEMUX_SERVER_LISTEN=127.0.0.1:$FRONT2 "$DEMUX_BIN" proxy front
t_eq "front door now reaches the new listener" "$(via $BD)" "front2 host=$BD"
dx front >/dev/null 2>&1
t_eq "and back" "$(via $BD)" "front host=$BD"

# --- HAProxy killed mid-way, restarted, reloaded --------------------------------------
coproc BATCH { "$DEMUX_BIN" proxy batch 2>"$T_DIR/batch.err"; }
bsend() {
	local line
	echo "$1" >&"${BATCH[1]}"
	IFS= read -r -t 15 line <&"${BATCH[0]}" || line="(no answer)"
	printf '%s' "$line"
}
t_eq "long-lived demux adds c" "$(bsend "add c.$BD 127.0.0.1:$UP1")" ok
# An operator's `demux proxy add` next to the running daemon: two writers.
t_check "a second demux process adds x meanwhile" dx add x.$BD 127.0.0.1:$UP2
t_eq "long-lived demux adds y" "$(bsend "add y.$BD 127.0.0.1:$UP2")" ok
t_eq "map file keeps the other process's route too" \
	"$(grep -cE "^(c|x|y)\\.$BD " "$MAP")" 3
t_eq "long-lived demux removes x (added by the other process)" "$(bsend "remove x.$BD")" ok
t_eq "... from the map file as well" "$(grep -c "^x\\.$BD " "$MAP")" 0
t_eq "remove y" "$(bsend "remove y.$BD")" ok
stop_pid "$HAPROXY_PID"
out=$(bsend "add d.$BD 127.0.0.1:$UP1")
t_match "with haproxy killed, the same process reports socket and reason" "$out" \
	"^error: haproxy runtime socket $SOCK: (No such file or directory|Connection refused) \\(is haproxy running\\?\\)"
out=$(dx remove b.$BD 2>&1)
t_match "remove fails clearly too" "$out" "haproxy runtime socket $SOCK: "
out=$(dx list 2>&1)
t_match "list fails clearly too" "$out" "haproxy runtime socket $SOCK: "
t_eq "the failed add left nothing in the map file" "$(grep -c "^d\\.$BD " "$MAP")" 0
t_eq "the failed remove left b in the map file" "$(grep -c "^b\\.$BD " "$MAP")" 1

start_haproxy "$T_DIR/haproxy.cfg"
wait_for "haproxy back" 20 dx front
t_eq "after a restart, b is served from the map file" "$(via b.$BD)" "up2 host=b.$BD"
t_eq "after a restart, c is served from the map file" "$(via c.$BD)" "up1 host=c.$BD"
t_eq "the same demux process recovers: add d" "$(bsend "add d.$BD 127.0.0.1:$UP1")" ok
t_eq "d routed" "$(via d.$BD)" "up1 host=d.$BD"

old_worker=$(pgrep -P "$HAPROXY_PID" | head -1)
kill -USR2 "$HAPROXY_PID"
wait_for "reload" 20 bash -c "! kill -0 $old_worker 2>/dev/null && [ -n \"\$(pgrep -P $HAPROXY_PID)\" ]"
wait_for "socket after reload" 20 dx front
t_eq "after a reload, d (added at run time) is still routed" "$(via d.$BD)" "up1 host=d.$BD"
t_eq "after a reload, the same process adds e" "$(bsend "add e.$BD 127.0.0.1:$UP2")" ok
t_eq "e reaches the new worker" "$(via e.$BD)" "up2 host=e.$BD"
t_eq "remove e" "$(bsend "remove e.$BD")" ok
t_eq "remove e again" "$(bsend "remove e.$BD")" ok
t_eq "e gone" "$(code e.$BD)" 404
t_eq "list after all that" "$(dx list | sort | tr '\n' ,)" \
	"b.$BD 127.0.0.1:$UP2,c.$BD 127.0.0.1:$UP1,d.$BD 127.0.0.1:$UP1,"
bpid=$BATCH_PID
eval "exec ${BATCH[1]}>&-"
wait "$bpid" 2>/dev/null
t_eq "batch ends with status 1, as one of its commands failed" "$?" 1

t_done
