verb=$1 backend=$2 server=$3
shift 3
ask() { printf '%s\n' "$1" | socat stdio /run/haproxy/admin.sock; }
# Sets status (spaces as _), scur, chkfail, xx (hrsp_5xx), econ, eresp and check (check_status).
sample() {
  read -r status scur chkfail xx econ eresp check <<EOF
$(ask "show stat" | awk -F, -v px="$backend" -v sv="$server" '
    NR == 1 { sub(/^# /, ""); for (i = 1; i <= NF; i++) col[$i] = i; next }
    $1 == px && $2 == sv { st = $(col["status"]); gsub(/ /, "_", st)
      print st, $(col["scur"]) + 0, $(col["chkfail"]) + 0, $(col["hrsp_5xx"]) + 0, $(col["econ"]) + 0, $(col["eresp"]) + 0, $(col["check_status"]) }')
EOF
}
case $verb in
  state)
    answer=$(ask "set server $backend/$server state $1")
    if [ -n "$answer" ]; then echo "$answer"; exit 1; fi ;;
  shutdown)
    ask "shutdown sessions server $backend/$server" >/dev/null ;;
  idle)
    for _ in $(seq 1 $(($1 * 10))); do
      sample
      [ "$scur" = 0 ] && exit 0
      sleep 0.1
    done
    echo "$scur sessions still open after $1 s" ;;
  up)
    for _ in $(seq 1 $(($1 * 10))); do
      sample
      case $status in UP|DRAIN) exit 0 ;; esac
      sleep 0.1
    done
    echo "not UP after $1 s: status $status, last check $check"
    exit 1 ;;
  watch)
    sample
    base=$((chkfail + xx + econ + eresp)) chk0=$chkfail xx0=$xx econ0=$econ eresp0=$eresp
    for _ in $(seq 1 $(($1 * 2))); do
      sleep 0.5
      sample
      case $status in DOWN*|MAINT*) echo "$status during the watch (last check $check)"; exit 1 ;; esac
    done
    echo "failed checks $((chkfail - chk0)), 5xx $((xx - xx0)), connection errors $((econ - econ0)), response errors $((eresp - eresp0)) in $1 s"
    [ $((chkfail + xx + econ + eresp - base)) -le "$2" ] ;;
  *)
    echo "unknown verb $verb"
    exit 2 ;;
esac
