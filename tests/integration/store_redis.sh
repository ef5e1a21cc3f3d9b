#!/usr/bin/env bash
# The store contract of store_valkey.sh against Redis (Debian 12's
# redis-server, 7.0) where Valkey is the default: demux's store works with
# both. Skipped when redis-server is not installed.
command -v redis-server >/dev/null || { echo "1..0 # SKIP redis-server is not installed"; exit 0; }
STORE_SERVER=redis-server exec bash "$(dirname "$0")/store_valkey.sh"
