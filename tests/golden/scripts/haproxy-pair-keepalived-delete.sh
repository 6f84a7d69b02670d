status=$(incus info "$VEZA_REF" 2>/dev/null | awk '$1 == "Status:" { print $2 }') || true
[ "$status" = RUNNING ] || exit 0
incus exec "$VEZA_REF" -- sh -c 'vip=$1
holds=false
if ip -4 -o addr show dev eth0 | grep -F " $vip/" >/dev/null; then holds=true; fi
if $holds; then
  sysctl -qw net.ipv4.conf.eth0.arp_ignore=1
  ip addr add "$vip/32" dev lo
fi
systemctl disable --now --quiet keepalived
if $holds; then
  sleep 2
  ip addr del "$vip/32" dev lo
fi' sh "$VEZA_VIRTUAL_IP"
