home=/opt/veza/$VEZA_SERVICE
incus exec "$VEZA_REF" -- sh -c 'set -e
home=/opt/veza/$1 env=/etc/veza/$1.env
id -u "$2" >/dev/null 2>&1 || useradd --system --home-dir "$home" --no-create-home --shell /usr/sbin/nologin "$2"
install -d -m 0755 "$home" /etc/veza
install -d -m 0750 -o "$2" -g "$2" /var/log/veza
[ -e "$env" ] || install -m 0640 -g "$2" /dev/null "$env"' sh "$VEZA_SERVICE" "$VEZA_USER"
incus file push --quiet --mode 0755 "$VEZA_PROGRAM" "$VEZA_REF$home/$VEZA_PROGRAM_FILE.next" >&2
printf '%s' "$VEZA_UNIT" | incus exec "$VEZA_REF" -- sh -c 'root=${VEZA_ROOT:-}; f="$root$1"; umask 077; mkdir -p "${f%/*}" || exit 1
if ! { cat > "$f.tmp" && chmod "$2" "$f.tmp" && mv "$f.tmp" "$f"; }; then rm -f "$f.tmp"; exit 1; fi' sh "/etc/systemd/system/veza-$VEZA_SERVICE.service.next" 0644
incus exec "$VEZA_REF" -- sh -c 'set -e
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
fi' sh "$VEZA_SERVICE" "$VEZA_PROGRAM_FILE" "$VEZA_PORT" "$VEZA_HEALTH_PATH" "$VEZA_START_TIMEOUT"
