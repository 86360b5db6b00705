import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { ReplayProgress, ReplayReport, ReplayStart } from '@ticketing/common';
import { mongoUrlWithDatabase } from '@ticketing/testing';

/** The services that keep replicas of other services' aggregates (subscriptions declared with `replicate`). */
export const replayableServices = ['orders', 'payments'] as const;
export type ReplayableService = (typeof replayableServices)[number];

/** What the command line asks for. */
export interface ReplayArgs {
  service: ReplayableService;
  mode: 'check' | 'apply';
  start: ReplayStart;
}

/** A command line that cannot be run (exit 2, with the usage). */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export const usage =
  'usage: npm run replay -- <service> [--since <ISO time> | --from-seq <n>] [--check | --apply]\n' +
  `  service: ${replayableServices.join(' | ')}; --check (default) compares, --apply swaps the rebuilt replica in`;

export function parseArgs(argv: readonly string[]): ReplayArgs {
  let service: string | undefined;
  let mode: 'check' | 'apply' | undefined;
  let start: ReplayStart;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const value = () => {
      const next = argv[++i];
      if (next === undefined) throw new UsageError(`${arg} needs a value`);
      return next;
    };
    if (arg === '--check' || arg === '--apply') {
      const wanted = arg === '--check' ? 'check' : 'apply';
      if (mode && mode !== wanted) throw new UsageError('--check and --apply exclude each other');
      mode = wanted;
    } else if (arg === '--since' || arg === '--from-seq') {
      if (start) throw new UsageError('--since and --from-seq exclude each other');
      const text = value();
      if (arg === '--since') {
        const since = new Date(text);
        if (!/^\d{4}-\d{2}-\d{2}/.test(text) || Number.isNaN(since.getTime()))
          throw new UsageError(`--since: not an ISO time: ${text}`);
        start = { since };
      } else {
        if (!/^[1-9]\d*$/.test(text))
          throw new UsageError(`--from-seq: not a sequence number (1, 2, …): ${text}`);
        start = { fromSeq: Number(text) };
      }
    } else if (arg.startsWith('-')) {
      throw new UsageError(`unknown option ${arg}`);
    } else if (service) {
      throw new UsageError(`one service only (got ${service} and ${arg})`);
    } else {
      service = arg;
    }
  }
  if (!service) throw new UsageError('which service?');
  if (!(replayableServices as readonly string[]).includes(service))
    throw new UsageError(`${service} keeps no replica to replay (${replayableServices.join(', ')} do)`);
  return { service: service as ReplayableService, mode: mode ?? 'check', start };
}

/** The repository root (tools/replay/{src,dist}/ → ../../..). */
const repoRoot = resolve(__dirname, '..', '..', '..');

/**
 * Where the service's NATS and database are, as `npm run bench` finds the stack: `stack.json` in
 * `TICKETING_DATA_DIR` (or `<repo>/.data`) when it exists, else `NATS_URL` and `MONGO_URL` (the service's
 * own database).
 */
export function locateService(
  service: string,
  env: NodeJS.ProcessEnv,
): { NATS_URL: string; MONGO_URL: string } {
  const file = join(env.TICKETING_DATA_DIR ?? join(repoRoot, '.data'), 'stack.json');
  if (existsSync(file)) {
    const state = JSON.parse(readFileSync(file, 'utf8')) as {
      nats?: { url?: string };
      mongo?: { url?: string; databases?: Record<string, string> };
    };
    const database = state.mongo?.databases?.[service];
    if (!state.nats?.url || !state.mongo?.url || !database)
      throw new UsageError(`${file} names no NATS, Mongo or ${service} database`);
    return { NATS_URL: state.nats.url, MONGO_URL: mongoUrlWithDatabase(state.mongo.url, database) };
  }
  if (env.NATS_URL && env.MONGO_URL) return { NATS_URL: env.NATS_URL, MONGO_URL: env.MONGO_URL };
  throw new UsageError(`no running stack (${file}) and no NATS_URL + MONGO_URL`);
}

export function progressLine({ replayed, total, rate, etaSeconds }: ReplayProgress): string {
  const eta = Number.isFinite(etaSeconds) ? `${Math.ceil(etaSeconds)} s` : '?';
  return `replayed ${replayed}/${total} messages, ${rate.toFixed(0)}/s, ETA ${eta}`;
}

/** The summary printed at the end. */
export function summary(report: ReplayReport): string {
  const lines = [
    `${report.service}: ${report.replayed} messages replayed (${Object.entries(report.streams)
      .map(([stream, n]) => `${stream} ${n}`)
      .join(
        ', ',
      )}) in ${report.seconds.toFixed(1)} s; ${report.skipped} skipped, ${report.incomplete} aggregates with history before the start left out`,
  ];
  for (const store of report.stores) {
    lines.push(
      `  ${store.store}: live ${store.live}, rebuilt ${store.rebuilt}, ${store.differing === 0 ? 'identical' : `${store.differing} differ`}`,
    );
    for (const difference of store.firstDifferences) {
      lines.push(`    ${difference.id}`);
      lines.push(`      live:    ${JSON.stringify(difference.live)}`);
      lines.push(`      rebuilt: ${JSON.stringify(difference.rebuilt)}`);
    }
  }
  if (report.identical) lines.push('no difference');
  else if (report.applied) lines.push('the rebuilt replica replaced the live one; its listeners resumed');
  else lines.push('the live replica differs from the history');
  return lines.join('\n');
}

/** 0: identical or applied; 1: differs (check). */
export function exitCode(report: ReplayReport): 0 | 1 {
  return report.identical || report.applied ? 0 : 1;
}
