import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';
import { findNatsServer, NatsServerNotFoundError, toolsCacheDir } from '@ticketing/testing';
import { PrefixedLog } from './log';
import { repoRoot } from './paths';

/** The programs the stack can build when it cannot find them: its servers, the nats CLI and Jaeger (optional). */
export const stackTools = ['nats-server', 'stripe-mock', 'ferretdb', 'nats', 'jaeger'] as const;
/** One of {@link stackTools}. */
export type StackTool = (typeof stackTools)[number];

/** The recipe that builds them, the same one CI runs (one implementation, not two). */
export const installScript = join(repoRoot, '.ci', 'install-tools.sh');

/** A tool was missing and building it failed; the message carries the end of the build's output. */
export class ToolBuildError extends Error {
  override readonly name = 'ToolBuildError';
  readonly code = 'TOOL_BUILD_FAILED';

  constructor(
    readonly tool: string,
    message: string,
  ) {
    super(message);
  }
}

/** Runs the recipe for some tools; resolves when they are built (or were already), rejects otherwise. */
export type ToolInstaller = (tools: StackTool[], log: PrefixedLog) => Promise<void>;

/** Where the recipe puts the tools: `<tools cache>/bin` (`TICKETING_TOOLS_DIR`, else ~/.cache/ticketing-tools). */
export function toolsBinDir(): string {
  return join(toolsCacheDir(), 'bin');
}

/** Whether `file` exists and this process may run it. */
export function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** `name` on PATH outside the tools cache: one the user installed, used as it is. */
function userInstalled(name: string): string | undefined {
  const cache = resolve(toolsBinDir());
  return (process.env.PATH ?? '')
    .split(delimiter)
    .filter((dir) => dir && resolve(dir) !== cache)
    .map((dir) => join(dir, name))
    .find(isExecutable);
}

/**
 * Runs `.ci/install-tools.sh <tools...>` into the tools cache, each line of its output on `log` (one per tool:
 * cached, rebuilt, built in Ns; then Go's own progress while it downloads and builds).
 */
export const runInstallScript: ToolInstaller = (tools, log) =>
  new Promise((resolveRun, reject) => {
    const child = spawn('bash', [installScript, ...tools], {
      env: { ...process.env, TICKETING_TOOLS_DIR: toolsCacheDir() },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let tail: string[] = [];
    const remember = (stream: NodeJS.ReadableStream) => {
      stream.setEncoding('utf8');
      let partial = '';
      stream.on('data', (chunk: string) => {
        const lines = (partial + chunk).split('\n');
        partial = lines.pop() ?? '';
        for (const line of lines) {
          log.line(line);
          tail = [...tail, line].slice(-15);
        }
      });
    };
    remember(child.stdout);
    remember(child.stderr);
    child.once('error', (error) =>
      reject(new ToolBuildError(tools.join(' '), `cannot run ${installScript}: ${error.message}`)),
    );
    child.once('exit', (code) => {
      if (code === 0) resolveRun();
      else {
        reject(
          new ToolBuildError(
            tools.join(' '),
            `bash .ci/install-tools.sh ${tools.join(' ')} failed (exit ${code}):\n${tail.join('\n')}`,
          ),
        );
      }
    });
  });

/** Options of {@link ToolResolver}. */
export interface ToolResolverOptions {
  /** How missing tools are built (default {@link runInstallScript}). */
  install?: ToolInstaller;
  /** Where progress lines go (default a `tools` prefix on stdout). */
  log?: PrefixedLog;
}

/**
 * Finds the tools the stack runs, building what is missing with the recipe CI uses. One build at a time (the
 * stack asks for several at once), each tool resolved once per process, failures included.
 */
export class ToolResolver {
  private readonly install: ToolInstaller;
  private readonly log: PrefixedLog;
  private readonly resolved = new Map<StackTool, Promise<string>>();
  private queue: Promise<unknown> = Promise.resolve();

  constructor(options: ToolResolverOptions = {}) {
    this.install = options.install ?? runInstallScript;
    this.log = options.log ?? new PrefixedLog('tools');
  }

  /**
   * The path of `tool`: the user's own on PATH, else the tools cache's, built (or rebuilt when it is not the
   * pinned version) by the recipe. nats-server also takes `NATS_SERVER_BIN` and the verified download first.
   */
  resolve(tool: StackTool): Promise<string> {
    let found = this.resolved.get(tool);
    if (!found) {
      found = tool === 'nats-server' ? this.natsServer() : this.fromCache(tool);
      this.resolved.set(tool, found);
    }
    return found;
  }

  /** Like {@link resolve}, for a tool the stack can do without: undefined (and a line saying why) when it fails. */
  async optional(tool: StackTool, why: string): Promise<string | undefined> {
    try {
      return await this.resolve(tool);
    } catch (error) {
      this.log.line(`${tool} is not available (${why}): ${(error as Error).message.split('\n')[0]}`);
      return undefined;
    }
  }

  /**
   * The path of `tool` if it is there already (the user's on PATH, else the tools cache's), never building it:
   * for what the stack uses only when present (Jaeger, whose build takes many minutes).
   */
  present(tool: StackTool): string | undefined {
    const cached = join(toolsBinDir(), tool);
    return userInstalled(tool) ?? (isExecutable(cached) ? cached : undefined);
  }

  private async natsServer(): Promise<string> {
    try {
      return await findNatsServer();
    } catch (error) {
      // A checksum mismatch is not "missing": building over it would hide a tampered download.
      if (!(error instanceof NatsServerNotFoundError) || process.env.NATS_SERVER_BIN) throw error;
      this.log.line(
        `nats-server: not installed and the download failed (${downloadReason(error)}); building it`,
      );
      return this.build('nats-server');
    }
  }

  private async fromCache(tool: StackTool): Promise<string> {
    return userInstalled(tool) ?? this.build(tool);
  }

  private build(tool: StackTool): Promise<string> {
    const run = this.queue.then(async () => {
      await this.install([tool], this.log);
      const binary = join(toolsBinDir(), tool);
      if (!isExecutable(binary)) {
        throw new ToolBuildError(tool, `bash .ci/install-tools.sh ${tool} succeeded but left no ${binary}`);
      }
      return binary;
    });
    this.queue = run.catch(() => undefined);
    return run;
  }
}

function downloadReason(error: Error): string {
  const cause = (error as { cause?: unknown }).cause;
  return cause instanceof Error ? cause.message : error.message;
}

let shared: ToolResolver | undefined;

/** The resolver of this process (the stack's pieces share it, so they build one tool at a time). */
export function stackToolResolver(): ToolResolver {
  shared ??= new ToolResolver();
  return shared;
}
