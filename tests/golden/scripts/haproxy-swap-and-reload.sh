set -eu
state_file() { awk '$1 == "server-state-file" { print $2 }' "$1" 2>/dev/null; }
worker() { echo "show info" | socat stdio /run/haproxy/admin.sock 2>/dev/null | awk -F': ' '$1 == "Pid" { print $2 }'; }
state=$(state_file /etc/haproxy/haproxy.cfg.next)
# A stopped HAProxy leaves its socket file behind: no state to carry over then, and the restart
# below brings it back.
if [ -S /run/haproxy/admin.sock ] && [ "$state" = "$(state_file /etc/haproxy/haproxy.cfg)" ]; then
  echo "show servers state" | socat stdio /run/haproxy/admin.sock > "$state" 2>/dev/null || rm -f "$state"
else
  rm -f "$state"
fi
before=$(worker || true)
cp -p /etc/haproxy/haproxy.cfg /etc/haproxy/haproxy.cfg.previous
mv /etc/haproxy/haproxy.cfg.next /etc/haproxy/haproxy.cfg
if systemctl is-active --quiet haproxy; then systemctl reload haproxy; else systemctl enable --quiet haproxy; systemctl restart haproxy; fi
for _ in $(seq 1 100); do
  after=$(worker || true)
  if [ -n "$after" ] && [ "$after" != "$before" ]; then exit 0; fi
  sleep 0.1
done
mv /etc/haproxy/haproxy.cfg.previous /etc/haproxy/haproxy.cfg
journalctl -u haproxy -n 15 --no-pager -o cat >&2 || true
echo "HAProxy started no worker with the new configuration within 10 s; the previous file is back in place" >&2
exit 1
