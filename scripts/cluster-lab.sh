#!/usr/bin/env bash
# A three-member Incus cluster on this one machine, beside the one-host lab of scripts/lab-host.sh:
# the ground on which the edge is spread over cluster members and a member is made to die (issue 21).
# docs/cluster-lab.md says what it proves, what it does not, and what it cost to set up here.
#
#   sudo bash scripts/cluster-lab.sh up                  # idempotent, offline once lab-host.sh has run;
#                                                        # also after a reboot, or to rebuild a removed member
#   sudo bash scripts/cluster-lab.sh status
#   sudo bash scripts/cluster-lab.sh kill-member m2      # its daemon and all its containers, at once
#   sudo bash scripts/cluster-lab.sh revive-member m2
#   sudo bash scripts/cluster-lab.sh down                # everything below, gone
#
# Layout (what `up` builds; the addresses are fixed so that tests and docs can name them):
#   - members m1 m2 m3: one incusd each, in a network + mount namespace of its own (held open by a
#     `sleep` renamed veza-cluster-<member>), INCUS_DIR=$VEZA_CLUSTER_DIR/<member>/incus.
#   - cluster links: host bridge vzclctl0 10.78.0.1/24; member mN is 10.78.0.1N on its eth0, a veth
#     whose host end vzctl-mN is in vzclctl0. core.https_address is 10.78.0.1N:8443.
#   - instance segment: host bridge vzclseg0 10.79.0.1/24; in every member the managed bridge
#     vezaclbr0 (no address, no NAT, no Incus DHCP) has bridge.external_interfaces=seg0, a veth whose
#     host end vzseg-mN is in vzclseg0. One L2 segment: a VRRP virtual IP can move between members.
#   - addresses on the segment: one dnsmasq on the host, DHCP only (see start_dhcp for why).
#     .2-.199 are leased, .200-.254 are left for virtual IPs, as on the one-host lab's bridge.
#   - storage pool vezacl on every member (btrfs on a loop file of $pool_size, dir where the kernel has
#     no btrfs); the lab image (veza-lab/bookworm) on every member;
#     the default profile gives a root disk on vezacl and eth0 on vezaclbr0.
#   - Incus remote veza-cluster in the host's client config, so that from the host
#     `incus launch veza-cluster:veza-lab/bookworm c1 --target m2` works.
# Names and subnets differ from the one-host lab's (pool veza, bridge vezabr0, 10.77.0.0/24) so
# that nothing here can be mistaken for, or collide with, what the one-host lab's daemon manages.
#
# Environment: VEZA_CLUSTER_DIR=/var/lib/veza-cluster  VEZA_CLUSTER_REMOTE=veza-cluster
#   VEZA_LAB_IMAGE and VEZA_CACHE_DIR as for lab-host.sh.
set -euo pipefail

started_ns=$(date +%s%N)
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

members=(m1 m2 m3)
state=${VEZA_CLUSTER_DIR:-/var/lib/veza-cluster}
remote=${VEZA_CLUSTER_REMOTE:-veza-cluster}
image_alias=${VEZA_LAB_IMAGE:-veza-lab/bookworm}
cache_root=${VEZA_CACHE_DIR:-$HOME/.cache/veza-infra}/image
pool=vezacl
# btrfs unpacks the image once per member and makes each container a snapshot of it, where dir
# unpacks the whole image for every container (on this busy 2-core host: a launch on a member that
# already has the image 3.9 s on btrfs, about 10 s on dir); and down deletes a loop file per member
# instead of walking every container's tree (76 s on dir with six containers, 7-8 s on btrfs).
# The loop file is sparse.
pool_driver=dir
grep -qw btrfs /proc/filesystems && pool_driver=btrfs
pool_size=5GiB
network=vezaclbr0
ctl_bridge=vzclctl0
ctl_net=10.78.0
seg_bridge=vzclseg0
seg_net=10.79.0
run_log=$state/cluster-lab.log

log() { printf 'cluster-lab: %s\n' "$*"; }
die() { printf 'cluster-lab: error: %s\n' "$*" >&2; exit 1; }

