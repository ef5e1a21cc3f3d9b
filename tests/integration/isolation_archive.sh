#!/usr/bin/env bash
# The isolation test (isolation.sh) on copies restored from the full
# checkpoint archive ([pool] restore = archive) instead of the prepared
# restore: the same rules must hold on both restore paths.
DEMUX_TEST_RESTORE=archive exec bash "$(dirname "$0")/isolation.sh"
