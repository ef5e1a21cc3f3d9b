#!/usr/bin/env bash
# Chaos run of demux (tests/chaos/chaos.py) on the real stack: makes the
# shop-fixture image, runs the faults and checks, removes every container
# the run made. Starts containers: run it under the integration lock,
#   flock /tmp/demux-integration.lock make chaos
# Arguments go to chaos.py (--seconds, --cycles, --faults-per-kind, --seed);
# the default run stops after 200 lifecycle cycles and 50 faults of each
# kind, or after 9 minutes, whichever comes first.
set -uo pipefail
. "$(dirname "$0")/../lib/common.sh"
t_init
need_serve_stack
[ "$(id -u)" = 0 ] || t_skip_all "the chaos run mounts a tmpfs and kills containers: it needs root"
t_remove_containers_at_exit chaos
if ! bash "$DEMUX_ROOT/scripts/build-image" shop-fixture >"$T_DIR/build-image.log" 2>&1; then
	t_fail "build the shop-fixture image" "$(tail -5 "$T_DIR/build-image.log")"
	t_done
fi
python3 "$DEMUX_ROOT/tests/chaos/chaos.py" --dir "$T_DIR" --demux "$DEMUX_BIN" "$@"
rc=$?
cp "$T_DIR/serve.log" "${DEMUX_TEST_OUT:-/tmp}/chaos.serve.log" 2>/dev/null
_t_planned=1
exit $rc
