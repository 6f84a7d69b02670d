printf '%s' "$VEZA_KEEPALIVED_CONF" | incus exec "$VEZA_REF" -- sh -c 'root=${VEZA_ROOT:-}; f="$root$1"; umask 077; mkdir -p "${f%/*}" || exit 1
if ! { cat > "$f.tmp" && chmod "$2" "$f.tmp" && mv "$f.tmp" "$f"; }; then rm -f "$f.tmp"; exit 1; fi' sh /etc/keepalived/keepalived.conf.next 0644
if ! incus exec "$VEZA_REF" -- systemctl is-active --quiet keepalived; then
  waited=0
  until ! incus exec "$VEZA_PEER_REF" -- systemctl is-active --quiet keepalived 2>/dev/null ||
    incus exec "$VEZA_PEER_REF" -- sh -c 'root=${VEZA_ROOT:-}; grep -Fqw -e "$1" "$root"/etc/keepalived/keepalived.conf' sh "$VEZA_ADDRESS"; do
    if [ "$waited" -ge 120 ]; then
      echo "$VEZA_PEER_REF still does not name $VEZA_ADDRESS in its keepalived.conf after 60 s: keepalived stays stopped on $VEZA_REF rather than take the address beside it" >&2
      exit 1
    fi
    sleep 0.5
    waited=$((waited + 1))
  done
fi
incus exec "$VEZA_REF" -- sh -c 'set -e
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
printf '\''%s'\'' "$1" > "$handover.next"
chmod 0755 "$handover.next"
install_next "$handover"
printf '\''%s'\'' "$2" > "$order.next"
install_next "$order"
if $changed; then systemctl daemon-reload; fi
changed=false
install_next "$conf"
sha256sum < "$root/etc/keepalived/keepalived.conf" | cut -c1-64 > "$root/etc/keepalived/keepalived.conf.sha256"
systemctl enable --quiet keepalived
if ! systemctl is-active --quiet keepalived; then systemctl start keepalived
elif $changed; then systemctl reload keepalived; fi' sh "$VEZA_HAND_OVER" "$VEZA_STOPS_FIRST"
