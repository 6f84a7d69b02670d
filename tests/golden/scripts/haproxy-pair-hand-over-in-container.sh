vip=$1
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
fi
