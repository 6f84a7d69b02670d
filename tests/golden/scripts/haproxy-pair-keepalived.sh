printf '%s' "$VEZA_KEEPALIVED_CONF" | incus exec "$VEZA_REF" -- sh -c 'umask 077; mkdir -p "${1%/*}" || exit 1
if ! { cat > "$1.tmp" && chmod "$2" "$1.tmp" && mv "$1.tmp" "$1"; }; then rm -f "$1.tmp"; exit 1; fi' sh /etc/keepalived/keepalived.conf.next 0644
incus exec "$VEZA_REF" -- sh -c 'set -e
conf=/etc/keepalived/keepalived.conf
if ! verdict=$(keepalived -t -f "$conf.next" 2>&1); then
  rm -f "$conf.next"
  echo "keepalived rejected the new configuration; the live one stays: $verdict" >&2
  exit 1
fi
changed=false
install_next() {
  if cmp -s "$1.next" "$1"; then rm -f "$1.next"; else mv "$1.next" "$1"; changed=true; fi
}
install_next "$conf"
systemctl enable --quiet keepalived
if ! systemctl is-active --quiet keepalived; then systemctl start keepalived
elif $changed; then systemctl reload keepalived; fi'
