#!/usr/bin/env bash
# Rolling a pool to a new template version, through a real `demux serve`
# behind Caddy, side by side with its baseline in one run:
#
#   fill      an empty pool of N ready copies (version 1) filled from scratch
#   rollover  after "demux template create" of version 2 on the same name,
#             the time until every ready copy is version 2 (and none of
#             version 1 is left ready), with the fewest ready copies seen
#             while it rolled (sampled every 0.2 s; the pool promises
#             min_ready = N throughout)
#
#   bash bench/rollover.sh      (or make bench)
# Knobs: ROLL_COPIES (N, 6), ROLL_WORKERS (provisioning workers, 2).
set -uo pipefail
cd "$(dirname "$0")/.."
export DEMUX_ROOT=$PWD
. tests/lib/common.sh
t_init
N=${ROLL_COPIES:-6}
WORKERS=${ROLL_WORKERS:-2}
BIN=$DEMUX_ROOT/demux
IMAGE=localhost/demux/shop-fixture:latest
LABEL=demux.bench=rollover
BD=demo.localhost
[ -x "$BIN" ] || { echo "rollover: build first (make)"; exit 0; }
t_on_exit "podman ps -aq --filter label=$LABEL | xargs -r podman rm -f -t 0; podman images -q --filter label=$LABEL --filter reference='localhost/demux-restore/*' | xargs -r podman rmi"
need_podman_service || exit 1
podman image exists "$IMAGE" || { echo "rollover: $IMAGE missing (make images); skipped"; exit 0; }
start_caddy || exit 1
serve_setup
{
	serve_conf_head
	cat <<CONF
[pool roll]
min_ready = $N
max_instances = $((N + WORKERS))
provision_concurrency = $WORKERS
ttl = 30m
port_min = 46000
port_max = 46999
CONF
} >"$T_DIR/demux.conf"
create() {
	local t0 t1
	t0=$(date +%s.%N)
	"$BIN" template create --config "$T_DIR/demux.conf" --name roll --image "$IMAGE" \
		--label "$LABEL" >>"$T_DIR/template.log" 2>&1 ||
		{ echo "rollover: template create failed"; tail -5 "$T_DIR/template.log"; exit 1; }
	t1=$(date +%s.%N)
	awk -v a="$t1" -v b="$t0" 'BEGIN { printf "%.1f", a - b }'
}
# "VERSION READY STALE" of the pool
pool() {
	curl -s -H "Host: $BD" -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$API_PORT/api/v1/pool" |
		python3 -c 'import json,sys; p=json.load(sys.stdin)["pools"][0]; print(p["version"], p["ready"], p["stale_ready"])' 2>/dev/null
}
since() { awk -v a="$(date +%s.%N)" -v b="$1" 'BEGIN { printf "%.1f", a - b }'; }

echo "# $(nproc) cores; N = $N ready copies, $WORKERS provisioning workers, max_instances $((N + WORKERS)); prepared restore"
c1=$(create)
"$BIN" serve --config "$T_DIR/demux.conf" >"$T_DIR/serve.log" 2>&1 &
_t_pids+=("$!")
start=$(date +%s.%N)
until read -r v r s < <(pool) && [ "${r:-0}" -ge "$N" ]; do sleep 0.2; done
fill=$(since "$start")
sleep 3 # a quiet pool before the new version
c2=$(create)
start=$(date +%s.%N)
low=$N
while :; do
	read -r v r s < <(pool) || continue
	[ "${r:-0}" -lt "$low" ] && low=$r
	[ "$v" = 2 ] && [ "$s" = 0 ] && [ "$r" -ge "$N" ] && break
	sleep 0.2
done
roll=$(since "$start")
printf '%-44s %8s\n' "what" "seconds"
printf '%-44s %8s\n' "template create, version 1" "$c1"
printf '%-44s %8s\n' "template create, version 2" "$c2"
printf '%-44s %8s\n' "fill: $N ready copies from an empty pool" "$fill"
printf '%-44s %8s\n' "rollover: $N ready copies to version 2" "$roll"
echo "# rollover / fill: $(awk -v a="$roll" -v b="$fill" 'BEGIN { printf "%.2f", a / b }'); fewest ready copies seen while rolling: $low (min_ready $N)"
echo "# retired: $(grep -c 'instance retired' "$T_DIR/serve.log"), version 2 copies made: $(grep -c 'instance ready template=roll version=2' "$T_DIR/serve.log")"
