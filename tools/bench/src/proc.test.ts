import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import {
  clockTicksPerSecond,
  type ProcStat,
  parseProcStat,
  processCpu,
  readAllProcStats,
  readProcStat,
} from './proc';

const stat = (pid: number, ppid: number, utime: number, stime: number, cutime = 0, cstime = 0): ProcStat => ({
  pid,
  comm: `p${pid}`,
  ppid,
  utime,
  stime,
  cutime,
  cstime,
});

/** A node child that burns `busyMs` of CPU, (optionally) spawns and reaps a busy child of its own, then idles. */
function busyChild(busyMs: number, grandchildBusyMs = 0): { child: ChildProcess; ready: Promise<void> } {
  // Until the process has used `ms` of CPU (not of wall time: a loaded machine gives it less).
  const burn = (ms: number) =>
    `for (let u = process.cpuUsage(); (u.user + u.system) / 1000 < ${ms}; u = process.cpuUsage()) {}`;
  const script = [
    burn(busyMs),
    grandchildBusyMs > 0
      ? `require('node:child_process').spawnSync(process.execPath, ['-e', ${JSON.stringify(burn(grandchildBusyMs))}]);`
      : '',
    "process.stdout.write('ready\\n'); setInterval(() => {}, 1000);",
  ].join('\n');
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const ready = new Promise<void>((resolve) => child.stdout!.once('data', () => resolve()));
  return { child, ready };
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGKILL');
  await exited;
}

describe('/proc/<pid>/stat', () => {
  it('parses the fields, even with spaces and parentheses in the name', () => {
    const line =
      '4205 (postgres: (a) b) S 4102 4205 4205 0 -1 4194560 1234 0 0 0 250 75 12 3 20 0 1 0 100 200000 3000 18446744073709551615';
    expect(parseProcStat(line)).toEqual({
      pid: 4205,
      comm: 'postgres: (a) b',
      ppid: 4102,
      utime: 250,
      stime: 75,
      cutime: 12,
      cstime: 3,
    });
    expect(() => parseProcStat('garbage')).toThrow('not a /proc/<pid>/stat line');
  });

  it('adds a tree: the root, its live descendants and what its reaped children used', () => {
    const stats = new Map(
      [
        stat(10, 1, 100, 50, 20, 5), // the postmaster: 20 + 5 ticks of exited backends
        stat(11, 10, 7, 3), // a backend
        stat(12, 10, 1, 1),
        stat(13, 12, 2, 0), // a grandchild
        stat(20, 1, 999, 999), // not in the tree
      ].map((s) => [s.pid, s]),
    );
    expect(processCpu(10, { tree: true, stats, ticksPerSecond: 100 })).toEqual({
      ms: (100 + 50 + 20 + 5 + 7 + 3 + 1 + 1 + 2) * 10,
      processes: 4,
    });
    expect(processCpu(10, { stats, ticksPerSecond: 100 })).toEqual({ ms: 1500, processes: 1 });
    expect(processCpu(99, { stats, ticksPerSecond: 100 })).toEqual({ ms: null, processes: 0 });
  });

  it('reads real processes: this one, a busy child, and a child that reaped a busy grandchild', async () => {
    expect(clockTicksPerSecond()).toBeGreaterThan(0);
    const own = readProcStat(process.pid)!;
    expect(own.ppid).toBe(process.ppid);
    expect(readAllProcStats().get(process.pid)?.pid).toBe(process.pid);

    const busy = busyChild(300);
    const parent = busyChild(0, 300);
    try {
      await Promise.all([busy.ready, parent.ready]);
      const busyMs = processCpu(busy.child.pid!).ms!;
      expect(busyMs).toBeGreaterThanOrEqual(250);
      // The grandchild ended before the parent said ready: only the tree (through cutime) has its CPU.
      const alone = processCpu(parent.child.pid!).ms!;
      const tree = processCpu(parent.child.pid!, { tree: true });
      expect(tree.ms! - alone).toBeGreaterThanOrEqual(250);
      expect(tree.processes).toBe(1);
    } finally {
      await stop(busy.child);
      await stop(parent.child);
    }
    expect(processCpu(busy.child.pid!).ms).toBeNull();
  });

  it('counts the live children of a real process tree', async () => {
    const shell = spawn('sh', ['-c', 'sleep 30 & sleep 30 & wait'], { stdio: 'ignore' });
    try {
      const deadline = Date.now() + 5000;
      let tree = processCpu(shell.pid!, { tree: true });
      while (tree.processes < 3 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        tree = processCpu(shell.pid!, { tree: true });
      }
      expect(tree.processes).toBe(3);
      expect(tree.ms).toBeGreaterThanOrEqual(0);
    } finally {
      // Killing the shell leaves its sleeps running: end them by pid.
      for (const s of readAllProcStats().values()) if (s.ppid === shell.pid) process.kill(s.pid, 'SIGKILL');
      await stop(shell);
    }
  });
});
