limit() {
  [ "$(incus config get "$VEZA_REF" "$1")" != "$2" ] || return 0
  if [ -n "$2" ]; then incus config set "$VEZA_REF" "$1=$2"; else incus config unset "$VEZA_REF" "$1"; fi
}
limit limits.cpu "$VEZA_LIMITS_CPU"
limit limits.memory "$VEZA_LIMITS_MEMORY"
if [ "$(incus config device get "$VEZA_REF" root size)" != "$VEZA_ROOT_DISK_SIZE" ]; then
  if [ -n "$VEZA_ROOT_DISK_SIZE" ]; then incus config device set "$VEZA_REF" root size="$VEZA_ROOT_DISK_SIZE"
  else incus config device unset "$VEZA_REF" root size; fi
fi
