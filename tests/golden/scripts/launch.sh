created=false
# shellcheck disable=SC2317 # called by the EXIT trap
forget_failed_create() {
  status=$?
  [ "$status" != 0 ] && $created || return 0
  # What failed may be the daemon itself, restarting: wait up to 30 s for it to answer (a list
  # succeeds, empty or not) so that the container is deleted rather than left in no stack's state.
  for _ in $(seq 1 30); do
    if incus list "$VEZA_REF" -c n -f csv >/dev/null 2>&1; then
      incus delete --force "$VEZA_REF" >/dev/null 2>&1 || true
      return 0
    fi
    sleep 1
  done
}
trap forget_failed_create EXIT
if incus info "$VEZA_REF" >/dev/null 2>&1; then
  owner=$(incus config get "$VEZA_REF" user.veza.owner)
if [ -n "$owner" ] && [ "$owner" != "$VEZA_OWNER" ]; then
    echo "container $VEZA_REF belongs to stack $owner, not to $VEZA_OWNER: refusing to adopt it (give this stack another veza-infra:namePrefix)" >&2
    exit 1
  fi
  [ -n "$owner" ] || incus config set "$VEZA_REF" user.veza.owner "$VEZA_OWNER"
else
  created=true
  incus launch "$VEZA_IMAGE" "$VEZA_REF" --storage "$VEZA_STORAGE_POOL" --network "$VEZA_NETWORK" \
    --config user.veza.owner="$VEZA_OWNER" ${VEZA_TARGET:+--target "$VEZA_TARGET"} >&2
fi
# The awk programs read to the end: an early exit would fail the pipeline (pipefail, SIGPIPE).
[ "$(incus info "$VEZA_REF" | awk '$1 == "Status:" { print $2 }')" = RUNNING ] || incus start "$VEZA_REF" >&2
# An exec right after a config change of the running container (the adoption above) can succeed
# with its output lost (seen 1 in 30 here): ask again when it printed nothing.
for _ in 1 2 3; do
  address=$(incus exec "$VEZA_REF" -- sh -c 'for _ in $(seq 1 600); do
  address=$(ip -4 -o addr show dev eth0 scope global | awk '\''!found { sub("/.*", "", $4); print $4; found = 1 }'\'')
  [ -n "$address" ] && { echo "$address"; exit 0; }
  sleep 0.1
done
exit 1') || { echo "container $VEZA_REF got no IPv4 address within 60 s" >&2; exit 1; }
  [ -z "$address" ] || { echo "$address"; exit 0; }
done
echo "incus exec in $VEZA_REF printed no address three times" >&2
exit 1
