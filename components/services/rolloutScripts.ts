/**
 * The scripts of a fleet's rolling restart (bash on the Pulumi host, sh inside the containers):
 * constant text, every value through the environment or quoted arguments. What they do, and why
 * in this order, is said once on {@link ROLLOUT_FLEET_SCRIPT}.
 */
import { ADMIN_SOCKET } from "../haproxy/haproxyConfig";
import { ROLL_INSTANCE, STAGED } from "./serviceScripts";
import { shellQuote } from "../common/shell";

/**
 * Inside an HAProxy node, with arguments backend and server, then operations done in order (one
 * \`incus exec\` per node and phase: each round trip through incusd costs a rollout time):
 *   state=STATE       sets the server's admin state (ready, drain, maint); a tracking server
 *                     (api_ws tracks api_pool) follows by itself;
 *   idle=SECONDS      waits until the server has no session left, at most SECONDS; says what is still
 *                     open then, and goes on: the drain time-out is a bound, not a failure;
 *   shutdown=BACKEND  cuts the server's sessions in BACKEND (api_ws's WebSockets, whose clients
 *                     reconnect at once to another server);
 *   up=SECONDS        waits until the node's health checks see the server UP; fails with its status
 *                     and last check when they do not within SECONDS;
 *   watch=SECONDS/MAX watches the server for SECONDS: fails as soon as it is DOWN, or at the end when
 *                     its failed checks, 5xx answers, connection and response errors add up to more
 *                     than MAX; prints the counts either way.
 * Counters are read from \`show stat\` by column name, so a column HAProxy adds moves nothing.
 */
export const NODE_OPS = `backend=$1 server=$2
shift 2
ask() { printf '%s\\n' "$1" | socat stdio ${ADMIN_SOCKET}; }
# Sets status (spaces as _), scur, chkfail, xx (hrsp_5xx), econ, eresp and check (check_status).
sample() {
  read -r status scur chkfail xx econ eresp check <<EOF
$(ask "show stat" | awk -F, -v px="$backend" -v sv="$server" '
    NR == 1 { sub(/^# /, ""); for (i = 1; i <= NF; i++) col[$i] = i; next }
    $1 == px && $2 == sv { st = $(col["status"]); gsub(/ /, "_", st)
      print st, $(col["scur"]) + 0, $(col["chkfail"]) + 0, $(col["hrsp_5xx"]) + 0, $(col["econ"]) + 0, $(col["eresp"]) + 0, $(col["check_status"]) }')
EOF
}
for op; do
  arg=\${op#*=}
  case \${op%%=*} in
    state)
      answer=$(ask "set server $backend/$server state $arg")
      if [ -n "$answer" ]; then echo "$answer"; exit 1; fi ;;
    shutdown)
      ask "shutdown sessions server $arg/$server" >/dev/null ;;
    idle)
      open=
      for _ in $(seq 1 $((arg * 10))); do
        sample
        if [ "$scur" = 0 ]; then open=; break; fi
        open=$scur
        sleep 0.1
      done
      if [ -n "$open" ]; then echo "$open sessions still open after $arg s"; fi ;;
    up)
      seen=
      for _ in $(seq 1 $((arg * 10))); do
        sample
        case $status in UP|DRAIN) seen=yes; break ;; esac
        sleep 0.1
      done
      if [ -z "$seen" ]; then echo "not UP after $arg s: status $status, last check $check"; exit 1; fi ;;
    watch)
      seconds=\${arg%/*} max=\${arg#*/}
      sample
      base=$((chkfail + xx + econ + eresp)) chk0=$chkfail xx0=$xx econ0=$econ eresp0=$eresp
      for _ in $(seq 1 $((seconds * 2))); do
        sleep 0.5
        sample
        case $status in DOWN*|MAINT*) echo "$status during the watch (last check $check)"; exit 1 ;; esac
      done
      echo "failed checks $((chkfail - chk0)), 5xx $((xx - xx0)), connection errors $((econ - econ0)), response errors $((eresp - eresp0)) in $seconds s"
      [ $((chkfail + xx + econ + eresp - base)) -le "$max" ] || exit 1 ;;
    *)
      echo "unknown operation $op"
      exit 2 ;;
  esac
done`;

