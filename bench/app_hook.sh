#!/usr/bin/env bash
# Benchmark (not a test): the duration of the prestashop profile's
# after_restore hook, which sits on the path of every provisioned instance
# (goal: <= 10 ms). Measured by build/bench/app_hook (bench/app_hook.c):
#   1. against a MariaDB started here (tests/lib/common.sh start_mariadb)
#      holding the shop-fixture schema (images/shop-fixture/schema.sql);
#   2. against the embedded MariaDB of a restored shop-fixture container,
#      through the port its restore published on 127.0.0.1.
# Each prints median/p95/min/max over RUNS runs next to its baselines
# (SELECT 1 on an open connection; connect + SELECT 1 + close).
#   bash bench/app_hook.sh            RUNS=500 bash bench/app_hook.sh
set -uo pipefail
cd "$(dirname "$0")/.."
. tests/lib/common.sh
t_init
_t_planned=1 # not a TAP test: no plan line at exit

RUNS=${RUNS:-200}
BIN=build/bench/app_hook
IMAGE=${DEMUX_SHOP_IMAGE:-localhost/demux/shop-fixture:latest}
[ -x "$BIN" ] || make -s "$BIN" >/dev/null || { echo "cannot build $BIN"; exit 1; }

echo "# $(date -u +%FT%TZ) $(nproc) cores, $(mariadbd --version | awk '{print $3}'), runs=$RUNS"

echo "## against a MariaDB started for the benchmark (loopback TCP)"
start_mariadb >/dev/null 2>&1 || { echo "could not start MariaDB"; exit 1; }
mysql_root -e "CREATE DATABASE bench"
{
	echo "SET @shop_domain = 'shop.template.localhost', @alias_domain = 'alias.template.localhost';"
	cat images/shop-fixture/schema.sql
} | mysql_root bench
DEMUX_BENCH_DB_PASSWORD=$MARIADB_PASSWORD "$BIN" "$MARIADB_PORT" "$MARIADB_USER" bench ps_ "$RUNS" || exit 1

echo "## against a restored shop-fixture container (embedded MariaDB)"
if ! podman image exists "$IMAGE"; then
	echo "skipped: $IMAGE is not built (scripts/build-image shop-fixture)"
	exit 0
fi
t_on_exit "podman ps -aq --filter label=demux.bench=app_hook | xargs -r podman rm -f -t 0"
name=app-bench-$$
tp=$(free_port)
podman run -d --runtime runc --label demux.bench=app_hook --name "$name" \
	-p "127.0.0.1:$tp:80" "$IMAGE" >/dev/null || exit 1
wait_for "template" 90 curl -sf -o /dev/null "http://127.0.0.1:$tp/health" || exit 1
sleep 1 # let the health check's connections close: checkpoint needs none established
podman container checkpoint --export "$T_DIR/shop.tar" --file-locks "$name" >/dev/null || exit 1
rp=$(free_port)
rq=$(free_port)
podman container restore --import "$T_DIR/shop.tar" --name "$name-r" --file-locks \
	-p "127.0.0.1:$rp:80" -p "127.0.0.1:$rq:3306" >/dev/null || exit 1
DEMUX_BENCH_DB_PASSWORD=$(podman image inspect --format '{{index .Labels "demux.db_password"}}' "$IMAGE") \
	"$BIN" "$rq" "$(podman image inspect --format '{{index .Labels "demux.db_user"}}' "$IMAGE")" \
	"$(podman image inspect --format '{{index .Labels "demux.db_name"}}' "$IMAGE")" \
	"$(podman image inspect --format '{{index .Labels "demux.db_prefix"}}' "$IMAGE")" "$RUNS"
