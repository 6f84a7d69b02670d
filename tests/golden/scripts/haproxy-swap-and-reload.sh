set -eu
root=${VEZA_ROOT:-}
live="$root"/etc/haproxy/haproxy.cfg
socket="$root"/run/haproxy/admin.sock
state_file() { awk '$1 == "server-state-file" { print $2 }' "$1" 2>/dev/null; }
worker() { echo "show info" | socat stdio "$socket" 2>/dev/null | awk -F': ' '$1 == "Pid" { print $2 }'; }
state=$(state_file "$live.next")
# A stopped HAProxy leaves its socket file behind: no state to carry over then, and the restart
# below brings it back.
if [ -S "$socket" ] && [ "$state" = "$(state_file "$live")" ]; then
  echo "show servers state" | socat stdio "$socket" > "$root$state" 2>/dev/null || rm -f "$root$state"
else
  rm -f "$root$state"
fi
before=$(worker || true)
pem="$root"/etc/haproxy/certs/veza.pem
# The copy staging made ({@link CHECK_CANDIDATE}): the swap is a rename and needs no free space.
mv "$live.next" "$live"
if systemctl is-active --quiet haproxy; then systemctl reload haproxy; else systemctl enable --quiet haproxy; systemctl restart haproxy; fi
for _ in $(seq 1 100); do
  after=$(worker || true)
  if [ -n "$after" ] && [ "$after" != "$before" ]; then
    rm -f "$pem.previous" "$pem.fresh"
    sha256sum < "$root/etc/haproxy/haproxy.cfg" | cut -c1-64 > "$root/etc/haproxy/haproxy.cfg.sha256"
    exit 0
  fi
  sleep 0.1
done
mv "$live.previous" "$live"
if [ -e "$pem.previous" ]; then mv "$pem.previous" "$pem"; elif [ -e "$pem.fresh" ]; then rm -f "$pem" "$pem.fresh"; fi
journalctl -u haproxy -n 15 --no-pager -o cat >&2 || true
echo "HAProxy started no worker with the new configuration within 10 s; the previous file is back in place" >&2
exit 1
