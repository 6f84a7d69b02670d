/**
 * The scripts that deploy a service into its container (bash on the Pulumi host, sh inside):
 * constant text, every value through the environment or quoted arguments.
 */
import { INSTALL_NEXT, WRITE_FILE } from "../incus/incusScripts";
import { shellQuote } from "../common/shell";

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
 * Inside the container, with arguments port, health path and seconds: waits until the service
 * answers its health check; on time-out, or as soon as systemd has restarted it three times (a
 * program that exits at start would otherwise hold the rollout for the whole time-out), prints the
 * journal's last lines, the evidence an operator reads first, and fails. The unit is in $unit.
 */
const WAIT_HEALTHY = `answered=false restarts=$(systemctl show -p NRestarts --value "$unit") crashes=0
for tick in $(seq 1 $(($3 * 10))); do
  if curl -fsS -o /dev/null --max-time 1 "http://127.0.0.1:$1$2" 2>/dev/null; then answered=true; break; fi
  if [ $((tick % 10)) = 0 ]; then
    crashes=$(($(systemctl show -p NRestarts --value "$unit") - restarts))
    [ "$crashes" -lt 3 ] || break
  fi
  sleep 0.1
done
if ! $answered; then
  # What the program itself printed (systemd's own lines about the unit say less).
  journalctl _SYSTEMD_UNIT="$unit.service" -n 5 --no-pager -o cat 2>/dev/null | sed 's/^/    journal: /' >&2 || true
  if [ "$crashes" -ge 3 ]; then echo "$unit exited $crashes times since it was started: it cannot start" >&2
  else echo "$unit did not answer $2 on port $1 within $3 s" >&2; fi
  exit 1
fi`;

/**
 * Inside the container, with arguments service, program file, port, health path and start
 * time-out in seconds. A service that serves (its unit is active, whatever program it runs) is
 * not touched: the program and unit pushed beside the live ones stay staged as FILE.next (an
 * identical one is dropped), and the fleet's rollout ({@link ROLL_INSTANCE}) swaps them in one
 * instance at a time, drained first. A service that does not serve (a new container, or one whose
 * service is down) has nothing to drain: it is installed, (re)started and waited for at once, so a
 * scale-out is not slowed by the rollout. A daemon-reload costs about 0.1 CPU-second: only when
 * the unit changed on disk after systemd loaded it (a new unit is loaded fresh by \`show\`).
 */
export const STAGE_OR_START = `set -e
unit=veza-$1
program=/opt/veza/$1/$2
unit_file=/etc/systemd/system/$unit.service
if systemctl is-active --quiet "$unit"; then
  for file in "$program" "$unit_file"; do if cmp -s "$file.next" "$file"; then rm -f "$file.next"; fi; done
  exit 0
fi
${INSTALL_NEXT}
install_next "$program"
install_next "$unit_file"
systemctl enable --quiet --no-reload "$unit"
[ "$(systemctl show -p NeedDaemonReload --value "$unit")" = no ] || systemctl daemon-reload
if $changed || ! systemctl is-active --quiet "$unit"; then systemctl restart "$unit"; fi
shift 2
${WAIT_HEALTHY}`;

/**
 * Inside the container, with arguments service, program file, port, health path, start time-out
 * in seconds and direction. \`forward\` swaps the staged release in (FILE.next over FILE, the file
 * that ran kept as FILE.previous; a file with nothing staged, or new, drops a stale .previous, so a
 * rollback never brings back an older unit than the one that ran: a program of another name, the
 * stand-in's, is left in place and the previous unit points at it again); \`back\` puts FILE.previous
 * back. Then one restart: systemd stops the old process with SIGTERM and waits for it to finish
 * its requests (TimeoutStopSec), starts the other, and the service must answer its health check
 * within the time-out. The instance is in maintenance on every HAProxy node meanwhile.
 */
export const ROLL_INSTANCE = `set -e
unit=veza-$1
program=/opt/veza/$1/$2
unit_file=/etc/systemd/system/$unit.service
for file in "$program" "$unit_file"; do
  if [ "$6" = back ]; then
    if [ -e "$file.previous" ]; then mv "$file.previous" "$file"; fi
  elif [ -e "$file.next" ]; then
    if [ -e "$file" ]; then cp -p "$file" "$file.previous"; else rm -f "$file.previous"; fi
    mv "$file.next" "$file"
  else
    rm -f "$file.previous"
  fi
done
systemctl daemon-reload
systemctl restart "$unit"
shift 2
${WAIT_HEALTHY}`;

/** Inside the container, with arguments service and program file: prints "staged" when a release waits as FILE.next. */
export const STAGED = `for file in "/opt/veza/$1/$2.next" "/etc/systemd/system/veza-$1.service.next"; do
  if [ -e "$file" ]; then echo staged; exit 0; fi
done`;

/**
 * The idempotent deploy of one service into its container: layout, program and hardened unit
 * pushed beside the live ones, then {@link STAGE_OR_START}. One `incus exec` (a round trip
 * through incusd) per step, not one per command: six deploys at once share the daemon and 2 cores.
 */
export const DEPLOY_SCRIPT = `home=/opt/veza/$VEZA_SERVICE
incus exec "$VEZA_REF" -- sh -c ${shellQuote(LAYOUT)} sh "$VEZA_SERVICE" "$VEZA_USER"
incus file push --quiet --mode 0755 "$VEZA_PROGRAM" "$VEZA_REF$home/$VEZA_PROGRAM_FILE.next" >&2
printf '%s' "$VEZA_UNIT" | incus exec "$VEZA_REF" -- sh -c ${shellQuote(WRITE_FILE)} sh "/etc/systemd/system/veza-$VEZA_SERVICE.service.next" 0644
incus exec "$VEZA_REF" -- sh -c ${shellQuote(STAGE_OR_START)} sh "$VEZA_SERVICE" "$VEZA_PROGRAM_FILE" "$VEZA_PORT" "$VEZA_HEALTH_PATH" "$VEZA_START_TIMEOUT"`;
