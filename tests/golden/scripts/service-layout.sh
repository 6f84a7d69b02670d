set -e
home=/opt/veza/$1 env=/etc/veza/$1.env
id -u "$2" >/dev/null 2>&1 || useradd --system --home-dir "$home" --no-create-home --shell /usr/sbin/nologin "$2"
install -d -m 0755 "$home" /etc/veza
install -d -m 0750 -o "$2" -g "$2" /var/log/veza
[ -e "$env" ] || install -m 0640 -g "$2" /dev/null "$env"
