/**
 * The preview-time ownership check: which containers another stack owns, judged purely from what
 * `incus query` lists, and the one message that names them all.
 */
import { OWNER_KEY } from "../../components/incus/incusScripts";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { INCUS_SETUP_DOC, parseFailure } from "../../components/incus/incusReach";
import { BASH } from "../../components/incus/incusScripts";
import { NAME_PREFIX_WAY_OUT } from "../../stack/settings";
import {
  LIST_INSTANCES_SCRIPT,
  OwnershipError,
  checkedPlacement,
  ownerConflicts,
  ownershipMessage,
} from "../../components/incus/ownership";

const NAMES = ["twin-haproxy", "twin-backend-api-1", "twin-backend-api-2"];
const SELF = "veza-infra/twin";
const PLACEMENT = { remote: "", target: "", image: "veza-lab/bookworm", network: "vezabr0", storagePool: "veza" };

/** `incus query /1.0/instances?recursion=1` as Incus prints it, trimmed to what matters. */
const listing = (instances: Record<string, string | undefined>) =>
  JSON.stringify(
    Object.entries(instances).map(([name, owner]) => ({
      name,
      status: "Running",
      config: { "image.os": "debian", ...(owner === undefined ? {} : { [OWNER_KEY]: owner }) },
    })),
  );

describe("ownerConflicts", () => {
  test("a container of another stack is a conflict, with its owner", () => {
    expect(ownerConflicts(listing({ "twin-haproxy": "veza-infra/lab" }), NAMES, SELF)).toEqual([
      { container: "twin-haproxy", owner: "veza-infra/lab" },
    ]);
  });

  test("absent, unowned (no key or empty) and own containers are not: an interrupted up converges", () => {
    const json = listing({ "twin-haproxy": SELF, "twin-backend-api-1": undefined, "twin-backend-api-2": "" });
    expect(ownerConflicts(json, NAMES, SELF)).toEqual([]);
    expect(ownerConflicts("[]", NAMES, SELF)).toEqual([]);
  });

  test("only the stack's own names count; every conflict is listed, in the stack's order", () => {
    const json = listing({ "lab-haproxy": "veza-infra/lab", "twin-backend-api-2": "veza-infra/a", "twin-haproxy": "veza-infra/b" });
    expect(ownerConflicts(json, NAMES, SELF)).toEqual([
      { container: "twin-haproxy", owner: "veza-infra/b" },
      { container: "twin-backend-api-2", owner: "veza-infra/a" },
    ]);
  });

  test("the same project under another stack name is another owner", () => {
    expect(ownerConflicts(listing({ "twin-haproxy": "veza-infra/twin-2" }), NAMES, SELF)).toHaveLength(1);
  });

  test("when Incus cannot be reached, the check fails with the one message that says why and where to read", () => {
    const failed = 'veza: incus failed\n1\nnosuch\nError: The remote "nosuch" doesn\'t exist\n';
    expect(() => ownerConflicts(failed, NAMES, SELF)).toThrow(OwnershipError);
    expect(() => ownerConflicts(failed, NAMES, SELF)).toThrow(
      [
        'cannot list the Incus containers to check who owns them (incus query) on Incus remote "nosuch": unknown remote: the client has no remote of that name (incus remote list)',
        'incus said: Error: The remote "nosuch" doesn\'t exist',
        `How to give this machine access: ${INCUS_SETUP_DOC}`,
      ].join("\n"),
    );
    expect(() => ownerConflicts("{}", NAMES, SELF)).toThrow("could not list the Incus containers to check who owns them (incus query): {}");
  });
});

describe("the refusal", () => {
  const conflicts = [
    { container: "twin-haproxy", owner: "veza-infra/lab" },
    { container: "twin-backend-api-1", owner: "veza-infra/lab" },
  ];

  test("names each container and its owner, and the key that gets the stack out", () => {
    expect(ownershipMessage(conflicts, SELF, NAME_PREFIX_WAY_OUT)).toBe(
      [
        "stack veza-infra/twin would adopt containers another stack owns (Incus key user.veza.owner); nothing was changed:",
        "  - container twin-haproxy belongs to stack veza-infra/lab",
        "  - container twin-backend-api-1 belongs to stack veza-infra/lab",
        "Give this stack a veza-infra:namePrefix no other stack uses, e.g. pulumi config set veza-infra:namePrefix <prefix>-",
      ].join("\n"),
    );
  });

  test("checkedPlacement passes the placement through, or throws a RunError whose message and stack stay the message", () => {
    expect(checkedPlacement(listing({ "twin-haproxy": SELF }), PLACEMENT, NAMES, SELF)).toBe(PLACEMENT);
    let error: OwnershipError | undefined;
    try {
      checkedPlacement(listing({ "twin-haproxy": "veza-infra/lab" }), PLACEMENT, NAMES, SELF);
    } catch (e) {
      error = e as OwnershipError;
    }
    const message = ownershipMessage([{ container: "twin-haproxy", owner: "veza-infra/lab" }], SELF);
    expect(error).toBeInstanceOf(OwnershipError);
    expect((error as unknown as Record<string, unknown>).__pulumiRunError).toBe(true);
    // What Pulumi's serializer does to an input's error, once per resource.
    (error as Error).message = `error serializing property "environment": ${(error as Error).message}`;
    expect(error?.message).toBe(message);
    expect(error?.stack).toBe(message);
  });
});

describe("the list-instances script, with a stand-in incus first on PATH", () => {
  const bin = fs.mkdtempSync(path.join(os.tmpdir(), "veza-incus-"));
  afterAll(() => fs.rmSync(bin, { recursive: true, force: true }));

  /** Runs the script as the ownership check does, with `incus` doing `body`. */
  const list = (body: string, remote = "") => {
    fs.writeFileSync(path.join(bin, "incus"), `#!/bin/sh\n[ "$1 $2" = "remote get-default" ] && { echo veza-lab; exit 0; }\n${body}\n`, {
      mode: 0o755,
    });
    const [interpreter, ...flags] = BASH;
    return execFileSync(interpreter, [...flags, LIST_INSTANCES_SCRIPT], {
      encoding: "utf8",
      env: { PATH: `${bin}:${process.env.PATH}`, VEZA_REMOTE: remote, VEZA_TIMEOUT_SECONDS: "1" },
    });
  };

  test("passes Incus' answer through", () => expect(list("echo '[]'")).toBe("[]\n"));

  test("reports a refusal with its status, the remote tried (the client's default when none is set) and Incus' words", () => {
    expect(parseFailure(list("echo 'Error: not authorized' >&2; exit 1"))).toEqual({
      status: 1,
      remote: "veza-lab",
      output: "Error: not authorized\n",
    });
    expect(parseFailure(list("exit 1", "edge"))?.remote).toBe("edge");
  });

  test("gives up on a client that never returns, after VEZA_TIMEOUT_SECONDS", () => {
    expect(parseFailure(list("exec sleep 60"))?.status).toBe(124);
  });
});
