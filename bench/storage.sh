#!/usr/bin/env bash
# Restores on demux's container store (btrfs with simple quotas and a 1 GB
# bound per copy, docs/STORAGE.md) against Podman's default store (overlay on
# the host's file system, no bound), side by side in one run: one Podman
# service per store, one shop-fixture template per store, then restores
# through demux's C module (REST API) alternating between the two stores,
# one copy at a time, then three at once, so that the machine's load falls
# on both alike.
#
#   bench/storage.sh
# Environment: DEMUX_BENCH_IMAGE (default localhost/demux/shop-fixture:latest,
# needed in both stores), DEMUX_BENCH_RUNS (restores per store, default 12).
set -uo pipefail
cd "$(dirname "$0")/.."
export PODMAN_IGNORE_CGROUPSV1_WARNING=1
IMAGE=${DEMUX_BENCH_IMAGE:-localhost/demux/shop-fixture:latest}
RUNS=${DEMUX_BENCH_RUNS:-12}
BENCH=build/bench/restore_bench
DEMUX=./demux
LABEL=demux.bench=storage

[ -x "$BENCH" ] && [ -x "$DEMUX" ] || { echo "storage: build first (make bench)"; exit 1; }
# shellcheck source=scripts/storage-env.sh
. scripts/storage-env.sh
unset CONTAINERS_STORAGE_CONF
demux_storage_env "$DEMUX" >/dev/null || { echo "storage: cannot set up demux's container store"; exit 1; }
BTRFS_CONF=$CONTAINERS_STORAGE_CONF
unset CONTAINERS_STORAGE_CONF
on() { # on overlay|btrfs CMD...: CMD with that store's environment
	local s=$1
	shift
	if [ "$s" = btrfs ]; then
		CONTAINERS_STORAGE_CONF=$BTRFS_CONF "$@"
	else
		"$@"
	fi
}
for s in overlay btrfs; do
	on "$s" podman image exists "$IMAGE" ||
		{ echo "storage: image $IMAGE missing in the $s store (make images / DEMUX_STORAGE=default scripts/build-image); skipped"; exit 0; }
done

tmp=$(mktemp -d /tmp/demux-bench.XXXXXX)
declare -A svc
cleanup() {
	local s
	for s in overlay btrfs; do
		on "$s" bash -c 'podman ps -aq --filter "label=$1" | xargs -r podman rm -f -t 0' _ "$LABEL" >/dev/null 2>&1
		[ -n "${svc[$s]:-}" ] && kill "${svc[$s]}" 2>/dev/null && wait "${svc[$s]}" 2>/dev/null
	done
	rm -rf "$tmp"
}
trap cleanup EXIT

label() { podman image inspect --format "{{index .Labels \"$1\"}}" "$IMAGE"; }
domain=$(label demux.domain) app_port=$(label demux.app_port)
domain=${domain:-template.localhost} app_port=${app_port:-80}

# shellcheck source=bench/common.bash
. bench/common.bash

echo "# $(date -u +%FT%TZ) $(uname -r), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); podman $(podman version --format '{{.Client.Version}}')"
for s in overlay btrfs; do
	sock=$tmp/$s.sock
	# A simple command (env execs podman): $! is Podman's own pid, which
	# cleanup stops. Started through a function, it would be a subshell's.
	envs=()
	[ "$s" = btrfs ] && envs=("CONTAINERS_STORAGE_CONF=$BTRFS_CONF")
	env "${envs[@]}" podman system service --time=0 "unix://$sock" >"$tmp/$s-service.log" 2>&1 &
	svc[$s]=$!
	for _ in $(seq 100); do
		curl -sf --unix-socket "$sock" http://d/v5.0.0/libpod/_ping >/dev/null 2>&1 && break
		sleep 0.1
	done
	disk=0
	[ "$s" = btrfs ] && disk=1g
	echo "# $s store: $(curl -s --unix-socket "$sock" http://d/v5.0.0/libpod/info |
		python3 -c 'import json,sys; s=json.load(sys.stdin)["store"]; print(s["graphDriverName"], s["graphRoot"])'), template --disk $disk"
	if ! out=$("$DEMUX" template create --name "bench-$s" --image "$IMAGE" --disk "$disk" \
		--state-dir "$tmp/state" --socket "$sock" --label "$LABEL" 2>&1); then
		echo "storage: template create on $s failed: $out"
		exit 1
	fi
done

declare -A wall rest ready removal
# one COUNT CONC STORE: COUNT restores through restore_bench, appended per store.
one() {
	local s=$1 conc=$2 out
	out=$("$BENCH" "$tmp/$s.sock" "$tmp/state/templates/bench-$s/checkpoint.tar" "$app_port" 0 \
		"$domain" "$conc" "$conc" 2>&1) || { echo "  $s: $out" | tail -2; return; }
	wall[$s]+=" $(sed -nE 's/^  restore \(demux wall\) .*median= *([0-9.]+).*/\1/p' <<<"$out")"
	rest[$s]+=" $(sed -nE 's/^    podman \(REST call\) .*median= *([0-9.]+).*/\1/p' <<<"$out")"
	ready[$s]+=" $(sed -nE 's/^  restore \+ first HTTP 200 .*median= *([0-9.]+).*/\1/p' <<<"$out")"
	removal[$s]+=" $(sed -nE 's/^  remove \(force\) .*median= *([0-9.]+).*/\1/p' <<<"$out")"
}
report() {
	local s
	for s in overlay btrfs; do
		echo " $s:"
		# shellcheck disable=SC2086 # the lists are numbers separated by spaces
		{
			stats "restore (demux wall)" ${wall[$s]}
			stats "  podman (REST call)" ${rest[$s]}
			stats "restore + first HTTP 200" ${ready[$s]}
			stats "remove (force)" ${removal[$s]}
		}
	done
	wall=() rest=() ready=() removal=()
}

echo "== one restore at a time, alternating stores, $RUNS per store"
for _ in $(seq "$RUNS"); do
	one overlay 1
	one btrfs 1
done
report
echo "== three restores at once, alternating stores, $((RUNS / 3)) batches per store (medians of each batch)"
for _ in $(seq $((RUNS / 3))); do
	one overlay 3
	one btrfs 3
done
report
