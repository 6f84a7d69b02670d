#!/usr/bin/env bash
# Prepares this machine as the Incus lab host of veza-infra. Idempotent: a run that finds
# everything in place changes nothing and prints only the elapsed time.
#
#   sudo bash scripts/lab-host.sh
#
# Steps (each prints one line when, and only when, it changes something):
#   1. Incus (bookworm-backports) and the host tools: debootstrap haproxy keepalived socat jq nftables btrfs-progs shellcheck.
#   2. A running Incus daemon (systemctl when systemd is PID 1, else incusd in the background).
#   3. Storage pool and bridge network the containers are launched on.
#   4. Forwarding rules for the bridge (bridged traffic allowed, routed traffic rejected).
#   5. The lab image, built with debootstrap once, cached, imported under a fixed alias.
#
# Environment (defaults match Pulumi.yaml):
#   VEZA_LAB_POOL=veza  VEZA_LAB_NETWORK=vezabr0
#   VEZA_LAB_IMAGE=veza-lab/bookworm  VEZA_LAB_MIRROR=http://deb.debian.org/debian
#   VEZA_LAB_INCUS_PACKAGES="incus-base incus-client" (container-only daemon; "incus" adds VM support)
#   VEZA_CACHE_DIR=~/.cache/veza-infra (the image cache is $VEZA_CACHE_DIR/image/<key>/)
set -euo pipefail

started_ns=$(date +%s%N)

