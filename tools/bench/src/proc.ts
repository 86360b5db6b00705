import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/** The fields of `/proc/<pid>/stat` the bench uses (proc(5)); times in clock ticks. */
export interface ProcStat {
  pid: number;
  /** The executable's name, without the parentheses. */
  comm: string;
  /** Parent process id. */
  ppid: number;
  /** CPU in user mode. */
  utime: number;
  /** CPU in kernel mode. */
  stime: number;
  /** user + kernel CPU of the children it has waited for (exited backends of the postmaster, say). */
  cutime: number;
  cstime: number;
}

/**
 * Parses one `/proc/<pid>/stat` line. The name is in parentheses and may itself hold spaces and parentheses,
 * so the fields are counted from the last `)`.
 */
export function parseProcStat(text: string): ProcStat {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) throw new Error(`not a /proc/<pid>/stat line: ${text.slice(0, 80)}`);
  // After ")": state(3) ppid(4) … utime(14) stime(15) cutime(16) cstime(17); rest[0] is field 3.
  const rest = text
    .slice(close + 2)
    .trim()
    .split(/\s+/);
  const field = (n: number) => Number(rest[n - 3]);
  return {
    pid: Number(text.slice(0, open).trim()),
    comm: text.slice(open + 1, close),
    ppid: field(4),
    utime: field(14),
    stime: field(15),
    cutime: field(16),
    cstime: field(17),
  };
}

/** The stat of a process, or undefined when there is no such process (any more). */
export function readProcStat(pid: number, proc = '/proc'): ProcStat | undefined {
  try {
    return parseProcStat(readFileSync(`${proc}/${pid}/stat`, 'utf8'));
  } catch {
    return undefined;
  }
}

/** Every process's stat, by pid (one pass over /proc, for finding children). */
export function readAllProcStats(proc = '/proc'): Map<number, ProcStat> {
  const stats = new Map<number, ProcStat>();
  for (const entry of readdirSync(proc)) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readProcStat(Number(entry), proc);
    if (stat) stats.set(stat.pid, stat);
  }
  return stats;
}

let ticks: number | undefined;

/** Clock ticks per second of /proc's times (`getconf CLK_TCK`; 100 on every Linux the bench has met). */
export function clockTicksPerSecond(): number {
  if (ticks === undefined) {
    try {
      ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticks = 100;
    }
  }
  return ticks;
}

/** CPU of one process (or its tree) at one moment. */
export interface CpuReading {
  /** CPU used so far, in ms; null when the process is gone (a restarted service has a new pid). */
  ms: number | null;
  /** Processes counted: 1, or the live members of the tree. */
  processes: number;
}

/**
 * CPU used so far by `pid`; with `tree`, by it and every live descendant, plus what the children it has waited
 * for used (`cutime` + `cstime`). For PostgreSQL's postmaster that is every backend, including those that ended
 * between two readings: a backend counted live at the first reading is, once reaped, in the postmaster's
 * `cutime` at the second, so the difference of two readings is the tree's CPU in between.
 */
export function processCpu(
  pid: number,
  options: { tree?: boolean; stats?: Map<number, ProcStat>; ticksPerSecond?: number } = {},
): CpuReading {
  const perTick = 1000 / (options.ticksPerSecond ?? clockTicksPerSecond());
  const root = options.stats?.get(pid) ?? readProcStat(pid);
  if (!root) return { ms: null, processes: 0 };
  if (!options.tree) return { ms: (root.utime + root.stime) * perTick, processes: 1 };
  const stats = options.stats ?? readAllProcStats();
  const children = new Map<number, ProcStat[]>();
  for (const stat of stats.values()) {
    const siblings = children.get(stat.ppid);
    if (siblings) siblings.push(stat);
    else children.set(stat.ppid, [stat]);
  }
  let ticksUsed = 0;
  let processes = 0;
  const visit = (stat: ProcStat) => {
    ticksUsed += stat.utime + stat.stime + stat.cutime + stat.cstime;
    processes++;
    for (const child of children.get(stat.pid) ?? []) visit(child);
  };
  visit(root);
  return { ms: ticksUsed * perTick, processes };
}
