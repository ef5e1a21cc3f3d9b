#!/usr/bin/env bash
# End to end over https: "demux serve" with [server] public_scheme = https
# behind a real Caddy (tls = internal: Caddy's own CA issues the wildcard)
# and then a real HAProxy (tls = files: a CA and a wildcard certificate made
# here with openssl), with real Podman + CRIU copies of the shop-fixture and
# wordpress templates. Every check trusts the CA with curl --cacert, never
# by switching verification off:
# - a claimed copy answers 200 over https at https://<id>.<base_domain>:PORT/
#   at once (no redirect, so no loop), with the wildcard certificate (SAN
#   *.<base_domain>; no certificate names a demo);
# - its pages hold no http:// link to itself (mixed content) and every link
#   to itself is https;
# - the scheme reaches PHP only through the proxy: the same copy asked
#   directly on its published port (no X-Forwarded-Proto) redirects to https,
#   and a client's own X-Forwarded-Proto: http does not fool the proxy;
# - WordPress (Caddy phase): a real admin login over https lands on wp-admin,
#   https all the way;
# - headless Chromium, trusting Caddy's CA through an NSS database of its
#   own (certutil, HOME=$T_DIR/home; no flag that skips certificate
#   checks, and a session without that database is refused): the landing
#   page in the look of [pages], a demo started from it, its shop, and a
#   WordPress admin login (screenshots in $DEMUX_TEST_OUT/https/);
# - claims from other sites (docs/EMBED.md): from an origin of [server]
#   allowed_origins the API answers with CORS headers (and its preflight
#   with 204) and a form post gets the hand-off page; from any other origin,
#   403 and no CORS header.
set -uo pipefail
. "$(dirname "$0")/../lib/common.sh"
t_init

[ -x "$DEMUX_BIN" ] || t_skip_all "demux is not built ($DEMUX_BIN)"
command -v caddy >/dev/null || t_skip_all "caddy is not installed"
command -v haproxy >/dev/null || t_skip_all "haproxy is not installed"
command -v podman >/dev/null || t_skip_all "podman is not installed"
command -v openssl >/dev/null || t_skip_all "openssl is not installed"
t_remove_containers_at_exit https

BD=demo.localhost
OK_ORIGIN=https://www.product.localhost
PRODUCT_PORT=$(free_port)
PRODUCT_ORIGIN=http://www.product.localhost:$PRODUCT_PORT
SHOTS=${DEMUX_TEST_OUT:-/tmp}/https
CHROMIUM_BIN=$(command -v chromium || command -v chromium-browser || true)
need_podman_service || { t_fail "podman service starts"; t_done; }
if ! bash "$DEMUX_ROOT/scripts/build-image" shop-fixture wordpress >"$T_DIR/build-image.log" 2>&1; then
	t_fail "build the template images" "$(tail -5 "$T_DIR/build-image.log")"
	t_done
fi
start_caddy || { t_fail "caddy starts" "$(tail -5 "$T_DIR/caddy/caddy.log")"; t_done; }
serve_setup
# Where Caddy (XDG_DATA_HOME=$T_DIR/caddy) keeps its internal CA's root.
CA=$T_DIR/caddy/caddy/pki/authorities/local/root.crt

# write_conf BACKEND POOLS...: serve_conf_head, then https and the pools.
write_conf() {
	local backend=$1 p
	shift
	{
		serve_conf_head
		cat <<CONF
[server]
public_scheme = https
max_active_per_client = 10
allowed_origins = $OK_ORIGIN $PRODUCT_ORIGIN
[pages]
product_name = Acme Shop
description = The shop system that sells while you sleep.
accent_color = #0a7d55
lifetime_text = Yours for 10 minutes, then everything is deleted.
CONF
		if [ "$backend" = haproxy ]; then
			cat <<CONF
[proxy]
backend = haproxy
haproxy_socket = $T_DIR/run/haproxy.sock
haproxy_map = $T_DIR/run/hosts.map
tls = files
tls_cert_file = $T_DIR/tls/site.pem
CONF
		else
			printf '[proxy]\ntls = internal\n'
		fi
		for p in "$@"; do
			cat <<CONF
[pool $p]
min_ready = 1
max_instances = 6
product_name = $([ "$p" = hshop ] && echo "Acme Shop" || echo "Acme Blog")
ttl = 10m
port_min = $([ "$p" = hshop ] && echo 45000 || echo 45100)
port_max = $([ "$p" = hshop ] && echo 45099 || echo 45199)
CONF
		done
	} >"$T_DIR/demux.conf"
}

