set -eu
root=${VEZA_ROOT:-}
pem="$root"/etc/haproxy/certs/veza.pem
candidate="$root"/etc/haproxy/haproxy.cfg.next
if [ -e "$pem.next" ]; then
  if [ -e "$pem" ]; then cp -p "$pem" "$pem.previous"; fi
  mv "$pem.next" "$pem"
fi
# shellcheck source=/dev/null
set -a; . "$root"/etc/haproxy/veza-secrets.env; set +a
if haproxy -c -f "$candidate" 2>&1; then rm -f "$pem.previous"; exit 0; fi
if [ -e "$pem.previous" ]; then mv "$pem.previous" "$pem"; fi
rm -f "$candidate"
exit 1
