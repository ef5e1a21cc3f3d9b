#!/usr/bin/env bash
# Drives build/tests/integ_pool_real: real Podman + CRIU, Caddy and SQLite.
. "$(dirname "$0")/../lib/common.sh"
t_init
t_remove_containers_at_exit pool_real
need_podman_service || { t_fail "podman service"; t_done; }
bash "$DEMUX_ROOT/scripts/build-image" shop-fixture >"$T_DIR/build-image.log" 2>&1 ||
	{ t_fail "build shop-fixture image" "$(tail -5 "$T_DIR/build-image.log")"; t_done; }
start_caddy || { t_fail "start caddy"; t_done; }
PROXY_PORT=$(free_port)
FRONT_PORT=$(free_port)
cat >"$T_DIR/demux.conf" <<CONF
[demux]
state_dir = $T_DIR/state
[server]
listen = 127.0.0.1:$FRONT_PORT
base_domain = demo.localhost
[podman]
socket = $DEMUX_TEST_PODMAN_SOCKET
[proxy]
backend = caddy
caddy_admin = $CADDY_ADMIN
listen = 127.0.0.1:$PROXY_PORT
[pool pooltest]
min_ready = 2
max_instances = 4
port_min = 46000
port_max = 46099
CONF
if ! "$DEMUX_BIN" template create --config "$T_DIR/demux.conf" --name pooltest \
	--image localhost/demux/shop-fixture:latest --label demux.test=pool_real >"$T_DIR/template.log" 2>&1; then
	t_fail "demux template create" "$(tail -5 "$T_DIR/template.log")"
	t_done
fi
"$DEMUX_ROOT/build/tests/integ_pool_real" "$T_DIR/demux.conf" 2>"$T_DIR/pool.log"
rc=$?
cp "$T_DIR/pool.log" "${DEMUX_TEST_OUT:-/tmp}/pool_real.daemon.log" 2>/dev/null
(exit $rc)
rc=$?
[ "$rc" -ne 0 ] && grep -E 'level=(warn|error)' "$T_DIR/pool.log" | tail -15 | sed 's/^/# /'
exit "$rc"
