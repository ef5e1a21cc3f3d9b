#!/usr/bin/env bash
# "demux template create|ls|rm" against real Podman + CRIU, with a tiny image
# this test builds itself (a static HTTP server that counts its requests, so a
# restored copy proves it carries the template's memory), and every bad input
# of the issue: unknown image, unknown profile, a health URL that never
# answers, a port already in use, Podman not running, an interrupted create.
# Each must fail with one line naming the cause, a non-zero exit status, and
# leave no container and no template directory behind.
# (Restores of missing/corrupt archives: build/tests/integ_podman_runtime.)
set -uo pipefail
. "$(dirname "$0")/../lib/common.sh"
t_init

[ -x "$DEMUX_BIN" ] || t_skip_all "$DEMUX_BIN is not built (make)"
command -v podman >/dev/null || t_skip_all "podman is not installed"
command -v cc >/dev/null || t_skip_all "no C compiler to build the test image"
need_podman_service || t_skip_all "cannot start podman system service"
t_remove_containers_at_exit template

SOCK=$DEMUX_TEST_PODMAN_SOCKET
STATE=$T_DIR/state
IMAGE=localhost/demux/test-tiny:latest
LABEL=demux.test=template

# --- the test image: one static binary, no shell, no libc outside it ----------
cat >"$T_DIR/tinyhttp.c" <<'EOF'
/* Answers every request with how many it has answered: state lives in memory. */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
int main(int argc, char **argv)
{
	int port = argc > 1 ? (int)strtol(argv[1], NULL, 10) : 8080, one = 1, s, c;
	long hits = 0;
	struct sockaddr_in a;
	char req[4096], resp[256], body[64];
	setvbuf(stdout, NULL, _IOLBF, 0);
	s = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons(port);
	if (bind(s, (struct sockaddr *)&a, sizeof(a)) || listen(s, 64)) { perror("bind"); return 1; }
	printf("tinyhttp listening on %d\n", port);
	for (;;) {
		if ((c = accept(s, NULL, NULL)) < 0) continue;
		if (read(c, req, sizeof(req) - 1) > 0) {
			int n = snprintf(body, sizeof(body), "hits=%ld\n", ++hits);
			int len = snprintf(resp, sizeof(resp), "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n"
					   "Connection: close\r\n\r\n%s", n, body);
			printf("request %ld\n", hits);
			(void)!write(c, resp, len);
		}
		close(c);
	}
}
EOF
src_hash=$(sha256sum "$T_DIR/tinyhttp.c" | cut -c1-16)
if [ "$(podman image inspect --format '{{index .Labels "demux.test_src"}}' "$IMAGE" 2>/dev/null)" != "$src_hash" ]; then
	mkdir -p "$T_DIR/root/bin"
	cc -O2 -static -o "$T_DIR/root/bin/tinyhttp" "$T_DIR/tinyhttp.c" ||
		t_skip_all "cannot link a static binary (libc6-dev)"
	tar -C "$T_DIR/root" -c . | podman import --change 'CMD ["/bin/tinyhttp","8080"]' \
		--change "LABEL demux.test_src=$src_hash" - "$IMAGE" >/dev/null 2>&1 ||
		t_skip_all "podman import of the test image failed"
fi

demux_t() { "$DEMUX_BIN" template "$@" --state-dir "$STATE" --socket "$SOCK"; }
leftovers() { podman ps -a --filter "label=$LABEL" --format '{{.Names}}' 2>/dev/null; }

# expect_failure DESC REGEX ARGS...: create fails with one stderr line matching
# REGEX, exit status non-zero, and leaves no container and no template dir.
expect_failure() {
	local desc=$1 re=$2 rc lines
	shift 2
	"$DEMUX_BIN" template create "$@" --state-dir "$STATE" >"$T_DIR/out" 2>"$T_DIR/err" </dev/null
	rc=$?
	lines=$(grep -c . "$T_DIR/err")
	if [ "$rc" -ne 0 ] && [ "$lines" -eq 1 ] && grep -Eq -- "$re" "$T_DIR/err"; then
		t_ok "$desc: exit $rc, $(head -c 160 "$T_DIR/err")"
	else
		t_fail "$desc" "exit $rc, $lines stderr lines:" "$(head -c 800 "$T_DIR/err")" "want: $re"
	fi
	t_eq "$desc: no container left" "$(leftovers)" ""
	t_eq "$desc: no template directory left" "$(ls "$STATE/templates" 2>/dev/null)" ""
}

