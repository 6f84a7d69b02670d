set -e
changed=false
install_next() {
  if cmp -s "$1.next" "$1"; then rm -f "$1.next"; else mv "$1.next" "$1"; changed=true; fi
}
install_next /etc/haproxy/veza-secrets.env
install_next /etc/systemd/system/haproxy.service.d/veza-secrets.conf
install_next /etc/systemd/system/haproxy.service.d/veza-hardening.conf
systemctl enable --quiet --no-reload haproxy
[ "$(systemctl show -p NeedDaemonReload --value haproxy)" = no ] || systemctl daemon-reload
if $changed || ! systemctl is-active --quiet haproxy; then systemctl restart haproxy; fi
