set -e
root=${VEZA_ROOT:-}
conf="$root"/etc/keepalived/keepalived.conf
if ! verdict=$(keepalived -t -f "$conf.next" 2>&1); then
  rm -f "$conf.next"
  echo "keepalived rejected the new configuration; the live one stays: $verdict" >&2
  exit 1
fi
changed=false
install_next() {
  if cmp -s "$1.next" "$1"; then rm -f "$1.next"; else mv "$1.next" "$1"; changed=true; fi
}
handover="$root"/usr/local/lib/veza/keepalived-hand-over
order="$root"/etc/systemd/system/keepalived.service.d/veza-stops-first.conf
mkdir -p "${handover%/*}" "${order%/*}"
printf '%s' "$1" > "$handover.next"
chmod 0755 "$handover.next"
install_next "$handover"
printf '%s' "$2" > "$order.next"
install_next "$order"
if $changed; then systemctl daemon-reload; fi
changed=false
install_next "$conf"
sha256sum < "$root/etc/keepalived/keepalived.conf" | cut -c1-64 > "$root/etc/keepalived/keepalived.conf.sha256"
systemctl enable --quiet keepalived
if ! systemctl is-active --quiet keepalived; then systemctl start keepalived
elif $changed; then systemctl reload keepalived; fi
