#!/usr/bin/env bash
# End to end: "demux serve" behind a real Caddy, with real Podman + CRIU and
# the shop-fixture template, driven the way visitors and scripts use it —
# the JSON API and the visitor pages through the proxy, the CLI against the
# API, headless Chromium for the pages (screenshots in
# $DEMUX_TEST_OUT/serve_e2e/).
#
# Phase A (min_ready = 0, nothing is ever ready): landing page, waiting page
# (its script claims by POST once a demo is ready), 202 + Retry-After,
# SIGTERM exits 0.
# Phase B (min_ready = 5): 5 concurrent claims give 5 distinct demos, each
# served on its own domain by its own copy (a product added in one is absent
# from the others); extend moves expires_at; end-now and expiry remove the
# route and the container; the ready page's extend and end buttons; malformed
# requests get the right 4xx; the CLI; capacity (API and page); a 4th
# claimed demo from one address is refused (429) while other addresses get
# theirs; a GET of the waiting page never claims; /metrics counts what
# happened. Visitors' addresses are loopback aliases (curl --interface
# 127.0.0.N), which Caddy passes on in X-Forwarded-For.
set -uo pipefail
. "$(dirname "$0")/../lib/common.sh"
t_init

[ -x "$DEMUX_BIN" ] || t_skip_all "demux is not built ($DEMUX_BIN)"
command -v caddy >/dev/null || t_skip_all "caddy is not installed"
command -v podman >/dev/null || t_skip_all "podman is not installed"
t_remove_containers_at_exit serve_e2e

TEMPLATE=e2eshop
BD=demo.localhost
SHOTS=${DEMUX_TEST_OUT:-/tmp}/serve_e2e
CHROMIUM_BIN=$(command -v chromium || command -v chromium-browser || true)
mkdir -p "$SHOTS"

need_podman_service || { t_fail "podman service starts"; t_done; }
if ! bash "$DEMUX_ROOT/scripts/build-image" shop-fixture >"$T_DIR/build-image.log" 2>&1; then
	t_fail "build the shop-fixture image" "$(tail -5 "$T_DIR/build-image.log")"
	t_done
fi
start_caddy || { t_fail "caddy starts" "$(tail -5 "$T_DIR/caddy/caddy.log")"; t_done; }

serve_setup

# write_conf MIN_READY
write_conf() {
	{
		serve_conf_head
		cat <<CONF
[pool $TEMPLATE]
min_ready = $1
max_instances = 8
provision_concurrency = 2
ttl = 15s
max_ttl = 1h
port_min = 44000
port_max = 44099
CONF
	} >"$T_DIR/demux.conf"
}

write_conf 0
if ! "$DEMUX_BIN" template create --config "$T_DIR/demux.conf" --name "$TEMPLATE" \
	--image localhost/demux/shop-fixture:latest --label demux.test=serve_e2e \
	>"$T_DIR/template.log" 2>&1; then
	t_fail "demux template create" "$(tail -5 "$T_DIR/template.log")"
	t_done
fi

SERVE_PID=
start_serve() {
	"$DEMUX_BIN" serve --config "$T_DIR/demux.conf" >>"$T_DIR/serve.log" 2>&1 &
	SERVE_PID=$!
	_t_pids+=("$SERVE_PID")
	wait_for "demux serve through caddy" 30 curl -sf -H "Host: $BD" "http://127.0.0.1:$PROXY_PORT/healthz"
}
# stop_serve: SIGTERM, then the exit status must be 0.
stop_serve() {
	local rc
	kill -TERM "$SERVE_PID"
	wait "$SERVE_PID"
	rc=$?
	t_eq "$1: SIGTERM stops demux serve with status 0" "$rc" 0
}