# --- happy path -----------------------------------------------------------------
out=$(demux_t create --name tiny --image "$IMAGE" --port 8080 --label "$LABEL" \
	--warm / --warm /again --memory 64m --pids 64 --cpus 0.5 2>"$T_DIR/err")
rc=$?
t_eq "create from an image: exit status" "$rc" 0
[ "$rc" -eq 0 ] || sed 's/^/# /' "$T_DIR/err"
t_match "create prints archive and CRIU figures" "$out" "^template tiny version 1: $STATE/templates/tiny/checkpoint\.tar \(.*\), checkpoint [0-9]+ ms \(CRIU [0-9]+ ms, [0-9]+ pages\)"
t_eq "metadata is private (0600)" "$(stat -c %a "$STATE/templates/tiny/template.json" 2>&1)" 600
meta=$(cat "$STATE/templates/tiny/template.json" 2>/dev/null)
t_match "metadata names image, ports, limits" "$meta" "\"app_port\": 8080.*\"image\": \"$IMAGE\".*\"memory_bytes\": 67108864.*\"pids_limit\": 64"
t_eq "the template container is removed" "$(podman ps -a --filter name=demux-template-tiny --format '{{.Names}}')" ""
ls_out=$(demux_t ls)
t_match "ls lists the template, version 1, current, no copies" "$ls_out" "tiny +1 +current +localhost/demux/test-tiny:latest +generic +tar .* 0/0 "

# A copy restored from the archive remembers the template's 3 requests
# (health + 2 warm pages) and inherits its labels and limits.
port=$(free_port)
podman container restore --import "$STATE/templates/tiny/checkpoint.tar" --name "tiny-copy-$$" \
	--file-locks -p "127.0.0.1:$port:8080" >/dev/null 2>"$T_DIR/restore.err"
t_eq "the copy answers with the template's memory" "$(curl -s --max-time 10 "http://127.0.0.1:$port/")" "hits=4"
t_eq "the copy carries demux's labels" \
	"$(podman inspect --format '{{index .Config.Labels "demux.managed"}} {{index .Config.Labels "demux.template"}} {{index .Config.Labels "demux.test"}}' "tiny-copy-$$" 2>&1)" \
	"1 tiny template"
t_eq "the copy inherits the memory limit" "$(podman inspect --format '{{.HostConfig.Memory}} {{.HostConfig.PidsLimit}}' "tiny-copy-$$" 2>&1)" "67108864 64"
podman rm -f -t 0 "tiny-copy-$$" >/dev/null 2>&1

# A second create of the same name makes version 2 beside the first.
out=$("$DEMUX_BIN" template create --name tiny --image "$IMAGE" --port 8080 --label "$LABEL" \
	--state-dir "$STATE" --socket "$SOCK" 2>"$T_DIR/err")
t_match "a second create of the same name makes version 2" "$? $out" "^0 template tiny version 2: $STATE/templates/tiny/versions/2/checkpoint\.tar "
t_eq "...and keeps the first" "$(stat -c %a "$STATE/templates/tiny/template.json" 2>&1)" 600
t_eq "...and makes 2 current" "$(cat "$STATE/templates/tiny/current" 2>&1)" 2
ls_out=$(demux_t ls)
t_match "ls: version 2 current" "$ls_out" "tiny +2 +current "
t_match "ls: version 1 the previous one" "$ls_out" "tiny +1 +previous "
t_match "rollback makes 1 current again" "$(demux_t rollback tiny 2>&1)" "^template tiny: version 1 is current again \(was 2\)"
t_match "ls: version 1 current after the rollback" "$(demux_t ls)" "tiny +1 +current "
demux_t rollback tiny >/dev/null 2>"$T_DIR/err"
t_match "a rollback with no version before fails, saying why" "$? $(cat "$T_DIR/err")" "^1 demux: template rollback: template tiny: no version before 1 is left"
t_match "rollback of an unknown template fails" "$(demux_t rollback nosuch 2>&1)" "no template 'nosuch'"

