#!/usr/bin/env bash
# Run every fuzz target of fuzz/Cargo.toml in parallel for a while, then summarise.
#
#   fuzz/run.sh [SECONDS_PER_TARGET [LOG_DIR]]
#
# SECONDS_PER_TARGET defaults to 3600; LOG_DIR to fuzz/logs (relative paths are taken
# from the directory the script is called from). Each target runs under `nice -n 19`
# with its corpus in fuzz/corpus/<target> and -max_len=4096, logging to
# LOG_DIR/<target>.log; crashes land in fuzz/artifacts/<target>/. cargo-fuzz builds in
# release mode with debug assertions (its default). Needs a nightly toolchain and
# cargo-fuzz. Exits non-zero if a target failed or left an artifact.
set -euo pipefail

seconds=${1:-3600}
if ! [[ $seconds =~ ^[1-9][0-9]*$ ]]; then
    echo "usage: $0 [SECONDS_PER_TARGET [LOG_DIR]]" >&2
    exit 2
fi

fuzz_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
log_dir=${2:-$fuzz_dir/logs}
mkdir -p "$log_dir"
log_dir=$(cd "$log_dir" && pwd)
cd "$fuzz_dir"

# The names of the [[bin]] sections, in file order.
mapfile -t targets < <(awk '
    /^\[\[bin\]\]/ { in_bin = 1; next }
    /^\[/          { in_bin = 0 }
    in_bin && /^[[:space:]]*name[[:space:]]*=/ {
        sub(/^[^=]*=[[:space:]]*"/, ""); sub(/".*/, ""); print
    }' Cargo.toml)
if [ "${#targets[@]}" -eq 0 ]; then
    echo "no [[bin]] targets in $fuzz_dir/Cargo.toml" >&2
    exit 1
fi

echo "building ${targets[*]}"
nice -n 19 cargo +nightly fuzz build

# Files newer than this are this run's artifacts.
marker=$(mktemp)
pids=()
cleanup() {
    # Each fuzzer is its own process group (job control below): stop the groups.
    for pid in "${pids[@]}"; do
        kill -- "-$pid" 2>/dev/null || true
    done
    rm -f "$marker"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

set -m
for target in "${targets[@]}"; do
    mkdir -p "corpus/$target" "artifacts/$target"
    nice -n 19 cargo +nightly fuzz run "$target" "corpus/$target" -- \
        -max_len=4096 -max_total_time="$seconds" -print_final_stats=1 \
        >"$log_dir/$target.log" 2>&1 &
    pids+=("$!")
    echo "started $target (pid $!), log $log_dir/$target.log"
done
set +m

status=0
for i in "${!targets[@]}"; do
    if ! wait "${pids[$i]}"; then
        echo "${targets[$i]}: the fuzzer exited with an error (see its log)" >&2
        status=1
    fi
done
pids=()

echo
printf '%-12s %12s %8s %10s %8s %12s  %s\n' \
    target runs cov ft corpus bytes artifacts
for target in "${targets[@]}"; do
    log=$log_dir/$target.log
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | tail -n 1 |
        grep -o '[0-9]*$' || true)
    last=$(grep -E '^#[0-9]+[[:space:]].*cov: ' "$log" | tail -n 1 || true)
    cov=$(grep -o 'cov: [0-9]*' <<<"$last" | grep -o '[0-9]*' || true)
    ft=$(grep -o 'ft: [0-9]*' <<<"$last" | grep -o '[0-9]*' || true)
    files=$(find "corpus/$target" -type f | wc -l)
    bytes=$(find "corpus/$target" -type f -printf '%s\n' | awk '{ n += $1 } END { print n + 0 }')
    mapfile -t found < <(find "artifacts/$target" -type f -newer "$marker" | sort)
    printf '%-12s %12s %8s %10s %8s %12s  %s\n' "$target" "${runs:--}" "${cov:--}" \
        "${ft:--}" "$files" "$bytes" "${#found[@]}"
    for file in "${found[@]}"; do
        echo "    artifact: fuzz/$file"
        status=1
    done
    # A crash is also reported in the log (the artifact may have been written elsewhere).
    grep -E 'Test unit written to|^SUMMARY|panicked at' "$log" | sed 's/^/    /' || true
done
exit "$status"