# api METHOD PATH [BODY] [TOKEN]: through the proxy; sets CODE, RESP, HDRS.
api() {
	local args=(-s -m 60 -o "$T_DIR/resp" -D "$T_DIR/hdrs" -w '%{http_code}' -X "$1"
		-H "Host: $BD:$PROXY_PORT")
	[ -n "${4:-}" ] && args+=(-H "Authorization: Bearer $4")
	[ -n "${3:-}" ] && args+=(-H 'Content-Type: application/json' --data-binary "$3")
	CODE=$(curl "${args[@]}" "http://127.0.0.1:$PROXY_PORT$2")
	RESP=$(cat "$T_DIR/resp")
	HDRS=$(cat "$T_DIR/hdrs")
}
# jf FIELD [JSON]: a field of a JSON object (dots for nesting), "" when absent.
jf() { json_field "$1" "${2:-$RESP}"; }
# shop ID METHOD PATH [CURL ARGS...]: the demo's own site through the proxy.
shop() {
	local id=$1 m=$2 p=$3
	shift 3
	curl -s -m 30 -o "$T_DIR/shop" -w '%{http_code} %{redirect_url}' -X "$m" \
		-H "Host: $id.$BD:$PROXY_PORT" "$@" "http://127.0.0.1:$PROXY_PORT$p"
}
metric() { curl -s -H "Host: $BD" "http://127.0.0.1:$PROXY_PORT/metrics" | awk -v k="$1" '$1 == k { print $2 }'; }
# container_exists ID / container_gone ID: podman's own lookup (0 there, 1 not
# there; anything else is an error and satisfies neither).
container_exists() { podman container exists "demux-$1"; }
container_gone() {
	local rc=0
	podman container exists "demux-$1" || rc=$?
	[ "$rc" -eq 1 ]
}
routes() { curl -s "$CADDY_ADMIN/config/apps/http/servers/demux/routes" >"$T_DIR/routes.json" && cat "$T_DIR/routes.json"; }
route_exists() { routes | grep -c "\"$1.$BD\"" >/dev/null; }
route_gone() { routes >/dev/null && ! grep -q "\"$1.$BD\"" "$T_DIR/routes.json"; }
# browser NAME STEP...: a Chromium session; skipped (once per call) without Chromium.
browser() {
	local name=$1 out
	shift
	if [ -z "$CHROMIUM_BIN" ]; then
		_t_n=$((_t_n + 1))
		echo "ok $_t_n - # SKIP chromium not installed ($name)"
		return 0
	fi
	if out=$(CHROMIUM=$CHROMIUM_BIN python3 "$DEMUX_ROOT/tests/lib/browser.py" "$SHOTS" "$@" 2>&1); then
		t_ok "chromium: $name"
	else
		t_fail "chromium: $name" "$(printf '%s' "$out" | tail -3)"
	fi
	printf '%s\n' "$out" >>"$T_DIR/browser.log"
}
SITE=http://$BD:$PROXY_PORT

# --- phase A: nothing ready ------------------------------------------------------
if ! start_serve; then
	t_fail "demux serve starts" "$(tail -5 "$T_DIR/serve.log")"
	t_done
fi
api GET /healthz
t_eq "healthz through the proxy" "$CODE $(jf status)" "200 ok"
t_eq "healthz without the admin token: no details" "$RESP" '{"status":"ok"}'
api GET /healthz "" "$TOKEN"
t_eq "healthz checks store, podman and proxy" \
	"$(jf checks.store.ok) $(jf checks.podman.ok) $(jf checks.proxy.ok)" "True True True"
api POST /api/v1/demos
t_eq "claim with nothing ready: 202" "$CODE $(jf status)" "202 provisioning"
t_match "202 carries Retry-After" "$HDRS" $'[Rr]etry-[Aa]fter: [0-9]+'
# min_ready = 0: that claim made the pool provision one instance on demand.
claim_201() { api POST /api/v1/demos && [ "$CODE" = 201 ]; }
if wait_for "an on-demand instance" 60 claim_201; then
	t_ok "min_ready = 0: a later claim gets the instance the first one asked for"
	api DELETE "/api/v1/demos/$(jf id)" "" "$(jf owner_token)"
	t_eq "... and releases it" "$CODE" 200
else
	t_fail "min_ready = 0: a later claim gets the instance the first one asked for" "$CODE $RESP"
fi
# The pool is empty again: the visitor's claim waits for the next one, and
# the waiting page's script claims it by POST once it is ready.
browser "landing and waiting pages" goto "$SITE/" expect "Start your demo" shot 01-landing \
	click "form[action='/start'] button" expect "Preparing your demo" shot 02-waiting \
	waitfor "Your demo is ready"
api GET "/api/v1/demos" "" "$TOKEN"
t_eq "the waiting page's POST got the visitor exactly one demo" \
	"$(python3 -c 'import json,sys; print(sum(d["state"] == "claimed" for d in json.loads(sys.argv[1])["demos"]))' "$RESP")" \
	"$([ -n "$CHROMIUM_BIN" ] && echo 1 || echo 0)"
