#!/usr/bin/env bash
# shellcheck disable=SC2016 # checks are eval 'single-quoted', expanded when run
# CRIU smoke test of the shop-fixture template, with the podman CLI only (no
# demux): run the template, checkpoint it with --export, restore two copies
# under new names and ports, and check that both serve and are isolated.
# Output is TAP; exit status is non-zero when any test failed.
#
#   sudo tests/integration/criu_smoke.sh
#
# Env: DEMUX_SMOKE_IMAGE (default localhost/demux/shop-fixture:latest),
#      DEMUX_SMOKE_SKIP_BUILD=1 to skip scripts/build-image.
set -uo pipefail

export PODMAN_IGNORE_CGROUPSV1_WARNING=1
export LC_ALL=C

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
IMAGE=${DEMUX_SMOKE_IMAGE:-localhost/demux/shop-fixture:latest}
TAG="demux-smoke-$$"
TPL="$TAG-tpl"
C1="$TAG-1"
C2="$TAG-2"

n=0
failed=0
ok() { n=$((n + 1)); printf 'ok %d - %s\n' "$n" "$*"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); printf 'not ok %d - %s\n' "$n" "$*"; }
check() { # check DESC COMMAND...
	local desc=$1
	shift
	if "$@"; then ok "$desc"; else not_ok "$desc"; fi
}
diag() { printf '%s\n' "$@" | sed 's/^/# /'; }
bail() { # a test whose failure makes the rest meaningless
	not_ok "$1"
	printf '1..%d\n' "$n"
	exit 1
}

WORK=
cleanup() {
	local c
	for c in "$C2" "$C1" "$TPL"; do
		podman rm -f --time 0 "$c" >/dev/null 2>&1 || true
	done
	[ -n "$WORK" ] && rm -rf "$WORK"
	return 0
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }

# N free TCP ports on 127.0.0.1, all bound at once so that they differ.
free_ports() {
	if command -v python3 >/dev/null; then
		python3 - "$1" <<'EOF'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
EOF
	else
		local out=() p
		while [ "${#out[@]}" -lt "$1" ]; do
			p=$((20000 + RANDOM % 40000))
			case " ${out[*]} " in *" $p "*) continue ;; esac
			(exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && continue
			out+=("$p")
		done
		echo "${out[*]}"
	fi
}

# http PORT HOST PATH [curl args...] -> "<code> <location>" on stdout, body in $WORK/body
http() {
	local port=$1 host=$2 path=$3
	shift 3
	curl -s -o "$WORK/body" -D "$WORK/headers" --max-time 10 -H "Host: $host" \
		-w '%{http_code} %{redirect_url}' "$@" "http://127.0.0.1:$port$path"
}

status_is() { # status_is EXPECTED PORT HOST PATH
	local got
	got=$(http "$2" "$3" "$4" | cut -d' ' -f1)
	[ "$got" = "$1" ] || { diag "expected $1, got $got for http://$3$4 on port $2"; return 1; }
}

body_has() { grep -qF -- "$1" "$WORK/body"; }

label() { podman image inspect --format "{{ index .Labels \"$1\" }}" "$IMAGE"; }

# No established TCP connection may be open in the container at checkpoint
# time (no --tcp-established): wait until curl's connections are gone.
wait_no_tcp() {
	local pid
	pid=$(podman inspect --format '{{ .State.Pid }}' "$1") || return 1
	for _ in $(seq 50); do
		[ -z "$(nsenter --net="/proc/$pid/ns/net" ss -Htn state established 2>/dev/null)" ] && return 0
		sleep 0.2
	done
	diag "established connections in $1:" "$(nsenter --net="/proc/$pid/ns/net" ss -tn state established)"
	return 1
}

sql() { # sql CONTAINER QUERY: through the copy's own socket, as demux does
	# (MariaDB listens on the copy's 127.0.0.1 only; no port is published)
	local pid
	pid=$(podman inspect --format '{{.State.Pid}}' "$1") || return 1
	MYSQL_PWD=$DB_PASSWORD mariadb --protocol=socket -S "/proc/$pid/root/run/mysqld/mysqld.sock" \
		-u "$DB_USER" -N -B "$DB_NAME" -e "$2"
}

