#!/usr/bin/env bash
# make demo TEMPLATE=wordpress, end to end, the way an operator and a visitor
# use it: scripts/demo (the code path of make demo) in a demo directory of the
# test's own, on a free port, builds (when needed) and checkpoints the real
# WordPress template, starts Podman's service, Caddy and demux serve; then the
# landing page, a claim through the visitor pages, the ready page with the
# copy's own password, a wp-admin login with that password (and not with the
# template's), the same in headless Chromium with screenshots, and finally
# scripts/demo --clean --dry-run (lists, removes nothing) and --clean (with
# DEMUX_DEMO_KEEP_IMAGES=1: the images are shared with other tests).
# Real Podman + CRIU, MariaDB and WordPress in the copy, Caddy.
set -uo pipefail
. "$(dirname "$0")/../lib/common.sh"
t_init

[ "$(id -u)" -eq 0 ] || t_skip_all "needs root (Podman with CRIU)"
podman image exists localhost/demux/wordpress:latest 2>/dev/null ||
	t_skip_all "image localhost/demux/wordpress:latest missing (scripts/build-image wordpress)"
CHROMIUM_BIN=$(command -v chromium || command -v chromium-browser || true)

DIR=$T_DIR/demo
PORT=$(free_port)
BD=demo.localhost
SITE=http://$BD:$PORT
SHOTS=${DEMUX_TEST_OUT:-$T_DIR}/demo_wordpress
mkdir -p "$SHOTS"
demo() { DEMUX_DEMO_DIR=$DIR DEMUX_DEMO_PORT=$PORT DEMUX_DEMO_DETACH=1 bash "$DEMUX_ROOT/scripts/demo" "$@"; }
t_on_exit "DEMUX_DEMO_DIR=$DIR DEMUX_DEMO_KEEP_IMAGES=1 bash $DEMUX_ROOT/scripts/demo --clean"

start=$SECONDS
if DEMUX_DEMO_TEMPLATE=wordpress demo >"$T_DIR/demo.log" 2>&1; then
	t_ok "scripts/demo with DEMUX_DEMO_TEMPLATE=wordpress comes up ($((SECONDS - start)) s)"
else
	t_fail "scripts/demo with DEMUX_DEMO_TEMPLATE=wordpress comes up" "$(tail -5 "$T_DIR/demo.log")"
	t_done
fi
t_check "its template is wordpress, checkpointed" test -s "$DIR/state/templates/wordpress/template.json"
t_match "it prints the URL to open" "$(cat "$T_DIR/demo.log")" "Open:[[:space:]]+$SITE/"

# front PATH [curl args...]: through Caddy, Host = the base domain.
front() {
	local path=$1
	shift
	curl -s --max-time 20 -o "$T_DIR/body" -D "$T_DIR/headers" -w '%{http_code}' \
		-H "Host: $BD:$PORT" "$@" "http://127.0.0.1:$PORT$path"
}
t_eq "the landing page answers" "$(front /)" 200
t_check "it offers to start a demo" grep -q 'action="/start"' "$T_DIR/body"

