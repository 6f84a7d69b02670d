read -r -a nodes <<< "$VEZA_NODES"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
on_nodes() {
  local i pids=() failed=0
  for i in "${!nodes[@]}"; do
    incus exec "${nodes[$i]}" -- sh -c 'backend=$1 server=$2
shift 2
ask() { printf '\''%s\n'\'' "$1" | socat stdio /run/haproxy/admin.sock; }
# Sets status (spaces as _), scur, chkfail, xx (hrsp_5xx), econ, eresp and check (check_status).
sample() {
  read -r status scur chkfail xx econ eresp check <<EOF
$(ask "show stat" | awk -F, -v px="$backend" -v sv="$server" '\''
    NR == 1 { sub(/^# /, ""); for (i = 1; i <= NF; i++) col[$i] = i; next }
    $1 == px && $2 == sv { st = $(col["status"]); gsub(/ /, "_", st)
      print st, $(col["scur"]) + 0, $(col["chkfail"]) + 0, $(col["hrsp_5xx"]) + 0, $(col["econ"]) + 0, $(col["eresp"]) + 0, $(col["check_status"]) }'\'')
EOF
}
for op; do
  arg=${op#*=}
  case ${op%%=*} in
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
      seconds=${arg%/*} max=${arg#*/}
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
done' sh "$@" > "$work/node-$BASHPID-$i" 2>&1 & pids+=($!)
  done
  for i in "${!pids[@]}"; do
    wait "${pids[$i]}" || failed=1
    if [ -s "$work/node-$BASHPID-$i" ]; then sed "s|^|${nodes[$i]}: |" "$work/node-$BASHPID-$i"; fi
  done
  return "$failed"
}
on_instance() {
  incus exec "$1" -- sh -c 'set -e
unit=veza-$1
program=/opt/veza/$1/$2
unit_file=/etc/systemd/system/$unit.service
for file in "$program" "$unit_file"; do
  if [ "$6" = back ]; then
    if [ -e "$file.previous" ]; then mv "$file.previous" "$file"; fi
  elif [ -e "$file.next" ]; then
    if [ -e "$file" ]; then cp -p "$file" "$file.previous"; else rm -f "$file.previous"; fi
    mv "$file.next" "$file"
  else
    rm -f "$file.previous"
  fi
done
systemctl daemon-reload
systemctl restart "$unit"
shift 2
answered=false restarts=$(systemctl show -p NRestarts --value "$unit") crashes=0
for tick in $(seq 1 $(($3 * 10))); do
  if curl -fsS -o /dev/null --max-time 1 "http://127.0.0.1:$1$2" 2>/dev/null; then answered=true; break; fi
  if [ $((tick % 10)) = 0 ]; then
    crashes=$(($(systemctl show -p NRestarts --value "$unit") - restarts))
    [ "$crashes" -lt 3 ] || break
  fi
  sleep 0.1
done
if ! $answered; then
  # What the program itself printed (systemd'\''s own lines about the unit say less).
  journalctl _SYSTEMD_UNIT="$unit.service" -n 5 --no-pager -o cat 2>/dev/null | sed '\''s/^/    journal: /'\'' >&2 || true
  if [ "$crashes" -ge 3 ]; then echo "$unit exited $crashes times since it was started: it cannot start" >&2
  else echo "$unit did not answer $2 on port $1 within $3 s" >&2; fi
  exit 1
fi' sh "$VEZA_SERVICE" "$VEZA_PROGRAM_FILE" "$VEZA_PORT" "$VEZA_HEALTH_PATH" "$VEZA_START_TIMEOUT" "$2" 2>&1
}
seconds() { awk -v from="$1" -v to="$2" 'BEGIN { printf "%.1f", to - from }'; }
journal_tail() { incus exec "$1" -- journalctl _SYSTEMD_UNIT="veza-$VEZA_SERVICE.service" -n 5 --no-pager -o cat 2>/dev/null | sed 's/^/    journal: /' || true; }
# Maintenance: no request reaches it, pinned clients included; its WebSockets are cut to move.
out_of_rotation() { on_nodes "$VEZA_BACKEND" "$1" state=maint ${VEZA_TUNNEL_BACKEND:+"shutdown=$VEZA_TUNNEL_BACKEND"}; }
# Out of maintenance, HAProxy checks at once; ready once that node sees it UP.
into_rotation() { on_nodes "$VEZA_BACKEND" "$1" state=drain "up=$VEZA_START_TIMEOUT" state=ready; }
# Says what failed on instance $1 ($2, with its evidence), for the summary at the end.
failed() { printf '%s\n' "$2" > "$work/failed-$1"; }
# What failed ($3, with its evidence) on instance $1 ($2), after which it goes back to its previous release.
restore() {
  local server=$1 ref=$2 what=$3 back
  out_of_rotation "$server" || true
  if back=$(on_instance "$ref" back) && back=$(into_rotation "$server"); then
    failed "$server" "$what"$'\n'"$server is back on its previous release and serving."
  else
    failed "$server" "$what"$'\n'"$server could not be put back on its previous release either:"$'\n'"$back"
  fi
}
roll() {
  local server=$1 ref=$2 canary=$3 started drained swapped evidence
  started=$EPOCHREALTIME
  # Drained first, so that requests under way (pinned clients' too) end before maintenance.
  if ! evidence=$(on_nodes "$VEZA_BACKEND" "$server" state=drain "idle=$VEZA_DRAIN_TIMEOUT" state=maint ${VEZA_TUNNEL_BACKEND:+"shutdown=$VEZA_TUNNEL_BACKEND"}); then
    failed "$server" "$server: HAProxy would not take it out of rotation, so it was left as it was:"$'\n'"$evidence"
    on_nodes "$VEZA_BACKEND" "$server" state=ready >/dev/null || true
    return 1
  fi
  [ -z "$evidence" ] || printf '%s: drain time-out, stopping anyway: %s\n' "$server" "$evidence" >&2
  drained=$EPOCHREALTIME
  if ! evidence=$(on_instance "$ref" forward); then
    restore "$server" "$ref" "$server: the new release did not start:"$'\n'"$evidence"
    return 1
  fi
  swapped=$EPOCHREALTIME
  if ! evidence=$(into_rotation "$server"); then
    restore "$server" "$ref" "$server: HAProxy did not see the new release UP within $VEZA_START_TIMEOUT s:"$'\n'"$evidence"$'\n'"$(journal_tail "$ref")"
    return 1
  fi
  printf '%s: rolled in %s s (drain %s s, stop and start %s s, UP on every node %s s)\n' "$server" \
    "$(seconds "$started" "$EPOCHREALTIME")" "$(seconds "$started" "$drained")" "$(seconds "$drained" "$swapped")" "$(seconds "$swapped" "$EPOCHREALTIME")" >&2
  if $canary && [ "$VEZA_CANARY_SECONDS" -gt 0 ]; then
    if ! evidence=$(on_nodes "$VEZA_BACKEND" "$server" "watch=$VEZA_CANARY_SECONDS/$VEZA_CANARY_MAX_ERRORS"); then
      restore "$server" "$ref" "$server (the canary) failed while watched for $VEZA_CANARY_SECONDS s (more than $VEZA_CANARY_MAX_ERRORS errors, or DOWN):"$'\n'"$evidence"$'\n'"$(journal_tail "$ref")"
      return 1
    fi
    printf '%s: canary healthy for %s s\n' "$server" "$VEZA_CANARY_SECONDS" >&2
  fi
}

staged=()
while read -r server ref _; do
  [ -n "$server" ] || continue
  if [ "$(incus exec "$ref" -- sh -c 'for file in "/opt/veza/$1/$2.next" "/etc/systemd/system/veza-$1.service.next"; do
  if [ -e "$file" ]; then echo staged; exit 0; fi
done' sh "$VEZA_SERVICE" "$VEZA_PROGRAM_FILE" < /dev/null)" = staged ]; then staged+=("$server $ref"); fi
done <<< "$VEZA_INSTANCES"

rolled=()
for ((next = 0; next < ${#staged[@]}; )); do
  # The canary goes alone; then maxUnavailable at a time.
  size=$VEZA_MAX_UNAVAILABLE
  [ "$next" -gt 0 ] || size=1
  batch=("${staged[@]:next:size}")
  pids=()
  for item in "${batch[@]}"; do
    read -r server ref <<< "$item"
    if [ "$next" = 0 ]; then canary=true; else canary=false; fi
    roll "$server" "$ref" "$canary" & pids+=($!)
  done
  failed=false
  for i in "${!pids[@]}"; do
    if wait "${pids[$i]}"; then rolled+=("${batch[$i]%% *}"); else failed=true; fi
  done
  next=$((next + size))
  if $failed; then
    untouched=("${staged[@]:next}")
    {
      printf 'The rollout of %s stopped.\n' "$VEZA_SERVICE"
      cat "$work"/failed-* 2>/dev/null || true
      if [ "${#rolled[@]}" -gt 0 ]; then printf 'Already on the new release: %s.\n' "${rolled[*]}"; fi
      if [ "${#untouched[@]}" -gt 0 ]; then printf 'Never ran it: %s.\n' "$(printf '%s\n' "${untouched[@]}" | cut -d' ' -f1 | paste -sd' ')"; fi
    } >&2
    exit 1
  fi
done

# `up` returns once the edge serves with what it applied: every instance, new ones (a scale-out)
# included, UP on every HAProxy node, all instances at once.
pids=() servers=()
while read -r server _; do
  [ -n "$server" ] || continue
  on_nodes "$VEZA_BACKEND" "$server" "up=$VEZA_START_TIMEOUT" > "$work/up-$server" & pids+=($!) servers+=("$server")
done <<< "$VEZA_INSTANCES"
down=()
for i in "${!pids[@]}"; do wait "${pids[$i]}" || down+=("${servers[$i]}"); done
if [ "${#down[@]}" -gt 0 ]; then
  printf 'Not UP on every HAProxy node, so the edge does not serve with all of %s:\n' "$VEZA_SERVICE" >&2
  for server in "${down[@]}"; do sed "s|^|  $server on |" "$work/up-$server" >&2; done
  exit 1
fi
if [ "${#rolled[@]}" = 0 ]; then echo "nothing to roll"; else echo "rolled ${rolled[*]}"; fi
