status=0
out=$(timeout -k 5 "$VEZA_TIMEOUT_SECONDS" incus query "${VEZA_REMOTE:+$VEZA_REMOTE:}/1.0/instances?recursion=1" 2>&1) || status=$?
if [ "$status" = 0 ]; then printf '%s\n' "$out"; else printf '%s\n' 'veza: incus failed' "$status" "${VEZA_REMOTE:-$(incus remote get-default 2>/dev/null || true)}" "$out"; fi
