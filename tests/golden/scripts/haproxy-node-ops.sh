backend=$1 server=$2
shift 2
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
done