out=$(demux_t create --name tinyz --image "$IMAGE" --port 8080 --label "$LABEL" --compress zstd 2>&1)
t_match "create --compress zstd" "$out" "checkpoint\.tar\.zst"
t_eq "the archive is zstd" "$(head -c 4 "$STATE/templates/tinyz/checkpoint.tar.zst" | od -An -tx1 | tr -d ' ')" "28b52ffd"

t_match "rm removes a template" "$(demux_t rm tiny 2>&1)" "template tiny removed"
t_eq "...and its directory" "$(ls "$STATE/templates")" "tinyz"
t_eq "...and the restore images of both versions" \
	"$(podman images -q --filter 'reference=localhost/demux-restore/tiny' | wc -l)" 0
out=$(demux_t rm tiny 2>&1)
t_match "rm of a missing template fails" "$? $out" "^1 demux: template rm: no template 'tiny'"
demux_t rm tinyz >/dev/null 2>&1
t_match "ls with no template" "$(demux_t ls)" "^no templates in "

# --- prestashop-flashlight path: an image without demux labels + --profile prestashop
# A stand-in for flashlight built FROM shop-fixture (which has MariaDB) with
# every demux.* label removed and a /run.sh that, like flashlight's, expects
# the database named by MYSQL_* and then serves. demux must start MariaDB
# through its entrypoint wrapper, create that user, and exec /run.sh.
FL_IMAGE=localhost/demux/test-flashlight:latest
if podman image exists localhost/demux/shop-fixture:latest; then
	mkdir -p "$T_DIR/fl"
	cat >"$T_DIR/fl/run.sh" <<'EOF'
#!/bin/sh
set -eu
mariadb --no-defaults -h "$MYSQL_HOST" -P "$MYSQL_PORT" -u "$MYSQL_USER" -p"$MYSQL_PASSWORD" \
	"$MYSQL_DATABASE" -e "CREATE TABLE IF NOT EXISTS flashlight_probe (domain VARCHAR(150));
	DELETE FROM flashlight_probe; INSERT INTO flashlight_probe VALUES ('$PS_DOMAIN');"
mkdir -p /srv/admin-dev
echo 'User-agent: *' >/srv/admin-dev/robots.txt
cat >/srv/index.php <<'PHP'
<?php
$db = new PDO('mysql:host=' . getenv('MYSQL_HOST') . ';port=' . getenv('MYSQL_PORT') .
	';dbname=' . getenv('MYSQL_DATABASE'), getenv('MYSQL_USER'), getenv('MYSQL_PASSWORD'));
