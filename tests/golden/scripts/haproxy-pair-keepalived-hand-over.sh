#!/bin/sh
pid=$1
vips=$(awk '/virtual_ipaddress/ { inside = 1; next } inside && /}/ { inside = 0 } inside { sub("/.*", "", $1); print $1 }' "$2")
held=
for vip in $vips; do
  if ip -4 -o addr show dev eth0 | grep -F " $vip/" >/dev/null; then held="$held $vip"; fi
done
if [ -n "$held" ]; then
  sysctl -qw net.ipv4.conf.eth0.arp_ignore=1
  for vip in $held; do ip addr add "$vip/32" dev lo; done
fi
kill -TERM "$pid"
while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
if [ -n "$held" ]; then
  sleep 2
  for vip in $held; do ip addr del "$vip/32" dev lo; done
fi