for id in $(python3 -c 'import json,sys; print(" ".join(d["id"] for d in json.loads(sys.argv[1])["demos"] if d["state"] == "claimed"))' "$RESP"); do
	api DELETE "/api/v1/demos/$id" "" "$TOKEN"
done
stop_serve "phase A"

# --- phase B: a warm pool ----------------------------------------------------------
write_conf 5
if ! start_serve; then
	t_fail "demux serve starts again" "$(tail -5 "$T_DIR/serve.log")"
	t_done
fi
# ready_at_least N: the pool has N ready instances.
ready_at_least() {
	api GET /api/v1/pool "" "$TOKEN"
	[ "$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["pools"][0]["ready"])' "$RESP")" -ge "$1" ]
}
ready_5() { ready_at_least 5; }
ready_1() { ready_at_least 1; }
if wait_for "5 ready instances" 180 ready_5; then
	t_ok "the pool warms up to 5 ready instances"
else
	t_fail "the pool warms up to 5 ready instances" "$RESP" "$(grep -E 'level=(warn|error)' "$T_DIR/serve.log" | tail -3)"
	t_done
fi

# A GET of the waiting page, as a hostile page's <img> would make a reader's
# browser send, never claims, even with demos ready.
before=$(metric "demux_claims_total{template=\"$TEMPLATE\"}")
for i in 1 2 3; do
	curl -s -m 10 -o "$T_DIR/wait$i" -D "$T_DIR/wait$i.h" -H "Host: $BD" \
		"http://127.0.0.1:$PROXY_PORT/wait?template=$TEMPLATE"
done
t_eq "GET /wait claims nothing" "$(metric "demux_claims_total{template=\"$TEMPLATE\"}")" "$before"
t_check "GET /wait sets no owner cookie" bash -c "! grep -qi '^set-cookie' '$T_DIR/wait3.h'"
t_check "GET /wait offers the form that claims by POST" \
	grep -q 'form id="claim" method="post" action="/wait"' "$T_DIR/wait3"

# Five visitors at once: three from one address, two from others.
src_of() { case $1 in 1 | 2 | 3) echo 127.0.0.11 ;; *) echo "127.0.0.1$1" ;; esac; }
for i in 1 2 3 4 5; do
	curl -s -m 60 --interface "$(src_of "$i")" -o "$T_DIR/claim$i" -w '%{http_code}' -X POST -H "Host: $BD" \
		-H 'Content-Type: application/json' --data-binary "{\"template\":\"$TEMPLATE\"}" \
		"http://127.0.0.1:$PROXY_PORT/api/v1/demos" >"$T_DIR/claim$i.code" &
done
wait_claims() { for i in 1 2 3 4 5; do [ -s "$T_DIR/claim$i.code" ] || return 1; done; }
wait_for "5 claims" 60 wait_claims
IDS=()
TOKS=()
codes=
for i in 1 2 3 4 5; do
	codes="$codes$(cat "$T_DIR/claim$i.code") "
	IDS+=("$(jf id "$(cat "$T_DIR/claim$i")")")
	TOKS+=("$(jf owner_token "$(cat "$T_DIR/claim$i")")")
done
t_eq "5 concurrent claims: 5 x 201" "$codes" "201 201 201 201 201 "
t_eq "5 distinct demos" "$(printf '%s\n' "${IDS[@]}" | grep -c . | tr -d ' ')/$(printf '%s\n' "${IDS[@]}" | sort -u | grep -c .)" "5/5"

# Extend them all at once, right away (ttl is 15 s, and the claims below may
# wait for a restore); the first one checks the arithmetic.
before=$(jf expires_at_unix "$(cat "$T_DIR/claim1")")
for i in 0 1 2 3 4; do
	api POST "/api/v1/demos/${IDS[$i]}/extend" '{"minutes": 10}' "${TOKS[$i]}"
	[ "$i" = 0 ] && { first_code=$CODE; after=$(jf expires_at_unix); }
done
t_eq "extend answers 200 to the owner" "$first_code" 200
t_eq "extend moves expires_at by 10 minutes" "$((after - before))" 600