# https_get HOST PATH [CURL ARGS...]: through the proxy, trusting $CA only;
# prints "STATUS REDIRECT", body in $T_DIR/body, headers in $T_DIR/headers.
https_get() {
	local host=$1 path=$2
	shift 2
	curl -sS -m 30 --cacert "$CA" --resolve "$host:$PROXY_PORT:127.0.0.1" \
		-o "$T_DIR/body" -D "$T_DIR/headers" -w '%{http_code} %{redirect_url}' "$@" \
		"https://$host:$PROXY_PORT$path" 2>"$T_DIR/curl.err"
}
# claim TEMPLATE: over https through the proxy; sets ID, USER, PASS, URL.
claim() {
	local out
	out=$(curl -s -m 60 --cacert "$CA" --resolve "$BD:$PROXY_PORT:127.0.0.1" \
		-H 'Content-Type: application/json' --data "{\"template\":\"$1\"}" \
		-w '\n%{http_code}' "https://$BD:$PROXY_PORT/api/v1/demos")
	[ "$(tail -1 <<<"$out")" = 201 ] || return 1
	read -r ID USER PASS URL < <(head -1 <<<"$out" | python3 -c 'import json,sys
d=json.load(sys.stdin); c=d.get("credentials") or {}
print(d["id"], c.get("user") or "-", c.get("password") or "-", d["url"])')
}
# Links from a page to the demo itself, by scheme: "<http> <https>".
self_links() {
	printf '%s %s' "$(grep -oE "(href|src|action)=[\"']http://$1[:/\"']" "$T_DIR/body" | wc -l)" \
		"$(grep -oE "(href|src|action)=[\"']https://$1[:/\"']" "$T_DIR/body" | wc -l)"
}
# The certificate PROXY_PORT shows for SNI NAME: its SANs, and whether it
# verifies against $CA ("Verify return code: 0").
cert_sans() {
	echo | openssl s_client -connect "127.0.0.1:$PROXY_PORT" -servername "$1" -CAfile "$CA" \
		-verify_hostname "$1" 2>/dev/null >"$T_DIR/sclient"
	openssl x509 -noout -ext subjectAltName <"$T_DIR/sclient" 2>/dev/null | tail -n +2 | tr -d ' '
}
cert_verified() { grep -q 'Verify return code: 0 (ok)' "$T_DIR/sclient"; }

# An NSS database (Chromium's trust store on Linux) holding only $CA, in a
# HOME of the test's own; browser NAME [trusted|untrusted] STEP...
nss_with_ca() {
	mkdir -p "$T_DIR/home/.pki/nssdb" &&
		certutil -d "sql:$T_DIR/home/.pki/nssdb" -N --empty-password &&
		certutil -d "sql:$T_DIR/home/.pki/nssdb" -A -t C,, -n demux-test-ca -i "$CA"
}
browser() {
	local name=$1 home=$T_DIR/home out
	shift
	[ "$1" = untrusted ] && home=$T_DIR/home-empty && mkdir -p "$home"
	shift
	out=$(HOME=$home CHROMIUM=$CHROMIUM_BIN python3 "$DEMUX_ROOT/tests/lib/browser.py" "$SHOTS" "$@" 2>&1)
	BROWSER_RC=$?
	printf '%s\n' "$out" >>"$T_DIR/browser.log"
	BROWSER_OUT=$out
}
# from_origin ORIGIN METHOD PATH [CURL ARGS...]: through the proxy with that
# Origin; prints the status, headers in $T_DIR/oh, body in $T_DIR/ob.
from_origin() {
	local o=$1 m=$2 p=$3
	shift 3
	curl -s -m 60 --cacert "$CA" --resolve "$BD:$PROXY_PORT:127.0.0.1" -X "$m" -H "Origin: $o" \
		-o "$T_DIR/ob" -D "$T_DIR/oh" -w '%{http_code}' "$@" "https://$BD:$PROXY_PORT$p"
}
acao() { tr -d '\r' <"$T_DIR/oh" | awk -F': ' 'tolower($1) == "access-control-allow-origin" { print $2 }'; }

SERVE_PID=
start_serve() {
	"$DEMUX_BIN" serve --config "$T_DIR/demux.conf" >>"$T_DIR/serve.log" 2>&1 &
	SERVE_PID=$!
	_t_pids+=("$SERVE_PID")
	wait_for "demux serve over https" 60 curl -sf --cacert "$CA" \
		--resolve "$BD:$PROXY_PORT:127.0.0.1" "https://$BD:$PROXY_PORT/healthz"
}
ready() {
	curl -s -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$API_PORT/api/v1/pool" |
		python3 -c 'import json,sys
d=json.load(sys.stdin); p=d if isinstance(d,list) else d.get("pools",[])
sys.exit(0 if all(x.get("ready",0)>=1 for x in p if x.get("template") in sys.argv[1:]) else 1)' "$@"
}

# check_shop WHAT SANS: claims an hshop demo and checks it over https; SANS
# is what the demo's certificate names.
check_shop() {
	local what=$1 sans=$2 out port
	if ! wait_for "a ready hshop copy ($what)" 120 ready hshop || ! claim hshop; then
		t_fail "$what: claim a shop over https" "$(tail -5 "$T_DIR/serve.log")"
		return
	fi
	t_eq "$what: the demo's URL is https on the proxy's port" "$URL" "https://$ID.$BD:$PROXY_PORT/"
	out=$(https_get "$ID.$BD" /)
	[ "$out" = "200 " ] || out="$out $(cat "$T_DIR/curl.err") $(tail -3 "$T_DIR/serve.log")"
	t_eq "$what: the claimed shop answers 200 over https, no redirect" "$out" "200 "
	t_eq "$what: no http:// link to itself, its links are https" \
		"$(self_links "$ID.$BD:$PROXY_PORT")" "0 $(grep -oE "(href|src|action)=\"https://$ID.$BD:$PROXY_PORT[/\"]" "$T_DIR/body" | wc -l)"
	t_check "$what: ... and it has some (the product links)" \
		grep -q "href=\"https://$ID.$BD:$PROXY_PORT/product/" "$T_DIR/body"
	t_eq "$what: certificate for the demo is the wildcard" "$(cert_sans "$ID.$BD")" "$sans"
	t_check "$what: ... and verifies against the CA for that host" cert_verified
	out=$(https_get "$ID.$BD" /admin -u "$USER:$PASS")
	t_eq "$what: back office over https with the copy's own password" "$out" "200 "
	out=$(https_get "$ID.$BD" / -H 'X-Forwarded-Proto: http')
	t_eq "$what: a client's X-Forwarded-Proto: http changes nothing" "$out" "200 "
	# Followed redirects end somewhere (none here): no loop.
	t_eq "$what: following redirects ends in one 200" \
		"$(curl -s -o /dev/null -m 30 -L --max-redirs 5 --cacert "$CA" \
			--resolve "$ID.$BD:$PROXY_PORT:127.0.0.1" -w '%{http_code} %{num_redirects}' \
			"https://$ID.$BD:$PROXY_PORT/admin")" "401 0"
	port=$(podman port "demux-$ID" 80 2>/dev/null | head -1 | sed 's/.*://')
	out=$(curl -s -o /dev/null -m 10 -H "Host: $ID.$BD:$PROXY_PORT" -w '%{http_code} %{redirect_url}' \
		"http://127.0.0.1:$port/")
	t_eq "$what: the copy itself, asked without the proxy, sends plain http to https" \
		"$out" "301 https://$ID.$BD:$PROXY_PORT/"
}

