#!/usr/bin/env bash
# End to end: the app profiles on restored copies of the template images.
#
# For each image (shop-fixture with the prestashop profile, wordpress with the
# wordpress profile): run the template, warm it, checkpoint it with no
# established TCP connection, restore copies under new names and ports, and
# check what a visitor would see — before the hook, a redirect to the
# template's domain; after after_restore (run by build/tests/integ_app_db
# hook, the profile code demux runs), 200 and every link on the new domain.
# The shop fixture also shows why the caches are cleared and that copies are
# isolated (embedded database mode). In both, the hook gives the copy its own
# admin password: a real login with it succeeds, one with the template's
# password (which every visitor of every copy used to be shown) is refused.
set -uo pipefail
. "$(dirname "$0")/../lib/common.sh"
t_init

HOOK=$DEMUX_ROOT/build/tests/integ_app_db
[ -x "$HOOK" ] || t_skip_all "build/tests/integ_app_db is not built (make tests-build)"
command -v podman >/dev/null || t_skip_all "podman is not installed"
t_remove_containers_at_exit app_e2e

SHOP_IMAGE=${DEMUX_SHOP_IMAGE:-localhost/demux/shop-fixture:latest}
WP_IMAGE=${DEMUX_WP_IMAGE:-localhost/demux/wordpress:latest}
tag=$$

label() { podman image inspect --format "{{index .Labels \"$2\"}}" "$1"; }

# http_get HOST PORT PATH: prints "STATUS LOCATION" and keeps headers and body
# in $T_DIR/headers and $T_DIR/body. Connects to 127.0.0.1 and sends Host,
# as demux's own checks do (*.localhost does not resolve through glibc here).
http_get() {
	curl -s --max-time 20 -o "$T_DIR/body" -D "$T_DIR/headers" -H "Host: $1" \
		-w '%{http_code} %{redirect_url}' "http://127.0.0.1:$2$3"
}

# Established TCP connections inside the container (checkpoint needs none).
established() {
	local pid
	pid=$(podman inspect --format '{{.State.Pid}}' "$1") || return 1
	nsenter -t "$pid" -n ss -Htn state established 2>/dev/null | grep -c . || true
}

# db_socket NAME: the container's MariaDB socket as the host reaches it. The
# database listens on the container's 127.0.0.1 only and has no published
# port; demux's hook connects the same way.
db_socket() {
	local pid
	pid=$(podman inspect --format '{{.State.Pid}}' "$1") || return 1
	echo "/proc/$pid/root/run/mysqld/mysqld.sock"
}

# start_template IMAGE NAME: runs the template; sets TP (app port) and TQ
# (database socket).
start_template() {
	TP=$(free_port)
	run_container "$2" --label demux.test=app_e2e -p "127.0.0.1:$TP:80" "$1" &&
		TQ=$(db_socket "$2")
}

# checkpoint NAME FILE: waits until no TCP connection is established, then
# checkpoints to FILE (the container stops).
checkpoint() {
	local i n
	for i in $(seq 1 100); do
		n=$(established "$1")
		[ "$n" = 0 ] && break
		sleep 0.1
	done
	podman container checkpoint --export "$2" --file-locks "$1" >/dev/null
}

# archive_missing NAME FILE: the regular files under /var/lib/mysql that
# podman diff reports changed or added in the (checkpointed, stopped)
# container but that FILE's rootfs-diff.tar lacks. A copy restored without
# them runs on the image's stale table files under a newer buffer pool.
archive_missing() {
	local m want have
	m=$(podman mount "$1") || return 1
	want=$(podman diff "$1" | awk '$1 != "D" {print $2}' | grep -E '^/var/lib/(mysql|demux-db)/' |
		while read -r f; do [ -f "$m$f" ] && [ ! -L "$m$f" ] && echo "${f#/}"; done | sort)
	podman umount "$1" >/dev/null
	[ -n "$want" ] || { echo "(no database file in the container's diff: datadir moved?)"; return 0; }
	have=$(tar -xOf "$2" rootfs-diff.tar | tar -t | sort)
	comm -23 <(echo "$want") <(echo "$have") | tr '\n' ' ' | sed 's/ *$//'
}

