set -eu
root=${VEZA_ROOT:-}
pem="$root"/etc/haproxy/certs/veza.pem
candidate="$root"/etc/haproxy/haproxy.cfg.next
live="$root"/etc/haproxy/haproxy.cfg
undo() { if [ -e "$pem.previous" ]; then mv "$pem.previous" "$pem"; elif [ -e "$pem.fresh" ]; then rm -f "$pem"; fi; rm -f "$pem.fresh" "$pem.next" "$candidate" "$live.previous"; }
# shellcheck source=/dev/null
set -a; . "$root"/etc/haproxy/veza-secrets.env; set +a
if [ -e "$pem.next" ]; then
  if [ -e "$pem" ]; then cp -p "$pem" "$pem.previous" || { undo; exit 1; }; else : > "$pem.fresh"; fi
  mv "$pem.next" "$pem"
fi
if ! haproxy -c -f "$candidate" 2>&1; then undo; exit 1; fi
if ! cp -p "$live" "$live.previous"; then echo "no room for the copy of the live configuration" >&2; undo; exit 1; fi
