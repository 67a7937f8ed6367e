#!/usr/bin/env bash
# Keeps every core busy for a bounded time, to run tests the way a shared CI runner runs them:
#
#   scripts/busy.sh 600 -- .venv/bin/python -m pytest tests/provider/test_chatroom.py   # load while it runs
#   scripts/busy.sh 60                                                          # just the load
#
# One busy loop per core, each ended by `timeout` at the latest after SECONDS, and all of them
# ended (by their own process ids) as soon as the command finishes. Exits with the command's code.
set -euo pipefail
seconds="${1:?usage: $0 SECONDS [-- COMMAND...]}"
shift
[ "${1:-}" = "--" ] && shift

pids=()
stop() { [ "${#pids[@]}" = 0 ] || kill "${pids[@]}" 2>/dev/null || true; }
trap stop EXIT
for _ in $(seq "$(nproc)"); do
    timeout "$seconds" sh -c 'while :; do :; done' &
    pids+=("$!")
done

if [ "$#" -gt 0 ]; then
    "$@"
else
    wait
fi
