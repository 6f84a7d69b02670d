while [ $# -gt 0 ] && [ "$1" != -- ]; do
  if [ -f "$1" ]; then echo "file $1 $(sha256sum < "$1" | cut -c1-64) $(head -c 64 "$1.sha256" 2>/dev/null || true)"; else echo "file $1 -"; fi
  shift
done
[ $# -eq 0 ] || shift
for unit; do echo "unit $unit $(systemctl is-active "$unit" 2>/dev/null || true)"; done
