set -e
unit=veza-$1
changed=false
install_next() {
  if cmp -s "$1.next" "$1"; then rm -f "$1.next"; else mv "$1.next" "$1"; changed=true; fi
}
install_next "/opt/veza/$1/$2"
install_next "/etc/systemd/system/$unit.service"
systemctl enable --quiet --no-reload "$unit"
[ "$(systemctl show -p NeedDaemonReload --value "$unit")" = no ] || systemctl daemon-reload
if $changed || ! systemctl is-active --quiet "$unit"; then systemctl restart "$unit"; fi
for _ in $(seq 1 300); do
  curl -fsS -o /dev/null --max-time 1 "http://127.0.0.1:$3$4" 2>/dev/null && exit 0
  sleep 0.1
done
journalctl -u "$unit" -n 20 --no-pager >&2 || true
echo "$unit in $5 did not answer $4 on port $3 within 30 s" >&2
exit 1
