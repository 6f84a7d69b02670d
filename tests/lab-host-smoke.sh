#!/usr/bin/env bash
# Proves the lab host prepared by scripts/lab-host.sh works: two throwaway containers from the lab
# image get an address in the lab subnet, talk to the host and to each other, cannot reach past
# the host, survive `incus stop --force` + `incus start`. Cleans up after itself (also on failure).
#
#   sudo bash tests/lab-host-smoke.sh
#
# Same environment variables and defaults as scripts/lab-host.sh. Traffic stays on this machine:
# the "outside" the containers must not reach is a network namespace on the host (198.18.77.2).
set -euo pipefail

pool=${VEZA_LAB_POOL:-veza}
network=${VEZA_LAB_NETWORK:-vezabr0}
subnet=10.77.0.1/24   # the bridge scripts/lab-host.sh creates
image=${VEZA_LAB_IMAGE:-veza-lab/bookworm}
a=veza-smoke-a-$$
b=veza-smoke-b-$$
outside_ns=veza-smoke-out-$$
veth_host=vzso$$
veth_ns=vzsi$$
outside_ip=198.18.77.2
port=7000

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
secs() { printf '%d.%03ds' $(( $1 / 1000 )) $(( $1 % 1000 )); }
ok() { printf 'smoke: ok   %s\n' "$*"; }
fail() { printf 'smoke: FAIL %s\n' "$*" >&2; exit 1; }

listener_pid=
saved_sysctls=()
cleanup() {
  local rc=$? s t0
  t0=$(now_ms)
  incus delete --force "$a" >/dev/null 2>&1 || true
  incus delete --force "$b" >/dev/null 2>&1 || true
  [[ -z $listener_pid ]] || kill "$listener_pid" 2>/dev/null || true
  ip netns del "$outside_ns" 2>/dev/null || true
  ip link del "$veth_host" 2>/dev/null || true
  nft delete table inet veza_smoke 2>/dev/null || true
  for s in "${saved_sysctls[@]}"; do sysctl -q -w "$s" 2>/dev/null || true; done
  if (( rc == 0 )); then
    ok "deleted $a $b in $(secs $(( $(now_ms) - t0 )))"
    printf 'smoke: all checks passed in %s\n' "$(secs $(( $(now_ms) - started )))"
  fi
}
started=$(now_ms)
trap cleanup EXIT