# --- templates ------------------------------------------------------------------------
write_conf caddy hshop hwp
for t in hshop:shop-fixture hwp:wordpress; do
	if ! "$DEMUX_BIN" template create --config "$T_DIR/demux.conf" --name "${t%%:*}" \
		--image "localhost/demux/${t#*:}:latest" --label demux.test=https \
		>"$T_DIR/template-${t%%:*}.log" 2>&1; then
		t_fail "demux template create ${t%%:*}" "$(tail -5 "$T_DIR/template-${t%%:*}.log")"
		t_done
	fi
done
t_ok "templates hshop (shop-fixture) and hwp (wordpress) created"

# --- Caddy, tls = internal ------------------------------------------------------------
t_check "demux proxy config caddy prints the tls app" bash -c \
	"'$DEMUX_BIN' proxy config caddy --config '$T_DIR/demux.conf' | grep -q '\"automate\"'"
if ! start_serve; then
	t_fail "demux serve starts behind caddy with tls = internal" "$(tail -5 "$T_DIR/serve.log")"
	t_done
fi
t_ok "demux serve answers over https through caddy (CA: caddy's internal root)"
t_eq "front door certificate names the base domain" "$(cert_sans "$BD")" "DNS:$BD"
t_eq "plain http on the https listener is refused" \
	"$(curl -s -o /dev/null -m 5 -w '%{http_code}' -H "Host: $BD" "http://127.0.0.1:$PROXY_PORT/healthz")" "400"
