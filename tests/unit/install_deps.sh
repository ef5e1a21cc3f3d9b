#!/usr/bin/env bash
# Unit test of scripts/install-deps' planning: which suite each package of
# the stack comes from, the summary of apt's simulation and the refusal of a
# plan that would move the host's own software. Sources the script (which
# then only defines its functions); needs neither root nor apt.
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
. "$ROOT/tests/lib/common.sh"
# shellcheck source=scripts/install-deps
. "$ROOT/scripts/install-deps"
set +e
trap t_done_plan EXIT

t_eq "CRIU 4.1 is enough below 6.16" "$(criu_min_suite 6.1.0-28-amd64)" trixie
t_eq "CRIU 4.2 from 6.16" "$(criu_min_suite 6.16.0)" forky
t_eq "CRIU 4.2 on 6.18" "$(criu_min_suite 6.18.44-fc-v782)" forky
t_eq "CRIU 4.2 on 7.x" "$(criu_min_suite 7.0.1)" forky
t_eq "CRIU 4.1 on 5.10" "$(criu_min_suite 5.10.0)" trixie

NEWER_PKGS=(podman/trixie runc/trixie conmon/trixie criu/forky)
t_eq "on Debian 12 each package comes from its suite" \
	"$(stack_plan bookworm | tr '\n' ' ')" "podman/trixie runc/trixie conmon/trixie criu/forky "
t_eq "on Debian 13 only what it lacks comes from a newer suite" \
	"$(stack_plan trixie | tr '\n' ' ')" "podman runc conmon criu/forky "
t_eq "on Debian 14 everything comes from its own suite" \
	"$(stack_plan forky | tr '\n' ' ')" "podman runc conmon criu "
NEWER_PKGS+=(valkey-server/trixie)
t_eq "one entry adds a package from trixie" "$(stack_plan bookworm | tail -1)" valkey-server/trixie
t_eq "the suites a plan needs, oldest first" "$(newer_suites curl podman/trixie criu/forky runc/trixie)" "trixie forky"
t_eq "a plan from the host's release needs none" "$(newer_suites curl podman criu)" ""

sim='NOTE: This is only a simulation!
Inst libc6 [2.36-9+deb12u13] (2.41-12+deb13u1 Debian:13.2/stable [amd64]) []
Inst conmon (2.1.12-4 Debian:13.2/stable [amd64])
Inst podman (5.4.2+ds1-2+b2 Debian:13.2/stable [amd64])
Conf libc6 (2.41-12+deb13u1 Debian:13.2/stable [amd64])
Conf podman (5.4.2+ds1-2+b2 Debian:13.2/stable [amd64])'
sum=$(plan_summary <<<"$sim")
t_eq "the summary counts upgrades and new packages" "$(head -1 <<<"$sum")" \
	"plan: 1 upgraded, 2 newly installed, 0 renamed to t64, 0 removed"
t_match "an upgrade shows both versions and the release" "$sum" \
	'upgrade libc6 2\.36-9\+deb12u13 -> 2\.41-12\+deb13u1 \(Debian:13\.2/stable\)'
t_match "a new package shows its version" "$sum" 'install podman 5\.4\.2\+ds1-2\+b2 \(Debian:13\.2/stable\)'
t_check "a plan that keeps python3 passes" plan_check <<<"$sim"
t_check "a plan that upgrades python3 is refused" bash -c "! { . '$ROOT/scripts/install-deps'; set +e; plan_check; } <<'X'
$sim
Inst python3 [3.11.2-1+b1] (3.13.5-1 Debian:13.2/stable [amd64])
X"
t_check "a plan that installs a missing perl from the host's release passes" plan_check <<<"$sim
Inst perl (5.36.0-7+deb12u4 Debian-Security:12/oldstable-security [amd64])"
t64="$sim
Inst libgnutls30t64 (3.8.9-3+deb13u4 Debian:13.8/stable [amd64])
Remv libgnutls30 [3.7.9-2+deb12u5]"
t_check "a library replaced by its t64 rename is no removal" plan_check <<<"$t64"
t_eq "the summary counts it as renamed" "$(plan_summary <<<"$t64" | head -1)" \
	"plan: 1 upgraded, 3 newly installed, 1 renamed to t64, 0 removed"
t_check "a plan that removes a package is refused" bash -c "! { . '$ROOT/scripts/install-deps'; set +e; plan_check; } <<'X'
$sim
Remv python3-lib2to3 [3.11.2-3]
X"
t_eq "an empty plan counts nothing" "$(plan_summary </dev/null)" "plan: 0 upgraded, 0 newly installed, 0 renamed to t64, 0 removed"
t_done