# restore FILE NAME: sets RP and RQ, the copy's app port and database socket.
restore() {
	RP=$(free_port)
	podman container restore --import "$1" --name "$2" --file-locks \
		-p "127.0.0.1:$RP:80" >/dev/null && RQ=$(db_socket "$2")
}

# hook PROFILE DOMAIN PREFIX DB_SOCKET USER SCHEMA PASSWORD: runs after_restore.
# With ADMIN_USER and ADMIN_PASSWORD set, the copy gets that admin password.
hook() {
	DEMUX_HOOK_DB_PASSWORD=$7 DEMUX_HOOK_ADMIN_USER=${ADMIN_USER:-} \
		DEMUX_HOOK_ADMIN_PASSWORD=${ADMIN_PASSWORD:-} \
		"$HOOK" hook "$1" "$2" "$3" "$4" "$5" "$6" 2>"$T_DIR/hook.err"
}

# A fresh password as demux makes them (16 characters, no look-alikes).
new_password() { tr -dc '23456789abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ' </dev/urandom | head -c 16; }

# shop_admin HOST PORT USER PASSWORD: the HTTP status of the fixture's back
# office with that login (basic auth, checked with password_verify against
# ps_employee.passwd, as PrestaShop does).
shop_admin() {
	curl -s --max-time 20 -o /dev/null -w '%{http_code}' -u "$3:$4" -H "Host: $1" \
		"http://127.0.0.1:$2/admin"
}

# wp_login HOST PORT USER PASSWORD: "STATUS LOCATION LOGGED_IN" of a real
# WordPress login form post; a good login answers 302 to wp-admin with a
# wordpress_logged_in_ cookie.
wp_login() {
	local out
	out=$(curl -s --max-time 20 -o "$T_DIR/login.body" -D "$T_DIR/login.headers" -H "Host: $1" \
		--data-urlencode "log=$3" --data-urlencode "pwd=$4" --data-urlencode "wp-submit=Log In" \
		-w '%{http_code} %{redirect_url}' "http://127.0.0.1:$2/wp-login.php")
	if grep -qi '^set-cookie: wordpress_logged_in_' "$T_DIR/login.headers"; then
		echo "$out logged_in"
	else
		echo "$out no_cookie"
	fi
}

# Every absolute link target's host, one per line.
link_hosts() {
	grep -oE '(href|src|action)="https?://[^"/]+' "$T_DIR/body" | sed -E 's#.*://##' | sort | uniq -c
}
# Number of link-ish attributes (relative or absolute).
link_count() { grep -oE '(href|src|action)="[^"]+"' "$T_DIR/body" | wc -l; }