/**
 * Rolls a fleet's staged releases (STAGE_OR_START leaves them as FILE.next) over its instances, so
 * clients never see a restart. Environment: VEZA_SERVICE, VEZA_PROGRAM_FILE, VEZA_PORT,
 * VEZA_HEALTH_PATH; VEZA_BACKEND (the pool, e.g. api_pool) and VEZA_TUNNEL_BACKEND (api_ws, or
 * empty); VEZA_INSTANCES, one "server ref" line per instance in rollout order; VEZA_NODES, the
 * HAProxy nodes' refs; VEZA_MAX_UNAVAILABLE, VEZA_DRAIN_TIMEOUT, VEZA_START_TIMEOUT,
 * VEZA_CANARY_SECONDS, VEZA_CANARY_MAX_ERRORS (see rollout.ts).
 *
 * Each instance, on every HAProxy node at once (both nodes of a pair serve, whichever holds the
 * address): drain (no new client; pinned ones still finish their requests), wait until its
 * sessions end or the drain time-out, maintenance (pinned clients rebalanced elsewhere, WebSockets
 * cut so their clients reconnect elsewhere once), swap and restart (a graceful stop), health check
 * inside, out of maintenance (HAProxy checks at once) and wait until every node sees it UP, ready.
 * The first instance is the canary, alone and watched; the others go maxUnavailable at a time.
 * An instance that fails goes back to its previous release the same way and the rollout stops:
 * the instances not reached yet never run the new release. The last line on stderr says what
 * failed, with the evidence. Last, every instance must be UP on every node (new ones included).
 */
