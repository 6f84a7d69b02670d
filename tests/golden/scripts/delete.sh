incus info "$VEZA_REF" >/dev/null 2>&1 || exit 0
owner=$(incus config get "$VEZA_REF" user.veza.owner)
if [ -n "$owner" ] && [ "$owner" != "$VEZA_OWNER" ]; then
  echo "container $VEZA_REF belongs to stack $owner: left in place" >&2
  exit 0
fi
incus stop "$VEZA_REF" --timeout 15 >&2 || true
incus delete --force "$VEZA_REF" >&2
