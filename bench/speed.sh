#!/usr/bin/env bash
# Speed and density of the warm pool, measured through a real `demux serve`
# behind Caddy, each figure side by side with its baseline in this one run:
#
#   B2   restore-to-ready of one copy inside the pool (a claim takes the ready
#        copy, the pool makes the next), split into restore (Podman / runc /
#        CRIU), hook, health check and route, plus the claimed copy's first
#        page through the proxy; for [pool] restore = archive (the full
#        checkpoint archive, as every copy was restored before the prepared
#        restore) and = prepared, the latter also without CRIU's
#        kernel-feature cache and with the CRIU images on tmpfs
#   B2r  `podman container restore --import` (CLI) of the same archive to its
#        first 200: the ratio B2 / B2r
#   B3   cold start of the same image to its first 200: the ratio B3 / B2
#   B6   the first page of a restored copy against a warmed cold-started one
#   B4   sustained refill from an empty pool: copies ready per minute with 1,
#        2 and 4 provisioning workers (prepared), and 2 workers on the archive
#   B5   PSS and USS per idle copy at 1, 10 and 50 copies, without and with
#        KSM (a template made with --ksm on); demux's own RSS at 50 copies
#   B1   claims through Caddy from 1, 10 and 50 concurrent clients
#        (build/bench/claim_load, 201 and 202 apart), next to GET / of the
#        landing page through the same proxy and server
#
#   bash bench/speed.sh      (or make bench, which runs every bench/*.sh)
# Knobs: SPEED_RUNS (restores per B2/B2r variant, 10), SPEED_COLD (3),
# SPEED_REFILL (copies per B4 fill, 8), SPEED_COPIES (B5, 50), SPEED_KSM (1:
# also the KSM variant; it turns the kernel's KSM on for its duration and
# puts the previous setting back), SPEED_ONLY (a space-separated subset of
# b2 b3 b4 b5 b1).
set -uo pipefail
cd "$(dirname "$0")/.."
export DEMUX_ROOT=$PWD
. tests/lib/common.sh
. bench/common.bash
t_init
RUNS=${SPEED_RUNS:-10}
COLD=${SPEED_COLD:-3}
REFILL=${SPEED_REFILL:-8}
COPIES=${SPEED_COPIES:-50}
KSM=${SPEED_KSM:-1}
ONLY=${SPEED_ONLY:-b2 b3 b4 b5 b1}
BIN=$DEMUX_ROOT/demux
LOAD=$DEMUX_ROOT/build/bench/claim_load
IMAGE=localhost/demux/shop-fixture:latest
LABEL=demux.bench=speed
BD=demo.localhost
[ -x "$BIN" ] && [ -x "$LOAD" ] || { echo "speed: build first (make bench)"; exit 0; }
t_on_exit "podman ps -aq --filter label=$LABEL | xargs -r podman rm -f -t 0; podman images -q --filter label=$LABEL --filter reference='localhost/demux-restore/*' | xargs -r podman rmi"
need_podman_service || exit 1
podman image exists "$IMAGE" || { echo "speed: $IMAGE missing (make images); skipped"; exit 0; }
start_caddy || exit 1
serve_setup
KSM_RUN_BEFORE=$(cat /sys/kernel/mm/ksm/run 2>/dev/null || echo 0)
t_on_exit "echo $KSM_RUN_BEFORE > /sys/kernel/mm/ksm/run"

want() { [[ " $ONLY " == *" $1 "* ]]; }
ms() { awk -v s="$1" 'BEGIN { printf "%.1f", s * 1000 }'; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }

