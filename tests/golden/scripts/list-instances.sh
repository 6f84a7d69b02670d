incus query "${VEZA_REMOTE:+$VEZA_REMOTE:}/1.0/instances?recursion=1" 2>&1 || true
