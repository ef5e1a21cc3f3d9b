#!/usr/bin/env bash
# What isolating copies costs a restore: restore-to-ready (podman container
# restore --import, then the first HTTP 200) of shop-fixture copies while
# N copies stay alive (default 100), measured side by side in one run:
#   - baseline: template on Podman's default network with its default
#     capabilities (how copies ran before isolation; demux's tables exist but
#     match only its own bridges, so this traffic never meets a rule of theirs);
#   - isolated: template on demux's network behind demux's nftables tables,
#     capabilities dropped but six, no_new_privileges (what demux does now).
# The figures are for the last 10 restores of each variant, when about N
# copies are alive, and for all of them.
#
#   bench/isolation.sh       (DEMUX_BENCH_LIVE=N to change the number of copies)
set -uo pipefail
cd "$(dirname "$0")/.."
export PODMAN_IGNORE_CGROUPSV1_WARNING=1
# shellcheck source=scripts/storage-env.sh
. scripts/storage-env.sh
IMAGE=${DEMUX_BENCH_IMAGE:-localhost/demux/shop-fixture:latest}
LIVE=${DEMUX_BENCH_LIVE:-100}
LABEL=demux.bench=isolation
DEMUX=./demux
PORT0=${DEMUX_BENCH_PORT0:-46000}
CAPS=CHOWN,DAC_OVERRIDE,FOWNER,NET_BIND_SERVICE,SETGID,SETUID

[ -x "$DEMUX" ] || { echo "isolation: build first (make)"; exit 1; }
demux_storage_env "$DEMUX" || { echo "isolation: cannot set up demux's container store"; exit 1; }
podman image exists "$IMAGE" || { echo "isolation: image $IMAGE missing (make images); skipped"; exit 0; }
tmp=$(mktemp -d /tmp/demux-bench.XXXXXX)
cleanup() {
	podman ps -aq --filter "label=$LABEL" | xargs -r podman rm -f -t 0 >/dev/null 2>&1
	rm -rf "$tmp"
}
trap cleanup EXIT

domain=$(podman image inspect --format '{{index .Labels "demux.domain"}}' "$IMAGE")
now_ms() { date +%s%3N; }
# shellcheck source=bench/common.bash
. bench/common.bash

# variant NAME RUN-FLAGS...: template, checkpoint, LIVE restores kept alive.
variant() {
	local name=$1 i port t0 t1 ms all=() last=()
	shift
	podman rm -f -t 0 "bench-iso-tpl" >/dev/null 2>&1
	podman run -d --name bench-iso-tpl --label "$LABEL" "$@" -p "127.0.0.1:$((PORT0 - 1)):80" "$IMAGE" >/dev/null || return 1
	for _ in $(seq 300); do
		[ "$(curl -s -o /dev/null -w '%{http_code}' -H "Host: $domain" "http://127.0.0.1:$((PORT0 - 1))/")" = 200 ] && break
		sleep 0.2
	done
	sleep 1
	podman container checkpoint --file-locks --export "$tmp/$name.tar" bench-iso-tpl >/dev/null || return 1
	podman rm -f -t 0 bench-iso-tpl >/dev/null
	for i in $(seq 1 "$LIVE"); do
		port=$((PORT0 + i))
		t0=$(now_ms)
		podman container restore --file-locks --import "$tmp/$name.tar" --name "bench-iso-$name-$i" \
			-p "127.0.0.1:$port:80" >/dev/null 2>"$tmp/err" || { echo "  restore $i failed: $(tail -1 "$tmp/err")"; continue; }
		until [ "$(curl -s -o /dev/null -w '%{http_code}' -H "Host: $domain" "http://127.0.0.1:$port/")" = 200 ]; do
			[ $(($(now_ms) - t0)) -gt 60000 ] && break
			sleep 0.01
		done
		t1=$(now_ms)
		ms=$((t1 - t0))
		all+=("$ms")
		[ "$i" -gt $((LIVE - 10)) ] && last+=("$ms")
	done
	stats "$name: restore-to-ready, all" "${all[@]}"
	stats "$name: the last 10 (~$LIVE live)" "${last[@]}"
	podman ps -aq --filter "label=$LABEL" | xargs -r podman rm -f -t 0 >/dev/null 2>&1
}

echo "# $(date -u +%FT%TZ) $(uname -r), $(nproc) cores, podman $(podman version --format '{{.Client.Version}}'); $LIVE live copies per variant"
# demux firewall apply talks to Podman's service; start one for it.
podman system service --time=0 "unix://$tmp/podman.sock" >/dev/null 2>&1 &
svc=$!
for _ in $(seq 100); do curl -sf --unix-socket "$tmp/podman.sock" http://d/v5.0.0/libpod/_ping >/dev/null && break; sleep 0.1; done
printf '[podman]\nsocket = %s\n' "$tmp/podman.sock" >"$tmp/fw.conf"
"$DEMUX" firewall apply --config "$tmp/fw.conf" | sed 's/^/# /'
kill "$svc"; wait "$svc" 2>/dev/null

# DEMUX_BENCH_ORDER="isolated baseline" runs them the other way round (the
# second variant runs on a store the first one has used).
for v in ${DEMUX_BENCH_ORDER:-baseline isolated}; do
	case $v in
	baseline) variant baseline --network podman ;;
	isolated) variant isolated --network demux --cap-drop ALL --cap-add "$CAPS" \
		--security-opt no-new-privileges ;;
	esac
done
