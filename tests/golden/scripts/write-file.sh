umask 077; mkdir -p "${1%/*}" || exit 1
if ! { cat > "$1.tmp" && chmod "$2" "$1.tmp" && mv "$1.tmp" "$1"; }; then rm -f "$1.tmp"; exit 1; fi