out=$(https_get "$BD" /)
t_eq "landing page over https" "$out" "200 "
check_shop caddy "DNS:*.$BD"
# --- claims from other sites ---------------------------------------------------------
t_eq "preflight from an allowed origin: 204 with CORS headers" \
	"$(from_origin "$OK_ORIGIN" OPTIONS /api/v1/demos -H 'Access-Control-Request-Method: POST' \
		-H 'Access-Control-Request-Headers: content-type') $(acao)" "204 $OK_ORIGIN"
t_eq "... allowing POST and Content-Type" \
	"$(tr -d '\r' <"$T_DIR/oh" | grep -iE '^access-control-allow-(methods|headers):' | tr 'A-Z' 'a-z' | sort | tr '\n' '|')" \
	"access-control-allow-headers: content-type, authorization|access-control-allow-methods: get, post|"
t_eq "preflight from another origin: 403, no CORS header" \
	"$(from_origin https://evil.localhost OPTIONS /api/v1/demos -H 'Access-Control-Request-Method: POST') $(acao)" "403 "
t_eq "API claim from another origin: 403, no CORS header" \
	"$(from_origin https://evil.localhost POST /api/v1/demos -H 'Content-Type: application/json' --data '{"template":"hshop"}') $(acao)" "403 "
t_eq "form claim from another origin: 403" \
	"$(from_origin https://evil.localhost POST /start --data template=hshop)" 403
wait_for "a ready hshop copy (API claim)" 120 ready hshop
t_eq "API claim from the allowed origin: 201 with its CORS header" \
	"$(from_origin "$OK_ORIGIN" POST /api/v1/demos -H 'Content-Type: application/json' --data '{"template":"hshop"}') $(acao)" "201 $OK_ORIGIN"
wait_for "a ready hshop copy (form claim)" 120 ready hshop
t_eq "form claim from the allowed origin: 200, the hand-off page" \
	"$(from_origin "$OK_ORIGIN" POST /start --data template=hshop)" 200
t_match "... with the owner cookie and the way to the ready page" \
	"$(tr -d '\r' <"$T_DIR/oh") $(cat "$T_DIR/ob")" "[Ss]et-[Cc]ookie: __Host-demux_owner=.*href=\"/demo/[a-z0-9]{16}\""
t_eq "/embed.js is served" "$(https_get "$BD" /embed.js) $(grep -c 'form\[data-demux\]' "$T_DIR/body")" "200  1"

# --- Chromium, trusting the CA ------------------------------------------------------
if [ -z "$CHROMIUM_BIN" ] || ! command -v certutil >/dev/null; then
	t_fail "chromium and certutil (libnss3-tools) are installed"
elif ! nss_with_ca >"$T_DIR/certutil.log" 2>&1; then
	t_fail "certutil adds the CA to an NSS database" "$(tail -3 "$T_DIR/certutil.log")"
