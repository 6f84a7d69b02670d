import * as pulumi from "@pulumi/pulumi";

/**
 * Inputs of a {@link ShellCommand}; the same shape as `command.local.Command` of `@pulumi/command`,
 * whose provider plugin cannot be built from the Go module proxy reachable here (every version of
 * `github.com/pulumi/pulumi-command/provider` is refused), so the commands run through this Pulumi
 * dynamic provider instead, inside the real engine.
 */
export interface ShellCommandArgs {
  /** Bash script run on create, and on update when `update` is not set. Its stdout becomes `stdout`. */
  create: pulumi.Input<string>;
  /** Bash script run when any input but `triggers` changes; defaults to `create`. */
  update?: pulumi.Input<string>;
  /** Bash script run on delete. It must succeed when there is nothing left to delete. */
  delete?: pulumi.Input<string>;
  /** Values whose change replaces the resource: `delete`, then `create`. */
  triggers?: pulumi.Input<pulumi.Input<string>[]>;
}

interface ShellCommandState {
  create: string;
  update?: string;
  delete?: string;
  triggers?: string[];
  stdout: string;
}

/** Longest stderr tail kept in an error, so `pulumi up` shows the tool's own message but not a flood. */
const ERROR_TAIL_CHARS = 8000;

async function runBash(script: string): Promise<string> {
  // Imported here because the dynamic provider's code is serialized and run in another process.
  const { execFile } = await import("child_process");
  return new Promise((resolve, reject) => {
    const child = execFile(
      "bash",
      ["-c", `set -euo pipefail\n${script}`],
      { maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error) {
          const detail = (stderr || stdout || error.message).trim().slice(-ERROR_TAIL_CHARS);
          reject(new Error(`command failed (exit ${error.code ?? "?"}): ${detail}`));
        } else {
          resolve(stdout.trim());
        }
      },
    );
    // `incus launch` reads instance config from a stdin that is not a terminal: give it none.
    child.stdin?.end();
  });
}

const sameTriggers = (a: string[] | undefined, b: string[] | undefined): boolean =>
  JSON.stringify(a ?? []) === JSON.stringify(b ?? []);

/** The provider behind {@link ShellCommand}; exported for its unit tests. */
export const shellCommandProvider: pulumi.dynamic.ResourceProvider = {
  async create(inputs: ShellCommandState) {
    const stdout = await runBash(inputs.create);
    return { id: `cmd-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`, outs: { ...inputs, stdout } };
  },
  async diff(_id: string, olds: ShellCommandState, news: ShellCommandState) {
    const replaces = sameTriggers(olds.triggers, news.triggers) ? [] : ["triggers"];
    const changed = (["create", "update", "delete"] as const).filter((k) => olds[k] !== news[k]);
    return {
      changes: replaces.length > 0 || changed.length > 0,
      replaces,
      deleteBeforeReplace: true,
    };
  },
  async update(_id: string, _olds: ShellCommandState, news: ShellCommandState) {
    const stdout = await runBash(news.update ?? news.create);
    return { outs: { ...news, stdout } };
  },
  async delete(_id: string, props: ShellCommandState) {
    if (props.delete) await runBash(props.delete);
  },
};

/** A bash script run on the Pulumi host at create, update and delete; its trimmed stdout is an output. */
export class ShellCommand extends pulumi.dynamic.Resource {
  /** Trimmed standard output of the last create or update. */
  declare public readonly stdout: pulumi.Output<string>;

  constructor(name: string, args: ShellCommandArgs, opts?: pulumi.CustomResourceOptions) {
    super(shellCommandProvider, name, { ...args, stdout: undefined }, opts, "veza", "ShellCommand");
  }
}
