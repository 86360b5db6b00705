import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import type { PrefixedLog } from './log';

/** Options of {@link SupervisedProcess}. */
export interface SupervisedProcessOptions {
  /** Name in logs. */
  name: string;
  /** Executable. */
  command: string;
  /** Arguments. */
  args: string[];
  /** Full environment of the child. */
  env: NodeJS.ProcessEnv;
  /** Working directory. */
  cwd?: string;
  /** Run as this user id and group id (a root stack runs PostgreSQL as `postgres`: it refuses root). */
  user?: { uid: number; gid: number };
  /** Where its output goes. */
  log: PrefixedLog;
  /** First restart delay after a crash, in ms (default 500); doubles up to `maxRestartDelayMs`. */
  restartDelayMs?: number;
  /** Longest restart delay, in ms (default 15000). */
  maxRestartDelayMs?: number;
  /** Time up after which the restart delay resets, in ms (default 30000). */
  stableAfterMs?: number;
  /** How long stop() waits after SIGTERM before SIGKILL, in ms (default 10000). */
  stopTimeoutMs?: number;
  /** Called with the new pid each time the process (re)starts. */
  onStart?: (pid: number) => void;
}

const running = new Set<ChildProcess>();
// Last resort when the stack itself ends abruptly: no child is left holding its port.
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/**
 * A child process that is restarted with back-off whenever it exits without being asked to. It runs in its own
 * process group, so a Ctrl-C reaches only the supervisor, which then stops everything in order.
 */
export class SupervisedProcess {
  private child: ChildProcess | undefined;
  private stopping = false;
  private failures = 0;
  private restartTimer: NodeJS.Timeout | undefined;
  /** How many times it was restarted after a crash. */
  restarts = 0;

  constructor(private readonly options: SupervisedProcessOptions) {}

  /** The current pid, if running. */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Starts the process (and keeps it running until stop()). */
  start(): void {
    this.stopping = false;
    this.spawnChild();
  }

  private spawnChild(): void {
    const { name, log } = this.options;
    const startedAt = Date.now();
    const child = spawn(this.options.command, this.options.args, {
      env: this.options.env,
      cwd: this.options.cwd,
      uid: this.options.user?.uid,
      gid: this.options.user?.gid,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    this.child = child;
    running.add(child);
    if (child.stdout) log.follow(child.stdout);
    if (child.stderr) log.follow(child.stderr);
    if (child.pid) this.options.onStart?.(child.pid);
    child.once('exit', (code, signal) => {
      running.delete(child);
      if (this.child === child) this.child = undefined;
      if (this.stopping) return;
      if (Date.now() - startedAt > (this.options.stableAfterMs ?? 30_000)) this.failures = 0;
      this.failures++;
      const delay = Math.min(
        (this.options.restartDelayMs ?? 500) * 2 ** (this.failures - 1),
        this.options.maxRestartDelayMs ?? 15_000,
      );
      log.line(`${name} exited (${signal ?? `code ${code}`}); restarting in ${delay} ms`);
      this.restartTimer = setTimeout(() => {
        this.restartTimer = undefined;
        this.restarts++;
        this.spawnChild();
      }, delay);
    });
  }

  /** Sends a signal to the running process (fault tests: SIGKILL); the supervisor restarts it. */
  kill(signal: NodeJS.Signals): void {
    this.child?.kill(signal);
  }

  /**
   * Stops until the next start(): SIGTERM (graceful shutdown), SIGKILL after the timeout; `SIGKILL` at once is a
   * crash that is not followed by a restart (fault tests).
   */
  async stop(signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<void> {
    this.stopping = true;
    clearTimeout(this.restartTimer);
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), this.options.stopTimeoutMs ?? 10_000);
    await exited;
    clearTimeout(timer);
  }
}