else
	browser untrusted-landing untrusted goto "https://$BD:$PROXY_PORT/"
	t_match "chromium without the CA refuses the site" "$BROWSER_OUT" "ERR_CERT_AUTHORITY_INVALID"
	wait_for "a ready hshop copy (browser)" 120 ready hshop
	browser landing trusted goto "https://$BD:$PROXY_PORT/" expect "Try Acme Shop live" \
		shot https-landing click "form:has(input[value=hshop]) button" \
		waitfor "Your demo is ready" shot https-ready follow "a.btn[target=_blank]" \
		expect "Products" url shot https-shop
	t_eq "chromium (CA trusted): landing, start, ready page, the shop over https" "$BROWSER_RC" 0
	t_match "... the shop's page is https on the demo's host" "$BROWSER_OUT" \
		"ok url https://[a-z0-9]{16}\.$BD:$PROXY_PORT/"
	# The product page's form (docs/EMBED.md), on a site of its own: the
	# claim crosses sites, and the ready page must still know its owner
	# (the SameSite=Strict cookie goes only with a same-site navigation).
	mkdir -p "$T_DIR/product"
	cat >"$T_DIR/product/index.html" <<HTML
<!doctype html><title>Acme Shop</title><h1>Acme Shop</h1>
<form data-demux target="_self"><button>Try it</button></form>
<script src="https://$BD:$PROXY_PORT/embed.js"></script>
HTML
	python3 -m http.server "$PRODUCT_PORT" --bind 127.0.0.1 --directory "$T_DIR/product" \
		>"$T_DIR/product.log" 2>&1 &
	_t_pids+=("$!")
	wait_for "the product page's server" 10 tcp_open "$PRODUCT_PORT"
	wait_for "a ready hshop copy (product page)" 120 ready hshop
	browser product-page trusted goto "$PRODUCT_ORIGIN/" shot https-product-page \
		click "form[data-demux] button" waitfor "Time left" url shot https-product-ready
	t_eq "chromium: the product page's Try it form opens the visitor's own ready page" \
		"$BROWSER_RC" 0
	t_match "... on the base domain" "$BROWSER_OUT" "ok url https://$BD:$PROXY_PORT/demo/[a-z0-9]{16}"
fi

t_eq "caddy holds no certificate naming a demo" \
	"$(find "$T_DIR/caddy/caddy/certificates" -type f -name '*.crt' | sed 's#.*/##' | sort | tr '\n' ' ')" \
	"$BD.crt wildcard_.$BD.crt "

# WordPress: pages, login, admin, over https.
if wait_for "a ready wordpress copy" 180 ready hwp && claim hwp; then
	out=$(https_get "$ID.$BD" /)
	t_eq "wordpress: 200 over https at once" "$out" "200 "
	t_eq "wordpress: no http:// link to itself" "$(self_links "$ID.$BD:$PROXY_PORT" | cut -d' ' -f1)" 0
	t_check "wordpress: its own links are https" grep -q "https://$ID.$BD:$PROXY_PORT/" "$T_DIR/body"
	out=$(https_get "$ID.$BD" /wp-login.php -c "$T_DIR/jar" \
		--data-urlencode "log=$USER" --data-urlencode "pwd=$PASS" --data-urlencode "wp-submit=Log In")
	t_eq "wordpress: admin login over https redirects to https wp-admin" "$out" \
		"302 https://$ID.$BD:$PROXY_PORT/wp-admin/"
	t_check "wordpress: the login cookie is Secure" grep -qiE '^set-cookie: wordpress_sec_[^;]*;.*secure' "$T_DIR/headers"
	out=$(https_get "$ID.$BD" /wp-admin/ -b "$T_DIR/jar")
	t_eq "wordpress: the dashboard answers 200 over https" "$out" "200 "
	t_check "wordpress: ... and is the dashboard" grep -q 'wp-admin-bar\|id="dashboard-widgets' "$T_DIR/body"
	t_eq "wordpress: no http:// link to itself in wp-admin" \
		"$(self_links "$ID.$BD:$PROXY_PORT" | cut -d' ' -f1)" 0
	# A transport failure (curl's 000: no HTTP answer at all) is not what
	# this checks: it is shown, with curl's reason, and the request made once
	# more; a loop or a wrong answer fails.
	wp_admin_anon() {
		curl -sS -o /dev/null -m 30 -L --max-redirs 5 --cacert "$CA" \
			--resolve "$ID.$BD:$PROXY_PORT:127.0.0.1" -w '%{http_code} %{num_redirects}' \
			"https://$ID.$BD:$PROXY_PORT/wp-admin/" 2>"$T_DIR/curl.err"
	}
	out=$(wp_admin_anon)
	if [ "${out%% *}" = 000 ]; then
		echo "# wp-admin without a login: no HTTP answer ($(cat "$T_DIR/curl.err")); once more"
		out=$(wp_admin_anon)
	fi
	[ "$out" = "200 1" ] || out="$out $(cat "$T_DIR/curl.err") $(tail -3 "$T_DIR/serve.log")"
	t_eq "wordpress: wp-admin without a login ends at wp-login.php, no loop" "$out" "200 1"
	if [ -d "$T_DIR/home/.pki/nssdb" ]; then
		browser wp-login trusted goto "https://$ID.$BD:$PROXY_PORT/wp-admin/" \
			fill "#user_login=$USER" fill "#user_pass=$PASS" shot https-wp-login \
			click "#wp-submit" waitfor Dashboard url shot https-wp-dashboard
		t_eq "chromium (CA trusted): WordPress admin login over https" "$BROWSER_RC" 0
		t_match "... lands on https wp-admin" "$BROWSER_OUT" \
			"ok url https://$ID\.$BD:$PROXY_PORT/wp-admin/"
	fi
