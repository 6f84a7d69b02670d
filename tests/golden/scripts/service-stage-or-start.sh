set -e
unit=veza-$1
program=/opt/veza/$1/$2
unit_file=/etc/systemd/system/$unit.service
if systemctl is-active --quiet "$unit"; then
  for file in "$program" "$unit_file"; do if cmp -s "$file.next" "$file"; then rm -f "$file.next"; fi; done
  exit 0
fi
changed=false
install_next() {
  if cmp -s "$1.next" "$1"; then rm -f "$1.next"; else mv "$1.next" "$1"; changed=true; fi
}
install_next "$program"
install_next "$unit_file"
systemctl enable --quiet --no-reload "$unit"
[ "$(systemctl show -p NeedDaemonReload --value "$unit")" = no ] || systemctl daemon-reload
if $changed || ! systemctl is-active --quiet "$unit"; then systemctl restart "$unit"; fi
shift 2
answered=false
for _ in $(seq 1 $(($3 * 10))); do
  if curl -fsS -o /dev/null --max-time 1 "http://127.0.0.1:$1$2" 2>/dev/null; then answered=true; break; fi
  sleep 0.1
done
if ! $answered; then
  journalctl -u "$unit" -n 8 --no-pager -o cat 2>/dev/null | sed 's/^/    journal: /' >&2 || true
  echo "$unit did not answer $2 on port $1 within $3 s" >&2
  exit 1
fi
