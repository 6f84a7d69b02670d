root=${VEZA_ROOT:-}
for _ in 1 2 3 4 5 6 7 8 9 10; do
  printf '%s\n' "$1" | socat stdio "$root"/run/haproxy/admin.sock >/dev/null 2>&1 && exit 0
  sleep 0.2
done
echo "HAProxy's admin socket refused the server states for 2 s" >&2
exit 1