# --- shop-fixture / prestashop ----------------------------------------------------
shop_test() {
	local tdomain dbname dbuser dbpass prefix out ms hosts d1 d2 p1 missing admin tpass pw1 pw2
	tdomain=$(label "$SHOP_IMAGE" demux.domain)
	admin=$(label "$SHOP_IMAGE" demux.admin_user)
	tpass=$(label "$SHOP_IMAGE" demux.admin_password)
	pw1=$(new_password)
	pw2=$(new_password)
	dbname=$(label "$SHOP_IMAGE" demux.db_name)
	dbuser=$(label "$SHOP_IMAGE" demux.db_user)
	dbpass=$(label "$SHOP_IMAGE" demux.db_password)
	prefix=$(label "$SHOP_IMAGE" demux.db_prefix)
	d1=s1$tag.demo.localhost
	d2=s2$tag.demo.localhost

	start_template "$SHOP_IMAGE" "app-e2e-shop-$tag" || { t_fail "shop template starts"; return; }
	if ! wait_for "shop template" 90 curl -sf -o /dev/null "http://127.0.0.1:$TP/health"; then
		t_fail "shop template starts" "$(podman logs --tail 20 "app-e2e-shop-$tag" 2>&1)"
		return
	fi
	out=$(http_get "$tdomain" "$TP" /)
	t_eq "shop template answers 200 for its own domain" "$out" "200 "
	# The second render is a cache hit: the template's checkpoint holds the
	# product list, links included, in ps_smarty_cache.
	http_get "$tdomain" "$TP" / >/dev/null
	t_match "template's product list is cached" "$(cat "$T_DIR/headers")" "X-Shop-Cache: hit"
	checkpoint "app-e2e-shop-$tag" "$T_DIR/shop.tar" || { t_fail "checkpoint shop template"; return; }
	missing=$(archive_missing "app-e2e-shop-$tag" "$T_DIR/shop.tar")
	if [ -z "$missing" ]; then
		t_ok "the checkpoint carries every database file the template changed"
	else
		t_fail "the checkpoint carries every database file the template changed" "missing: $missing" \
			"Podman 5.4.2 exports a changed (not added) file only if its path also exists on the" \
			"host (CRCreateRootFsDiffTar stats file.Path outside the container's mount)."
	fi

	restore "$T_DIR/shop.tar" "app-e2e-shop1-$tag" || { t_fail "restore shop copy 1"; return; }
	p1=$RP
	out=$(http_get "$d1" "$RP" /)
	t_eq "before the hook, the copy redirects to the template domain" "$out" "302 http://$tdomain/"

	t_eq "before the hook, the template's admin password logs into the copy" \
		"$(shop_admin "$tdomain" "$RP" "$admin" "$tpass")" 200

	if ms=$(ADMIN_USER=$admin ADMIN_PASSWORD=$pw1 hook prestashop "$d1" "$prefix" "$RQ" "$dbuser" "$dbname" "$dbpass"); then
		t_ok "prestashop after_restore on the restored copy, with its own admin password (${ms} ms)"
	else
		t_fail "prestashop after_restore on the restored copy" "$(cat "$T_DIR/hook.err")"
	fi
	t_eq "the copy's own admin password logs into its back office" \
		"$(shop_admin "$d1" "$RP" "$admin" "$pw1")" 200
	t_eq "the template's admin password is refused" "$(shop_admin "$d1" "$RP" "$admin" "$tpass")" 401
	t_eq "a wrong password is refused" "$(shop_admin "$d1" "$RP" "$admin" "${pw1}x")" 401
	out=$(http_get "$d1" "$RP" /)
	t_eq "after the hook, the new domain gets 200" "$out" "200 "
	t_match "the cache was cleared (first render is a miss)" "$(cat "$T_DIR/headers")" "X-Shop-Cache: miss"
	hosts=$(link_hosts)
	t_match "links are absolute and on the new domain" "$hosts" "^ *[0-9]+ $d1$"
	t_eq "no link or text names the template domain" "$(grep -c "$tdomain" "$T_DIR/body")" 0
	t_check "the page has its product links" test "$(grep -c "http://$d1/product/" "$T_DIR/body")" -ge 5
	out=$(http_get "$tdomain" "$RP" /)
	t_eq "the template domain now redirects to the new one" "$out" "302 http://$d1/"

	# Copy 2: the domain rewritten but the cache left alone (what the seed did
	# when its TRUNCATE failed silently) still shows the template's links.
	restore "$T_DIR/shop.tar" "app-e2e-shop2-$tag" || { t_fail "restore shop copy 2"; return; }
	MYSQL_PWD=$dbpass mariadb --no-defaults --protocol=socket -S "$RQ" -u "$dbuser" "$dbname" -e "
		UPDATE ${prefix}shop_url SET domain = '$d2', domain_ssl = '$d2' WHERE id_shop = 1 AND main = 1;
		UPDATE ${prefix}configuration SET value = '$d2' WHERE name IN ('PS_SHOP_DOMAIN', 'PS_SHOP_DOMAIN_SSL');"
	out=$(http_get "$d2" "$RP" /)
	t_eq "copy 2 with only the domain rewritten answers 200" "$out" "200 "
	t_check "... but its cached product list still links to the template domain" \
		grep -q "http://$tdomain/product/1" "$T_DIR/body"
	if ms=$(ADMIN_USER=$admin ADMIN_PASSWORD=$pw2 hook prestashop "$d2" "$prefix" "$RQ" "$dbuser" "$dbname" "$dbpass"); then
		t_ok "after_restore on copy 2 (${ms} ms)"
	else
		t_fail "after_restore on copy 2" "$(cat "$T_DIR/hook.err")"
	fi
	t_eq "copy 2's own password logs into copy 2" "$(shop_admin "$d2" "$RP" "$admin" "$pw2")" 200
	t_eq "copy 1's password does not log into copy 2" "$(shop_admin "$d2" "$RP" "$admin" "$pw1")" 401
	t_eq "copy 2's password does not log into copy 1" "$(shop_admin "$d1" "$p1" "$admin" "$pw2")" 401
	http_get "$d2" "$RP" / >/dev/null
	t_match "copy 2's links are all on its domain now" "$(link_hosts)" "^ *[0-9]+ $d2$"

	# Isolation: a product added in copy 2 is not in copy 1.
	out=$(curl -s --max-time 20 -o /dev/null -w '%{http_code}' -H "Host: $d2" \
		--data-urlencode "name=Only in copy two $tag" --data-urlencode price=5.00 "http://127.0.0.1:$RP/add")
	t_eq "a product is added in copy 2" "$out" 303
	http_get "$d2" "$RP" / >/dev/null
	t_check "copy 2 lists it" grep -q "Only in copy two $tag" "$T_DIR/body"
	out=$(http_get "$d1" "$p1" /)
	t_eq "copy 1 still answers for its own domain" "$out" "200 "
	t_check "copy 1 does not list copy 2's product" bash -c "! grep -q 'Only in copy two' '$T_DIR/body'"
}

