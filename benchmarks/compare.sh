#!/usr/bin/env bash
# Run the engine, translator and bus benchmarks on two commits, alternating, three times each.
#
#   bash benchmarks/compare.sh BEFORE_REV AFTER_REV [RUNS]
#
# Both commits are checked out as detached worktrees under build/compare/ and run with this
# checkout's .venv (PYTHONPATH points at the worktree, so its code is what runs). Output goes to
# stdout, one "=== <side> run <i> <benchmark>" header per result.
set -euo pipefail
cd "$(dirname "$0")/.."
before=${1:?before revision} after=${2:?after revision} runs=${3:-3}
py="$(pwd)/.venv/bin/python"
mkdir -p build/compare
for side in before after; do
    rev=${!side}
    dir="build/compare/$side"
    rm -rf "$dir"; git worktree prune
    git worktree add -q --detach "$dir" "$rev"
done
for i in $(seq 1 "$runs"); do
    for side in before after; do
        d="$(pwd)/build/compare/$side"
        for bench in "bench_engine.py --workload violations" "bench_engine.py --workload closure" \
                     "bench_translators.py" "bench_bus.py -n 300"; do
            echo "=== $side run $i $bench"
            # shellcheck disable=SC2086
            (cd "$d" && PYTHONPATH="$d" "$py" benchmarks/$bench 2>&1 | tail -12)
        done
    done
done