ip2int() { local IFS=.; read -r o1 o2 o3 o4 <<<"$1"; echo $(( (o1 << 24) | (o2 << 16) | (o3 << 8) | o4 )); }
in_subnet() {
  local len=${subnet#*/} mask
  mask=$(( (0xffffffff << (32 - len)) & 0xffffffff ))
  (( ($(ip2int "$1") & mask) == ($(ip2int "${subnet%/*}") & mask) ))
}

ipv4_of() {
  incus query "/1.0/instances/$1/state" \
    | jq -r '.network.eth0.addresses[]? | select(.family == "inet") | .address' | head -n1
}

# Waits up to 10 s for the container's IPv4 address; prints it.
wait_ipv4() {
  local ip deadline=$(( $(now_ms) + 10000 ))
  while (( $(now_ms) < deadline )); do
    ip=$(ipv4_of "$1")
    [[ -n $ip ]] && { echo "$ip"; return 0; }
    sleep 0.1
  done
  return 1
}

# A TCP service in the container (Node.js, as a transient systemd unit) answering "pong from <name>".
start_listener() {
  incus exec "$1" -- systemd-run --quiet --unit=veza-smoke-listen --collect /usr/bin/node -e \
    "require('net').createServer(s => s.end('pong from ' + require('os').hostname() + '\n')).listen($port)"
}

# tcp_get <address> <port>: what the server sends (3 s connect/idle timeout).
tcp_get() { socat -T3 - "TCP:$1:$2,connect-timeout=3" </dev/null 2>/dev/null; }

# Waits up to 5 s until host -> <ip>:<port> answers with <expected>.
host_reaches() {
  local deadline=$(( $(now_ms) + 5000 ))
  while (( $(now_ms) < deadline )); do
    [[ $(tcp_get "$1" "$2") == "$3" ]] && return 0
    sleep 0.1
  done
  return 1
}

set_sysctl() {
  saved_sysctls+=("$1=$(sysctl -n "$1")")
  sysctl -q -w "$1=$2"
}

# ---- preconditions --------------------------------------------------------------------------
timeout 10 incus info >/dev/null 2>&1 || fail "Incus does not answer: run scripts/lab-host.sh"
incus image alias list --format json | jq -e --arg a "$image" 'any(.[]; .name == $a)' >/dev/null \
  || fail "image alias $image missing: run scripts/lab-host.sh"

# ---- launch, addresses ----------------------------------------------------------------------
declare -A ips
for c in "$a" "$b"; do
  t0=$(now_ms)
  incus launch "$image" "$c" --storage "$pool" --network "$network" >/dev/null \
    || fail "incus launch $image $c --storage $pool --network $network"
  t1=$(now_ms)
  ip=$(wait_ipv4 "$c") || fail "$c got no IPv4 address within 10s"
  in_subnet "$ip" || fail "$c got $ip, outside $subnet"
  ips[$c]=$ip
  ok "launched $c in $(secs $(( t1 - t0 ))), IPv4 $ip (in $subnet) $(secs $(( $(now_ms) - t1 ))) after start"
done
ip_a=${ips[$a]}

# ---- host <-> container, container <-> container ---------------------------------------------
start_listener "$a"
host_reaches "$ip_a" "$port" "pong from $a" || fail "host cannot reach $a ($ip_a:$port)"
ok "host -> $a $ip_a:$port (node listener)"

reply=$(incus exec "$b" -- socat -T3 - "TCP:$ip_a:$port,connect-timeout=3" </dev/null 2>&1) || true
[[ $reply == "pong from $a" ]] || fail "$b cannot reach $a ($ip_a:$port): $reply"
reply=$(incus exec "$b" -- socat -T3 - "TCP:$a.incus:$port,connect-timeout=3" </dev/null 2>&1) || true
[[ $reply == "pong from $a" ]] || fail "$b cannot reach $a.incus:$port: $reply"
ok "$b -> $a by address and by name $a.incus"

# ---- nothing beyond the host ----------------------------------------------------------------
# The "outside": a network namespace behind a veth on this host, with a route back to the lab
# subnet, so a connection from a container would succeed if the host forwarded it.
ip netns add "$outside_ns"
ip link add "$veth_host" type veth peer name "$veth_ns" netns "$outside_ns"
ip addr add 198.18.77.1/30 dev "$veth_host"
ip link set "$veth_host" up
ip -n "$outside_ns" addr add "$outside_ip/30" dev "$veth_ns"
ip -n "$outside_ns" link set "$veth_ns" up
ip -n "$outside_ns" link set lo up
ip -n "$outside_ns" route add default via 198.18.77.1
ip netns exec "$outside_ns" socat TCP-LISTEN:$port,fork,reuseaddr SYSTEM:'echo outside' &
listener_pid=$!
host_reaches "$outside_ip" "$port" outside || fail "the test's outside namespace does not answer the host"

# Let the kernel route packets from the bridge to the outside namespace, so that only the
# lab-host firewall stands in the way. Safety net for that window: routed packets from the
# bridge to any other interface are dropped before they reach the lab-host rules.
nft -f - <<EOF
table inet veza_smoke {
  chain guard {
    type filter hook forward priority filter - 10; policy accept;
    iifname "$network" oifname != { "$network", "$veth_host" } drop
  }
}
EOF
set_sysctl "net.ipv4.conf.$network.forwarding" 1
set_sysctl "net.ipv4.conf.$veth_host.forwarding" 1
rejected() {
  nft list chain inet veza_lab "fwd_$network" | awk '/routed out/ { for (i = 1; i <= NF; i++) if ($i == "packets") print $(i + 1) }'
}
before=$(rejected)
[[ -n $before ]] || fail "no lab-host forwarding rules for $network (nft table inet veza_lab): run scripts/lab-host.sh"
if reply=$(incus exec "$b" -- socat -T3 - "TCP:$outside_ip:$port,connect-timeout=3" </dev/null 2>&1); then
  fail "$b reached $outside_ip:$port beyond the host: $reply"
fi
after=$(rejected)
(( after > before )) || fail "$b could not reach $outside_ip, but not because of the lab-host rule (counter $before -> $after)"
ok "$b -> $outside_ip:$port (beyond the host) refused by the lab-host forward rule ($(( after - before )) packet(s) rejected)"
for s in "${saved_sysctls[@]}"; do sysctl -q -w "$s"; done
saved_sysctls=()
nft delete table inet veza_smoke

# Name resolution stays on the bridge: dnsmasq must not forward other names upstream.
grep -qx no-resolv "/var/lib/incus/networks/$network/dnsmasq.raw" 2>/dev/null \
  || fail "dnsmasq of $network would forward queries upstream (raw.dnsmasq is not no-resolv)"
if incus exec "$b" -- timeout 5 getent hosts deb.debian.org >/dev/null 2>&1; then
  fail "$b resolved deb.debian.org: DNS is forwarded beyond the host"
fi
ok "$b resolves <name>.incus but not deb.debian.org (dnsmasq no-resolv)"

# ---- stop --force / start -------------------------------------------------------------------
t0=$(now_ms)
incus stop --force "$a"
t1=$(now_ms)
incus start "$a"
t2=$(now_ms)
ip=$(wait_ipv4 "$a") || fail "$a got no IPv4 address within 10s after restart"
t3=$(now_ms)
[[ $ip == "$ip_a" ]] || fail "$a came back with $ip instead of $ip_a"
start_listener "$a"
host_reaches "$ip_a" "$port" "pong from $a" || fail "host cannot reach $a after restart"
ok "incus stop --force $a in $(secs $(( t1 - t0 ))), incus start in $(secs $(( t2 - t1 ))), same IPv4 $ip $(secs $(( t3 - t2 ))) after start, reachable again"
