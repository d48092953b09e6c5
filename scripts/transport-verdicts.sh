#!/usr/bin/env bash
# Runs every shipped scenario (scenarios/*.yaml and scenarios/drills/*.yaml) twice, with the
# default transport (auto: fasthttp for plain HTTP/1.1 requests) and with --transport nethttp,
# each run in a local lab of its own (smoke.yaml, whose target is a URL, against an academy of
# its own), and prints both verdicts side by side with the thresholds each run failed. Exits 1
# when a scenario's two verdicts differ, 0 when they all agree.
#
#   make build && scripts/transport-verdicts.sh          # at a quarter of their length
#   SCALE=1 scripts/transport-verdicts.sh                # full length, as make drills
#   ONLY="seat-rush slow-db" scripts/transport-verdicts.sh
#
# browse-soak (30 minutes at full length) runs only when named in ONLY. live-class and calibrate
# run at full length whatever SCALE: live-class's claim is connections held at once (rate x
# hold), and calibrate's capacity ramp (100 -> 8000/s) needs three seconds in a row within its
# objective before a replica saturates, which a quarter-length ramp (5 s) rarely gives. The
# results are in $OUT (results/transports), one directory per scenario and transport. A run can
# miss a latency bound on a busy machine on one side and not the other: the failed thresholds
# are printed so that such a difference can be told from a difference of mechanism.
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-bin}
SCALE=${SCALE:-0.25}
OUT=${OUT:-results/transports}
ONLY=${ONLY:-}
for b in loadgen academy; do
  [ -x "$BIN/$b" ] || { echo "transport-verdicts: no $BIN/$b: run make build first" >&2; exit 2; }
done
mkdir -p "$OUT"

# failed prints the metrics of the thresholds a run failed, from its summary.txt.
failed() {
  [ -f "$1/summary.txt" ] || { echo "(no result)"; return; }
  local f
  f=$(sed -n 's/^ *✗ \([^ ]*\).*/\1/p' "$1/summary.txt" | paste -sd ',' -)
  echo "${f:--}"
}

# verdict prints the run's verdict from its output ("verdict: FAIL (1 of 4 thresholds
# failed)", "verdict: no thresholds") and its exit code.
verdict() {
  local v
  v=$(sed -n 's/^verdict: //p' "$1" | head -1)
  echo "${v:-no verdict} (exit $2)"
}

academy_url=""
academy_pid=""
cleanup() { [ -n "$academy_pid" ] && kill "$academy_pid" 2>/dev/null && wait "$academy_pid" 2>/dev/null; }
trap cleanup EXIT

differ=0
printf '%-20s %-44s %-44s %s\n' scenario "auto (fast)" nethttp "failed thresholds (auto | nethttp)"
for file in scenarios/*.yaml scenarios/drills/*.yaml; do
  name=$(basename "$file" .yaml)
  if [ -n "$ONLY" ]; then
    case " $ONLY " in *" $name "*) ;; *) continue ;; esac
  elif [ "$name" = browse-soak ]; then
    continue
  fi
  scale=$SCALE
  case $name in live-class | calibrate) scale=1 ;; esac
  target=(--academy "$BIN/academy")
  if [ "$name" = smoke ]; then
    if [ -z "$academy_url" ]; then
      coproc ACADEMY { exec "$BIN/academy" serve --addr 127.0.0.1:0 --bcrypt-cost 4 2> "$OUT/academy.log"; }
      academy_pid=$ACADEMY_PID
      read -r line <&"${ACADEMY[0]}"
      academy_url=${line#listening on }
    fi
    target=(--target "$academy_url")
  fi
  row=()
  fails=()
  for tr in auto nethttp; do
    dir="$OUT/$name-$tr"
    rm -rf "$dir"
    "$BIN/loadgen" run "$file" --transport "$tr" --time-scale "$scale" --max-lateness 2s \
      "${target[@]}" --out "$dir" --report json,text --quiet > "$OUT/$name-$tr.log" 2>&1
    code=$?
    row+=("$(verdict "$OUT/$name-$tr.log" "$code")")
    fails+=("$(failed "$dir")")
  done
  mark=""
  if [ "${row[0]}" != "${row[1]}" ]; then
    mark="  << differ"
    differ=1
  fi
  printf '%-20s %-44s %-44s %s | %s%s\n' "$name" "${row[0]}" "${row[1]}" "${fails[0]}" "${fails[1]}" "$mark"
done
exit $differ