pool=${VEZA_LAB_POOL:-veza}
network=${VEZA_LAB_NETWORK:-vezabr0}
# Fixed: the pair's segment arguments (veza-infra:vrrpSubnet, vrrpLeasedRange, vrrpGateway) default to
# these numbers, which components/incus/labNetwork.ts holds too (a unit test compares them). DHCP
# leases stop at .199; .200-.254 are for virtual IPs.
subnet=10.77.0.1/24
dhcp_ranges=10.77.0.2-10.77.0.199
image_alias=${VEZA_LAB_IMAGE:-veza-lab/bookworm}
mirror=${VEZA_LAB_MIRROR:-http://deb.debian.org/debian}
incus_packages=${VEZA_LAB_INCUS_PACKAGES:-incus-base incus-client}
cache_root=${VEZA_CACHE_DIR:-$HOME/.cache/veza-infra}/image
incusd_log=/var/log/veza-incusd.log

# ---- The lab image: the one place that says what is in it. ---------------------------------
# Bump image_build_version whenever build_image() changes what it produces.
image_build_version=4
image_suite=bookworm
image_packages=(
  systemd systemd-sysv systemd-resolved dbus   # init; systemd-networkd (in systemd) does DHCP on eth0
  udev                                          # Incus mounts /sys read-write, so networkd waits for udev
  haproxy socat nodejs                          # the load balancer and the lab stand-in services
  node-ws                                       # the stand-in's WebSocket library (/usr/share/nodejs/ws)
  keepalived                                    # the HAProxy pair's virtual IP (pulls libsnmp40, libperl5.36)
  iproute2 ca-certificates curl procps          # operations and tests
)

log() { printf 'lab-host: %s\n' "$*"; }
die() { printf 'lab-host: error: %s\n' "$*" >&2; exit 1; }

# Runs a command with its output captured; shows the output only if the command fails.
quiet() {
  local out rc=0
  out=$(mktemp)
  "$@" >"$out" 2>&1 || rc=$?
  if (( rc != 0 )); then
    printf 'lab-host: command failed (exit %d): %s\n' "$rc" "$*" >&2
    tail -n 40 "$out" >&2
  fi
  rm -f "$out"
  return "$rc"
}

(( EUID == 0 )) || die "must run as root"

# ---- 1. Packages ----------------------------------------------------------------------------
pkg_installed() { [[ $(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null) == installed ]]; }

backports_configured() {
  local f
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
    [[ -f $f ]] && grep -qE '^[^#]*[[:space:]]bookworm-backports([[:space:]]|$)' "$f" && return 0
  done
  return 1
}

apt_updated=no
apt_update() {
  if [[ $apt_updated == no ]]; then
    quiet apt-get update
    apt_updated=yes
  fi
}

if ! command -v incus >/dev/null || ! { [[ -x /usr/libexec/incus/incusd ]] || command -v incusd >/dev/null; }; then
  if ! backports_configured; then
    # Same deb822 style and keyring as /etc/apt/sources.list.d/debian.sources.
    cat >/etc/apt/sources.list.d/debian-backports.sources <<'EOF'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
    log "added bookworm-backports in /etc/apt/sources.list.d/debian-backports.sources"
  fi
  apt_update
  # shellcheck disable=SC2086 # word splitting of the package list is intended
  DEBIAN_FRONTEND=noninteractive quiet apt-get install -y --no-install-recommends \
    -t bookworm-backports $incus_packages dnsmasq-base
  log "installed $incus_packages from bookworm-backports ($(incus --version))"
fi

missing=()
for p in debootstrap haproxy keepalived socat jq nftables dnsmasq-base squashfs-tools uidmap btrfs-progs shellcheck; do
  pkg_installed "$p" || missing+=("$p")
done
if (( ${#missing[@]} )); then
  apt_update
  # Not -t bookworm-backports: the host's haproxy and keepalived, which check the rendered
  # configs, must be the same versions as the image's. With no keepalived.conf neither the
  # package's unit nor its init script starts a daemon on the host.
  DEBIAN_FRONTEND=noninteractive quiet apt-get install -y --no-install-recommends "${missing[@]}"
  log "installed ${missing[*]}"
fi

# ---- 2. Incus daemon ------------------------------------------------------------------------
incus_answers() { timeout 10 incus info >/dev/null 2>&1; }

if ! incus_answers; then
  if [[ -d /run/systemd/system ]]; then
    systemctl start incus
    how="systemctl start incus"
  else
    # What incus.service and the init scripts would otherwise have done for us.
    if ! mountpoint -q /sys/fs/cgroup; then
      mount -t cgroup2 cgroup2 /sys/fs/cgroup
      log "mounted cgroup2 on /sys/fs/cgroup"
    fi
    if grep -qs '^tmpfs /sys/fs/cgroup ' /proc/mounts && ! mountpoint -q /sys/fs/cgroup/systemd; then
      # cgroup v1 host without a name=systemd hierarchy: systemd in the containers needs one.
      mkdir -p /sys/fs/cgroup/systemd
      mount -t cgroup -o none,name=systemd cgroup /sys/fs/cgroup/systemd
      log "mounted the name=systemd cgroup hierarchy on /sys/fs/cgroup/systemd"
    fi
    for f in /etc/subuid /etc/subgid; do
      if ! grep -qs '^root:' "$f"; then
        echo 'root:1000000:1000000000' >>"$f"
        log "added root:1000000:1000000000 to $f (id range of unprivileged containers)"
      fi
    done
    # /etc/sysctl.d/10-incus-inotify.conf is not applied without systemd; all containers share
    # one uid range, so their systemd instances share one inotify budget.
    if (( $(sysctl -n fs.inotify.max_user_instances) < 1024 )); then
      sysctl -q -w fs.inotify.max_user_instances=1024
      log "set fs.inotify.max_user_instances=1024"
    fi
    mkdir -p /var/log/incus
    # No lxcfs: optional (containers see the host's /proc/meminfo and cpuinfo), and one daemon less.
    # The proxy variables point the daemon's only unsolicited outbound request (the daily
    # instance-types download) at a closed loopback port, so it never resolves or contacts a
    # public address; local image import and container operations do not use them.
    (
      ulimit -n "$(ulimit -Hn)"
      cd /
      exec setsid -f env PATH=/usr/libexec/incus:/usr/sbin:/usr/bin:/sbin:/bin \
        HTTPS_PROXY=http://127.0.0.1:9 HTTP_PROXY=http://127.0.0.1:9 NO_PROXY= \
        /usr/libexec/incus/incusd --group incus-admin </dev/null >>"$incusd_log" 2>&1
    )
    how="incusd in the background, log $incusd_log"
  fi
  incus admin waitready --timeout 60 || { tail -n 20 "$incusd_log" >&2 || true; die "incusd did not become ready"; }
  log "started the Incus daemon ($how, pid $(pgrep -o -x incusd || echo '?'))"
fi

# ---- 3. Storage pool and network ------------------------------------------------------------
# btrfs (on a loop file Incus sizes and manages) gives each container a snapshot of the unpacked
# image, so launches cost little and run side by side; on `dir` incusd copies the whole rootfs
# per container, one after the other (measured: 6 launches 3.0 s on btrfs, 7.8 s on dir).
if ! incus storage show "$pool" >/dev/null 2>&1; then
  if grep -qw btrfs /proc/filesystems && quiet incus storage create "$pool" btrfs; then
    log "created storage pool $pool (driver btrfs, loop file $(incus storage get "$pool" source))"
  else
    incus storage create "$pool" dir >/dev/null
    log "created storage pool $pool (driver dir: this kernel cannot mount btrfs here, launches are slower)"
  fi
elif [[ $(incus storage list --format json | jq -r --arg p "$pool" '.[] | select(.name == $p) | .driver') == dir ]] \
  && grep -qw btrfs /proc/filesystems; then
  log "note: storage pool $pool uses the dir driver; for faster launches: pulumi destroy, incus storage delete $pool, rerun"
fi

# ipv4.firewall=false: Incus' own rules for a non-routed bridge reject everything "forwarded"
# in or out of it, which with br_netfilter includes bridged container-to-container frames;
# step 4 installs equivalent rules that let bridged traffic through.
# raw.dnsmasq=no-resolv: the bridge's dnsmasq answers for <name>.incus only and never forwards
# a query to the host's upstream resolvers.
declare -A want=(
  [ipv4.address]=$subnet [ipv4.nat]=false [ipv4.routing]=false [ipv4.dhcp]=true [ipv4.dhcp.ranges]=$dhcp_ranges
  [ipv4.firewall]=false [ipv6.address]=none [raw.dnsmasq]=no-resolv
)
if ! incus network show "$network" >/dev/null 2>&1; then
  args=()
  for k in "${!want[@]}"; do args+=("$k=${want[$k]}"); done
  incus network create "$network" --type bridge "${args[@]}" >/dev/null
  log "created bridge network $network ($subnet, no NAT, no routing, no IPv6, DHCP $dhcp_ranges)"
else
  [[ $(incus network list --format json | jq -r --arg n "$network" '.[] | select(.name == $n) | "\(.managed) \(.type)"') == "true bridge" ]] \
    || die "network $network exists but is not a managed Incus bridge"
  changes=()
  for k in "${!want[@]}"; do
    [[ $(incus network get "$network" "$k") == "${want[$k]}" ]] || changes+=("$k=${want[$k]}")
  done
  if (( ${#changes[@]} )); then
    incus network set "$network" "${changes[@]}"
    log "updated network $network: ${changes[*]}"
  fi
fi

# The containers are launched with --storage/--network, which replace the profile's "root" and
# "eth0" devices; anything else in the default profile would still be added to them.
extra=$(incus query /1.0/profiles/default | jq -r '.devices | to_entries[]
  | select((.value.type == "nic" and .key != "eth0") or (.value.type == "disk" and .value.path == "/" and .key != "root"))
  | .key')
[[ -z $extra ]] || log "warning: default profile has devices that every container would also get: ${extra//$'\n'/ }"

# ---- 4. Forwarding rules for the bridge -----------------------------------------------------
# Our own nftables table (Incus never touches it): bridged frames pass, routed packets into or
# out of the bridge are rejected, whatever net.ipv4.ip_forward is.
nft_digest=$(printf '%s' "v1 $network" | sha256sum | cut -c1-12)
# (Outputs are captured before matching: with pipefail, `cmd | grep -q` fails when grep exits early.)
if [[ $(nft list chain inet veza_lab "fwd_$network" 2>/dev/null || true) != *"veza-lab:$nft_digest"* ]]; then
  nft -f - <<EOF
table inet veza_lab {}
add chain inet veza_lab fwd_$network { type filter hook forward priority filter; policy accept; }
flush chain inet veza_lab fwd_$network
add rule inet veza_lab fwd_$network iifname "$network" oifname "$network" counter accept comment "veza-lab:$nft_digest bridged"
add rule inet veza_lab fwd_$network iifname "$network" counter reject with icmpx admin-prohibited comment "veza-lab routed out"
add rule inet veza_lab fwd_$network oifname "$network" counter reject with icmpx admin-prohibited comment "veza-lab routed in"
EOF
  log "nftables: table inet veza_lab chain fwd_$network: accept $network->$network (bridged), reject other forwarding in/out of $network"
fi

# br_netfilter also hands bridged frames to the iptables FORWARD chain; Docker sets its policy
# to DROP. Accept exactly the frames that stay on our bridge, in DOCKER-USER when it exists.
if [[ $(sysctl -n net.bridge.bridge-nf-call-iptables 2>/dev/null || echo 0) == 1 ]]; then
  if command -v iptables >/dev/null; then
    chain=FORWARD
    iptables -S DOCKER-USER >/dev/null 2>&1 && chain=DOCKER-USER
    if { [[ $chain == DOCKER-USER ]] || [[ $'\n'$(iptables -S FORWARD)$'\n' == *$'\n-P FORWARD DROP\n'* ]]; } \
      && ! iptables -C "$chain" -i "$network" -o "$network" -m comment --comment veza-lab -j ACCEPT 2>/dev/null; then
      iptables -I "$chain" 1 -i "$network" -o "$network" -m comment --comment veza-lab -j ACCEPT
      log "iptables: inserted '-i $network -o $network -j ACCEPT' at the top of $chain (bridge-nf-call-iptables=1)"
    fi
  elif nft list chain ip filter FORWARD >/dev/null 2>&1 \
    && [[ $(nft list chain ip filter FORWARD) != *'comment "veza-lab"'* ]]; then
    nft insert rule ip filter FORWARD iifname "$network" oifname "$network" counter accept comment '"veza-lab"'
    log "nftables: inserted 'iifname $network oifname $network accept' at the top of ip filter FORWARD (bridge-nf-call-iptables=1)"
  fi
fi

# ---- 5. Lab image ---------------------------------------------------------------------------
image_key=$( { echo "version=$image_build_version suite=$image_suite"; printf '%s\n' "${image_packages[@]}" | sort; } \
  | sha256sum | cut -d' ' -f1)
image_dir=$cache_root/$image_key

build_image() {
  local work rootfs
  mkdir -p "$cache_root"
  work=$(mktemp -d "$cache_root/build.XXXXXX")
  rootfs=$work/rootfs
  # shellcheck disable=SC2064 # expand now: $work is local
  trap "umount -q '$rootfs/proc' 2>/dev/null || true; rm -rf '$work'" EXIT

  debootstrap --variant=minbase --components=main \
    --include="$(IFS=,; echo "${image_packages[*]}")" "$image_suite" "$rootfs" "$mirror"

  # Security and point-release updates, then no apt state left behind.
  rm -f "$rootfs/etc/apt/sources.list"
  cat >"$rootfs/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $mirror
Suites: $image_suite $image_suite-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: $image_suite-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  printf '#!/bin/sh\nexit 101\n' >"$rootfs/usr/sbin/policy-rc.d"
  chmod 755 "$rootfs/usr/sbin/policy-rc.d"
  rm -f "$rootfs/etc/resolv.conf"
  cp /etc/resolv.conf "$rootfs/etc/resolv.conf"
  mount -t proc proc "$rootfs/proc"
  chroot "$rootfs" apt-get update
  DEBIAN_FRONTEND=noninteractive chroot "$rootfs" apt-get -y dist-upgrade
  chroot "$rootfs" apt-get clean
  umount "$rootfs/proc"
  rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs/usr/sbin/policy-rc.d" "$rootfs"/var/cache/debconf/*-old

  # DHCP on eth0 (systemd-networkd; a MAC client id so identical images never share a lease),
  # name resolution through the bridge's dnsmasq (systemd-resolved, no fallback servers).
  cat >"$rootfs/etc/systemd/network/10-eth0.network" <<'EOF'
[Match]
Name=eth0

[Network]
DHCP=ipv4
LinkLocalAddressing=no
IPv6AcceptRA=no

[DHCPv4]
ClientIdentifier=mac
UseDomains=yes
UseHostname=no
EOF
  mkdir -p "$rootfs/etc/systemd/resolved.conf.d"
  cat >"$rootfs/etc/systemd/resolved.conf.d/veza-lab.conf" <<'EOF'
[Resolve]
FallbackDNS=
LLMNR=no
MulticastDNS=no
EOF
  ln -sf ../run/systemd/resolve/stub-resolv.conf "$rootfs/etc/resolv.conf"
  chroot "$rootfs" systemctl enable systemd-networkd.service systemd-resolved.service
  # Nothing in a lab container may try to reach the internet on a timer. The rest only cost each
  # boot CPU (measured: 0.55 -> 0.41 CPU-seconds per container, which counts when six boot at
  # once on 2 cores): no logins, no kernel modules, nothing waits for network-online, no console.
  for unit in apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer e2scrub_reap.service \
    systemd-logind.service modprobe@.service systemd-networkd-wait-online.service console-getty.service; do
    [[ -e $rootfs/lib/systemd/system/$unit ]] && chroot "$rootfs" systemctl mask "$unit"
  done
  # HAProxy and keepalived run in the load balancers' containers only; HaproxyNode enables them there.
  chroot "$rootfs" systemctl disable haproxy.service keepalived.service
  # Per-container identity: machine-id is generated on first boot, hostname from Incus.
  : >"$rootfs/etc/machine-id"
  rm -f "$rootfs/var/lib/dbus/machine-id"
  echo localhost >"$rootfs/etc/hostname"

  mkdir -p "$work/meta/templates"
  cat >"$work/meta/metadata.yaml" <<EOF
architecture: x86_64
creation_date: $(date +%s)
properties:
  description: Veza lab Debian $image_suite ($image_key)
  os: debian
  release: $image_suite
  architecture: amd64
  variant: veza-lab
templates:
  /etc/hostname:
    when: [create, copy]
    template: hostname.tpl
  /etc/hosts:
    when: [create, copy]
    template: hosts.tpl
EOF
  echo '{{ instance.name }}' >"$work/meta/templates/hostname.tpl"
  cat >"$work/meta/templates/hosts.tpl" <<'EOF'
127.0.0.1	localhost
127.0.1.1	{{ instance.name }}
::1	localhost ip6-localhost ip6-loopback
ff02::1	ip6-allnodes
ff02::2	ip6-allrouters
EOF
  tar -C "$work/meta" -czf "$work/metadata.tar.gz" metadata.yaml templates
  mksquashfs "$rootfs" "$work/rootfs.squashfs" -noappend -comp gzip -no-progress
  # The fingerprint Incus gives a split image: sha256 of the metadata tarball then the rootfs.
  cat "$work/metadata.tar.gz" "$work/rootfs.squashfs" | sha256sum | cut -d' ' -f1 >"$work/fingerprint"

  mkdir -p "$work/out"
  mv "$work/metadata.tar.gz" "$work/rootfs.squashfs" "$work/fingerprint" "$work/out/"
  rm -rf "$image_dir"
  mv "$work/out" "$image_dir"
  rm -rf "$work"
  trap - EXIT
}

if [[ ! -s $image_dir/fingerprint ]]; then
  build_started=$(date +%s)
  mkdir -p "$cache_root"
  # In the background and waited for, so that errexit stays in force inside build_image.
  (build_image) >"$cache_root/build-$image_key.log" 2>&1 &
  if ! wait $!; then
    tail -n 40 "$cache_root/build-$image_key.log" >&2
    die "image build failed, full log in $cache_root/build-$image_key.log"
  fi
  log "built lab image in $(( $(date +%s) - build_started ))s: $image_dir ($(du -sh "$image_dir" | cut -f1))"
fi

fingerprint=$(<"$image_dir/fingerprint")
current=$(incus image alias list --format json | jq -r --arg a "$image_alias" '.[] | select(.name == $a) | .target')
if [[ $current != "$fingerprint" ]]; then
  if ! incus image show "$fingerprint" >/dev/null 2>&1; then
    quiet incus image import "$image_dir/metadata.tar.gz" "$image_dir/rootfs.squashfs"
  fi
  if [[ -n $current ]]; then
    incus image alias delete "$image_alias"
    # The replaced image is no longer referenced by the alias; containers made from it keep
    # their own copy of the root file system.
    if [[ $(incus image list --format json | jq -r --arg f "$current" '.[] | select(.fingerprint == $f) | .aliases | length') == 0 ]]; then
      incus image delete "$current"
    fi
  fi
  incus image alias create "$image_alias" "$fingerprint" >/dev/null
  log "image alias $image_alias -> ${fingerprint:0:12}${current:+ (was ${current:0:12})}"
fi

elapsed_ms=$(( ($(date +%s%N) - started_ns) / 1000000 ))
log "$(printf 'ready in %d.%03ds' $((elapsed_ms / 1000)) $((elapsed_ms % 1000)))"
