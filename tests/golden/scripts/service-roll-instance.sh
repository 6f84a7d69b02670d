set -e
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
  # What the program itself printed (systemd's own lines about the unit say less).
  journalctl _SYSTEMD_UNIT="$unit.service" -n 5 --no-pager -o cat 2>/dev/null | sed 's/^/    journal: /' >&2 || true
  if [ "$crashes" -ge 3 ]; then echo "$unit exited $crashes times since it was started: it cannot start" >&2
  else echo "$unit did not answer $2 on port $1 within $3 s" >&2; fi
  exit 1
fi
