import { spawnSync } from "child_process";
import * as pulumi from "@pulumi/pulumi";

/**
 * Why a read-only `incus` call of a preview failed, as one message: the remote it tried, what
 * failed, and where the set-up is documented. A pull-request check runs on a machine that is not
 * the Incus host, where each failure is a set-up step missed (docs/pr-checks.md), and Incus'
 * own words ("not authorized") do not say which.
 */

/**
 * Longest a read-only `incus` call of a preview may take, in seconds. Incus answers one in well
 * under a second; a host that takes the connection and never answers (a firewall, a stopped VM)
 * holds the client forever (tried: still waiting after 40 s), and the preview with it.
 */
export const INCUS_TIMEOUT_SECONDS = 20;

/** Where the set-up of a machine that reaches Incus over HTTPS is described. */
export const INCUS_SETUP_DOC = 'README.md, "Pull-request checks on another machine" (docs/pr-checks.md)';

/** An `incus` call that failed: the remote it used ("" when the client's default is unknown), its exit status and output. */
export interface IncusFailure {
  remote: string;
  status: number;
  output: string;
  /** How long it was given, when not {@link INCUS_TIMEOUT_SECONDS}. */
  limitSeconds?: number;
}

/** The client's default remote, which a call with no `remote:` goes to; "" when there is no client to ask. */
export function defaultRemote(): string {
  return (spawnSync("incus", ["remote", "get-default"], { encoding: "utf8", env: process.env }).stdout ?? "").trim();
}

/** `timeout`'s exit status when the time ran out (124), or when it had to kill the client (137). */
const TIMED_OUT = [124, 137];
/** The shell's, or `timeout`'s, exit status for a program it could not find. */
const NOT_FOUND = 127;

/** What failed, tried in order against the exit status and Incus' output. */
const CAUSES: { matches: (failure: IncusFailure) => boolean; cause: (failure: IncusFailure) => string }[] = [
  {
    matches: (f) => f.status === NOT_FOUND,
    cause: () => "no incus client on PATH: install it (the incus-client package)",
  },
  {
    matches: (f) => /The remote "[^"]*" doesn't exist/.test(f.output),
    cause: () => "unknown remote: the client has no remote of that name (incus remote list)",
  },
  {
    matches: (f) => /not authorized|forbidden/i.test(f.output),
    cause: () => "certificate refused: the server does not trust this client's certificate, or restricts it to other projects",
  },
  {
    matches: (f) => /x509:|tls: /.test(f.output),
    cause: () => "server certificate not trusted: it is not the one this client pinned for the remote (servercerts/<remote>.crt)",
  },
  {
    matches: (f) => TIMED_OUT.includes(f.status),
    cause: (f) => `host unreachable: no answer within ${f.limitSeconds ?? INCUS_TIMEOUT_SECONDS} s`,
  },
  {
    matches: (f) =>
      /Unable to connect|connection refused|no route to host|network is unreachable|no such host|i\/o timeout/i.test(f.output),
    cause: () => "host unreachable",
  },
  {
    matches: (f) => /daemon doesn't appear to be started/.test(f.output),
    cause: () => "no Incus daemon on this machine (the remote is its unix socket)",
  },
];

/** The one message for a failed `incus` call made to `purpose` (e.g. "list the containers (incus query)"). */
export function incusFailureMessage(purpose: string, failure: IncusFailure): string {
  const found = CAUSES.find(({ matches }) => matches(failure));
  const remote = failure.remote === "" ? "the client's default remote" : `Incus remote "${failure.remote}"`;
  const said = failure.output.trim().slice(0, 500);
  return [
    `cannot ${purpose} on ${remote}: ${found ? found.cause(failure) : `incus exited with status ${failure.status}`}`,
    ...(said ? [`incus said: ${said}`] : []),
    `How to give this machine access: ${INCUS_SETUP_DOC}`,
  ].join("\n");
}

/** The first line a script prints instead of Incus' answer when the call failed; then its status, the remote and the output. */
export const FAILURE_MARKER = "veza: incus failed";

/**
 * Bash, after `out=$(timeout … incus … 2>&1)` failed with status `$?` in `status`: prints
 * {@link FAILURE_MARKER}, the status, the remote tried (VEZA_REMOTE, else the client's default)
 * and the output, one per line, for {@link parseFailure}. Needs VEZA_REMOTE, status and out.
 */
export const PRINT_FAILURE = `printf '%s\\n' '${FAILURE_MARKER}' "$status" "\${VEZA_REMOTE:-$(incus remote get-default 2>/dev/null || true)}" "$out"`;

/** The failure a script printed with {@link PRINT_FAILURE}, or undefined when it printed Incus' answer. */
export function parseFailure(text: string): IncusFailure | undefined {
  const [marker, status, remote, ...output] = text.split("\n");
  if (marker !== FAILURE_MARKER) return undefined;
  return { status: Number(status), remote, output: output.join("\n") };
}

/**
 * Fails the program with the one message of {@link incusFailureMessage} unless `remote` (the
 * client's default when empty) lists its instances to this client within INCUS_TIMEOUT_SECONDS.
 * Synchronous and first: every later Incus call of the program (the live-state probe, the
 * ownership check) would fail too, each in its own words, and the operator would read several.
 */
export function checkIncusReachable(remote: string): void {
  const listed = spawnSync(
    "timeout",
    ["-k", "5", String(INCUS_TIMEOUT_SECONDS), "incus", "query", `${remote ? `${remote}:` : ""}/1.0/instances`],
    // process.env as this module sees it: a jest sandbox's is not the one child_process passes on.
    { encoding: "utf8", env: process.env },
  );
  if (listed.status === 0) return;
  throw new pulumi.RunError(
    incusFailureMessage("list the instances (incus query)", {
      remote: remote || defaultRemote(),
      status: listed.status ?? 124,
      output: listed.stderr ?? "",
    }),
  );
}
