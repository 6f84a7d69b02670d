changed=false
install_next() {
  if cmp -s "$1.next" "$1"; then rm -f "$1.next"; else mv "$1.next" "$1"; changed=true; fi
}
install_next "$1"
echo "$changed"
