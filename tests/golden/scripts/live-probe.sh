work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
remote=()
[ -z "$VEZA_REMOTE" ] || remote=("$VEZA_REMOTE:")
incus list "${remote[@]}" -c ns -f csv > "$work/list"
n=0
while read -r ref files units; do
  [ -n "$ref" ] || continue
  n=$((n + 1))
  name=${ref#*:}
  status=$(awk -F, -v name="$name" '$1 == name { print tolower($2) }' "$work/list")
  echo "$ref status ${status:-absent}" > "$work/$n"
  [ "$status" = running ] || continue
  IFS=, read -r -a file_list <<< "$files"
  IFS=, read -r -a unit_list <<< "$units"
  # The loop reads its lines from standard input: incus exec must not take them.
  incus exec "$ref" -- sh -c 'while [ $# -gt 0 ] && [ "$1" != -- ]; do
  if [ -f "$1" ]; then echo "file $1 $(sha256sum < "$1" | cut -c1-64) $(head -c 64 "$1.sha256" 2>/dev/null || true)"; else echo "file $1 -"; fi
  shift
done
[ $# -eq 0 ] || shift
for unit; do echo "unit $unit $(systemctl is-active "$unit" 2>/dev/null || true)"; done' sh "${file_list[@]}" -- "${unit_list[@]}" < /dev/null 2>/dev/null | sed "s|^|$ref |" >> "$work/$n" &
done <<< "$VEZA_PROBES"
wait
if [ "$n" -gt 0 ]; then cat "$work"/*; fi
