root=${VEZA_ROOT:-}; f="$root$1"; umask 077; mkdir -p "${f%/*}" || exit 1
if ! { cat > "$f.tmp" && chmod "$2" "$f.tmp" && mv "$f.tmp" "$f"; }; then rm -f "$f.tmp"; exit 1; fi
