#!/usr/bin/env bash
# Checkpoint and restore, measured on the real thing (Podman + runc + CRIU):
#   - checkpoint time and archive size, uncompressed vs zstd ("demux template create");
#   - restore time split into podman / runtime (runc) / CRIU, for both archives,
#     through demux's C module (REST API) and through the podman CLI;
#   - time until a restored copy answers HTTP 200, and 3 restores at once.
# Printed side by side with the baseline of a first probe on these machines
# (the "# baseline" lines below).
#
#   bench/restore.sh            (or: make bench, which runs every bench/*.sh)
# Environment: DEMUX_BENCH_IMAGE (default localhost/demux/shop-fixture:latest),
# DEMUX_BENCH_RUNS (restores per variant, default 10), DEMUX_BENCH_CHECKPOINTS (3).
set -uo pipefail
cd "$(dirname "$0")/.."
export PODMAN_IGNORE_CGROUPSV1_WARNING=1
IMAGE=${DEMUX_BENCH_IMAGE:-localhost/demux/shop-fixture:latest}
RUNS=${DEMUX_BENCH_RUNS:-10}
CHECKPOINTS=${DEMUX_BENCH_CHECKPOINTS:-3}
BENCH=build/bench/restore_bench
DEMUX=./demux
LABEL=demux.bench=restore

[ -x "$BENCH" ] && [ -x "$DEMUX" ] || { echo "restore: build first (make bench)"; exit 1; }
# shellcheck source=scripts/storage-env.sh
. scripts/storage-env.sh
demux_storage_env "$DEMUX" || { echo "restore: cannot set up demux's container store"; exit 1; }
podman image exists "$IMAGE" || { echo "restore: image $IMAGE missing (make images); skipped"; exit 0; }

tmp=$(mktemp -d /tmp/demux-bench.XXXXXX)
sock=$tmp/podman.sock
podman system service --time=0 "unix://$sock" >"$tmp/service.log" 2>&1 &
svc=$!
cleanup() {
	podman ps -aq --filter "label=$LABEL" | xargs -r podman rm -f -t 0 >/dev/null 2>&1
	kill "$svc" 2>/dev/null
	wait "$svc" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
for _ in $(seq 100); do
	curl -sf --unix-socket "$sock" http://d/v5.0.0/libpod/_ping >/dev/null 2>&1 && break
	sleep 0.1
done

label() { podman image inspect --format "{{index .Labels \"$1\"}}" "$IMAGE"; }
domain=$(label demux.domain)
app_port=$(label demux.app_port)
db_port=$(label demux.db_port)
domain=${domain:-template.localhost} app_port=${app_port:-80} db_port=${db_port:-0}

# shellcheck source=bench/common.bash
. bench/common.bash

echo "# $(date -u +%FT%TZ) $(uname -r), $(nproc) cores; podman $(podman version --format '{{.Client.Version}}'), $(criu --version | head -1), runc $(runc --version | head -1 | awk '{print $3}')"
echo "# image $IMAGE ($(podman image inspect --format '{{.Size}}' "$IMAGE" | awk '{printf "%.0f MB", $1/1048576}'))"
echo "# baseline (ENVIRONMENT.md probe, debian nginx+php-fpm+MariaDB template): checkpoint"
echo "#   --export zstd 0.6-1.0 s, 2.2 MB zstd / 110 MB plain; restore CLI ~1.1 s (podman"
echo "#   0.9-1.0, runc 0.35, CRIU 0.25-0.28), REST 0.9-1.4 s; zstd import 0.97-1.5 s vs"
echo "#   plain 0.67-1.0 s"

for compress in none zstd; do
	echo "== checkpoint: demux template create --compress $compress ($CHECKPOINTS runs)"
	ck=() criu=() sizes=() pages=
	for i in $(seq "$CHECKPOINTS"); do
		name=bench-$compress-$i
		t0=$(date +%s%N)
		out=$("$DEMUX" template create --name "$name" --image "$IMAGE" --compress "$compress" \
			--state-dir "$tmp/state" --socket "$sock" --label "$LABEL" 2>&1) || {
			echo "  create failed: $out"
			continue
		}
		t1=$(date +%s%N)
		# "template NAME: PATH (SIZE), checkpoint N ms (CRIU M ms, P pages)"
		ck+=("$(sed -nE 's/.*checkpoint ([0-9.]+) ms.*/\1/p' <<<"$out")")
		criu+=("$(sed -nE 's/.*CRIU ([0-9.]+) ms.*/\1/p' <<<"$out")")
		pages=$(sed -nE 's/.*, ([0-9]+) pages\).*/\1/p' <<<"$out")
		sizes+=("$(stat -c %s "$tmp/state/templates/$name/"checkpoint.tar*)")
		create_ms=$(((t1 - t0) / 1000000))
		[ "$i" -gt 1 ] && "$DEMUX" template rm "$name" --state-dir "$tmp/state" >/dev/null
	done
	stats "checkpoint (export call)" "${ck[@]}"
	stats "  CRIU freezing+frozen" "${criu[@]}"
	printf '  %-28s %s bytes (%s MB); %s pages dumped; last whole create %s ms\n' "archive" \
		"${sizes[0]:-?}" "$(awk -v b="${sizes[0]:-0}" 'BEGIN{printf "%.1f", b/1048576}')" \
		"${pages:-?}" "${create_ms:-?}"
done
plain=$(ls "$tmp"/state/templates/bench-none-1/checkpoint.tar)
zst=$(ls "$tmp"/state/templates/bench-zstd-1/checkpoint.tar.zst)

for a in "$plain" "$zst"; do
	echo "== restore via demux's C module (REST API), $(basename "$a"), $RUNS runs, one at a time"
	"$BENCH" "$sock" "$a" "$app_port" "$db_port" "$domain" "$RUNS" 1
done

for a in "$plain" "$zst"; do
	echo "== restore via the podman CLI (podman container restore --import), $(basename "$a"), $RUNS runs"
	wall=() pod=() rt=() cr=()
	for i in $(seq "$RUNS"); do
		name=demux-bench-cli-$i-$$
		p1=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
		ports=(-p "127.0.0.1:$p1:$app_port")
		if [ "$db_port" != 0 ]; then
			p2=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
			ports+=(-p "127.0.0.1:$p2:$db_port")
		fi
		t0=$(date +%s%N)
		json=$(podman container restore --import "$a" --name "$name" --file-locks "${ports[@]}" --print-stats 2>/dev/null)
		t1=$(date +%s%N)
		podman rm -f -t 0 "$name" >/dev/null 2>&1
		read -r p r c < <(python3 -c 'import json,sys; d=json.loads(sys.argv[1]); s=d["container_statistics"][0]
print(d["podman_restore_duration"]/1000, s["runtime_restore_duration"]/1000, s["criu_statistics"]["restore_time"]/1000)' "$json" 2>/dev/null) || continue
		wall+=("$(((t1 - t0) / 1000000))") pod+=("$p") rt+=("$r") cr+=("$c")
	done
	stats "restore (CLI process wall)" "${wall[@]}"
	stats "  podman_restore_duration" "${pod[@]}"
	stats "    runtime (runc restore)" "${rt[@]}"
	stats "      CRIU restore_time" "${cr[@]}"
done

echo "== 3 restores at once via the C module (REST), plain archive, $((RUNS / 3 * 3)) runs"
"$BENCH" "$sock" "$plain" "$app_port" "$db_port" "$domain" "$((RUNS / 3 * 3))" 3
