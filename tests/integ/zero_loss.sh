#!/bin/sh
# The zero-loss test under faults (tests/e2e/zero_loss.py): 50 mailboxes
# migrated while mail flows and daemons are killed. ZERO_LOSS_SEED repeats
# a run.
[ "$(id -u)" = 0 ] || { echo "needs root (the lab)"; exit 77; }
cd "$(dirname "$0")/../.." || exit 1
exec python3 tests/e2e/zero_loss.py
