#!/usr/bin/env bash
# Template versions under a running "demux serve" (real Podman + CRIU, Caddy,
# the shop-fixture template):
# - a pool serves version 1 with claimed and ready copies; "demux template
#   create" of the same name makes version 2 and every ready copy becomes a
#   version-2 copy (new ones first), while the claimed ones keep answering on
#   version 1; once they are released, version 1's files and restore image
#   are gone;
# - version 3, whose copies fail their health check (its web server answers
#   only its template's own Host), is marked failed, and version 2 keeps
#   serving; "demux template ls" says why;
# - "demux template rollback" makes version 2 current again and version 3
#   goes;
# - a client polls the claimed demos all along: no answer but 200.
# Prints the time the rollover of the ready copies took.
set -uo pipefail
. "$(dirname "$0")/../lib/common.sh"
t_init

need_serve_stack
t_remove_containers_at_exit versions

TEMPLATE=vshop
BD=demo.localhost
BROKEN_IMAGE=localhost/demux/shop-fixture-broken:test-$$

serve_stack_up
serve_setup
{
	serve_conf_head
	cat <<CONF
[pool $TEMPLATE]
min_ready = 2
max_instances = 6
provision_concurrency = 2
cold_start_fallback = false
ttl = 10m
port_min = 47300
port_max = 47399
CONF
} >"$T_DIR/demux.conf"
shop_template "$TEMPLATE" versions
new_version() { # IMAGE: demux template create of $TEMPLATE from IMAGE
	"$DEMUX_BIN" template create --config "$T_DIR/demux.conf" --name "$TEMPLATE" \
		--image "$1" --label demux.test=versions 2>>"$T_DIR/template.log"
}
tls() { "$DEMUX_BIN" template ls --config "$T_DIR/demux.conf" 2>&1; }

"$DEMUX_BIN" serve --config "$T_DIR/demux.conf" >>"$T_DIR/serve.log" 2>&1 &
SERVE_PID=$!
_t_pids+=("$SERVE_PID")

# api METHOD PATH: on demux's own port, as admin; sets CODE and RESP.
api() {
	CODE=$(curl -s -m 60 -o "$T_DIR/resp" -w '%{http_code}' -X "$1" -H "Host: $BD" \
		-H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$API_PORT$2")
	RESP=$(cat "$T_DIR/resp")
}
# pool_is VERSION: the pool serves VERSION, min_ready copies of it are
# ready and no ready copy of another version is left.
pool_is() {
	api GET /api/v1/pool
	python3 -c 'import json,sys
p=json.loads(sys.argv[1])["pools"][0]
sys.exit(0 if p["version"]==int(sys.argv[2]) and p["stale_ready"]==0 and p["ready"]>=2 else 1)' \
		"$RESP" "$1" 2>/dev/null
}
pool_field() { # FIELD of the pool in /api/v1/pool, "" when null
	api GET /api/v1/pool
	python3 -c 'import json,sys
v=json.loads(sys.argv[1])["pools"][0].get(sys.argv[2]); print("" if v is None else v)' "$RESP" "$1"
}
# versions_of STATE: the versions of the copies in STATE, sorted, one line.
versions_of() {
	api GET /api/v1/demos
	python3 -c 'import json,sys
print(" ".join(sorted(str(d["version"]) for d in json.loads(sys.argv[1])["demos"] if d["state"]==sys.argv[2])))' \
		"$RESP" "$1"
}
claim() { # sets ID
	ID=$(curl -s -m 60 -H "Host: $BD" -H 'Content-Type: application/json' \
		--data "{\"template\":\"$TEMPLATE\"}" "http://127.0.0.1:$API_PORT/api/v1/demos" |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])' 2>/dev/null)
	[ -n "$ID" ]
}
page() { curl -s -m 20 -o /dev/null -w '%{http_code}' -H "Host: $1.$BD:$PROXY_PORT" "http://127.0.0.1:$PROXY_PORT/"; }

if ! wait_for "version 1 ready" 120 pool_is 1; then
	t_fail "the pool fills with version 1" "$(tail -5 "$T_DIR/serve.log")"
	t_done
fi
claim && A=$ID
claim && B=$ID
t_check "two demos of version 1 claimed" test -n "${A:-}" -a -n "${B:-}"
t_eq "the demo object names its version" "$(versions_of claimed)" "1 1"
t_match "demux ls names the version of each copy" \
	"$("$DEMUX_BIN" ls --config "$T_DIR/demux.conf" 2>&1)" "$A +$TEMPLATE +1 +claimed"

# A visitor's client polls both claimed demos until they are released.
POLL_LOG=$T_DIR/poll.log
: >"$POLL_LOG"
(
	while [ ! -e "$T_DIR/poll.stop" ]; do
		for id in $A $B; do
			[ -e "$T_DIR/released.$id" ] && continue
			c=$(page "$id")
			[ -e "$T_DIR/released.$id" ] || echo "$id $c" >>"$POLL_LOG"
		done
		sleep 0.4
	done
) &
POLLER=$!
_t_pids+=("$POLLER")
wait_for "version 1 refilled" 120 pool_is 1

# --- version 2 ---
start=$(date +%s.%N)
out=$(new_version localhost/demux/shop-fixture:latest)
t_match "create on the same name makes version 2" "$out" "^template $TEMPLATE version 2: "
made=$(date +%s.%N)
if wait_for "every ready copy on version 2" 180 pool_is 2; then
	done_at=$(date +%s.%N)
	t_ok "every ready copy is version 2, none of version 1 left ready"
	echo "# rollover of 2 ready copies: $(python3 -c "print(round($done_at - $made, 1))") s after version 2 was made ($(python3 -c "print(round($made - $start, 1))") s to make it)"