else
	t_fail "claim a wordpress demo over https" "$(tail -5 "$T_DIR/serve.log")"
fi
kill -TERM "$SERVE_PID"
wait "$SERVE_PID"
t_eq "demux serve (caddy) stops with status 0" "$?" 0

# --- HAProxy, tls = files ----------------------------------------------------------------
# Caddy goes first: it listens on the same port.
stop_pid "$CADDY_PID"
wait_for "caddy to let go of port $PROXY_PORT" 20 bash -c "! (exec 3<>/dev/tcp/127.0.0.1/$PROXY_PORT) 2>/dev/null"
# A CA and one certificate for *.$BD and $BD, as an operator would bring.
mkdir -p "$T_DIR/tls" "$T_DIR/run"
CA=$T_DIR/tls/ca.crt
(
	cd "$T_DIR/tls" &&
		openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=demux test CA" \
			-keyout ca.key -out ca.crt -addext basicConstraints=critical,CA:TRUE \
			-addext keyUsage=critical,keyCertSign,cRLSign &&
		openssl req -newkey rsa:2048 -nodes -subj "/CN=*.$BD" -keyout site.key -out site.csr &&
		printf 'subjectAltName=DNS:*.%s,DNS:%s\nextendedKeyUsage=serverAuth\n' "$BD" "$BD" >ext &&
		openssl x509 -req -in site.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 \
			-extfile ext -out site.crt &&
		cat site.crt site.key >site.pem
) >"$T_DIR/tls/openssl.log" 2>&1 || { t_fail "openssl makes a CA and a wildcard" "$(tail -3 "$T_DIR/tls/openssl.log")"; t_done; }
write_conf haproxy hshop
"$DEMUX_BIN" proxy config haproxy --config "$T_DIR/demux.conf" >"$T_DIR/haproxy.cfg" 2>"$T_DIR/haproxy-config.err"
t_match "the haproxy config binds with the certificate" "$(cat "$T_DIR/haproxy.cfg")" \
	"bind 127.0.0.1:$PROXY_PORT ssl crt $T_DIR/tls/site.pem"
# HAProxy refuses to start without the map file (demux serve makes it too).
: >"$T_DIR/run/hosts.map"
t_check "haproxy accepts it" haproxy -c -q -f "$T_DIR/haproxy.cfg"
start_haproxy "$T_DIR/haproxy.cfg"
# demux serve checks the front door at start, through HAProxy's socket.
wait_for "haproxy's runtime socket" 20 test -S "$T_DIR/run/haproxy.sock"
if ! start_serve; then
	t_fail "demux serve starts behind haproxy with tls = files" \
		"$(tail -5 "$T_DIR/serve.log"; tail -5 "$T_DIR/haproxy.log"; ss -ltnp | grep ":$PROXY_PORT ")"
	t_done
fi
t_ok "demux serve answers over https through haproxy (CA made here)"
t_eq "haproxy: the front door shows the wildcard certificate" "$(cert_sans "$BD")" "DNS:*.$BD,DNS:$BD"
check_shop haproxy "DNS:*.$BD,DNS:$BD"
kill -TERM "$SERVE_PID"
wait "$SERVE_PID"
t_eq "demux serve (haproxy) stops with status 0" "$?" 0
t_done
