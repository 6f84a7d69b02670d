set -eu
pem=/etc/haproxy/certs/veza.pem
if [ -e "$pem.next" ]; then
  if [ -e "$pem" ]; then cp -p "$pem" "$pem.previous"; fi
  mv "$pem.next" "$pem"
fi
set -a; . /etc/haproxy/veza-secrets.env; set +a
if haproxy -c -f /etc/haproxy/haproxy.cfg.next 2>&1; then rm -f "$pem.previous"; exit 0; fi
if [ -e "$pem.previous" ]; then mv "$pem.previous" "$pem"; fi
rm -f /etc/haproxy/haproxy.cfg.next
exit 1