# max_active_per_client = 3: a 4th claimed demo from 127.0.0.11 is refused
# and nothing is handed out; another address still gets one.
claim_from() {
	CODE=$(curl -s -m 60 --interface "$1" -o "$T_DIR/resp" -D "$T_DIR/hdrs" -w '%{http_code}' \
		-X POST -H "Host: $BD" "http://127.0.0.1:$PROXY_PORT/api/v1/demos")
	RESP=$(cat "$T_DIR/resp")
	HDRS=$(cat "$T_DIR/hdrs")
}
claimed_now() { metric "demux_instances{template=\"$TEMPLATE\",state=\"claimed\"}"; }
before=$(claimed_now)
claim_from 127.0.0.11
t_eq "a 4th claim from one address: 429 client_limit" "$CODE $(jf reason)" "429 client_limit"
t_match "the 429 says why" "$(jf error)" "already has 3 demos running"
t_eq "the refused claim handed out nothing" "$(claimed_now)" "$before"
curl -s -m 30 --interface 127.0.0.11 -o "$T_DIR/page429" -w '%{http_code}' -X POST \
	-H "Host: $BD" -H "Origin: http://$BD:$PROXY_PORT" "http://127.0.0.1:$PROXY_PORT/start" >"$T_DIR/page429.code"
t_eq "the visitor's page says so too (429)" "$(cat "$T_DIR/page429.code")" 429
t_check "... readably" grep -q "You already have 3 demos running" "$T_DIR/page429"
claim_from 127.0.0.16
t_eq "another address still gets a demo" "$CODE" 201
api DELETE "/api/v1/demos/$(jf id)" "" "$(jf owner_token)"
t_eq "... which it ends" "$CODE" 200


for i in 0 1 2 3 4; do
	out=$(shop "${IDS[$i]}" GET /)
	hosts=$(grep -oE '(href|action)="https?://[^"/]+' "$T_DIR/shop" | sed -E 's#.*://##' | sort -u | tr '\n' ' ')
	t_eq "demo $((i + 1)) answers on its own domain (no redirect)" "$out" "200 "
	# Visitors come through port $PROXY_PORT, so the shop's links name it.
	t_eq "demo $((i + 1)) links to its own domain and port" "$hosts" "${IDS[$i]}.$BD:$PROXY_PORT "
done
# The 303 after adding a product (below) also names the port:
# a browser that followed a portless link would leave the demo.

# Isolation: a product added in demo 1 only.
product="E2E-Widget-$$"
out=$(shop "${IDS[0]}" POST /add --data-urlencode "name=$product" --data-urlencode "price=9.99")
t_eq "add a product in demo 1: 303 to its own address" "$out" \
	"303 http://${IDS[0]}.$BD:$PROXY_PORT/"
shop "${IDS[0]}" GET / >/dev/null
t_check "demo 1 lists the new product" grep -q "$product" "$T_DIR/shop"
others=0
for i in 1 2 3 4; do
	shop "${IDS[$i]}" GET / >/dev/null
	grep -q "$product" "$T_DIR/shop" && others=$((others + 1))
done
t_eq "the product is absent from demos 2-5" "$others" 0

# Who may see a demo.
api GET "/api/v1/demos/${IDS[0]}" "" "${TOKS[0]}"
t_eq "the owner reads its demo" "$CODE $(jf id)" "200 ${IDS[0]}"
t_match "the demo's url is on the public port" "$(jf url)" "^http://${IDS[0]}\.$BD:$PROXY_PORT/$"
api GET "/api/v1/demos/${IDS[0]}" "" "${TOKS[1]}"
t_eq "another demo's owner token: 404, like an unknown id" "$CODE $RESP" '404 {"error":"no such demo"}'
api GET "/api/v1/demos/${IDS[0]}"
t_eq "no token: 401" "$CODE" 401
api GET "/api/v1/demos/${IDS[0]}" "" "$TOKEN"
t_eq "the admin token reads any demo" "$CODE" 200

# End now.
id5=${IDS[4]}
api DELETE "/api/v1/demos/$id5" "" "${TOKS[4]}"
t_eq "end now: 200" "$CODE $(jf released)" "200 True"
api GET "/api/v1/demos/$id5" "" "$TOKEN"
t_eq "an ended demo is gone from the API" "$CODE" 404
t_check "an ended demo's route is gone" route_gone "$id5"
t_eq "an ended demo's domain answers 404 at the proxy" "$(shop "$id5" GET /)" "404 "
t_check "an ended demo's container is gone" container_gone "$id5"