if [ "$(id -u)" -ne 0 ]; then
	echo "Bail out! must run as root (CRIU checkpoint/restore)"
	exit 1
fi
WORK=$(mktemp -d /var/tmp/demux-smoke.XXXXXX)

# 1. the image
if [ "${DEMUX_SMOKE_SKIP_BUILD:-0}" = 1 ]; then
	ok "build-image skipped (DEMUX_SMOKE_SKIP_BUILD=1)"
elif "$ROOT/scripts/build-image" shop-fixture >"$WORK/build.log" 2>&1; then
	ok "scripts/build-image shop-fixture"
	diag "$(cat "$WORK/build.log")"
else
	diag "$(tail -n 30 "$WORK/build.log")"
	bail "scripts/build-image shop-fixture"
fi

DOMAIN=$(label demux.domain)
DB_NAME=$(label demux.db_name)
DB_USER=$(label demux.db_user)
DB_PASSWORD=$(label demux.db_password)
if [ "$(label demux.profile)" != prestashop ] || [ -z "$DOMAIN" ] || [ -z "$DB_PASSWORD" ]; then
	bail "image carries the demux.* labels"
fi
ok "image carries the demux.* labels (domain $DOMAIN)"

read -r P0 P1 P2 <<<"$(free_ports 3)"

# 2. the template
t0=$(now)
if ! podman run -d --runtime runc --name "$TPL" -p "127.0.0.1:$P0:80" "$IMAGE" >/dev/null 2>"$WORK/run.err"; then
	diag "$(cat "$WORK/run.err")"
	# runc's transient init failure (docs/IMAGES.md): the container exists and
	# starts on a second try; anything else ends the test.
	grep -q "waiting for init preliminary setup" "$WORK/run.err" &&
		podman start "$TPL" >/dev/null 2>"$WORK/run.err" ||
		bail "podman run the template"
fi
ok "podman run the template ($TPL on 127.0.0.1:$P0)"

healthy=0
deadline=$(($(date +%s) + 90))
while [ "$(date +%s)" -lt "$deadline" ]; do
	if [ "$(http "$P0" "$DOMAIN" /health | cut -d' ' -f1)" = 200 ]; then
		healthy=1
		break
	fi
	[ "$(podman inspect --format '{{ .State.Running }}' "$TPL" 2>/dev/null)" = true ] || break
	sleep 0.2
done
if [ "$healthy" != 1 ]; then
	diag "container logs:" "$(podman logs --tail 40 "$TPL" 2>&1)"
	bail "template answers /health within 90 s"
fi
ok "template answers /health in $(since "$t0") s"

check "template: / for $DOMAIN answers 200 with links to $DOMAIN" \
	eval 'status_is 200 "$P0" "$DOMAIN" / && body_has "http://$DOMAIN/product/1"'
r=$(http "$P0" other.localhost /)
check "template: / for other.localhost answers 302 to http://$DOMAIN/ (got: $r)" \
	test "$r" = "302 http://$DOMAIN/"

# 3. checkpoint
check "template: no TCP connection open before the checkpoint" wait_no_tcp "$TPL"
t0=$(now)
if ! podman container checkpoint --export "$WORK/template.tar.zst" --file-locks "$TPL" >/dev/null 2>"$WORK/ckpt.err"; then
	diag "$(cat "$WORK/ckpt.err")"
	id=$(podman inspect --format '{{ .Id }}' "$TPL" 2>/dev/null)
	diag "CRIU log:" "$(tail -n 20 "/var/lib/containers/storage/overlay-containers/$id/userdata/dump.log" 2>&1)"
	bail "podman container checkpoint --export --file-locks"
fi
ok "checkpoint --export in $(since "$t0") s, archive $(du -k "$WORK/template.tar.zst" | cut -f1) KiB"

# 4. two restored copies
restore() { # restore NAME APP_PORT
	local t
	t=$(now)
	if podman container restore --import "$WORK/template.tar.zst" --name "$1" --file-locks \
		-p "127.0.0.1:$2:80" >/dev/null 2>"$WORK/restore-$1.err"; then
		ok "restore --import --name $1 in $(since "$t") s"
	else
		diag "$(cat "$WORK/restore-$1.err")"
		bail "restore --import --name $1"
	fi
}
restore "$C1" "$P1"
restore "$C2" "$P2"

