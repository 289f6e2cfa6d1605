# shellcheck shell=bash
# each_at_once N FUNCTION ITEM...: calls `FUNCTION ITEM` for every ITEM in the background, at
# most N at a time, and returns when all have finished. FUNCTION records its own result (its
# exit status is not collected: `wait -n` only frees a slot). Sourced by scripts/fuzz.sh and
# scripts/sanitize.sh, which run one libFuzzer target or test executable per core.
each_at_once() {
  local n=$1 fn=$2 running=0 item
  shift 2
  for item in "$@"; do
    "$fn" "$item" &
    running=$((running + 1))
    if [ "$running" -ge "$n" ]; then
      wait -n || true
      running=$((running - 1))
    fi
  done
  wait
}
