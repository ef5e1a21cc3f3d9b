#!/usr/bin/env bash
# Unit test of scripts/check-doc-links (make lint): documents that point
# outside the repository are named, those that stay inside pass.
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
. "$ROOT/tests/lib/common.sh"
D=$(mktemp -d "$ROOT/build/doc-links.XXXXXX")
trap 'rm -rf "$D"; t_done_plan' EXIT
rel=${D#"$ROOT"/}
check() { bash "$ROOT/scripts/check-doc-links" "$rel/$1"; }

printf 'See [the design](../../docs/DESIGN.md), [an anchor](#x), [a site](https://example.org/a) and `src/../README.md`.\n' >"$D/in.md"
t_check "links inside the repository pass" check in.md
printf 'See [the design](../../../shared/DESIGN.md).\n' >"$D/up.md"
t_check "a relative link leaving the repository fails" bash -c "! bash '$ROOT/scripts/check-doc-links' '$rel/up.md'"
printf 'The plan is in ../../../shared/DESIGN.md.\n' >"$D/text.md"
t_check "a relative path in the text leaving the repository fails" bash -c "! bash '$ROOT/scripts/check-doc-links' '$rel/text.md'"
printf 'Read /work/shared/ENVIRONMENT.md first.\n' >"$D/abs.md"
t_check "an absolute path into a working area fails" bash -c "! bash '$ROOT/scripts/check-doc-links' '$rel/abs.md'"
printf '<a href="/etc/demux/x.md">x</a>\n' >"$D/href.md"
t_check "an absolute link target fails" bash -c "! bash '$ROOT/scripts/check-doc-links' '$rel/href.md'"
t_check "the repository's own documents pass" bash "$ROOT/scripts/check-doc-links"
t_done
