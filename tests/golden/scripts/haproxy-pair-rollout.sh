apply_to() {
  local ref=$1 verdict
  if ! printf '%s' "$VEZA_CONFIG" | incus exec "$ref" -- sh -c 'root=${VEZA_ROOT:-}; f="$root$1"; umask 077; mkdir -p "${f%/*}" || exit 1
if ! { cat > "$f.tmp" && chmod "$2" "$f.tmp" && mv "$f.tmp" "$f"; }; then rm -f "$f.tmp"; exit 1; fi' sh /etc/haproxy/haproxy.cfg.next 0644; then
    printf 'Could not write the new configuration in %s (above: why, e.g. a full disk); the live one keeps serving.\n' "$ref" >&2
    exit 1
  fi
  if [ -n "$VEZA_TLS_PEM" ]; then
    incus exec "$ref" -- install -d -m 0750 -g haproxy /etc/haproxy/certs
    incus file push --mode 0640 "$VEZA_TLS_PEM" "$ref/etc/haproxy/certs/veza.pem.next" >&2
    incus exec "$ref" -- chgrp haproxy /etc/haproxy/certs/veza.pem.next
  fi
  if ! verdict=$(incus exec "$ref" -- sh -c 'set -eu
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
exit 1' 2>&1); then
    printf 'HAProxy in %s rejected the new configuration; the live one keeps serving.\n%s\n' "$ref" "$verdict" >&2
    exit 1
  fi
  incus exec "$ref" -- sh -c 'set -eu
root=${VEZA_ROOT:-}
live="$root"/etc/haproxy/haproxy.cfg
socket="$root"/run/haproxy/admin.sock
state_file() { awk '\''$1 == "server-state-file" { print $2 }'\'' "$1" 2>/dev/null; }
worker() { echo "show info" | socat stdio "$socket" 2>/dev/null | awk -F'\'': '\'' '\''$1 == "Pid" { print $2 }'\''; }
state=$(state_file "$live.next")
# A stopped HAProxy leaves its socket file behind: no state to carry over then, and the restart
# below brings it back.
if [ -S "$socket" ] && [ "$state" = "$(state_file "$live")" ]; then
  echo "show servers state" | socat stdio "$socket" > "$root$state" 2>/dev/null || rm -f "$root$state"
else
  rm -f "$root$state"
fi
before=$(worker || true)
cp -p "$live" "$live.previous"
mv "$live.next" "$live"
if systemctl is-active --quiet haproxy; then systemctl reload haproxy; else systemctl enable --quiet haproxy; systemctl restart haproxy; fi
for _ in $(seq 1 100); do
  after=$(worker || true)
  if [ -n "$after" ] && [ "$after" != "$before" ]; then exit 0; fi
  sleep 0.1
done
mv "$live.previous" "$live"
journalctl -u haproxy -n 15 --no-pager -o cat >&2 || true
echo "HAProxy started no worker with the new configuration within 10 s; the previous file is back in place" >&2
exit 1'
  # One line of `;`-separated commands: the admin socket runs them all, one `incus exec` in all.
  [ -z "$VEZA_SERVER_STATES" ] || incus exec "$ref" -- sh -c 'root=${VEZA_ROOT:-}
for _ in 1 2 3 4 5 6 7 8 9 10; do
  printf '\''%s\n'\'' "$1" | socat stdio "$root"/run/haproxy/admin.sock >/dev/null 2>&1 && exit 0
  sleep 0.2
done
echo "HAProxy'\''s admin socket refused the server states for 2 s" >&2
exit 1' sh "$VEZA_SERVER_STATES"
}
read -r -a refs <<< "$VEZA_REFS"
holder=
for ref in "${refs[@]}"; do
  # grep reads to the end: -q would stop early and fail the pipeline (pipefail, SIGPIPE).
  if incus exec "$ref" -- ip -4 -o addr show dev eth0 2>/dev/null | grep -F " $VEZA_VIRTUAL_IP/" >/dev/null; then holder=$ref; fi
done
for ref in "${refs[@]}"; do [ "$ref" = "$holder" ] || apply_to "$ref"; done
[ -z "$holder" ] || apply_to "$holder"
printf '%s\n' "$VEZA_CONFIG_SHA256"
