umask 077; mkdir -p "${1%/*}" && cat > "$1.tmp" && chmod "$2" "$1.tmp" && mv "$1.tmp" "$1"
