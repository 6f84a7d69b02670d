stage_on() {
  local ref=$1 verdict
  if ! printf '%s' "$VEZA_CONFIG" | incus exec "$ref" -- sh -c 'root=${VEZA_ROOT:-}; f="$root$1"; umask 077; mkdir -p "${f%/*}" || exit 1
if ! { cat > "$f.tmp" && chmod "$2" "$f.tmp" && mv "$f.tmp" "$f"; }; then rm -f "$f.tmp"; exit 1; fi' sh /etc/haproxy/haproxy.cfg.next 0644; then
    printf 'Could not write the new configuration in %s (above: why, e.g. a full disk); the live one keeps serving.\n' "$ref" >&2
    return 1
  fi
  if [ -n "$VEZA_TLS_PEM" ] && ! {
    incus exec "$ref" -- install -d -m 0750 -g haproxy /etc/haproxy/certs &&
      incus file push --quiet --mode 0640 "$VEZA_TLS_PEM" "$ref/etc/haproxy/certs/veza.pem.next" >&2 &&
      incus exec "$ref" -- chgrp haproxy /etc/haproxy/certs/veza.pem.next
  }; then
    printf 'Could not push the PEM to %s (above: why); the live configuration keeps serving.\n' "$ref" >&2
    incus exec "$ref" -- rm -f /etc/haproxy/haproxy.cfg.next /etc/haproxy/certs/veza.pem.next || true
    return 1
  fi
  if ! verdict=$(incus exec "$ref" -- sh -c 'set -eu
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
if ! cp -p "$live" "$live.previous"; then echo "no room for the copy of the live configuration" >&2; undo; exit 1; fi' 2>&1); then
    printf 'HAProxy in %s rejected the new configuration; the live one keeps serving.\n%s\n' "$ref" "$verdict" >&2
    return 1
  fi
}
unstage_on() { incus exec "$1" -- sh -c 'set -eu
root=${VEZA_ROOT:-}
pem="$root"/etc/haproxy/certs/veza.pem
live="$root"/etc/haproxy/haproxy.cfg
if [ -e "$pem.previous" ]; then mv "$pem.previous" "$pem"; elif [ -e "$pem.fresh" ]; then rm -f "$pem"; fi
rm -f "$pem.fresh" "$root"/etc/haproxy/haproxy.cfg.next "$live.previous"'; }
swap_on() {
  incus exec "$1" -- sh -c 'set -eu
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
exit 1'
  # One line of `;`-separated commands: the admin socket runs them all, one `incus exec` in all.
  [ -z "$VEZA_SERVER_STATES" ] || incus exec "$1" -- sh -c 'root=${VEZA_ROOT:-}
for _ in 1 2 3 4 5 6 7 8 9 10; do
  printf '\''%s\n'\'' "$1" | socat stdio "$root"/run/haproxy/admin.sock >/dev/null 2>&1 && exit 0
  sleep 0.2
done
echo "HAProxy'\''s admin socket refused the server states for 2 s" >&2
exit 1' sh "$VEZA_SERVER_STATES"
}
stage_on "$VEZA_REF" || exit 1
swap_on "$VEZA_REF"
printf '%s\n' "$VEZA_CONFIG_SHA256"