check "copy 1: / for $DOMAIN answers 200" status_is 200 "$P1" "$DOMAIN" /
check "copy 2: / for $DOMAIN answers 200" status_is 200 "$P2" "$DOMAIN" /
check "copy 2: still answers 302 for another host" eval '[ "$(http "$P2" other.localhost /)" = "302 http://$DOMAIN/" ]'

if command -v mariadb >/dev/null; then
	check "copy 1: MariaDB answers on its socket with the label credentials" \
		eval '[ "$(sql "$C1" "SELECT COUNT(*) FROM ps_product" 2>"$WORK/sql.err")" = 5 ] || { diag "$(cat "$WORK/sql.err")"; false; }'
else
	ok "copy 1: MariaDB on its socket # SKIP no mariadb client"
fi

# 5. isolation: a product added in copy 1 is absent from copy 2
product="smoke-$$-$RANDOM"
r=$(http "$P1" "$DOMAIN" /add --data-urlencode "name=$product" -d price=1.25)
check "copy 1: POST /add answers 303 to http://$DOMAIN/ (got: $r)" test "$r" = "303 http://$DOMAIN/"
check "copy 1: lists the new product" eval 'status_is 200 "$P1" "$DOMAIN" / && body_has "$product"'
check "copy 2: does not list it (isolated)" eval 'status_is 200 "$P2" "$DOMAIN" / && ! body_has "$product"'

# 6. the fixture's domain handling, as demux's prestashop profile uses it:
# re-point copy 2 by SQL; the cached product list keeps the old links until
# ps_smarty_cache is cleared.
if command -v mariadb >/dev/null; then
	new=copy2.smoke.localhost
	if sql "$C2" "UPDATE ps_shop_url SET domain='$new', domain_ssl='$new' WHERE main=1 AND id_shop=1;
		UPDATE ps_configuration SET value='$new' WHERE name IN ('PS_SHOP_DOMAIN','PS_SHOP_DOMAIN_SSL')" 2>"$WORK/sql.err"; then
		check "copy 2: re-pointed, the new host answers 200 with the stale cached links" \
			eval 'status_is 200 "$P2" "$new" / && body_has "http://$DOMAIN/product/1" && grep -qi "^X-Shop-Cache: hit" "$WORK/headers"'
		check "copy 2: the old host now answers 302 to the new domain" \
			eval '[ "$(http "$P2" "$DOMAIN" /)" = "302 http://$new/" ]'
		sql "$C2" "DELETE FROM ps_smarty_cache; DELETE FROM ps_smarty_lazy_cache" 2>>"$WORK/sql.err"
		check "copy 2: after clearing the caches, links point to the new domain" \
			eval 'status_is 200 "$P2" "$new" / && body_has "http://$new/product/1" && ! body_has "http://$DOMAIN/"'
		check "copy 1: still on the template domain" eval 'status_is 200 "$P1" "$DOMAIN" /'
	else
		diag "$(cat "$WORK/sql.err")"
		not_ok "copy 2: re-point by SQL"
	fi
fi

# 7. supervision: when a restored copy's MariaDB dies, the whole container
# stops with status 1 (the pool then releases it), and says why.
exited_1() { [ "$(podman inspect --format '{{.State.Status}} {{.State.ExitCode}}' "$C1" 2>/dev/null)" = "exited 1" ]; }
if podman exec "$C1" sh -c 'kill -9 "$(pidof mariadbd)"' >/dev/null 2>&1; then
	for _ in $(seq 1 50); do exited_1 && break; sleep 0.1; done
	check "copy 1: its MariaDB killed, the container exits with status 1" exited_1
	check "... and its log says which service ended" \
		eval 'podman logs "$C1" 2>&1 | grep -q "demux-entrypoint: mariadbd exited"'
	check "copy 2: unaffected" status_is 200 "$P2" "${new:-$DOMAIN}" /
else
	not_ok "copy 1: kill mariadbd"
fi

# 8. clean up (the EXIT trap does it too, on any path)
cleanup
left=$(podman ps -a --filter "name=$TAG" --format '{{ .Names }}')
check "no container left behind" test -z "$left"

printf '1..%d\n' "$n"
[ "$failed" -eq 0 ]
