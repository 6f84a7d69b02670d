status=$(incus info "$VEZA_REF" 2>/dev/null | awk '$1 == "Status:" { print $2 }') || true
[ "$status" = RUNNING ] || exit 0
incus exec "$VEZA_REF" -- systemctl disable --now --quiet keepalived
