#!/usr/bin/env bash
# Gives this machine's incus client the stack's Incus as an HTTPS remote, and makes it the default
# remote: what a pull-request check's runner does before `npm run preview:pr` (docs/pr-checks.md).
# The client authenticates with a certificate the server trusts (restricted to the stack's
# project); the server's certificate is pinned, not accepted on first use.
#
#   VEZA_INCUS_REMOTE       remote name (the stack's veza-infra:incusRemote, or any name when that is empty)
#   VEZA_INCUS_URL          https://<host>:<port> of the Incus API (core.https_address)
#   VEZA_INCUS_SERVER_CERT  the server's certificate, PEM (`incus info` on the host: environment.certificate)
#   VEZA_INCUS_CLIENT_CERT  this client's certificate, PEM, trusted by the server
#   VEZA_INCUS_CLIENT_KEY   its key, PEM
#   VEZA_INCUS_PROJECT      the Incus project of the stack's containers (optional: else the server's default)
#
# Writes the client's config directory ($INCUS_CONF, else ~/.config/incus), replacing its
# config.yml: a runner starts with none.
set -euo pipefail
name=${VEZA_INCUS_REMOTE:?VEZA_INCUS_REMOTE (the remote name) is not set}
url=${VEZA_INCUS_URL:?VEZA_INCUS_URL (https://host:port of the Incus API) is not set}
for pem in VEZA_INCUS_SERVER_CERT VEZA_INCUS_CLIENT_CERT VEZA_INCUS_CLIENT_KEY; do
  [[ -n ${!pem:-} ]] || { echo "incus-remote: $pem is not set (docs/pr-checks.md)" >&2; exit 1; }
done
# Both go into config.yml as plain YAML scalars: nothing there may need quoting.
project=${VEZA_INCUS_PROJECT:-default}
name_pattern='^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$'
[[ $name =~ $name_pattern ]] || { echo "incus-remote: bad remote name: $name" >&2; exit 1; }
[[ $project =~ $name_pattern ]] || { echo "incus-remote: bad project name: $project" >&2; exit 1; }
url_pattern='^https://[][A-Za-z0-9.:-]+$' # a host name, an IPv4 or a [bracketed] IPv6 address, and a port
[[ $url =~ $url_pattern ]] || { echo "incus-remote: VEZA_INCUS_URL must be https://<host>:<port>, got: $url" >&2; exit 1; }

conf=${INCUS_CONF:-$HOME/.config/incus}
umask 077
mkdir -p "$conf/servercerts"
printf '%s\n' "$VEZA_INCUS_CLIENT_CERT" >"$conf/client.crt"
printf '%s\n' "$VEZA_INCUS_CLIENT_KEY" >"$conf/client.key"
printf '%s\n' "$VEZA_INCUS_SERVER_CERT" >"$conf/servercerts/$name.crt"
printf 'default-remote: %s\nremotes:\n  %s:\n    addr: %s\n    protocol: incus\n    auth_type: tls\n    project: %s\n    public: false\n' \
  "$name" "$name" "$url" "$project" >"$conf/config.yml"
echo "incus-remote: $name ($url, project $project) is the default remote of $conf"
