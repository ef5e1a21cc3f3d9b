#!/usr/bin/env bash
# make install-check: proves scripts/install-deps' plan on a fresh Debian 12.
# Builds (once) a bookworm chroot with debootstrap from the machine's own
# mirror, gives it the machine's own Debian source and python3 as a standard
# Debian 12 has it, then runs `scripts/install-deps --dry-run` inside it and
# checks the plan: python3 stays 3.11, nothing is removed, and only the
# packages listed in docs/INSTALL.md move to trixie. For comparison it also
# simulates the former selection (`apt-get -t trixie`). Prints TAP.
#
#   DEMUX_BOOKWORM_CHROOT=DIR   the chroot (default /var/cache/demux/bookworm-chroot);
#                               kept between runs, rebuilt when missing
# Runs as root; writes only in the chroot. Takes minutes the first time
# (debootstrap), about a minute after (apt-get update of three suites).
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
. "$ROOT/tests/lib/common.sh"
# shellcheck source=scripts/install-deps
. "$ROOT/scripts/install-deps"
set +e
C=${DEMUX_BOOKWORM_CHROOT:-/var/cache/demux/bookworm-chroot}
OUT=${DEMUX_TEST_OUT:-/tmp}/install-bookworm
mkdir -p "$OUT"

[ "$(id -u)" -eq 0 ] || t_skip_all "needs root (chroot)"
command -v debootstrap >/dev/null || t_skip_all "debootstrap missing"

mirror=$(own_source_field URIs | awk '{ print $1 }')
[ -n "$mirror" ] || {
	t_fail "the machine's own Debian mirror is known"
	t_done
}
if [ ! -x "$C/usr/bin/apt-get" ]; then
	rm -rf "$C"
	mkdir -p "$(dirname "$C")"
	if ! debootstrap --variant=minbase bookworm "$C" "$mirror" >"$OUT/debootstrap.log" 2>&1; then
		t_fail "debootstrap bookworm from $mirror" "$(tail -3 "$OUT/debootstrap.log")"
		t_done
	fi
fi
# The machine's own sources (not the suites demux adds), as on a fresh host.
rm -f "$C"/etc/apt/sources.list "$C"/etc/apt/sources.list.d/* "$C"/etc/apt/preferences.d/*
for f in /etc/apt/sources.list.d/*.sources; do
	[ "$f" = "$SUITES_FILE" ] || cp "$f" "$C/etc/apt/sources.list.d/"
done
cp /etc/resolv.conf "$C/etc/resolv.conf" 2>/dev/null
# A mirror serving a fixed snapshot has expired Release files; the machine's
# apt accepts them, so the chroot's does too.
if apt-config dump Acquire::Check-Valid-Until | grep -q '"false"'; then
	echo 'Acquire::Check-Valid-Until "false";' >"$C/etc/apt/apt.conf.d/99demux-valid-until"
fi
mountpoint -q "$C/proc" || mount -t proc proc "$C/proc"
trap 'umount "$C/proc" 2>/dev/null; t_done_plan' EXIT
in_chroot() { chroot "$C" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C DEBIAN_FRONTEND=noninteractive "$@"; }
in_chroot apt-get update -qq >"$OUT/update.log" 2>&1
# A standard Debian 12 has python3 (3.11).
in_chroot apt-get install -y -qq --no-install-recommends python3 >"$OUT/python3.log" 2>&1
t_match "the chroot is Debian 12 with python3 3.11" "$(in_chroot python3 --version 2>&1)" '^Python 3\.11\.'

cp "$ROOT/scripts/install-deps" "$C/tmp/install-deps"
in_chroot bash /tmp/install-deps --dry-run >"$OUT/plan.log" 2>&1
rc=$?
t_eq "install-deps --dry-run succeeds in the chroot" "$rc" 0
plan=$(grep '^install-deps: plan:' "$OUT/plan.log")
t_match "it prints a plan" "$plan" '^install-deps: plan: [0-9]+ upgraded, [0-9]+ newly installed, [0-9]+ renamed to t64, 0 removed$'
t_check "python3 is not in the plan" bash -c "! grep -E '^install-deps:   (upgrade|install) python3(-minimal)? ' '$OUT/plan.log'"
t_check "podman comes from trixie, criu from trixie or forky" \
	grep -qE '^install-deps:   install podman 5\.4' "$OUT/plan.log"
t_check "the dry run adds no apt source to the chroot" test ! -e "$C$SUITES_FILE"

# The former selection, simulated with the same sources, for comparison.
mkdir -p "$C/tmp/sim/sources.list.d" "$C/tmp/sim/preferences.d" "$C/tmp/sim/lists/partial"
cp "$C"/etc/apt/sources.list.d/*.sources "$C/tmp/sim/sources.list.d/"
printf 'Types: deb\nURIs: %s\nSuites: trixie forky\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
	"$mirror" >"$C/tmp/sim/sources.list.d/newer.sources"
printf 'Package: *\nPin: release n=trixie\nPin-Priority: 100\n\nPackage: *\nPin: release n=forky\nPin-Priority: 50\n' \
	>"$C/tmp/sim/preferences.d/newer"
o=(-o Dir::Etc::SourceParts=/tmp/sim/sources.list.d -o Dir::Etc::PreferencesParts=/tmp/sim/preferences.d
	-o Dir::State::Lists=/tmp/sim/lists -o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache=)
in_chroot apt-get "${o[@]}" update -qq >>"$OUT/update.log" 2>&1
in_chroot apt-get "${o[@]}" -s install -t trixie podman runc conmon >"$OUT/former.log" 2>&1
before=$(plan_summary <"$OUT/former.log" | head -1)
t_match "the former selection (-t trixie) moves python3" "$(grep -c '^Inst python3 ' "$OUT/former.log")" '^1$'
rm -rf "$C/tmp/sim" "$C/tmp/install-deps"

echo "# now:    ${plan#install-deps: }"
echo "# before: $before (apt-get -t trixie podman runc conmon)"
echo "# logs:   $OUT/plan.log $OUT/former.log"
t_done