echo 'flashlight-like shop on ', $db->query('SELECT domain FROM flashlight_probe')->fetchColumn(), "\n";
PHP
exec php -S 0.0.0.0:80 -t /srv
EOF
	chmod +x "$T_DIR/fl/run.sh"
	printf 'FROM localhost/demux/shop-fixture:latest\nCOPY run.sh /run.sh\nENTRYPOINT ["/run.sh"]\nCMD []\n' >"$T_DIR/fl/Containerfile"
	fl_hash=$( (cat "$T_DIR/fl/run.sh"; podman image inspect --format '{{.Id}}' localhost/demux/shop-fixture:latest) | sha256sum | cut -c1-16)
	if [ "$(podman image inspect --format '{{index .Labels "demux.test_src"}}' "$FL_IMAGE" 2>/dev/null)" != "$fl_hash" ]; then
		unset_labels=()
		for l in profile app_port db_port db_name db_user db_password db_prefix domain health \
			admin_path admin_user admin_password image recipe; do
			unset_labels+=(--unsetlabel "demux.$l")
		done
		podman build -q "${unset_labels[@]}" --label "demux.test_src=$fl_hash" -t "$FL_IMAGE" \
			"$T_DIR/fl" >"$T_DIR/fl/build.log" 2>&1 || sed 's/^/# /' "$T_DIR/fl/build.log"
	fi
	out=$(demux_t create --name fl --image "$FL_IMAGE" --profile prestashop --label "$LABEL" --timeout 180s 2>&1)
	t_match "flashlight-style image: create through the MariaDB wrapper" "$out" "^template fl version 1: "
	meta=$(cat "$STATE/templates/fl/template.json" 2>/dev/null)
	t_match "...metadata: wrapper, /run.sh, flashlight defaults" "$meta" \
		"\"admin_path\": \"/admin-dev\".*\"db_port\": 3306.*\"db_user\": \"prestashop\".*\"db_wrapper\": true.*\"health_path\": \"/admin-dev/robots.txt\".*\"start_command\": \"/run.sh\""
	port=$(free_port)
	podman container restore --import "$STATE/templates/fl/checkpoint.tar" --name "fl-copy-$$" \
		--file-locks -p "127.0.0.1:$port:80" >/dev/null 2>&1
	t_eq "...a restored copy reads its own MariaDB with the MYSQL_* credentials" \
		"$(curl -s --max-time 10 -H 'Host: fl.template.localhost' "http://127.0.0.1:$port/")" \
		"flashlight-like shop on fl.template.localhost"
	podman rm -f -t 0 "fl-copy-$$" >/dev/null 2>&1
	demux_t rm fl >/dev/null 2>&1
else
	t_ok "flashlight-style image # SKIP localhost/demux/shop-fixture:latest not built (make images)"
fi

# --- bad input --------------------------------------------------------------------
expect_failure "unknown image" "^demux: template create: image localhost/demux/no-such-image:latest is not in Podman's store" \
	--name bad --image localhost/demux/no-such-image:latest --label "$LABEL" --socket "$SOCK"
expect_failure "unknown profile" "^demux: template create: unknown profile 'magento'" \
	--name bad --image "$IMAGE" --profile magento --label "$LABEL" --socket "$SOCK"
expect_failure "health URL that never answers" \
	"did not answer 2xx within 3 s \(last: .*\); container's last log lines: tinyhttp listening on 8080" \
	--name bad --image "$IMAGE" --port 9999 --timeout 3s --label "$LABEL" --socket "$SOCK"
busy=$(free_port)
python3 -c 'import socket,sys,time; s=socket.socket(); s.bind(("127.0.0.1",int(sys.argv[1]))); s.listen(1); time.sleep(120)' "$busy" &
holder=$!
_t_pids+=("$holder")
wait_for "port holder" 10 tcp_open "$busy"
expect_failure "port already in use" "address already in use" \
	--name bad --image "$IMAGE" --port 8080 --host-port "$busy" --label "$LABEL" --socket "$SOCK"
kill "$holder" 2>/dev/null
expect_failure "Podman not running" \
	"^demux: template create: Podman's service is not running on $T_DIR/none.sock .*podman system service --time=0 unix://$T_DIR/none.sock" \
	--name bad --image "$IMAGE" --label "$LABEL" --socket "$T_DIR/none.sock"
expect_failure "prestashop wrapper on an image without a shell" "/bin/sh" \
	--name bad --image "$IMAGE" --profile prestashop --label "$LABEL" --socket "$SOCK"
expect_failure "bad health path" "health path 'nope': path must start with '/'" \
	--name bad --image "$IMAGE" --health nope --label "$LABEL" --socket "$SOCK"

# Interrupted while waiting for health: the container is removed on the way out.
"$DEMUX_BIN" template create --name intr --image "$IMAGE" --port 9999 --timeout 120s \
	--label "$LABEL" --state-dir "$STATE" --socket "$SOCK" >/dev/null 2>"$T_DIR/err" &
pid=$!
wait_for "template container" 30 podman container exists demux-template-intr
kill -INT "$pid"
wait "$pid"
rc=$?
t_match "an interrupted create fails" "$rc $(cat "$T_DIR/err")" "^1 demux: template create: interrupted"
t_eq "...and leaves no container" "$(leftovers)" ""

t_done