# conf NAME RESTORE MIN_READY MAX WORKERS: a configuration for one phase, with
# a store of its own (each phase starts from an empty pool).
conf() {
	{
		serve_conf_head
		cat <<CONF
[demux]
log_level = debug
[server]
max_active_per_client = 0
claims_per_ip_per_minute = 100000
[store]
path = $T_DIR/store-$1.db
[pool $2]
min_ready = $4
max_instances = $5
provision_concurrency = $6
restore = $3
ttl = 30m
port_min = 46000
port_max = 46999
CONF
	} >"$T_DIR/$1.conf"
}
SERVE_PID=
# serve PHASE: starts demux serve on $T_DIR/PHASE.conf, log in PHASE.log.
serve() {
	"$BIN" serve --config "$T_DIR/$1.conf" >"$T_DIR/$1.log" 2>&1 &
	SERVE_PID=$!
	_t_pids+=("$SERVE_PID")
	wait_for "demux serve" 30 curl -sf -H "Host: $BD" "http://127.0.0.1:$PROXY_PORT/healthz"
}
# stop_serve: stops it and removes every copy it made, so that the next
# phase starts on an empty machine.
stop_serve() {
	stop_pid "$SERVE_PID"
	podman ps -aq --filter "label=$LABEL" --filter "label=demux.managed" |
		xargs -r podman rm -f -t 0 >/dev/null 2>&1
}
ready_count() {
	curl -s -H "Host: $BD" -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PROXY_PORT/api/v1/pool" |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["pools"][0]["ready"])' 2>/dev/null || echo 0
}
ready_at_least() { [ "$(ready_count)" -ge "$1" ]; }
claim() { # prints the claimed id, or nothing
	curl -s -X POST -H "Host: $BD" "http://127.0.0.1:$PROXY_PORT/api/v1/demos" |
		python3 -c 'import json,sys; print(json.load(sys.stdin).get("id",""))' 2>/dev/null
}
# release_claimed: ends every claimed demo (between B1's rounds).
release_claimed() {
	local id
	for id in $(curl -s -H "Host: $BD" -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PROXY_PORT/api/v1/demos" |
		python3 -c 'import json,sys; print("\n".join(d["id"] for d in json.load(sys.stdin)["demos"] if d["state"] == "claimed"))'); do
		release "$id"
	done
}
release() {
	curl -s -o /dev/null -X DELETE -H "Host: $BD" -H "Authorization: Bearer $TOKEN" \
		"http://127.0.0.1:$PROXY_PORT/api/v1/demos/$1"
}
# first_200 PORT: seconds until GET / with the template's Host answers 200,
# polling every 5 ms; prints "wait_s first_page_s".
first_200() {
	local port=$1 t0 out i
	t0=$(date +%s%N)
	for ((i = 0; i < 6000; i++)); do
		out=$(curl -s -o /dev/null -m 5 -w '%{http_code} %{time_total}' -H "Host: $DOMAIN" "http://127.0.0.1:$port/")
		if [ "${out%% *}" = 200 ]; then
			awk -v a="$(date +%s%N)" -v b="$t0" -v p="${out#* }" 'BEGIN { printf "%.3f %.4f\n", (a - b) / 1e9, p }'
			return 0
		fi
		sleep 0.005
	done
	return 1
}
# pss_uss PID: PSS, USS and the file-backed part of the USS in kB of the
# process tree under PID (a copy's first process: everything of the copy
# descends from it). The file-backed private pages are the page cache of the
# copy's own files: btrfs snapshots do not share it between copies.
pss_uss() {
	local pids p a b c pss=0 uss=0 fuss=0
	pids=$(ps -e -o pid=,ppid= | awk -v root="$1" '
		{ kids[$2] = kids[$2] " " $1 }
		END { q[1] = root; n = 1; for (i = 1; i <= n; i++) { print q[i]; m = split(kids[q[i]], k, " "); for (j = 1; j <= m; j++) q[++n] = k[j] } }')
	for p in $pids; do
		read -r a b c < <(awk '
			/^[0-9a-f]+-[0-9a-f]+ / { file = ($6 != "" && $6 !~ /^\[/) }
			/^Pss:/ { pss += $2 }
			/^Private_(Clean|Dirty):/ { uss += $2; if (file) fuss += $2 }
			END { print pss + 0, uss + 0, fuss + 0 }' "/proc/$p/smaps" 2>/dev/null)
		pss=$((pss + ${a:-0})) uss=$((uss + ${b:-0})) fuss=$((fuss + ${c:-0}))
	done
	echo "$pss $uss $fuss"
}
# density LABEL: mean PSS and USS per READY copy of the running serve (the
# copies being restored at that moment are left out).
density() {
	local n=0 sp=0 su=0 sf=0 pid a b c name
	for name in $(curl -s -H "Host: $BD" -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PROXY_PORT/api/v1/demos" |
		python3 -c 'import json,sys; print("\n".join("demux-" + d["id"] for d in json.load(sys.stdin)["demos"] if d["state"] == "ready"))'); do
		pid=$(podman inspect -f '{{.State.Pid}}' "$name" 2>/dev/null) || continue
		[ "$pid" -gt 0 ] 2>/dev/null || continue
		read -r a b c < <(pss_uss "$pid")
		n=$((n + 1)) sp=$((sp + a)) su=$((su + b)) sf=$((sf + c))
	done
	[ "$n" -gt 0 ] || { echo "$1: no copy"; return; }
	awk -v l="$1" -v n="$n" -v sp="$sp" -v su="$su" -v sf="$sf" \
		'BEGIN { printf "%-40s copies=%-3d PSS=%5.1f MB  USS=%5.1f MB (file-backed %4.1f) per copy\n", l, n, sp / n / 1024, su / n / 1024, sf / n / 1024 }'
}

echo "# $(date -u +%FT%TZ) $(uname -r), $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# podman $(podman version --format '{{.Client.Version}}'), $(criu --version | head -1), runc $(runc --version | head -1 | awk '{print $3}'), caddy $(caddy version | awk '{print $1}'), store $(podman info --format '{{.Store.GraphDriverName}}')"
echo "# runs: B2/B2r $RUNS each, B3 $COLD, B4 $REFILL copies per fill, B5 up to $COPIES copies"

# --- templates ---------------------------------------------------------------
conf tmpl speed archive 0 1 1
for t in speed speedksm; do
	[ "$t" = speedksm ] && { [ "$KSM" = 1 ] && want b5 || continue; }
	args=(--config "$T_DIR/tmpl.conf" --name "$t" --image "$IMAGE" --label "$LABEL")
	[ "$t" = speedksm ] && args+=(--ksm on)
	"$BIN" template create "${args[@]}" >"$T_DIR/template-$t.log" 2>&1 ||
		{ echo "speed: template create $t failed"; tail -5 "$T_DIR/template-$t.log"; exit 1; }
done
ARCHIVE=$T_DIR/state/templates/speed/checkpoint.tar
DOMAIN=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["domain"])' "$T_DIR/state/templates/speed/template.json")
echo "# template speed: archive $(du -m "$ARCHIVE" | cut -f1) MB, prepared restore.tar $(du -k "$T_DIR/state/templates/speed/restore.tar" | cut -f1) kB, $(grep -o '[0-9]* pages' "$T_DIR/template-speed.log")"

# --- B2: restore-to-ready inside the pool ---------------------------------------
b2_variant() { # LABEL RESTORE [nokdat|tmpfs]
	local v=$1 id prev line images=$T_DIR/state/templates/speed/restore/checkpoint
	local tot=() rst=() pod=() rt=() criu=() hook=() hl=() rte=() page=() direct=() port
	conf "b2-$v" speed "$2" 1 3 1
	if [ "${3:-}" = tmpfs ]; then
		# the CRIU images on tmpfs: the link restore.tar names goes on there
		rm -rf /dev/shm/demux-speed-images
		mv "$images" /dev/shm/demux-speed-images && ln -s /dev/shm/demux-speed-images "$images"
	fi
	serve "b2-$v" || return
	# without the kernel-feature cache: CRIU probes the kernel at each
	# restore (demux serve wrote the cache at its start; the next start
	# writes it again)
	[ "${3:-}" = nokdat ] && rm -f /run/criu.kdat
	wait_for "first copy" 120 ready_at_least 1 || { stop_serve; return; }
	for ((i = 0; i < RUNS; i++)); do
		prev=$(grep -c 'msg=instance ready' "$T_DIR/b2-$v.log")
		id=$(claim)
		[ -n "$id" ] || { echo "  claim failed"; break; }
		wait_for "refill" 120 bash -c "[ \$(grep -c 'msg=instance ready' '$T_DIR/b2-$v.log') -gt $prev ]" || break
		wait_for "ready again" 30 ready_at_least 1
		line=$(grep 'msg=instance ready' "$T_DIR/b2-$v.log" | tail -1)
		nid=$(sed -nE 's/.* id=([a-z0-9]+) .*/\1/p' <<<"$line")
		tot+=("$(sed -nE 's/.*total_ms=([0-9.]+).*/\1/p' <<<"$line")")
		rst+=("$(sed -nE 's/.*restore_ms=([0-9.]+).*/\1/p' <<<"$line")")
		hook+=("$(sed -nE 's/.*hook_ms=([0-9.]+).*/\1/p' <<<"$line")")
		hl+=("$(sed -nE 's/.*health_ms=([0-9.]+).*/\1/p' <<<"$line")")
		rte+=("$(sed -nE 's/.*route_ms=([0-9.]+).*/\1/p' <<<"$line")")
		line=$(grep "msg=restored id=$nid " "$T_DIR/b2-$v.log" | tail -1)
		pod+=("$(sed -nE 's/.*podman_ms=([0-9.]+).*/\1/p' <<<"$line")")
		rt+=("$(sed -nE 's/.*runtime_ms=([0-9.]+).*/\1/p' <<<"$line")")
		criu+=("$(sed -nE 's/.*criu_ms=([0-9.]+).*/\1/p' <<<"$line")")
		port=$(curl -s -H "Host: $BD" -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PROXY_PORT/api/v1/demos/$id" |
			python3 -c 'import json,sys; print(json.load(sys.stdin)["app_port"])')
		direct+=("$(ms "$(curl -s -o /dev/null -w '%{time_total}' -H "Host: $id.$BD:$PROXY_PORT" "http://127.0.0.1:$port/")")")
		page+=("$(ms "$(curl -s -o /dev/null -w '%{time_total}' -H "Host: $id.$BD:$PROXY_PORT" "http://127.0.0.1:$PROXY_PORT/")")")
		release "$id"
	done
	stop_serve
	if [ "${3:-}" = tmpfs ]; then
		rm "$images" && mv /dev/shm/demux-speed-images "$images"
	fi
	stats "B2 $v: restore-to-ready (total)" "${tot[@]}"
	stats "B2 $v:   restore (demux's call)" "${rst[@]}"
	stats "B2 $v:     Podman" "${pod[@]}"
	stats "B2 $v:     runc (of Podman)" "${rt[@]}"
	stats "B2 $v:     CRIU (of runc)" "${criu[@]}"
	stats "B2 $v:   hook" "${hook[@]}"
	stats "B2 $v:   health check" "${hl[@]}"
	stats "B2 $v:   route" "${rte[@]}"
	stats "B6 $v: claimed copy's 1st page, direct" "${direct[@]}"
	stats "B6 $v: its 2nd page, through the proxy" "${page[@]}"
	B2_MEDIAN[$v]=$(printf '%s\n' "${tot[@]}" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
}
declare -A B2_MEDIAN
if want b2; then
	echo "== B2: restore-to-ready of one copy in the pool, $RUNS claims each (ms)"
	b2_variant archive archive
	b2_variant prepared-nokdat prepared nokdat
	b2_variant prepared prepared
	b2_variant prepared-tmpfs prepared tmpfs
	echo "== B2r: podman container restore --import (CLI) of the same archive, to the first 200 (ms)"
	cli=() first=()
	for ((i = 0; i < RUNS; i++)); do
		port=$(free_port)
		t0=$(now_ms)
		podman container restore --import "$ARCHIVE" --name "speed-cli-$i" -p "127.0.0.1:$port:80" >/dev/null 2>"$T_DIR/cli.err" ||
			{ echo "  restore failed: $(tail -1 "$T_DIR/cli.err")"; continue; }
		read -r w p < <(first_200 "$port")
		cli+=("$(($(now_ms) - t0))")
		first+=("$(ms "$p")")
		podman rm -f -t 0 "speed-cli-$i" >/dev/null 2>&1
	done
	stats "B2r: CLI restore --import, to 1st 200" "${cli[@]}"
	stats "B6: a restored copy's 1st page (direct)" "${first[@]}"
	B2R=$(printf '%s\n' "${cli[@]}" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
	for v in archive prepared-nokdat prepared prepared-tmpfs; do
		[ -n "${B2_MEDIAN[$v]:-}" ] && [ -n "$B2R" ] &&
			awk -v a="${B2_MEDIAN[$v]}" -v b="$B2R" -v l="$v" 'BEGIN { printf "B2 %s / B2r = %.2f\n", l, a / b }'
	done
fi

# --- B3 and B6: cold start, and a warmed container's page -----------------------
if want b3; then
	echo "== B3: cold start of the image to its first 200, $COLD runs (ms); B6 baseline"
	cold=() warm=()
	for ((i = 0; i < COLD; i++)); do
		port=$(free_port)
		t0=$(now_ms)
		run_container "speed-cold-$i" --label "$LABEL" --network demux -p "127.0.0.1:$port:80" "$IMAGE" ||
			continue
		first_200 "$port" >/dev/null || { echo "  cold start $i never answered"; continue; }
		cold+=("$(($(now_ms) - t0))")
		for ((k = 0; k < 5; k++)); do first_200 "$port" >/dev/null; done
		for ((k = 0; k < 5; k++)); do
			read -r w p < <(first_200 "$port")
			warm+=("$(ms "$p")")
		done
		podman rm -f -t 0 "speed-cold-$i" >/dev/null 2>&1
	done
	stats "B3: cold start, to 1st 200" "${cold[@]}"
	stats "B6 baseline: warmed container's page" "${warm[@]}"
	C=$(printf '%s\n' "${cold[@]}" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
	for v in archive prepared; do
		[ -n "${B2_MEDIAN[$v]:-}" ] && [ -n "$C" ] &&
			awk -v a="$C" -v b="${B2_MEDIAN[$v]}" -v l="$v" 'BEGIN { printf "B3 / B2 %s = %.1f\n", l, a / b }'
	done
fi

# --- B4: sustained refill --------------------------------------------------------
b4_fill() { # RESTORE WORKERS
	local t0 t1
	conf "b4-$1-$2" speed "$1" "$REFILL" "$REFILL" "$2"
	t0=$(now_ms)
	serve "b4-$1-$2" || return
	if wait_for "$REFILL copies" 600 ready_at_least "$REFILL"; then
		t1=$(now_ms)
		awk -v n="$REFILL" -v ms="$((t1 - t0))" -v l="B4 $1, $2 worker(s)" \
			'BEGIN { printf "%-44s %d copies in %6.1f s = %5.1f ready per minute\n", l, n, ms / 1000, n * 60000 / ms }'
	fi
	stop_serve
}
if want b4; then
	echo "== B4: sustained refill from an empty pool, $REFILL copies"
	b4_fill archive 2
	for w in 1 2 4; do b4_fill prepared "$w"; done
fi

# --- B5 and B1: density, then claims against a full pool --------------------------
b5_fill() { # TEMPLATE PHASE
	local n
	conf "$2" "$1" prepared "$COPIES" "$((COPIES + 100))" 2
	serve "$2" || return 1
	for n in 1 10 "$COPIES"; do
		[ "$n" -le "$COPIES" ] || continue
		[ "$n" = 10 ] && [ "$COPIES" = 10 ] && continue
		wait_for "$n copies" 900 ready_at_least "$n" || return 1
		sleep 3 # let the last copy settle
		density "B5 $1 at $n ready"
	done
}
if want b5; then
	echo "== B5: memory per idle copy (PSS and USS over each copy's processes)"
	if b5_fill speed b5; then
		echo "B5 demux serve RSS with $COPIES copies: $(awk '/VmRSS/ { printf "%.1f MB", $2 / 1024 }' "/proc/$SERVE_PID/status")"
		if want b1; then
			echo "== B1: claims through Caddy against $COPIES ready copies (ms)"
			url=http://127.0.0.1:$PROXY_PORT
			for c in 1 10 50; do
				req=$((c == 1 ? 10 : c == 10 ? 20 : 60))
				wait_for "$COPIES ready" 900 ready_at_least "$COPIES"
				"$LOAD" --get --url "$url/" --host "$BD" --clients "$c" --requests "$req" --label "B1 GET / (baseline), $c clients"
				"$LOAD" --url "$url/api/v1/demos" --host "$BD" --clients "$c" --requests "$req" --label "B1 claim, $c clients"
				release_claimed
				wait_for "$COPIES ready" 900 ready_at_least "$COPIES"
				"$LOAD" --get --warm "$url/" --url "$url/" --host "$BD" --clients "$c" --requests "$req" --label "B1 GET /, open connections, $c"
				"$LOAD" --warm "$url/" --url "$url/api/v1/demos" --host "$BD" --clients "$c" --requests "$req" --label "B1 claim, open connections, $c"
				release_claimed
			done
		fi
	fi
	stop_serve
	if [ "$KSM" = 1 ] && [ -w /sys/kernel/mm/ksm/run ]; then
		echo 1 >/sys/kernel/mm/ksm/run
		kt0=$(awk '{ print $14 + $15 }' "/proc/$(pgrep -x ksmd)/stat")
		s0=$(date +%s)
		b5_fill speedksm b5ksm
		sleep 20 # two more scans at the kernel's default pace
		density "B5 speedksm at $COPIES ready, after 20 s more"
		kt1=$(awk '{ print $14 + $15 }' "/proc/$(pgrep -x ksmd)/stat")
		awk -v t="$((kt1 - kt0))" -v s="$(($(date +%s) - s0))" -v hz="$(getconf CLK_TCK)" \
			-v sh="$(cat /sys/kernel/mm/ksm/pages_sharing)" \
			'BEGIN { printf "B5 ksmd: %.1f s of CPU in %d s (%.1f%% of one core), %d pages sharing (%.0f MB saved)\n", t / hz, s, 100 * t / hz / s, sh, sh * 4 / 1024 }'
		echo "B5 demux serve RSS with $COPIES copies (KSM variant): $(awk '/VmRSS/ { printf "%.1f MB", $2 / 1024 }' "/proc/$SERVE_PID/status")"
		stop_serve
		echo "$KSM_RUN_BEFORE" >/sys/kernel/mm/ksm/run
	fi
fi
