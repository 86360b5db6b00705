import { readFileSync } from 'node:fs';
import { availableParallelism, cpus, freemem, loadavg, platform, release, totalmem } from 'node:os';

/** The machine a run was taken on. */
export interface MachineInfo {
  /** Processing units available to this process (what `nproc` prints). */
  nproc: number;
  /** CPU model from /proc/cpuinfo (or the OS's report elsewhere). */
  cpuModel: string;
  /** Total memory, in GiB. */
  memoryTotalGiB: number;
  /** Free memory when the run started, in GiB. */
  memoryFreeGiB: number;
  /** 1/5/15-minute load averages when the run started (other work on a shared machine shows here). */
  loadAverage: number[];
  /** Node.js version. */
  node: string;
  /** OS and kernel. */
  os: string;
}

/** The first `model name` of a /proc/cpuinfo text, or undefined. */
export function cpuModelFrom(cpuinfo: string): string | undefined {
  const line = cpuinfo.split('\n').find((l) => /^model name\s*:/.test(l));
  return line?.slice(line.indexOf(':') + 1).trim() || undefined;
}

function gib(bytes: number): number {
  return Math.round((bytes / 1024 ** 3) * 10) / 10;
}

/** Describes this machine now. */
export function machineInfo(): MachineInfo {
  let cpuModel: string | undefined;
  try {
    cpuModel = cpuModelFrom(readFileSync('/proc/cpuinfo', 'utf8'));
  } catch {
    // Not Linux: the OS's own report below.
  }
  return {
    nproc: availableParallelism(),
    cpuModel: cpuModel ?? cpus()[0]?.model ?? 'unknown',
    memoryTotalGiB: gib(totalmem()),
    memoryFreeGiB: gib(freemem()),
    loadAverage: loadavg().map((value) => Math.round(value * 100) / 100),
    node: process.version,
    os: `${platform()} ${release()}`,
  };
}
