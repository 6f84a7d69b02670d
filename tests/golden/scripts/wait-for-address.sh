for _ in $(seq 1 600); do
  address=$(ip -4 -o addr show dev eth0 scope global | awk '!found { sub("/.*", "", $4); print $4; found = 1 }')
  [ -n "$address" ] && { echo "$address"; exit 0; }
  sleep 0.1
done
exit 1
