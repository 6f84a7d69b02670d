home=/opt/veza/$VEZA_SERVICE
incus exec "$VEZA_REF" -- sh -c 'set -e
home=/opt/veza/$1 env=/etc/veza/$1.env
id -u "$2" >/dev/null 2>&1 || useradd --system --home-dir "$home" --no-create-home --shell /usr/sbin/nologin "$2"
install -d -m 0755 "$home" /etc/veza
install -d -m 0750 -o "$2" -g "$2" /var/log/veza
[ -e "$env" ] || install -m 0640 -g "$2" /dev/null "$env"' sh "$VEZA_SERVICE" "$VEZA_USER"
incus file push --mode 0755 "$VEZA_PROGRAM" "$VEZA_REF$home/$VEZA_PROGRAM_FILE.next" >&2
printf '%s' "$VEZA_UNIT" | incus exec "$VEZA_REF" -- sh -c 'root=${VEZA_ROOT:-}; f="$root$1"; umask 077; mkdir -p "${f%/*}" || exit 1
if ! { cat > "$f.tmp" && chmod "$2" "$f.tmp" && mv "$f.tmp" "$f"; }; then rm -f "$f.tmp"; exit 1; fi' sh "/etc/systemd/system/veza-$VEZA_SERVICE.service.next" 0644
incus exec "$VEZA_REF" -- sh -c 'set -e
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
exit 1' sh "$VEZA_SERVICE" "$VEZA_PROGRAM_FILE" "$VEZA_PORT" "$VEZA_HEALTH_PATH" "$VEZA_REF"