export const ROLLOUT_FLEET_SCRIPT = `read -r -a nodes <<< "$VEZA_NODES"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
on_nodes() {
  local i pids=() failed=0
  for i in "\${!nodes[@]}"; do
    incus exec "\${nodes[$i]}" -- sh -c ${shellQuote(NODE_OPS)} sh "$@" > "$work/node-$BASHPID-$i" 2>&1 & pids+=($!)
  done
  for i in "\${!pids[@]}"; do
    wait "\${pids[$i]}" || failed=1
    if [ -s "$work/node-$BASHPID-$i" ]; then sed "s|^|\${nodes[$i]}: |" "$work/node-$BASHPID-$i"; fi
  done
  return "$failed"
}
on_instance() {
  incus exec "$1" -- sh -c ${shellQuote(ROLL_INSTANCE)} sh "$VEZA_SERVICE" "$VEZA_PROGRAM_FILE" "$VEZA_PORT" "$VEZA_HEALTH_PATH" "$VEZA_START_TIMEOUT" "$2" 2>&1
}
seconds() { awk -v from="$1" -v to="$2" 'BEGIN { printf "%.1f", to - from }'; }
journal_tail() { incus exec "$1" -- journalctl _SYSTEMD_UNIT="veza-$VEZA_SERVICE.service" -n 5 --no-pager -o cat 2>/dev/null | sed 's/^/    journal: /' || true; }
# Maintenance: no request reaches it, pinned clients included; its WebSockets are cut to move.
out_of_rotation() { on_nodes "$VEZA_BACKEND" "$1" state=maint \${VEZA_TUNNEL_BACKEND:+"shutdown=$VEZA_TUNNEL_BACKEND"}; }
# Out of maintenance, HAProxy checks at once; ready once that node sees it UP.
into_rotation() { on_nodes "$VEZA_BACKEND" "$1" state=drain "up=$VEZA_START_TIMEOUT" state=ready; }
# Says what failed on instance $1 ($2, with its evidence), for the summary at the end.
failed() { printf '%s\\n' "$2" > "$work/failed-$1"; }
# What failed ($3, with its evidence) on instance $1 ($2), after which it goes back to its previous release.
restore() {
  local server=$1 ref=$2 what=$3 back
  out_of_rotation "$server" || true
  if back=$(on_instance "$ref" back) && back=$(into_rotation "$server"); then
    failed "$server" "$what"$'\\n'"$server is back on its previous release and serving."
  else
    failed "$server" "$what"$'\\n'"$server could not be put back on its previous release either:"$'\\n'"$back"
  fi
}
roll() {
  local server=$1 ref=$2 canary=$3 started drained swapped evidence
  started=$EPOCHREALTIME
  # Drained first, so that requests under way (pinned clients' too) end before maintenance.
  if ! evidence=$(on_nodes "$VEZA_BACKEND" "$server" state=drain "idle=$VEZA_DRAIN_TIMEOUT" state=maint \${VEZA_TUNNEL_BACKEND:+"shutdown=$VEZA_TUNNEL_BACKEND"}); then
    failed "$server" "$server: HAProxy would not take it out of rotation, so it was left as it was:"$'\\n'"$evidence"
    on_nodes "$VEZA_BACKEND" "$server" state=ready >/dev/null || true
    return 1
  fi
  [ -z "$evidence" ] || printf '%s: drain time-out, stopping anyway: %s\\n' "$server" "$evidence" >&2
  drained=$EPOCHREALTIME
  if ! evidence=$(on_instance "$ref" forward); then
    restore "$server" "$ref" "$server: the new release did not start:"$'\\n'"$evidence"
    return 1
  fi
  swapped=$EPOCHREALTIME
  if ! evidence=$(into_rotation "$server"); then
    restore "$server" "$ref" "$server: HAProxy did not see the new release UP within $VEZA_START_TIMEOUT s:"$'\\n'"$evidence"$'\\n'"$(journal_tail "$ref")"
    return 1
  fi
  printf '%s: rolled in %s s (drain %s s, stop and start %s s, UP on every node %s s)\\n' "$server" \\
    "$(seconds "$started" "$EPOCHREALTIME")" "$(seconds "$started" "$drained")" "$(seconds "$drained" "$swapped")" "$(seconds "$swapped" "$EPOCHREALTIME")" >&2
  if $canary && [ "$VEZA_CANARY_SECONDS" -gt 0 ]; then
    if ! evidence=$(on_nodes "$VEZA_BACKEND" "$server" "watch=$VEZA_CANARY_SECONDS/$VEZA_CANARY_MAX_ERRORS"); then
      restore "$server" "$ref" "$server (the canary) failed while watched for $VEZA_CANARY_SECONDS s (more than $VEZA_CANARY_MAX_ERRORS errors, or DOWN):"$'\\n'"$evidence"$'\\n'"$(journal_tail "$ref")"
      return 1
    fi
    printf '%s: canary healthy for %s s\\n' "$server" "$VEZA_CANARY_SECONDS" >&2
  fi
}

staged=()
while read -r server ref _; do
  [ -n "$server" ] || continue
  if [ "$(incus exec "$ref" -- sh -c ${shellQuote(STAGED)} sh "$VEZA_SERVICE" "$VEZA_PROGRAM_FILE" < /dev/null)" = staged ]; then staged+=("$server $ref"); fi
done <<< "$VEZA_INSTANCES"

rolled=()
for ((next = 0; next < \${#staged[@]}; )); do
  # The canary goes alone; then maxUnavailable at a time.
  size=$VEZA_MAX_UNAVAILABLE
  [ "$next" -gt 0 ] || size=1
  batch=("\${staged[@]:next:size}")
  pids=()
  for item in "\${batch[@]}"; do
    read -r server ref <<< "$item"
    if [ "$next" = 0 ]; then canary=true; else canary=false; fi
    roll "$server" "$ref" "$canary" & pids+=($!)
  done
  failed=false
  for i in "\${!pids[@]}"; do
    if wait "\${pids[$i]}"; then rolled+=("\${batch[$i]%% *}"); else failed=true; fi
  done
  next=$((next + size))
  if $failed; then
    untouched=("\${staged[@]:next}")
    {
      printf 'The rollout of %s stopped.\\n' "$VEZA_SERVICE"
      cat "$work"/failed-* 2>/dev/null || true
      if [ "\${#rolled[@]}" -gt 0 ]; then printf 'Already on the new release: %s.\\n' "\${rolled[*]}"; fi
      if [ "\${#untouched[@]}" -gt 0 ]; then printf 'Never ran it: %s.\\n' "$(printf '%s\\n' "\${untouched[@]}" | cut -d' ' -f1 | paste -sd' ')"; fi
    } >&2
    exit 1
  fi
done

# \`up\` returns once the edge serves with what it applied: every instance, new ones (a scale-out)
# included, UP on every HAProxy node, all instances at once.
pids=() servers=()
while read -r server _; do
  [ -n "$server" ] || continue
  on_nodes "$VEZA_BACKEND" "$server" "up=$VEZA_START_TIMEOUT" > "$work/up-$server" & pids+=($!) servers+=("$server")
done <<< "$VEZA_INSTANCES"
down=()
for i in "\${!pids[@]}"; do wait "\${pids[$i]}" || down+=("\${servers[$i]}"); done
if [ "\${#down[@]}" -gt 0 ]; then
  printf 'Not UP on every HAProxy node, so the edge does not serve with all of %s:\\n' "$VEZA_SERVICE" >&2
  for server in "\${down[@]}"; do sed "s|^|  $server on |" "$work/up-$server" >&2; done
  exit 1
fi
if [ "\${#rolled[@]}" = 0 ]; then echo "nothing to roll"; else echo "rolled \${rolled[*]}"; fi`;
