incus info "$VEZA_REF" >/dev/null 2>&1 || exit 0
incus exec "$VEZA_REF" -- systemctl disable --now --quiet keepalived
