// Reproduces the keep-alive race behind the lab tier's old ECONNRESET, against a running lab:
//   npx ts-node bench/keepAliveRace.ts http://10.77.0.200/api/v1/items [lagMs]
// CONNECTIONS keep-alive connections each send one request, STAGGER_MS apart. HAProxy closes a
// client connection idle for `timeout http-keep-alive`, or `timeout http-request` when that is not
// set (the project's template sets only the latter, 10 s). Just after the first of them has been
// idle that long, the event loop is blocked for lagMs (default 40: a busy host), then every
// connection is reused at once. A connection HAProxy closed during the lag is written to before the
// client has seen the close and gets a reset; one closed before it was seen and replaced, one
// closed after it was still open. With lagMs 0 none fails.
import * as fs from "fs";
import * as http from "http";
import * as path from "path";

/** HAProxy's idle close of a client connection, read from the template so it cannot drift from it. */
function haproxyIdleCloseMs(): number {
  const template = fs.readFileSync(path.join(__dirname, "..", "templates", "haproxy.cfg.mustache"), "utf8");
  const timeout = (name: string) => new RegExp(`^\\s*timeout ${name} (\\d+)(ms|s)$`, "m").exec(template);
  const found = timeout("http-keep-alive") ?? timeout("http-request");
  if (!found) throw new Error("templates/haproxy.cfg.mustache sets neither timeout http-keep-alive nor timeout http-request");
  return Number(found[1]) * (found[2] === "s" ? 1000 : 1);
}

const CONNECTIONS = 24;
const STAGGER_MS = 5;
const LAG_STARTS_AFTER_FIRST_CLOSE_MS = 20;

function get(url: string, agent: http.Agent): Promise<string> {
  return new Promise((resolve) => {
    const request = http.get(url, { agent }, (response) => {
      response.resume();
      response.on("end", () => resolve(String(response.statusCode)));
    });
    request.on("error", (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
}

async function main(): Promise<void> {
  const [url, lag = "40"] = process.argv.slice(2);
  if (!url) throw new Error("usage: npx ts-node bench/keepAliveRace.ts <url through HAProxy> [lagMs]");
  const idleCloseMs = haproxyIdleCloseMs();
  const connections: { agent: http.Agent; idleSince: number }[] = [];
  for (let i = 0; i < CONNECTIONS; i++) {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    await get(url, agent);
    connections.push({ agent, idleSince: Date.now() });
    await new Promise((resolve) => setTimeout(resolve, STAGGER_MS));
  }
  const lagStartsAt = connections[0].idleSince + idleCloseMs + LAG_STARTS_AFTER_FIRST_CLOSE_MS;
  await new Promise((resolve) => setTimeout(resolve, lagStartsAt - Date.now()));
  const lagEndsAt = Date.now() + Number(lag);
  while (Date.now() < lagEndsAt); // the lag: nothing else runs, so no close is seen
  const reusedAt = Date.now();
  const outcomes = await Promise.all(connections.map(({ agent }) => get(url, agent)));
  connections.forEach(({ agent }) => agent.destroy());
  console.log(connections.map(({ idleSince }, i) => `idle ${reusedAt - idleSince} ms: ${outcomes[i]}`).join(", "));
  const resets = outcomes.filter((outcome) => outcome !== "200").length;
  console.log(`${resets} of ${CONNECTIONS} reused connections failed with ${lag} ms of event-loop lag`);
}

main().catch((error: Error) => {
  console.error(error.message);
  process.exit(1);
});
