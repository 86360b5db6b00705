import { join } from 'node:path';
import { machineInfo } from './machine';
import { buildReport, formatReport, writeReport } from './report';
import { runBench } from './run';
import { benchSettings, signupsNeeded } from './settings';
import { type BenchTarget, findRunningStack, repoRoot, stackDataDir, startOwnStack } from './target';

const log = (line: string) => process.stdout.write(`bench | ${line}\n`);

/** `npm run bench`: measures a running stack (or one it starts), prints the table and writes the JSON. */
async function main(): Promise<void> {
  const began = Date.now();
  const settings = benchSettings();
  const machine = machineInfo();
  const dataDir = stackDataDir();
  const found = await findRunningStack(dataDir);
  let target: BenchTarget;
  if (found.target) {
    target = found.target;
    log(`using the ${target.description}`);
    log(
      `it will sign up ${signupsNeeded(settings)} users (auth allows AUTH_RATE_LIMIT_PER_IP, default 100, per 15 min;` +
        ' BENCH_GROWTH_TICKETS=0 skips the growth level and most of them) and leave its tickets and orders there',
    );
  } else {
    log(`no running stack (${found.reason}): starting one with startStack({ port: 0, dataDir: <temp> })`);
    const own = await startOwnStack({
      // Many sign-ups from 127.0.0.1; warn-level logs keep log shipping out of the figures.
      env: { AUTH_RATE_LIMIT_PER_IP: '1000000', LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' },
      readyTimeoutMs: 180_000,
      keepData: process.env.BENCH_KEEP_DATA === '1',
    });
    target = own;
    log(`${own.description}; ready after ${((Date.now() - began) / 1000).toFixed(1)} s`);
  }

  let stopping = false;
  const interrupted = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log(`${signal}: stopping`);
    void target.stop().finally(() => process.exit(130));
  };
  process.once('SIGINT', () => interrupted('SIGINT'));
  process.once('SIGTERM', () => interrupted('SIGTERM'));

  try {
    const measurements = await runBench(target, settings, machine, log);
    const report = buildReport(measurements);
    const file = writeReport(report, join(repoRoot, 'bench', 'results'));
    process.stdout.write(`\n${formatReport(report)}\n\n`);
    log(`results: ${file}`);
  } finally {
    if (target.mode === 'started') log('stopping the stack the bench started');
    await target.stop();
    log(
      `done in ${((Date.now() - began) / 1000).toFixed(0)} s (${target.mode === 'started' ? 'stack started and stopped by the bench' : 'running stack left running'})`,
    );
  }
}

main().catch((error: unknown) => {
  const e = error as Error & { code?: string };
  process.stderr.write(`npm run bench failed: ${e.code ? `[${e.code}] ` : ''}${e.message}\n`);
  process.exit(1);
});
