# Shared helpers for demux's integration tests (bash). Source it, then use the
# TAP helpers and the service starters; everything started is stopped by
# t_cleanup, which the EXIT trap set by t_init runs.
#
# Services run on loopback ports chosen at random, with their data in the
# test's own temporary directory, never in the machine's default places.

DEMUX_ROOT=${DEMUX_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
DEMUX_BIN=${DEMUX_BIN:-$DEMUX_ROOT/demux}
export PODMAN_IGNORE_CGROUPSV1_WARNING=1
# shellcheck source=scripts/storage-env.sh
. "$DEMUX_ROOT/scripts/storage-env.sh"

_t_n=0
_t_failed=0
_t_pids=()
_t_cleanups=()

t_init() {
	T_DIR=$(mktemp -d /tmp/demux-t.XXXXXX)
	trap t_cleanup EXIT
	# A test run alone (not by tests/run) uses demux's container store too.
	if [ -z "${CONTAINERS_STORAGE_CONF:-}" ] && [ -x "$DEMUX_BIN" ]; then
		demux_storage_env "$DEMUX_BIN" >/dev/null 2>&1 || true
	fi
}

t_cleanup() {
	local i
	for ((i = ${#_t_cleanups[@]} - 1; i >= 0; i--)); do
		eval "${_t_cleanups[$i]}" >/dev/null 2>&1 || true
	done
	for i in "${_t_pids[@]}"; do
		kill "$i" 2>/dev/null || true
	done
	for i in "${_t_pids[@]}"; do
		for _ in 1 2 3 4 5 6 7 8 9 10; do
			kill -0 "$i" 2>/dev/null || break
			sleep 0.2
		done
		kill -9 "$i" 2>/dev/null || true
	done
	[ -n "${T_DIR:-}" ] && rm -rf "$T_DIR"
	t_done_plan
}

# Registers a shell command to run at cleanup (last registered runs first).
t_on_exit() { _t_cleanups+=("$1"); }

t_ok() { _t_n=$((_t_n + 1)); echo "ok $_t_n - $1"; }
t_fail() {
	_t_n=$((_t_n + 1))
	_t_failed=$((_t_failed + 1))
	echo "not ok $_t_n - $1"
	shift
	[ $# -gt 0 ] && printf '# %s\n' "$@"
	return 0
}
# t_check DESC CMD... : ok when CMD succeeds.
t_check() {
	local desc=$1
	shift
	local out
	if out=$("$@" 2>&1); then t_ok "$desc"; else t_fail "$desc" "$(printf '%s' "$out" | tail -5)"; fi
}
# t_eq DESC GOT WANT
t_eq() {
	if [ "$2" = "$3" ]; then t_ok "$1"; else t_fail "$1" "got:  $2" "want: $3"; fi
}
# t_match DESC STRING REGEX
t_match() {
	if [[ $2 =~ $3 ]]; then t_ok "$1"; else t_fail "$1" "got: $(printf '%s' "$2" | head -c 400)" "want match: $3"; fi
}
# t_unlike DESC STRING REGEX: STRING has no match of REGEX
t_unlike() {
	if [[ $2 =~ $3 ]]; then t_fail "$1" "got: $(printf '%s' "$2" | grep -E -m3 -- "$3" | head -c 400)" "want no match: $3"; else t_ok "$1"; fi
}
t_done_plan() {
	[ -n "${_t_planned:-}" ] && return
	_t_planned=1
	echo "1..$_t_n"
}
# Ends the test: exit status says whether anything failed.
t_done() {
	if [ "$_t_failed" -gt 0 ]; then exit 1; fi
	exit 0
}
t_skip_all() { echo "1..0 # SKIP $1"; _t_planned=1; exit 0; }

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# wait_for DESC TIMEOUT_S CMD... : retries CMD every 0.1 s.
wait_for() {
	local desc=$1 timeout=$2
	shift 2
	local end=$((SECONDS + timeout))
	while ! "$@" >/dev/null 2>&1; do
		if [ "$SECONDS" -ge "$end" ]; then
			echo "# timed out after ${timeout}s waiting for $desc" >&2
			return 1
		fi
		sleep 0.1
	done
}

tcp_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# --- demux serve behind the test's Caddy ---------------------------------------
# serve_setup: picks PROXY_PORT and API_PORT, writes a random admin token to
# $T_DIR/admin-token (also in TOKEN). Needs start_caddy first.
serve_setup() {
	PROXY_PORT=$(free_port)
	API_PORT=$(free_port)
	TOKEN=$(head -c 32 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 32)
	printf '%s\n' "$TOKEN" >"$T_DIR/admin-token"
	chmod 600 "$T_DIR/admin-token"
}
# serve_conf_head: the [demux], [server], [podman] and [proxy] sections of
# such a demux serve (base domain $BD), on stdout; a test adds its [pool].
serve_conf_head() {
	cat <<CONF
[demux]
state_dir = $T_DIR/state
[server]
listen = 127.0.0.1:$API_PORT
base_domain = $BD
public_port = $PROXY_PORT
admin_token_file = $T_DIR/admin-token
trust_forwarded_for = true
claims_per_ip_per_minute = 100
[podman]
socket = $DEMUX_TEST_PODMAN_SOCKET
[proxy]
backend = caddy
caddy_admin = $CADDY_ADMIN
listen = 127.0.0.1:$PROXY_PORT
CONF
}

# serve_stack_up: Podman's service, the shop-fixture image and Caddy, what
# a test of demux serve stands on; ends the test as failed when one of them
# does not come up.
serve_stack_up() {
	need_podman_service || { t_fail "podman service starts"; t_done; }
	if ! bash "$DEMUX_ROOT/scripts/build-image" shop-fixture >"$T_DIR/build-image.log" 2>&1; then
		t_fail "build the shop-fixture image" "$(tail -5 "$T_DIR/build-image.log")"
		t_done
	fi
	start_caddy || { t_fail "caddy starts" "$(tail -5 "$T_DIR/caddy/caddy.log")"; t_done; }
}
# serve_up: demux serve with $T_DIR/demux.conf in the background (SERVE_PID,
# log in $T_DIR/serve.log), up once /healthz answers through the proxy;
# ends the test as failed when it does not.
serve_up() {
	"$DEMUX_BIN" serve --config "$T_DIR/demux.conf" >>"$T_DIR/serve.log" 2>&1 &
	SERVE_PID=$!
	_t_pids+=("$SERVE_PID")
	wait_for "demux serve" 60 curl -sf -H "Host: $BD" "http://127.0.0.1:$PROXY_PORT/healthz" ||
		{ t_fail "demux serve starts" "$(tail -5 "$T_DIR/serve.log")"; t_done; }
}
# need_serve_stack: skips the whole test unless demux is built and Caddy and
# Podman are installed.
need_serve_stack() {
	[ -x "$DEMUX_BIN" ] || t_skip_all "demux is not built ($DEMUX_BIN)"
	command -v caddy >/dev/null || t_skip_all "caddy is not installed"
	command -v podman >/dev/null || t_skip_all "podman is not installed"
}
# shop_template NAME LABEL: demux template create NAME from the shop-fixture
# image with $T_DIR/demux.conf, its containers labelled demux.test=LABEL;
# ends the test as failed when that fails.
shop_template() {
	if ! "$DEMUX_BIN" template create --config "$T_DIR/demux.conf" --name "$1" \
		--image localhost/demux/shop-fixture:latest --label "demux.test=$2" \
		>"$T_DIR/template.log" 2>&1; then
		t_fail "demux template create" "$(tail -5 "$T_DIR/template.log")"
		t_done
	fi
}
# json_field FIELD JSON: a field of a JSON object (dots for nesting), "" when
# absent.
json_field() {
	python3 -c 'import json,sys
d=json.loads(sys.argv[2])
for k in sys.argv[1].split("."):
    d = d.get(k) if isinstance(d, dict) else None
print("" if d is None else d)' "$1" "$2" 2>/dev/null
}

# --- Podman's REST service -------------------------------------------------
# tests/run starts one for the whole run; a test run alone starts its own.
start_podman_service() {
	local sock=$1
	mkdir -p "$(dirname "$sock")"
	podman system service --time=0 "unix://$sock" >"$(dirname "$sock")/podman-service.log" 2>&1 &
	PODMAN_SERVICE_PID=$!
	wait_for "podman service" 30 curl -sf --unix-socket "$sock" http://d/v5.0.0/libpod/_ping
}
stop_podman_service() {
	[ -n "${PODMAN_SERVICE_PID:-}" ] || return 0
	kill "$PODMAN_SERVICE_PID" 2>/dev/null
	wait "$PODMAN_SERVICE_PID" 2>/dev/null
	PODMAN_SERVICE_PID=
}
# Makes sure $DEMUX_TEST_PODMAN_SOCKET answers, starting a private service if needed.
need_podman_service() {
	if [ -n "${DEMUX_TEST_PODMAN_SOCKET:-}" ] &&
		curl -sf --unix-socket "$DEMUX_TEST_PODMAN_SOCKET" http://d/v5.0.0/libpod/_ping >/dev/null 2>&1; then
		return 0
	fi
	DEMUX_TEST_PODMAN_SOCKET=$T_DIR/podman.sock
	export DEMUX_TEST_PODMAN_SOCKET
	start_podman_service "$DEMUX_TEST_PODMAN_SOCKET" || return 1
	_t_pids+=("$PODMAN_SERVICE_PID")
}

# --- MariaDB -----------------------------------------------------------------
# start_mariadb: sets MARIADB_PORT, MARIADB_SOCKET, MARIADB_USER, MARIADB_PASSWORD.
start_mariadb() {
	local d=$T_DIR/mariadb
	mkdir -p "$d/data"
	MARIADB_PORT=$(free_port)
	MARIADB_SOCKET=$d/mysqld.sock
	MARIADB_USER=demux_test
	MARIADB_PASSWORD=$(head -c 18 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 20)
	mariadb-install-db --no-defaults --datadir="$d/data" --user=root --auth-root-authentication-method=socket \
		--skip-test-db >"$d/install.log" 2>&1 || { cat "$d/install.log" >&2; return 1; }
	mariadbd --no-defaults --datadir="$d/data" --user=root --port="$MARIADB_PORT" \
		--bind-address=127.0.0.1 --socket="$MARIADB_SOCKET" --pid-file="$d/mysqld.pid" \
		--innodb-buffer-pool-size=16M --innodb-log-file-size=8M --skip-name-resolve \
		--log-error="$d/error.log" &
	_t_pids+=("$!")
	wait_for "mariadb" 60 mariadb --no-defaults -S "$MARIADB_SOCKET" -uroot -e 'select 1' || { cat "$d/error.log" >&2; return 1; }
	mariadb --no-defaults -S "$MARIADB_SOCKET" -uroot -e "
		CREATE USER '$MARIADB_USER'@'127.0.0.1' IDENTIFIED BY '$MARIADB_PASSWORD';
		GRANT ALL ON *.* TO '$MARIADB_USER'@'127.0.0.1';"
}
# mysql_root SQL... : runs SQL as root over the private socket.
mysql_root() { mariadb --no-defaults -S "$MARIADB_SOCKET" -uroot -N -B "$@"; }

# --- Redis --------------------------------------------------------------------
start_redis() {
	REDIS_PORT=$(free_port)
	redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
		--dir "$T_DIR" --daemonize no >"$T_DIR/redis.log" 2>&1 &
	_t_pids+=("$!")
	wait_for "redis" 20 redis-cli -p "$REDIS_PORT" ping
}

# --- the shared store of several nodes: Valkey, else Redis -----------------------
# start_store_server: $STORE_SERVER when set (valkey-server, redis-server),
# else valkey-server when installed, else redis-server, on a random loopback
# port, with a random password and an append-only file in $T_DIR/store (so
# that a restart keeps what was written). Sets STORE_PORT, STORE_PASSWORD
# (also in $T_DIR/store-password), STORE_SERVER, STORE_PID.
start_store_server() {
	STORE_SERVER=$(command -v "${STORE_SERVER:-valkey-server}" || command -v redis-server) || return 1
	STORE_PORT=$(free_port)
	STORE_PASSWORD=$(head -c 24 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 24)
	printf '%s\n' "$STORE_PASSWORD" >"$T_DIR/store-password"
	chmod 600 "$T_DIR/store-password"
	mkdir -p "$T_DIR/store"
	# The password goes in through a file, never on a command line.
	cat >"$T_DIR/store/server.conf" <<EOS
port $STORE_PORT
bind 127.0.0.1
requirepass $STORE_PASSWORD
dir $T_DIR/store
save ""
appendonly yes
appendfsync always
daemonize no
EOS
	chmod 600 "$T_DIR/store/server.conf"
	restart_store_server
}
# restart_store_server: starts the server of start_store_server again, on
# the same port and data; sets STORE_PID.
restart_store_server() {
	"$STORE_SERVER" "$T_DIR/store/server.conf" >>"$T_DIR/store/server.log" 2>&1 &
	STORE_PID=$!
	_t_pids+=("$STORE_PID")
	wait_for "store server" 20 store_cli ping
}
# store_cli ARGS...: the server's command-line client, authenticated.
store_cli() {
	local cli
	cli=$(command -v valkey-cli || command -v redis-cli)
	REDISCLI_AUTH=$STORE_PASSWORD "$cli" --no-auth-warning -h 127.0.0.1 -p "$STORE_PORT" "$@"
}

# --- Caddy --------------------------------------------------------------------
# start_caddy: sets CADDY_ADMIN (http://127.0.0.1:PORT) and CADDY_PID.
start_caddy() {
	local port
	port=$(free_port)
	CADDY_ADMIN=http://127.0.0.1:$port
	mkdir -p "$T_DIR/caddy"
	printf '{"admin":{"listen":"127.0.0.1:%s"},"logging":{"logs":{"default":{"level":"ERROR"}}}}' "$port" >"$T_DIR/caddy/init.json"
	HOME=$T_DIR/caddy XDG_DATA_HOME=$T_DIR/caddy XDG_CONFIG_HOME=$T_DIR/caddy \
		caddy run --config "$T_DIR/caddy/init.json" >"$T_DIR/caddy/caddy.log" 2>&1 &
	CADDY_PID=$!
	_t_pids+=("$CADDY_PID")
	wait_for "caddy admin" 20 curl -sf "$CADDY_ADMIN/config/"
}

# --- HAProxy -------------------------------------------------------------------
# start_haproxy CONFIG_FILE: sets HAPROXY_PID.
start_haproxy() {
	haproxy -W -db -f "$1" >"$T_DIR/haproxy.log" 2>&1 &
	HAPROXY_PID=$!
	_t_pids+=("$HAPROXY_PID")
}

# --- containers -------------------------------------------------------------------
# run_container NAME [podman run options...] IMAGE: podman run -d --runtime runc
# --name NAME ...; prints Podman's error and returns 1 when the container does
# not start. runc's "waiting for init preliminary setup" failure (its init
# died before the container's own code ran; the same container starts on a
# second try, see docs/IMAGES.md) is answered with up to two more starts.
run_container() {
	local name=$1 err attempt
	shift
	err=$(podman run -d --runtime runc --name "$name" "$@" 2>&1 >/dev/null) && return 0
	for attempt in 2 3; do
		case $err in
		*"waiting for init preliminary setup"*) ;;
		*) break ;;
		esac
		printf '# runc start failure, starting %s again (attempt %s): %s\n' "$name" "$attempt" "$err"
		sleep 0.2
		err=$(podman start "$name" 2>&1 >/dev/null) && return 0
	done
	printf '# podman run %s: %s\n' "$name" "$err"
	return 1
}

# Removes every container carrying label demux.test=$1 at cleanup.
# t_remove_containers_at_exit NAME: at exit, the containers labelled
# demux.test=NAME, then the images of the prepared restores of the test's
# templates (committed with the template container's labels).
t_remove_containers_at_exit() {
	t_on_exit "podman ps -aq --filter label=demux.test=$1 | xargs -r podman rm -f -t 0; podman images -q --filter label=demux.test=$1 --filter reference='localhost/demux-restore/*' | xargs -r podman rmi"
}

# --- route managers (proxy_*.sh) ------------------------------------------------
# start_http_echo NAME: an HTTP/1.1 keep-alive server on a free loopback port
# that answers every GET with "NAME host=<Host header>", and GET /xff with
# "xff=<every X-Forwarded-For line, joined by |>"; sets ECHO_PORT.
start_http_echo() {
	local name=$1 port
	port=$(free_port)
	python3 -c '
import http.server, sys
name, port = sys.argv[1], int(sys.argv[2])
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        if self.path == "/xff":
            body = ("xff=%s\n" % "|".join(self.headers.get_all("X-Forwarded-For") or [])).encode()
        else:
            body = ("%s host=%s\n" % (name, self.headers.get("Host"))).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
http.server.ThreadingHTTPServer(("127.0.0.1", port), H).serve_forever()
' "$name" "$port" >"$T_DIR/echo-$name.log" 2>&1 &
	_t_pids+=("$!")
	ECHO_PORT=$port
	wait_for "echo server $name" 10 tcp_open "$port"
}

# t_forwarded_for_is_the_peer PROXY_PORT HOST: through the proxy to an echo
# server at HOST, X-Forwarded-For arrives as one line holding the peer's
# address, whatever the client sent: the entry demux believes is the proxy's.
t_forwarded_for_is_the_peer() {
	local url="http://127.0.0.1:$1/xff"
	t_eq "a forged X-Forwarded-For is replaced by the peer's address" \
		"$(curl -s -m 5 -H "Host: $2" -H 'X-Forwarded-For: 203.0.113.66' \
			-H 'X-Forwarded-For: 203.0.113.67, 203.0.113.68' "$url")" "xff=127.0.0.1"
	t_eq "without one, the proxy adds the peer's address" \
		"$(curl -s -m 5 -H "Host: $2" "$url")" "xff=127.0.0.1"
}

# restart_caddy: starts caddy again on the admin address of $CADDY_ADMIN with
# only the admin config, as after a crash without --resume; sets CADDY_PID.
restart_caddy() {
	HOME=$T_DIR/caddy XDG_DATA_HOME=$T_DIR/caddy XDG_CONFIG_HOME=$T_DIR/caddy \
		caddy run --config "$T_DIR/caddy/init.json" >>"$T_DIR/caddy/caddy.log" 2>&1 &
	CADDY_PID=$!
	_t_pids+=("$CADDY_PID")
	wait_for "caddy admin" 20 curl -sf "$CADDY_ADMIN/config/"
}

# stop_pid PID: SIGTERM, then waits until it is gone (SIGKILL after 5 s).
stop_pid() {
	local pid=$1 i
	kill "$pid" 2>/dev/null || return 0
	for ((i = 0; i < 50; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -9 "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}
