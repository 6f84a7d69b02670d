write() { incus exec "$VEZA_REF" -- sh -c 'root=${VEZA_ROOT:-}; f="$root$1"; umask 077; mkdir -p "${f%/*}" || exit 1
if ! { cat > "$f.tmp" && chmod "$2" "$f.tmp" && mv "$f.tmp" "$f"; }; then rm -f "$f.tmp"; exit 1; fi' sh "$1.next" "$2"; }
printf '%s=%s\n' VEZA_STATS_PASSWORD "$VEZA_STATS_PASSWORD" | write /etc/haproxy/veza-secrets.env 0600
printf '%s' '[Service]
EnvironmentFile=/etc/haproxy/veza-secrets.env
' | write /etc/systemd/system/haproxy.service.d/veza-secrets.conf 0644
printf '%s' "$VEZA_HARDENING" | write /etc/systemd/system/haproxy.service.d/veza-hardening.conf 0644
incus exec "$VEZA_REF" -- sh -c 'set -e
changed=false
install_next() {
  if cmp -s "$1.next" "$1"; then rm -f "$1.next"; else mv "$1.next" "$1"; changed=true; fi
}
install_next /etc/haproxy/veza-secrets.env
install_next /etc/systemd/system/haproxy.service.d/veza-secrets.conf
install_next /etc/systemd/system/haproxy.service.d/veza-hardening.conf
systemctl enable --quiet --no-reload haproxy
[ "$(systemctl show -p NeedDaemonReload --value haproxy)" = no ] || systemctl daemon-reload
if $changed || ! systemctl is-active --quiet haproxy; then systemctl restart haproxy; fi'
