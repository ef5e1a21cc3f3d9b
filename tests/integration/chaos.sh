#!/usr/bin/env bash
# The short chaos run (about 2 minutes) of tests/chaos: every fault kind at
# least once, with the invariants checked after each. make chaos runs the
# long one.
exec bash "$(dirname "$0")/../chaos/run.sh" --seconds 100 --cycles 10 --faults-per-kind 2