# --- wordpress -----------------------------------------------------------------------
# wp_before PORT DOMAIN WHAT: without the hook, WordPress serves the new Host
# but every link (or the redirect) goes to the template's site URL.
wp_before() {
	local out
	out=$(http_get "$2" "$1" /)
	if [[ $out == 30[12]* ]]; then
		t_match "before the hook, the $3 redirects to the template site URL" "$out" "^30[12] http://$tdomain/"
	else
		t_check "before the hook, the $3's links go to the template site URL" \
			bash -c "grep -q 'href=\"http://$tdomain/' '$T_DIR/body' && ! grep -q '$2' '$T_DIR/body'"
	fi
}

# wp_checks WHAT PORT DBPORT DOMAIN: the hook and what a visitor sees after it.
wp_checks() {
	local what=$1 port=$2 dbport=$3 d1=$4 out ms hosts n pw
	pw=$(new_password)
	out=$(wp_login "$tdomain" "$port" "$admin" "$tpass")
	t_match "before the hook, the template's admin password logs into the $what" "$out" \
		"^302 http://$tdomain/wp-admin/ logged_in$"
	if ms=$(ADMIN_USER=$admin ADMIN_PASSWORD=$pw hook wordpress "$d1" "$prefix" "$dbport" "$dbuser" "$dbname" "$dbpass"); then
		t_ok "wordpress after_restore on the $what, with its own admin password (${ms} ms)"
	else
		t_fail "wordpress after_restore on the $what" "$(cat "$T_DIR/hook.err")"
	fi
	out=$(wp_login "$d1" "$port" "$admin" "$pw")
	t_match "the copy's own admin password logs into WordPress ($what)" "$out" \
		"^302 http://$d1/wp-admin/ logged_in$"
	out=$(wp_login "$d1" "$port" "$admin" "$tpass")
	t_match "the template's admin password is refused ($what)" "$out" "^200 +no_cookie$"
	t_check "... with WordPress's own message ($what)" grep -q 'is incorrect' "$T_DIR/login.body"
	out=$(http_get "$d1" "$port" /)
	t_eq "after the hook, the new domain gets 200 ($what)" "$out" "200 "
	t_eq "no link or text names the template domain ($what)" "$(grep -c "$tdomain" "$T_DIR/body")" 0
	# Links to the site itself use the new URL; the only other hosts are
	# WordPress's own outside links (wordpress.org credits, XFN profile).
	hosts=$(link_hosts | grep -vE ' (wordpress\.org|[a-z]+\.w\.org|gmpg\.org)$')
	t_match "every link to the site uses the new site URL ($what)" "$hosts" "^ *[0-9]+ $d1$"
	n=$(grep -oE "(href|src|action)=\"http://$d1[/\"]" "$T_DIR/body" | wc -l)
	t_check "the page links to the site several times ($n, $what)" test "$n" -ge 5
	out=$(http_get "$d1" "$port" /wp-login.php)
	t_eq "the login page answers on the new domain ($what)" "$out" "200 "
	t_eq "... and its form posts to the new domain ($what)" \
		"$(grep -oE 'action="[^"]*wp-login.php' "$T_DIR/body" | head -1)" "action=\"http://$d1/wp-login.php"
}

# wp_port_checks PORT DBPORT DOMAIN: visitors on port 8088. WordPress compares
# the request's Host, port included, with its home URL: the hook must write
# the port, and the image must pass it (Debian's nginx drops it by default).
wp_port_checks() {
	local port=$1 dbport=$2 d1=$3 out hosts
	if ! DEMUX_HOOK_PORT=8088 hook wordpress "$d1" "$prefix" "$dbport" "$dbuser" "$dbname" "$dbpass" >/dev/null; then
		t_fail "wordpress after_restore for port 8088" "$(cat "$T_DIR/hook.err")"
		return
	fi
	out=$(http_get "$d1:8088" "$port" /)
	t_eq "on port 8088 the page answers 200, no redirect" "$out" "200 "
	hosts=$(link_hosts | grep -vE ' (wordpress\.org|[a-z]+\.w\.org|gmpg\.org)$')
	t_match "on port 8088 every link to the site names the port" "$hosts" "^ *[0-9]+ $d1:8088$"
	out=$(http_get "$d1" "$port" /)
	t_match "without the port WordPress redirects to the port 8088 address" "$out" "^301 http://$d1:8088/"
}

wp_test() {
	local tdomain dbname dbuser dbpass prefix out d1 log admin tpass
	tdomain=$(label "$WP_IMAGE" demux.domain)
	admin=$(label "$WP_IMAGE" demux.admin_user)
	tpass=$(label "$WP_IMAGE" demux.admin_password)
	dbname=$(label "$WP_IMAGE" demux.db_name)
	dbuser=$(label "$WP_IMAGE" demux.db_user)
	dbpass=$(label "$WP_IMAGE" demux.db_password)
	prefix=$(label "$WP_IMAGE" demux.db_prefix)
	d1=w1$tag.demo.localhost

	start_template "$WP_IMAGE" "app-e2e-wp-$tag" || { t_fail "wordpress template starts"; return; }
	if ! wait_for "wordpress template" 90 bash -c "curl -s -o /dev/null -w '%{http_code}' -H 'Host: $tdomain' http://127.0.0.1:$TP/ | grep -q 200"; then
		t_fail "wordpress template starts" "$(podman logs --tail 20 "app-e2e-wp-$tag" 2>&1)"
		return
	fi
	out=$(http_get "$tdomain" "$TP" /)
	t_eq "wordpress template answers 200 for its own domain" "$out" "200 "
	checkpoint "app-e2e-wp-$tag" "$T_DIR/wp.tar" || { t_fail "checkpoint wordpress template"; return; }

	if restore "$T_DIR/wp.tar" "app-e2e-wp1-$tag" 2>"$T_DIR/restore.err"; then
		t_ok "a wordpress copy is restored"
		wp_before "$RP" "$d1" "restored copy"
		wp_checks "restored copy" "$RP" "$RQ" "$d1"
		wp_port_checks "$RP" "$RQ" "$d1"
		return
	fi
	log=$(grep -h 'Error' "$(grep -oE '/[^ ]*restore.log' "$T_DIR/restore.err" | head -1)" 2>/dev/null | head -3)
	t_fail "a wordpress copy is restored" "$(cat "$T_DIR/restore.err")" "$log"
	# The profile is still checked, on a container started cold from the image.
	podman rm -f -t 0 "app-e2e-wp1-$tag" >/dev/null 2>&1
	start_template "$WP_IMAGE" "app-e2e-wpc-$tag" || { t_fail "wordpress cold container starts"; return; }
	if ! wait_for "wordpress cold container" 90 bash -c "curl -s -o /dev/null -w '%{http_code}' -H 'Host: $tdomain' http://127.0.0.1:$TP/ | grep -q 200"; then
		t_fail "wordpress cold container starts"
		return
	fi
	wp_before "$TP" "$d1" "cold container"
	wp_checks "cold container" "$TP" "$TQ" "$d1"
}

if podman image exists "$SHOP_IMAGE"; then
	shop_test
else
	t_fail "image $SHOP_IMAGE exists (build it with scripts/build-image shop-fixture)"
fi
if podman image exists "$WP_IMAGE"; then
	wp_test
else
	t_fail "image $WP_IMAGE exists (build it with scripts/build-image wordpress)"
fi
t_done