# A demo left to expire (ttl 15 s).
api POST /api/v1/demos "{\"template\":\"$TEMPLATE\"}"
id6=$(jf id)
t_eq "claim a demo to let expire" "$CODE" 201
t_check "its route exists" route_exists "$id6"
t_check "its container exists" container_exists "$id6"

# The visitor pages in a real browser: start, ready, extend, end.
browser "ready page, extend, end now" goto "$SITE/" click "form[action='/start'] button" \
	waitfor "Your demo is ready" expect "Password" shot 03-ready \
	click "form[action\$='/extend'] button" expect "Time left" \
	click "form[action\$='/end'] button" expect "Your demo has ended" shot 04-ended

# Malformed requests.
api POST /api/v1/demos '{"template": '
t_eq "bad JSON: 400" "$CODE" 400
t_match "bad JSON: JSON error message" "$(jf error)" "invalid JSON"
head -c 1048576 /dev/zero | tr '\0' ' ' >"$T_DIR/big"
CODE=$(curl -s -m 30 -o "$T_DIR/resp" -w '%{http_code}' -X POST -H "Host: $BD" \
	-H 'Content-Type: application/json' --data-binary "@$T_DIR/big" "http://127.0.0.1:$PROXY_PORT/api/v1/demos")
RESP=$(cat "$T_DIR/resp")
t_eq "1 MB body: 413" "$CODE" 413
t_match "1 MB body: JSON error" "$(jf error)" "larger than"
api POST /api/v1/demos '{"template": 5}'
t_eq "wrong type: 400" "$CODE" 400
t_match "wrong type: the message names the field" "$(jf error)" "^template: must be a string"
api POST /api/v1/demos '{"template": "e2eshop", "colour": "red"}'
t_match "unknown field: 400 naming it" "$CODE $(jf error)" '^400 unknown field "colour"'
api POST "/api/v1/demos/${IDS[0]}/extend" '{"minutes": "10"}' "${TOKS[0]}"
t_match "extend with a string: 400 naming minutes" "$CODE $(jf error)" "^400 minutes: must be an integer"
api GET /api/v1/demos/aaaaaaaaaaaaaaaa "" "$TOKEN"
t_eq "unknown id: 404" "$CODE" 404
CODE=$(curl -s --path-as-is -o "$T_DIR/resp" -w '%{http_code}' -H "Host: $BD" \
	-H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PROXY_PORT/api/v1/demos/../x")
t_match "id with ../: 4xx" "$CODE" "^4[0-9][0-9]$"
api GET "/api/v1/demos/..%2F..%2Fetc%2Fpasswd" "" "$TOKEN"
t_eq "id with encoded ../: 404 JSON" "$CODE $(jf error)" "404 no such demo"
api DELETE "/api/v1/demos/${IDS[0]}"
t_eq "delete without a token: 401" "$CODE" 401

# Expiry removes route and container.
gone_6() {
	api GET "/api/v1/demos/$id6" "" "$TOKEN"
	[ "$CODE" = 404 ]
}
if wait_for "expiry of $id6" 60 gone_6; then t_ok "the unextended demo expires"; else t_fail "the unextended demo expires" "$RESP"; fi
t_check "an expired demo's route is gone" route_gone "$id6"
t_check "an expired demo's container is gone" container_gone "$id6"

# The CLI, against demux's own listener.
export DEMUX_API=http://127.0.0.1:$API_PORT DEMUX_ADMIN_TOKEN=$TOKEN
out=$("$DEMUX_BIN" ls 2>&1)
t_match "demux ls lists the live demos" "$out" "${IDS[0]}.*claimed.*${IDS[3]}|${IDS[3]}.*claimed.*${IDS[0]}"
t_eq "demux ls shows 4 claimed demos" "$(printf '%s\n' "$out" | grep -c ' claimed ')" 4
t_match "demux ls counts every instance" "$out" "[0-9]+ demos"$'\n'"?$"
out=$("$DEMUX_BIN" ls --json 2>&1)
t_eq "demux ls --json is the API's JSON" \
	"$(python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print(d["count"] == len(d["demos"]), sum(x["state"] == "claimed" for x in d["demos"]))' "$out")" "True 4"
out=$("$DEMUX_BIN" extend "${IDS[1]}" --minutes 5 2>&1)
t_match "demux extend" "$out" "^${IDS[1]} expires at "
out=$("$DEMUX_BIN" status 2>&1)
t_match "demux status shows health and the pool" "$out" "store +ok.*pool $TEMPLATE: [0-9]+ ready, 4 claimed"
out=$("$DEMUX_BIN" release aaaaaaaaaaaaaaaa 2>&1)
rc=$?
t_eq "demux release of an unknown id fails with the API's message" "$rc $out" "1 demux: no such demo (HTTP 404)"
# The CLI's demos are owned by its address (127.0.0.1, the visitors' pages
# below come from there too): two of them, and two visitors' from elsewhere.
n_cli=0
for i in 1 2; do
	if "$DEMUX_BIN" claim --wait 120 --json >"$T_DIR/cli$i" 2>>"$T_DIR/cli.err"; then
		n_cli=$((n_cli + 1))
	fi
done
t_eq "demux claim x2" "$n_cli" 2
t_match "demux claim --json prints the demo" "$(jf url "$(cat "$T_DIR/cli1")")" "^http://[a-z2-7]{16}\.$BD:$PROXY_PORT/$"
unset DEMUX_API DEMUX_ADMIN_TOKEN
n_vis=0
for src in 127.0.0.18 127.0.0.19; do
	wait_for "a ready demo" 120 ready_1
	claim_from "$src"
	[ "$CODE" = 201 ] && n_vis=$((n_vis + 1))
done
t_eq "two more visitors fill the pool to max_instances (8)" "$n_vis" 2

# At capacity.
api POST /api/v1/demos
t_eq "claim at capacity: 503 with reason" "$CODE $(jf reason)" "503 capacity"
t_match "capacity answer carries Retry-After" "$HDRS" $'[Rr]etry-[Aa]fter: [0-9]+'
browser "capacity page" goto "$SITE/" click "form[action='/start'] button" \
	expect "All demos are in use" expect "try again in a few minutes" shot 05-capacity

# Metrics: 5 + 1 (another address) + 1 (expiring) + 1 (browser) + 2 (CLI)
# + 2 (visitors) claims; capacity refusals: one API, one page (none when Chromium is
# missing); 4 releases: end now (API, twice), end now (page, when Chromium
# ran) and the expiry.
page=0
[ -n "$CHROMIUM_BIN" ] && page=1
t_eq "metrics: claims" "$(metric "demux_claims_total{template=\"$TEMPLATE\"}")" $((11 + page))
t_eq "metrics: claim failures at capacity" \
	"$(metric "demux_claim_failures_total{template=\"$TEMPLATE\",reason=\"capacity\"}")" $((1 + page))
t_eq "metrics: expirations" "$(metric "demux_expirations_total{template=\"$TEMPLATE\"}")" 1
t_eq "metrics: releases" "$(metric "demux_releases_total{template=\"$TEMPLATE\"}")" $((3 + page))
t_eq "metrics: claimed instances" "$(metric "demux_instances{template=\"$TEMPLATE\",state=\"claimed\"}")" 8
t_match "metrics: restore duration histogram" \
	"$(metric "demux_provision_duration_seconds_count{template=\"$TEMPLATE\",method=\"criu_restore\"}")" "^[1-9][0-9]*$"

stop_serve "phase B"
t_check "state changes are logged as key=value lines" grep -qE 'level=info msg=instance claimed template=e2eshop id=[a-z2-7]{16}' "$T_DIR/serve.log"
t_check "the admin token is never logged" bash -c "! grep -qF '$TOKEN' '$T_DIR/serve.log'"
t_check "no port warning while public_port is the proxy's port" \
	bash -c "! grep -q 'the proxy listens on port' '$T_DIR/serve.log'"

# --- phase C: public_port left out while the proxy listens on another port --------
sed -i '/^public_port = /d' "$T_DIR/demux.conf"
if start_serve; then
	t_check "a public_port that is not the proxy's port is warned about at start-up" \
		grep -q "the proxy listens on port $PROXY_PORT but demos' links use port 80" "$T_DIR/serve.log"
	stop_serve "phase C"
else
	t_fail "demux serve starts without public_port" "$(tail -5 "$T_DIR/serve.log")"
fi
cp "$T_DIR/serve.log" "$SHOTS/serve.log" 2>/dev/null
t_done