# Claim as a visitor: POST /start until a copy is ready (the pool warms up).
JAR=$T_DIR/jar
loc=
for _ in $(seq 90); do
	code=$(front /start -b "$JAR" -c "$JAR" -H "Origin: $SITE" --data template=wordpress)
	loc=$(awk 'tolower($1) == "location:" { print $2 }' "$T_DIR/headers" | tr -d '\r')
	[ "$code" = 303 ] && [[ $loc == /demo/* ]] && break
	sleep 2
done
t_match "a claim through /start leads to the ready page" "$loc" '^/demo/[a-z0-9]+$'
ID=${loc#/demo/}
t_eq "the ready page answers its owner" "$(front "$loc" -b "$JAR")" 200
PW=$(sed -n 's#.*<dt>Password</dt><dd><code>\([^<]*\)</code>.*#\1#p' "$T_DIR/body" | head -1)
USER_=$(sed -n 's#.*<dt>User</dt><dd><code>\([^<]*\)</code>.*#\1#p' "$T_DIR/body" | head -1)
t_match "it shows the admin user and the copy's own password" "$USER_ ${#PW}" '^admin [0-9]+$'
t_check "it links the copy's wp-admin" grep -q "http://$ID.$BD:$PORT/wp-admin/" "$T_DIR/body"

# wp_login PASSWORD: "STATUS LOCATION" of WordPress's login form post on the copy.
HOSTC=$ID.$BD:$PORT
wp_login() {
	curl -s --max-time 30 -o /dev/null -D "$T_DIR/login.headers" -b "$T_DIR/wpjar" -c "$T_DIR/wpjar" \
		-H "Host: $HOSTC" --data-urlencode "log=$USER_" --data-urlencode "pwd=$1" \
		--data-urlencode "wp-submit=Log In" --data-urlencode "testcookie=1" \
		-w '%{http_code} %{redirect_url}' "http://127.0.0.1:$PORT/wp-login.php"
}
t_eq "the copy's home page answers on its own domain" \
	"$(curl -s --max-time 30 -o "$T_DIR/home" -w '%{http_code}' -H "Host: $HOSTC" "http://127.0.0.1:$PORT/")" 200
TPW=$(podman image inspect --format '{{index .Labels "demux.admin_password"}}' localhost/demux/wordpress:latest 2>/dev/null)
if [ -n "$TPW" ] && [ "$TPW" != "$PW" ]; then
	t_match "the template's password does not open the copy's wp-admin" "$(wp_login "$TPW")" '^200 '
else
	t_fail "the template's password is known and differs from the copy's"
fi
curl -s --max-time 10 -o /dev/null -b "$T_DIR/wpjar" -c "$T_DIR/wpjar" -H "Host: $HOSTC" "http://127.0.0.1:$PORT/wp-login.php"
t_match "the copy's password logs in to wp-admin" "$(wp_login "$PW")" "^302 http://$HOSTC/wp-admin/\$"
t_check "with a wordpress_logged_in cookie" grep -qi '^set-cookie: wordpress_logged_in_' "$T_DIR/login.headers"
code=$(curl -s --max-time 30 -o "$T_DIR/dash" -w '%{http_code}' -b "$T_DIR/wpjar" -H "Host: $HOSTC" "http://127.0.0.1:$PORT/wp-admin/")
t_eq "wp-admin's dashboard answers the logged-in admin" "$code $(grep -c '<title>Dashboard' "$T_DIR/dash")" "200 1"

if [ -n "$CHROMIUM_BIN" ]; then
	if out=$(CHROMIUM=$CHROMIUM_BIN python3 "$DEMUX_ROOT/tests/lib/browser.py" "$SHOTS" \
		goto "$SITE/" shot landing expect "Start your demo" click "form[action='/start'] button" \
		waitfor "Your demo is ready" expect "Password" shot ready \
		goto "http://$ID.$BD:$PORT/" shot wordpress-home \
		goto "http://$ID.$BD:$PORT/wp-login.php" expect "Username" shot wp-login 2>&1); then
		t_ok "chromium: landing, claim, ready page, the copy's WordPress (screenshots in $SHOTS)"
	else
		t_fail "chromium: landing, claim, ready page, the copy's WordPress" "$(printf '%s' "$out" | tail -3)"
	fi
else
	_t_n=$((_t_n + 1))
	echo "ok $_t_n - # SKIP chromium not installed"
fi

out=$(DEMUX_DEMO_DIR=$DIR bash "$DEMUX_ROOT/scripts/demo" --clean --dry-run 2>&1)
t_match "demo --clean --dry-run lists the template, the images and the directory" "$out" \
	"template wordpress.*image localhost/demux/wordpress:latest.*directory $DIR"
t_check "and removes nothing" test -s "$DIR/state/templates/wordpress/template.json"
t_check "demux serve still answers" test "$(front /healthz)" = 200

out=$(DEMUX_DEMO_DIR=$DIR DEMUX_DEMO_KEEP_IMAGES=1 bash "$DEMUX_ROOT/scripts/demo" --clean 2>&1)
t_check "demo --clean removes the demo directory" test ! -e "$DIR"
t_eq "no container of this demo is left" \
	"$(podman ps -a --filter "label=demux.demo_dir=$DIR" --format '{{.ID}}' | wc -l)" 0
t_eq "no prepared-restore image of this demo is left" \
	"$(podman images -q --filter "label=demux.demo_dir=$DIR" --filter 'reference=localhost/demux-restore/*' | wc -l)" 0
t_check "nothing answers on the demo's port" bash -c "! curl -s --max-time 3 -o /dev/null http://127.0.0.1:$PORT/"
t_check "DEMUX_DEMO_KEEP_IMAGES=1 kept the shared image" podman image exists localhost/demux/wordpress:latest
t_done