# Runs a command whose chatter only matters when it fails: it goes to $run_log, and its tail to
# stderr on failure.
logged() {
  local rc=0
  printf '\n$ %s\n' "$*" >>"$run_log"
  "$@" >>"$run_log" 2>&1 || rc=$?
  if (( rc != 0 )); then
    tail -n 30 "$run_log" >&2
    die "command failed (exit $rc): $* (full log: $run_log)"
  fi
}

# Whether every named command is on PATH (`command -v a b` succeeds when any one is).
have() {
  local tool
  for tool; do command -v "$tool" >/dev/null || return 1; done
}

elapsed() {
  local ms=$(( ($(date +%s%N) - started_ns) / 1000000 ))
  printf '%d.%03ds' $((ms / 1000)) $((ms % 1000))
}

member_index() {
  local i
  for i in "${!members[@]}"; do [[ ${members[$i]} == "$1" ]] && { echo $((i + 1)); return; }; done
  die "no member named '$1' (members: ${members[*]})"
}
ctl_address() { echo "$ctl_net.1$(member_index "$1")"; }

# The incus CLI on a member's own unix socket (the host's client config, the member's daemon).
member_incus() { INCUS_DIR=$state/$1/incus incus "${@:2}"; }

# ---- Namespaces -----------------------------------------------------------------------------
# The pid of the process holding member $1's namespaces open, if it is alive. It is recognised by
# its argv[0], so a recycled pid never passes for it.
holder_pid() {
  local pid
  pid=$(cat "$state/$1/holder.pid" 2>/dev/null) || return 1
  [[ $(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline") == "veza-cluster-$1 infinity " ]] || return 1
  echo "$pid"
}

in_member_ns() {
  local pid
  pid=$(holder_pid "$1") || die "member $1 has no namespace (run: $0 up)"
  nsenter --target "$pid" --net --mount -- "${@:2}"
}

ensure_namespace() {
  local m=$1 pid
  if ! pid=$(holder_pid "$m"); then
    mkdir -p "$state/$m"
    rm -f "$state/$m/holder.pid"
    # A fresh sysfs in the new network namespace: Incus reads /sys/class/net to see its bridge,
    # and the host's sysfs would show the host's interfaces instead (the bridge is then created
    # but the network reported as errored). The host's cgroup tree is moved back under it.
    # --propagation private: nothing mounted for the member (its pool, its instances' root
    # file systems, tmpfs under INCUS_DIR) ever shows on the host, and all of it goes when the
    # namespace's last process does.
    # shellcheck disable=SC2016 # expanded by the inner bash, from its arguments
    setsid unshare --mount --net --propagation private -- bash -c '
      set -e
      mount --move /sys /mnt
      mount -t sysfs sysfs /sys
      mount --move /mnt/fs/cgroup /sys/fs/cgroup
      umount -l /mnt
      echo $$ >"$1"
      exec -a "$2" sleep infinity' bash "$state/$m/holder.pid" "veza-cluster-$m" </dev/null >>"$run_log" 2>&1 &
    # Not this shell's job: a later kill in the same run is not reported as one.
    disown
    for _ in $(seq 100); do pid=$(holder_pid "$m") && break; sleep 0.05; done
    pid=$(holder_pid "$m") || die "the namespace of $m did not come up (see $run_log)"
    log "$m: network + mount namespace (held by pid $pid)"
    # The kernel dismantles a dead namespace after its last process is gone, so the host ends of
    # the old one's veths can still be there for a moment (seen after a simulated reboot).
    ip link del "vzctl-$m" 2>/dev/null || true
    ip link del "vzseg-$m" 2>/dev/null || true
  fi

  if ! ip link show "vzctl-$m" >/dev/null 2>&1; then
    ip link add "vzctl-$m" type veth peer name "ctl-$m"
    ip link set "ctl-$m" netns "$pid"
    ip link set "vzctl-$m" master "$ctl_bridge" up
    in_member_ns "$m" ip link set lo up
    in_member_ns "$m" ip link set "ctl-$m" name eth0
    in_member_ns "$m" ip addr add "$(ctl_address "$m")/24" dev eth0
    in_member_ns "$m" ip link set eth0 up
    log "$m: cluster link eth0 $(ctl_address "$m")/24 (veth vzctl-$m in $ctl_bridge)"
  fi
  if ! ip link show "vzseg-$m" >/dev/null 2>&1; then
    ip link add "vzseg-$m" type veth peer name "seg-$m"
    ip link set "seg-$m" netns "$pid"
    ip link set "vzseg-$m" master "$seg_bridge" up
    in_member_ns "$m" ip link set "seg-$m" name seg0
    in_member_ns "$m" ip link set seg0 up
    log "$m: instance segment link seg0 (veth vzseg-$m in $seg_bridge)"
  fi
  # kill-member takes the host ends down; revive-member (and up) bring them back.
  local link
  for link in "vzctl-$m" "vzseg-$m"; do
    if (( ($(<"/sys/class/net/$link/flags") & 1) == 0 )); then
      ip link set "$link" up
      log "$m: $link up"
    fi
  done
}

# ---- Daemons --------------------------------------------------------------------------------
daemon_pid() {
  local pid
  pid=$(cat "$state/$1/incusd.pid" 2>/dev/null) || return 1
  [[ $(readlink "/proc/$pid/exe" 2>/dev/null) == */incusd ]] || return 1
  [[ $'\n'$(tr '\0' '\n' 2>/dev/null <"/proc/$pid/environ")$'\n' == *$'\n'"INCUS_DIR=$state/$1/incus"$'\n'* ]] || return 1
  echo "$pid"
}

start_daemon() {
  local m=$1 holder
  daemon_pid "$m" >/dev/null && return
  holder=$(holder_pid "$m")
  mkdir -p "$state/$m/incus"
  # No proxy settings as in lab-host.sh: the member's namespace has no route off this machine at
  # all, so the daemon's unsolicited downloads cannot leave it.
  (
    ulimit -n "$(ulimit -Hn)"
    cd /
    exec setsid nsenter --target "$holder" --net --mount -- \
      env -i PATH=/usr/libexec/incus:/usr/sbin:/usr/bin:/sbin:/bin INCUS_DIR="$state/$m/incus" \
      /usr/libexec/incus/incusd --group incus-admin </dev/null >>"$state/$m/incusd.log" 2>&1
  ) &
  echo $! >"$state/$m/incusd.pid"
  disown
  # $! is the subshell until it has exec'd through setsid and nsenter into incusd.
  for _ in $(seq 100); do daemon_pid "$m" >/dev/null && break; sleep 0.05; done
  log "$m: incusd started (pid $(daemon_pid "$m" || echo '?'), log $state/$m/incusd.log)"
}

# A member of a formed cluster answers only once a quorum of the database's members is up, so
# after a reboot of the host all daemons are started before any is waited for.
wait_daemon() {
  if ! member_incus "$1" admin waitready --timeout 180 >>"$run_log" 2>&1; then
    tail -n 20 "$state/$1/incusd.log" >&2
    die "incusd of $1 did not become ready"
  fi
}

clustered() {
  [[ $(member_incus "$1" query /1.0 2>/dev/null | jq -r .environment.server_clustered) == true ]]
}

bootstrap_cluster() {
  local m=${members[0]}
  clustered "$m" && return
  # The profile's eth0 makes a bare `incus launch --target` land on the shared segment, and its
  # root disk on the pool, with nothing else to pass.
  logged member_incus "$m" admin init --preseed <<EOF
config:
  core.https_address: $(ctl_address "$m"):8443
  images.auto_update_interval: 0
  cluster.images_minimal_replica: -1
storage_pools:
- name: $pool
  driver: $pool_driver
$( [[ $pool_driver == btrfs ]] && printf '  config:\n    size: %s\n' "$pool_size" )
networks:
- name: $network
  type: bridge
  config:
    ipv4.address: none
    ipv6.address: none
    bridge.external_interfaces: seg0
profiles:
- name: default
  devices:
    root:
      type: disk
      path: /
      pool: $pool
    eth0:
      type: nic
      name: eth0
      network: $network
cluster:
  server_name: $m
  enabled: true
EOF
  log "$m: bootstrapped the cluster (pool $pool ($pool_driver), network $network, https $(ctl_address "$m"):8443)"
}

join_cluster() {
  local m=$1 leader=${members[0]} token
  clustered "$m" && return
  member_incus "$leader" cluster revoke-token "$m" >/dev/null 2>&1 || true
  token=$(member_incus "$leader" cluster add "$m" --quiet)
  logged member_incus "$m" admin init --preseed <<EOF
cluster:
  enabled: true
  server_name: $m
  server_address: $(ctl_address "$m"):8443
  cluster_address: $(ctl_address "$leader"):8443
  cluster_token: $token
  member_config:
  - entity: storage-pool
    name: $pool
    key: source
    value: ""
$( [[ $pool_driver == btrfs ]] && printf '  - entity: storage-pool\n    name: %s\n    key: size\n    value: %s\n' "$pool" "$pool_size" )
  - entity: network
    name: $network
    key: bridge.external_interfaces
    value: seg0
EOF
  log "$m: joined the cluster"
}

# ---- The shared segment's addresses ---------------------------------------------------------
# One DHCP server for the whole segment, on the host, rather than a static ipv4.address per NIC:
# on a managed bridge a NIC's ipv4.address is only a reservation in that member's own dnsmasq, and
# a bridge that spans members must run none (each member's would answer for the whole segment and
# hand out the same addresses), so the key would configure nothing. The lab image already asks for
# an address by DHCP (systemd-networkd, client id = MAC), so the program launches on the cluster
# exactly as on one host and reads each address back from Incus. The host plays the datacentre's
# network here: it outlives any member, and with a 12 h lease a renewing container keeps its
# address, so an address is fixed for the container's life. No router and no DNS server are
# offered: nothing on the segment has a route off it.
dhcp_pid() {
  local pid
  pid=$(cat "$state/dnsmasq.pid" 2>/dev/null) || return 1
  [[ $(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline") == *"--interface=$seg_bridge "* ]] || return 1
  echo "$pid"
}

start_dhcp() {
  dhcp_pid >/dev/null && return
  dnsmasq --conf-file=/dev/null --pid-file="$state/dnsmasq.pid" --port=0 \
    --bind-interfaces --interface="$seg_bridge" --except-interface=lo --listen-address="$seg_net.1" \
    --dhcp-range="$seg_net.2,$seg_net.199,12h" --dhcp-option=option:router --dhcp-option=option:dns-server \
    --dhcp-leasefile="$state/dnsmasq.leases" --dhcp-authoritative --dhcp-rapid-commit --no-ping \
    --log-facility="$state/dnsmasq.log" --log-dhcp
  log "dnsmasq on $seg_bridge: DHCP $seg_net.2-$seg_net.199 (pid $(dhcp_pid))"
}

# ---- Image and remote -----------------------------------------------------------------------
# The image lab-host.sh imported into the host's daemon, from its cache directory (found by the
# fingerprint the host's alias points at), so the cluster runs the very same one. The host's
# daemon is only asked, with a short timeout: when it does not answer (the one-host lab's own
# drills restart it) a cluster that already has an image keeps it.
ensure_image() {
  local host cluster dir m
  host=$(timeout 10 incus image alias list local: --format json 2>/dev/null | jq -r --arg a "$image_alias" '.[] | select(.name == $a) | .target') || host=""
  cluster=$(member_incus "${members[0]}" image alias list --format json | jq -r --arg a "$image_alias" '.[] | select(.name == $a) | .target')
  if [[ -z $host ]]; then
    [[ -n $cluster ]] || die "the host's daemon has no image $image_alias to copy (or does not answer): run scripts/lab-host.sh"
  elif [[ $host != "$cluster" ]]; then
    for dir in "$cache_root"/*/; do [[ $(cat "$dir/fingerprint" 2>/dev/null) == "$host" ]] && break; done
    [[ $(cat "$dir/fingerprint" 2>/dev/null) == "$host" ]] || die "no cached image with fingerprint $host under $cache_root"
    member_incus "${members[0]}" image alias delete "$image_alias" >/dev/null 2>&1 || true
    if ! member_incus "${members[0]}" image show "$host" >/dev/null 2>&1; then
      logged member_incus "${members[0]}" image import "$dir/metadata.tar.gz" "$dir/rootfs.squashfs"
    fi
    logged member_incus "${members[0]}" image alias create "$image_alias" "$host"
    log "image $image_alias -> ${host:0:12} imported${cluster:+ (was ${cluster:0:12})}"
    cluster=$host
  fi
  # cluster.images_minimal_replica=-1 copies it to every member, after the import returns.
  for m in "${members[@]}"; do
    for _ in $(seq 300); do
      [[ -s $state/$m/incus/images/$cluster.rootfs ]] && continue 2
      sleep 0.2
    done
    die "the image did not reach $m"
  done
}

remote_address() { incus remote list --format json | jq -r --arg r "$remote" '.[$r].Addr // empty'; }

ensure_remote() {
  local address token
  address=$(remote_address)
  if [[ -n $address ]] && timeout 10 incus query "$remote:/1.0" >/dev/null 2>&1; then return; fi
  [[ -z $address ]] || logged incus remote remove "$remote"
  # A trust token names every member's address; the client keeps the first that answers. Members
  # share one cluster certificate, so kill-member can point the remote at a survivor.
  token=$(member_incus "${members[0]}" config trust add "host-$(hostname)" --quiet)
  logged incus remote add "$remote" "$token"
  log "remote $remote -> $(remote_address) in the host's client config"
}

# A surviving member's API address for the remote, when the member it points at dies.
repoint_remote() {
  local dead=$1 m
  [[ $(remote_address) == "https://$(ctl_address "$dead"):8443" ]] || return 0
  for m in "${members[@]}"; do
    if [[ $m == "$dead" ]] || ! daemon_pid "$m" >/dev/null; then continue; fi
    incus remote set-url "$remote" "https://$(ctl_address "$m"):8443"
    log "remote $remote -> $(ctl_address "$m") (was $dead)"
    return
  done
}

# ---- Hard stop of a member ------------------------------------------------------------------
# Every process of member $1 but the namespace holder: those in its mount namespace (the daemon,
# its lxc monitors, forkexec helpers) and all their descendants (the containers, whose own
# namespaces are new, are children of their monitors). One stat(1) and one ps(1), so that a scan
# costs milliseconds however busy the host.
member_processes() {
  local holder mnt
  holder=$(holder_pid "$1") || return 0
  mnt=$(stat -L -c %i "/proc/$holder/ns/mnt")
  { stat -L -c 'ns %i %n' /proc/[0-9]*/ns/mnt 2>/dev/null || true; ps -e -o pid=,ppid=; } | awk -v mnt="$mnt" -v holder="$holder" '
    $1 == "ns" { if ($2 == mnt) { split($3, f, "/"); if (f[3] != holder) keep[f[3]] = 1 }; next }
    { parent[$1] = $2 }
    END {
      do { added = 0; for (p in parent) if (!(p in keep) && (parent[p] in keep)) { keep[p] = 1; added = 1 } } while (added)
      for (p in keep) if (p in parent) print p
    }'
}

# The containers member $1 runs, from its lxc monitors' command lines ("[lxc monitor] <lxcpath> <name>").
member_containers() {
  ps -e -o args= | awk -v lxcpath="$state/$1/incus/containers" '$1 == "[lxc" && $2 == "monitor]" && $3 == lxcpath { print $4 }' | sort -u
}

# Power cut: both links go down first (one netlink call each, so the member falls off the network
# before anything else happens), then every process of the member is SIGKILLed in one kill(1),
# repeated for whatever forked meanwhile. The namespaces stay, as a powered-off host keeps its
# disks and cabling: revive-member boots the daemon again.
power_off() {
  local m=$1 pids names name dir dirs cut_ns kill_ms='' gone_ms
  ip link set "vzctl-$m" down 2>/dev/null || true
  ip link set "vzseg-$m" down 2>/dev/null || true
  cut_ns=$(date +%s%N)
  mapfile -t names < <(member_containers "$m")
  for _ in $(seq 50); do
    mapfile -t pids < <(member_processes "$m")
    (( ${#pids[@]} )) || break
    kill -KILL "${pids[@]}" 2>/dev/null || true
    kill_ms=${kill_ms:-$(( ($(date +%s%N) - cut_ns) / 1000000 ))}
    sleep 0.1
  done
  (( ${#pids[@]} == 0 )) || die "$m: processes still alive after SIGKILL: ${pids[*]}"
  gone_ms=$(( ($(date +%s%N) - cut_ns) / 1000000 ))
  # liblxc escapes to the root of every hierarchy (lxc.payload.<name>, lxc.monitor.<name>); the
  # empty cgroups a killed container leaves would make the next start of that name fail.
  dirs=()
  for name in "${names[@]}"; do
    for dir in /sys/fs/cgroup/lxc.{payload,monitor}."$name" /sys/fs/cgroup/*/lxc.{payload,monitor}."$name"; do
      [[ -d $dir ]] && dirs+=("$dir")
    done
  done
  if (( ${#dirs[@]} )); then find "${dirs[@]}" -depth -type d -exec rmdir {} + 2>/dev/null || true; fi
  rm -f "$state/$m/incusd.pid"
  log "$m: powered off: links down, then its daemon and ${#names[@]} container(s) SIGKILLed ${kill_ms:-?} ms after the links, all gone after ${gone_ms} ms"
}

# Deletes a state directory: refused while anything is mounted under it as the host sees it
# (every mount of a member lives in its namespace, so one seen here is not ours to rm -rf), and
# only once no loop device is backed by a file in it. A btrfs pool's loop device detaches by
# itself when its mount goes with the namespace, which the kernel may finish a moment after the
# namespace's last process.
delete_state() {
  local dir=$1 loops
  if findmnt -rn -o TARGET | grep -qF "$dir"; then die "mounts remain under $dir; not deleting it"; fi
  for _ in $(seq 50); do
    loops=$(losetup --list --noheadings --output NAME,BACK-FILE | awk -v dir="$dir/" 'index($2, dir) == 1 { print $1 }')
    [[ -z $loops ]] && break
    sleep 0.1
  done
  # shellcheck disable=SC2086 # one device per line
  [[ -z $loops ]] || losetup -d $loops
  rm -rf "$dir"
}

# Member $1 gone for good: powered off, its namespace and veths removed, its state deleted.
destroy_member() {
  local m=$1 pid
  if pid=$(holder_pid "$m"); then
    power_off "$m"
    kill -KILL "$pid"
    log "$m: namespace gone"
  fi
  ip link del "vzctl-$m" 2>/dev/null || true
  ip link del "vzseg-$m" 2>/dev/null || true
  [[ ! -d $state/$m ]] || delete_state "$state/$m"
}

# A member removed from the cluster (`incus cluster remove --force`, the way out for one that never
# comes back) still has its old cluster state, with which its daemon would wait forever for a
# database that no longer counts it: it is rebuilt empty, to join again as new hardware would.
forget_removed_members() {
  local listed m
  listed=$'\n'$(member_incus "${members[0]}" cluster list --format csv -c n)$'\n'
  for m in "${members[@]:1}"; do
    if [[ -e $state/$m/incus/cluster.crt && $listed != *$'\n'"$m"$'\n'* ]]; then
      log "$m: no longer a member of the cluster: rebuilt empty to join again"
      destroy_member "$m"
      ensure_namespace "$m"
      start_daemon "$m"
    fi
  done
}

# ---- Commands -------------------------------------------------------------------------------
ensure_bridge() {
  local bridge=$1 address=$2
  if ! ip link show "$bridge" >/dev/null 2>&1; then
    ip link add "$bridge" type bridge
    ip addr add "$address" dev "$bridge"
    ip link set "$bridge" up
    log "host bridge $bridge $address"
  fi
}

cmd_up() {
  local m
  mkdir -p "$state"
  # Packages (incus, dnsmasq, jq...), the host daemon and the lab image come from the one-host
  # lab's own set-up; skipped when the tools and a cached image are there, as it takes seconds
  # even then, and as it would start the host's daemon in the middle of a drill that stopped it.
  if ! { have incus jq dnsmasq && [[ -x /usr/libexec/incus/incusd ]] && compgen -G "$cache_root/*/fingerprint" >/dev/null; }; then
    bash "$repo/scripts/lab-host.sh" | { grep -v ': ready in ' || true; }
  fi
  # The namespace and process tools, part of any Debian system but not promised by lab-host.sh.
  if ! have ip ps unshare nsenter losetup findmnt stat; then
    logged apt-get update
    DEBIAN_FRONTEND=noninteractive logged apt-get install -y --no-install-recommends iproute2 procps util-linux mount coreutils
    log "installed iproute2 procps util-linux mount coreutils"
  fi
  ensure_bridge "$ctl_bridge" "$ctl_net.1/24"
  ensure_bridge "$seg_bridge" "$seg_net.1/24"
  start_dhcp
  for m in "${members[@]}"; do
    ensure_namespace "$m"
    start_daemon "$m"
  done
  wait_daemon "${members[0]}"
  bootstrap_cluster
  forget_removed_members
  for m in "${members[@]:1}"; do
    wait_daemon "$m"
    join_cluster "$m"
  done
  ensure_image
  ensure_remote
  log "ready in $(elapsed): $(incus cluster list "$remote:" --format csv -c n,s | tr '\n' ' ')"
}

cmd_status() {
  local m pid
  for m in "${members[@]}"; do
    printf '%s: namespace %s, incusd %s, links %s %s\n' "$m" \
      "$( (pid=$(holder_pid "$m") && echo "pid $pid") || echo none)" \
      "$( (pid=$(daemon_pid "$m") && echo "pid $pid") || echo stopped)" \
      "$(cat "/sys/class/net/vzctl-$m/operstate" 2>/dev/null || echo absent)" \
      "$(cat "/sys/class/net/vzseg-$m/operstate" 2>/dev/null || echo absent)"
  done
  printf 'dhcp: %s\n' "$( (pid=$(dhcp_pid) && echo "dnsmasq pid $pid") || echo stopped)"
  printf 'remote %s: %s\n' "$remote" "$(remote_address || true)"
  if [[ -n $(remote_address) ]] && timeout 20 incus cluster list "$remote:" --format csv -c n,u,s,m 2>/dev/null; then
    timeout 20 incus list "$remote:" --format csv -c n,s,L,4 || true
  fi
}

cmd_kill_member() {
  local m=$1
  member_index "$m" >/dev/null
  holder_pid "$m" >/dev/null || die "$m is not up"
  power_off "$m"
  repoint_remote "$m"
}

cmd_revive_member() {
  local m=$1
  member_index "$m" >/dev/null
  holder_pid "$m" >/dev/null || die "$m has no namespace: run $0 up"
  ensure_namespace "$m"
  start_daemon "$m"
  wait_daemon "$m"
  log "$m: back in $(elapsed)"
}

cmd_down() {
  local m pid
  for m in "${members[@]}"; do destroy_member "$m"; done
  if pid=$(dhcp_pid); then kill "$pid"; log "dnsmasq stopped"; fi
  for m in "$ctl_bridge" "$seg_bridge"; do
    if ip link show "$m" >/dev/null 2>&1; then ip link del "$m"; log "host bridge $m deleted"; fi
  done
  if [[ -n $(remote_address) ]]; then incus remote remove "$remote"; log "remote $remote removed"; fi
  if [[ -d $state ]]; then
    delete_state "$state"
    log "deleted $state"
  fi
  log "down in $(elapsed)"
}

(( EUID == 0 )) || die "must run as root"
case ${1:-} in
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  kill-member) cmd_kill_member "${2:?usage: $0 kill-member <member>}" ;;
  revive-member) cmd_revive_member "${2:?usage: $0 revive-member <member>}" ;;
  *) die "usage: $0 up|down|status|kill-member <member>|revive-member <member>" ;;
esac
