#!/usr/bin/env bash
# Drives build/tests/integ_store_valkey against a real Valkey (or Redis)
# server with a password, on a random loopback port.
. "$(dirname "$0")/../lib/common.sh"
t_init
start_store_server || { t_fail "start $(basename "${STORE_SERVER:-valkey-server}")" "$(tail -5 "$T_DIR/store/server.log" 2>/dev/null)"; t_done; }
echo "# store server: $("$STORE_SERVER" --version | head -1)"
_t_planned=1 # the program prints its own plan
STORE_PORT=$STORE_PORT STORE_PASSWORD=$STORE_PASSWORD CMOCKA_MESSAGE_OUTPUT=TAP \
	"$DEMUX_ROOT/build/tests/integ_store_valkey"
