/**
 * The one message a preview fails with when Incus cannot be reached: what failed, told from the
 * exit status and what the incus 6.0 client printed in each case (captured on the lab host), and
 * the parsing of what the list-instances script prints instead of Incus' answer.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { INCUS_SETUP_DOC, checkIncusReachable, incusFailureMessage, parseFailure } from "../../components/incus/incusReach";

const PURPOSE = "list the Incus containers to check who owns them (incus query)";
const cause = (status: number, output: string) => incusFailureMessage(PURPOSE, { remote: "veza-lab", status, output }).split("\n")[0];

describe("incusFailureMessage", () => {
  test.each([
    ["no client on PATH (bash)", 127, "bash: line 1: incus: command not found", "no incus client on PATH"],
    ["no client on PATH (timeout)", 127, "timeout: failed to run command 'incus': No such file or directory", "no incus client on PATH"],
    ["a remote the client does not know", 1, 'Error: The remote "veza-lab" doesn\'t exist', "unknown remote"],
    ["a client certificate the server does not trust", 1, "Error: not authorized", "certificate refused"],
    [
      "a server certificate other than the pinned one",
      1,
      'Error: Get "https://127.0.0.1:8443/1.0": tls: failed to verify certificate: x509: certificate signed by unknown authority',
      "server certificate not trusted",
    ],
    [
      "nothing listening",
      1,
      'Error: Get "https://127.0.0.1:8449/1.0": Unable to connect to: 127.0.0.1:8449 ([dial tcp 127.0.0.1:8449: connect: connection refused])',
      "host unreachable",
    ],
    ["a host that never answers (timeout's status)", 124, "", "host unreachable: no answer within 20 s"],
    ["a client timeout had to kill", 137, "", "host unreachable: no answer within 20 s"],
    [
      "the local daemon, not running",
      1,
      "Error: The incus daemon doesn't appear to be started (socket path: /run/x)",
      "no Incus daemon on this machine",
    ],
  ])("%s", (_, status, output, expected) => {
    expect(cause(status, output)).toMatch(new RegExp(`^cannot .* on Incus remote "veza-lab": ${expected}`));
  });

  test("anything else is quoted with its exit status; every message names the remote, quotes Incus and points at the set-up", () => {
    const message = incusFailureMessage(PURPOSE, { remote: "", status: 3, output: "Error: something new\n" });
    expect(message).toBe(
      [
        `cannot ${PURPOSE} on the client's default remote: incus exited with status 3`,
        "incus said: Error: something new",
        `How to give this machine access: ${INCUS_SETUP_DOC}`,
      ].join("\n"),
    );
  });
});

test("parseFailure reads what PRINT_FAILURE prints, and nothing from Incus' own answer", () => {
  expect(parseFailure("veza: incus failed\n1\nveza-lab\nError: not authorized\n")).toEqual({
    status: 1,
    remote: "veza-lab",
    output: "Error: not authorized\n",
  });
  expect(parseFailure('[{"name":"lab-haproxy"}]\n')).toBeUndefined();
});

describe("checkIncusReachable, with a stand-in incus first on PATH", () => {
  const bin = fs.mkdtempSync(path.join(os.tmpdir(), "veza-incus-"));
  const path0 = process.env.PATH;
  beforeAll(() => (process.env.PATH = `${bin}:${path0}`));
  afterAll(() => {
    process.env.PATH = path0;
    fs.rmSync(bin, { recursive: true, force: true });
  });
  const incus = (body: string) =>
    fs.writeFileSync(path.join(bin, "incus"), `#!/bin/sh\n[ "$1 $2" = "remote get-default" ] && { echo veza-lab; exit 0; }\n${body}\n`, {
      mode: 0o755,
    });

  test("passes when the remote lists its instances", () => {
    incus('[ "$2" = "edge:/1.0/instances" ] && echo "[]"');
    expect(() => checkIncusReachable("edge")).not.toThrow();
  });

  test("fails with the one message otherwise, naming the default remote when the stack names none", () => {
    incus("echo 'Error: not authorized' >&2; exit 1");
    expect(() => checkIncusReachable("")).toThrow(
      'cannot list the instances (incus query) on Incus remote "veza-lab": certificate refused: the server does not trust this client\'s certificate',
    );
  });
});
