root=${VEZA_ROOT:-}; f="$root$1"; umask 077; mkdir -p "${f%/*}" && cat > "$f.tmp" && chmod "$2" "$f.tmp" && mv "$f.tmp" "$f"
