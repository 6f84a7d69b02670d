/**
 * The scripts that deploy a service into its container (bash on the Pulumi host, sh inside):
 * constant text, every value through the environment or quoted arguments.
 */
import { INSTALL_NEXT, WRITE_FILE } from "./incusScripts";
import { shellQuote } from "./shell";

/**
 * Inside the container, with arguments service and user: the seed's backend_api layout — system
 * user, /opt/veza/<service>, /etc/veza env dir (an existing env file is kept: it holds the
 * operator's secrets), /var/log/veza.
 */
export const LAYOUT = `set -e
home=/opt/veza/$1 env=/etc/veza/$1.env
id -u "$2" >/dev/null 2>&1 || useradd --system --home-dir "$home" --no-create-home --shell /usr/sbin/nologin "$2"
install -d -m 0755 "$home" /etc/veza
install -d -m 0750 -o "$2" -g "$2" /var/log/veza
[ -e "$env" ] || install -m 0640 -g "$2" /dev/null "$env"`;

/**
 * Inside the container, with arguments service, program file, port, health path and container
 * name: installs the pushed program and unit when they changed, restarts the service only then
 * (or when it is not running), and waits until it answers its health check, so HAProxy never
 * sees a new server before it serves and re-running the step on an unchanged container is
 * harmless. A daemon-reload costs about 0.1 CPU-second: only when the unit changed on disk
 * after systemd loaded it (a new unit is loaded fresh by `show`); enable's own is skipped.
 */
export const START_AND_WAIT = `set -e
unit=veza-$1
${INSTALL_NEXT}
install_next "/opt/veza/$1/$2"
install_next "/etc/systemd/system/$unit.service"
systemctl enable --quiet --no-reload "$unit"
[ "$(systemctl show -p NeedDaemonReload --value "$unit")" = no ] || systemctl daemon-reload
if $changed || ! systemctl is-active --quiet "$unit"; then systemctl restart "$unit"; fi
for _ in $(seq 1 300); do
  curl -fsS -o /dev/null --max-time 1 "http://127.0.0.1:$3$4" 2>/dev/null && exit 0
  sleep 0.1
done
journalctl -u "$unit" -n 20 --no-pager >&2 || true
echo "$unit in $5 did not answer $4 on port $3 within 30 s" >&2
exit 1`;

/**
 * The idempotent deploy of one service into its container: layout, program and hardened unit
 * pushed beside the live ones, then {@link START_AND_WAIT}. One `incus exec` (a round trip
 * through incusd) per step, not one per command: six deploys at once share the daemon and 2 cores.
 */
export const DEPLOY_SCRIPT = `home=/opt/veza/$VEZA_SERVICE
incus exec "$VEZA_REF" -- sh -c ${shellQuote(LAYOUT)} sh "$VEZA_SERVICE" "$VEZA_USER"
incus file push --mode 0755 "$VEZA_PROGRAM" "$VEZA_REF$home/$VEZA_PROGRAM_FILE.next" >&2
printf '%s' "$VEZA_UNIT" | incus exec "$VEZA_REF" -- sh -c ${shellQuote(WRITE_FILE)} sh "/etc/systemd/system/veza-$VEZA_SERVICE.service.next" 0644
incus exec "$VEZA_REF" -- sh -c ${shellQuote(START_AND_WAIT)} sh "$VEZA_SERVICE" "$VEZA_PROGRAM_FILE" "$VEZA_PORT" "$VEZA_HEALTH_PATH" "$VEZA_REF"`;
