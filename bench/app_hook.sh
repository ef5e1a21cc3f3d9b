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

echo "# $(date -u +%FT%TZ) $(nproc) cores, load $(cut -d" " -f1-3 /proc/loadavg), $(mariadbd --version | awk '{print $3}'), runs=$RUNS"

echo "-- against a MariaDB started for the benchmark (loopback TCP)"
start_mariadb >/dev/null 2>&1 || { echo "could not start MariaDB"; exit 1; }
mysql_root -e "CREATE DATABASE bench"
{
	echo "SET @shop_domain = 'shop.template.localhost', @alias_domain = 'alias.template.localhost';"
	cat images/shop-fixture/schema.sql
} | mysql_root bench
DEMUX_BENCH_DB_PASSWORD=$MARIADB_PASSWORD "$BIN" "$MARIADB_PORT" "$MARIADB_USER" bench ps_ "$RUNS" || exit 1

echo "-- against a restored shop-fixture container (embedded MariaDB)"
if ! podman image exists "$IMAGE"; then
	echo "skipped: $IMAGE is not built (scripts/build-image shop-fixture)"
	exit 0
fi
t_on_exit "podman ps -aq --filter label=demux.bench=app_hook | xargs -r podman rm -f -t 0"
name=app-bench-$$
tp=$(free_port)
run_container "$name" --label demux.bench=app_hook -p "127.0.0.1:$tp:80" "$IMAGE" || exit 1
wait_for "template" 90 curl -sf -o /dev/null "http://127.0.0.1:$tp/health" || exit 1
sleep 1 # let the health check's connections close: checkpoint needs none established
podman container checkpoint --export "$T_DIR/shop.tar" --file-locks "$name" >/dev/null || exit 1
rp=$(free_port)
rq=$(free_port)
podman container restore --import "$T_DIR/shop.tar" --name "$name-r" --file-locks \
	-p "127.0.0.1:$rp:80" -p "127.0.0.1:$rq:3306" >/dev/null || exit 1
lbl() { podman image inspect --format "{{index .Labels \"$1\"}}" "$IMAGE"; }
export DEMUX_BENCH_DB_PASSWORD
DEMUX_BENCH_DB_PASSWORD=$(lbl demux.db_password)
dbuser=$(lbl demux.db_user)
dbname=$(lbl demux.db_name)
prefix=$(lbl demux.db_prefix)
"$BIN" "$rq" "$dbuser" "$dbname" "$prefix" "$RUNS" || exit 1
podman rm -f -t 0 "$name-r" >/dev/null

# The runs above hit a warm server. The first hook on a fresh restore is the
# case provisioning meets. It is measured on copies of two checkpoints, taken
# in turns: the image as built (innodb_flush_log_at_trx_commit = 2) and, as
# the baseline, the same template with the setting put back to MariaDB's
# default 1 (a sync of the redo log at every commit) before its checkpoint.
FIRST=${FIRST:-5}
base=$name-b
run_container "$base" --label demux.bench=app_hook -p "127.0.0.1:$(free_port):80" "$IMAGE" || exit 1
wait_for "baseline template" 90 bash -c "podman exec $base mariadb --protocol=socket -e 'SELECT 1' >/dev/null 2>&1" || exit 1
podman exec "$base" mariadb --protocol=socket -e 'SET GLOBAL innodb_flush_log_at_trx_commit = 1' || exit 1
sleep 1
podman container checkpoint --export "$T_DIR/shop-sync.tar" --file-locks "$base" >/dev/null || exit 1
first_hook() { # ARCHIVE NAME: prints the first hook's ms on a fresh copy
	local rq
	rq=$(free_port)
	podman container restore --import "$1" --name "$2" --file-locks \
		-p "127.0.0.1:$(free_port):80" -p "127.0.0.1:$rq:3306" >/dev/null || return 1
	"$BIN" "$rq" "$dbuser" "$dbname" "$prefix" first || return 1
	podman rm -f -t 0 "$2" >/dev/null
}
firsts=() syncs=()
for i in $(seq 1 "$FIRST"); do
	firsts+=("$(first_hook "$T_DIR/shop.tar" "$name-f$i")") || exit 1
	syncs+=("$(first_hook "$T_DIR/shop-sync.tar" "$name-s$i")") || exit 1
done
summary() { # LABEL VALUES...
	local label=$1
	shift
	printf '%s\n' "$@" | sort -n | awk -v n="$#" -v l="$label" '
		{ v[NR] = $1 } END {
			printf "%-34s n=%-4d median=%7.3f  min=%7.3f  max=%7.3f ms\n",
				l, n, v[int((n + 1) / 2)], v[1], v[n] }'
}
summary "first hook, flush_log_at_trx_commit=2" "${firsts[@]}"
summary "first hook, =1 (baseline)" "${syncs[@]}"

