# Sourced by demux's scripts, benchmarks and tests: makes demux's container
# store ready and exports CONTAINERS_STORAGE_CONF naming it, so that every
# podman command and Podman service started afterwards uses it
# (docs/STORAGE.md). The store is a loop-mounted btrfs with simple quotas,
# where each demo copy's writes are bounded.
#
#   . scripts/storage-env.sh && demux_storage_env DEMUX_BINARY
#
# Kept as they are: a CONTAINERS_STORAGE_CONF naming another file (an
# operator's own store), and DEMUX_STORAGE=default (Podman's default store,
# where copies cannot be bounded: templates then need --disk 0).
# DEMUX_STORAGE_DIR moves the store (default /var/lib/demux/storage).
demux_storage_env() {
	local demux=$1 conf
	[ "${DEMUX_STORAGE:-}" = default ] && return 0
	conf=${DEMUX_STORAGE_DIR:-/var/lib/demux/storage}/storage.conf
	if [ -n "${CONTAINERS_STORAGE_CONF:-}" ] && [ "$CONTAINERS_STORAGE_CONF" != "$conf" ]; then
		return 0
	fi
	# Idempotent and quick; it also mounts the store again after a reboot.
	conf=$("$demux" storage setup) || return 1
	export CONTAINERS_STORAGE_CONF=$conf
}