else
	t_fail "every ready copy becomes version 2" "$(grep -E 'version|retired' "$T_DIR/serve.log" | tail -5)"
fi
t_eq "ready copies: version 2 only" "$(versions_of ready)" "2 2"
t_eq "claimed copies keep version 1" "$(versions_of claimed)" "1 1"
ls_out=$(tls)
t_match "template ls: version 2 current, 2 ready" "$ls_out" "$TEMPLATE +2 +current .* 2/0 "
t_match "template ls: version 1 kept for its 2 claimed copies" "$ls_out" "$TEMPLATE +1 +[a-z]+ .* 0/2 "
t_eq "the claimed demos still answer" "$(page "$A") $(page "$B")" "200 200"

V1_IMAGE=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("restore_image",""))' \
	"$T_DIR/state/templates/$TEMPLATE/template.json" 2>/dev/null)
for id in $A $B; do
	touch "$T_DIR/released.$id"
	api DELETE "/api/v1/demos/$id"
done
v1_gone() { [ ! -e "$T_DIR/state/templates/$TEMPLATE/template.json" ]; }
if wait_for "version 1 removed" 60 v1_gone; then
	t_ok "once its last copy is gone, version 1's files are removed"
else
	t_fail "version 1's files are removed" "$(ls "$T_DIR/state/templates/$TEMPLATE")"
fi
t_eq "... and its restore image" "$(podman images -q --filter "reference=$V1_IMAGE" | wc -l)" 0
t_check "version 2's files stay" test -s "$T_DIR/state/templates/$TEMPLATE/versions/2/template.json"

# --- version 3: its copies fail their health check ---
podman create --name "versions-broken-$$" localhost/demux/shop-fixture:latest >/dev/null 2>&1 &&
	podman cp "versions-broken-$$:/etc/nginx/demux-site.conf" "$T_DIR/site.conf" &&
	sed 's|^\tlocation / {$|&\n\t\tif ($http_host != "shop.template.localhost") { return 503; }|' \
		"$T_DIR/site.conf" >"$T_DIR/site-broken.conf" &&
	podman cp "$T_DIR/site-broken.conf" "versions-broken-$$:/etc/nginx/demux-site.conf" &&
	podman commit -q "versions-broken-$$" "$BROKEN_IMAGE" >/dev/null
podman rm -f "versions-broken-$$" >/dev/null 2>&1
t_on_exit "podman rmi -f $BROKEN_IMAGE >/dev/null 2>&1"
t_check "an image whose copies answer 503 (only the template's Host is served)" \
	grep -q 'return 503' "$T_DIR/site-broken.conf"
out=$(new_version "$BROKEN_IMAGE")
t_match "version 3 is made (the template itself answers)" "$out" "^template $TEMPLATE version 3: "
v3_failed() { grep -q "template version failed template=$TEMPLATE version=3" "$T_DIR/serve.log"; }
if wait_for "version 3 marked failed" 240 v3_failed; then
	t_ok "version 3 is reported failed"
else
	t_fail "version 3 is reported failed" "$(grep -E 'version|provision failed' "$T_DIR/serve.log" | tail -5)"
fi
t_match "... for its health check" "$(grep "template version failed template=$TEMPLATE version=3" "$T_DIR/serve.log")" \
	'reason="health: .*HTTP 503'
wait_for "version 2 serving" 120 pool_is 2
t_match "the pool serves version 2 again, with its ready copies" "$(versions_of ready)" "^2 2( 2)*$"
t_match "/api/v1/pool says why" "$(pool_field version_error)" "^version 3 failed: health"
ls_out=$(tls)
t_match "template ls: version 3 failed, with the reason" "$ls_out" "$TEMPLATE +3 +failed\\* .*
 +3 failed: health"
t_match "template ls: version 2 serving" "$ls_out" "$TEMPLATE +2 +serving "
claim && C=$ID
t_eq "a claim gets a version 2 demo that answers" "$(versions_of claimed) $(page "${C:-none}")" "2 200"

# --- rollback ---
t_match "rollback makes version 2 current" "$("$DEMUX_BIN" template rollback --config "$T_DIR/demux.conf" "$TEMPLATE" 2>&1)" \
	"version 2 is current again \\(was 3\\)"
v3_gone() { [ ! -e "$T_DIR/state/templates/$TEMPLATE/versions/3" ]; }
if wait_for "version 3 removed" 60 v3_gone; then
	t_ok "the failed version 3, current no more and without copies, is removed"
else
	t_fail "version 3 is removed" "$(tail -3 "$T_DIR/serve.log")"
fi
t_eq "/api/v1/pool: no version error any more" "$(pool_field version_error)" ""
t_match "template ls: version 2 current" "$(tls)" "$TEMPLATE +2 +current "

touch "$T_DIR/poll.stop"
wait "$POLLER" 2>/dev/null
t_eq "the claimed demos answered 200 to every poll ($(wc -l <"$POLL_LOG") polls)" \
	"$(awk '$2 != 200' "$POLL_LOG" | head -3)" ""
t_check "... and were polled" test "$(wc -l <"$POLL_LOG")" -gt 10

kill -TERM "$SERVE_PID"
wait "$SERVE_PID"
t_eq "demux serve stops with status 0" "$?" 0
cp "$T_DIR/serve.log" "${DEMUX_TEST_OUT:-$T_DIR}/versions.serve.log" 2>/dev/null
t_done
