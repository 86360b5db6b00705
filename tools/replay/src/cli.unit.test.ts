import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ReplayReport } from '@ticketing/common';
import { exitCode, locateService, parseArgs, progressLine, summary, UsageError } from './cli';

describe('parseArgs', () => {
  it('reads a service, a mode (check by default) and a start', () => {
    expect(parseArgs(['orders'])).toEqual({ service: 'orders', mode: 'check', start: undefined });
    expect(parseArgs(['payments', '--apply', '--from-seq', '42'])).toEqual({
      service: 'payments',
      mode: 'apply',
      start: { fromSeq: 42 },
    });
    expect(parseArgs(['--since', '2026-12-01T10:00:00Z', 'orders', '--check'])).toEqual({
      service: 'orders',
      mode: 'check',
      start: { since: new Date('2026-12-01T10:00:00Z') },
    });
  });

  it.each([
    [[], /which service/],
    [['auth'], /auth keeps no replica/],
    [['orders', 'payments'], /one service only/],
    [['orders', '--check', '--apply'], /exclude each other/],
    [['orders', '--since', '2026-12-01', '--from-seq', '3'], /exclude each other/],
    [['orders', '--since', 'yesterday'], /not an ISO time/],
    [['orders', '--from-seq', '0'], /not a sequence number/],
    [['orders', '--from-seq'], /needs a value/],
    [['orders', '--fast'], /unknown option --fast/],
  ])('refuses %j', (argv, message) => {
    expect(() => parseArgs(argv)).toThrow(UsageError);
    expect(() => parseArgs(argv)).toThrow(message);
  });
});

describe('locateService', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'replay-locate-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads stack.json when the data dir has one, else NATS_URL and MONGO_URL, else says what is missing', async () => {
    expect(
      locateService('orders', { TICKETING_DATA_DIR: dir, NATS_URL: 'nats://n', MONGO_URL: 'mongodb://m/db' }),
    ).toEqual({
      NATS_URL: 'nats://n',
      MONGO_URL: 'mongodb://m/db',
    });
    expect(() => locateService('orders', { TICKETING_DATA_DIR: dir })).toThrow(/no running stack/);
    await writeFile(
      join(dir, 'stack.json'),
      JSON.stringify({
        nats: { url: 'nats://127.0.0.1:4222' },
        mongo: { url: 'mongodb://127.0.0.1:27017/', databases: { orders: 'ticketing-orders' } },
      }),
    );
    expect(locateService('orders', { TICKETING_DATA_DIR: dir })).toEqual({
      NATS_URL: 'nats://127.0.0.1:4222',
      MONGO_URL: expect.stringMatching(/^mongodb:\/\/127\.0\.0\.1:27017\/ticketing-orders/),
    });
    expect(() => locateService('payments', { TICKETING_DATA_DIR: dir })).toThrow(/payments database/);
  });
});

describe('the output', () => {
  const report = (differing: number, applied = false): ReplayReport => ({
    service: 'orders',
    mode: applied ? 'apply' : 'check',
    streams: { TICKETS: 30 },
    replayed: 30,
    skipped: 0,
    incomplete: 0,
    stores: [
      {
        store: 'tickets',
        live: 10 - differing,
        rebuilt: 10,
        differing,
        firstDifferences: differing ? [{ id: 'a', live: null, rebuilt: { _id: 'a', version: 0 } }] : [],
      },
    ],
    identical: differing === 0,
    applied,
    seconds: 1.25,
  });

  it('summarizes counts and the first differences; exit 1 only for a difference left in place', () => {
    expect(summary(report(0))).toMatch(
      /30 messages replayed \(TICKETS 30\)[\s\S]*tickets: live 10, rebuilt 10, identical[\s\S]*no difference/,
    );
    const differs = summary(report(2));
    expect(differs).toMatch(/tickets: live 8, rebuilt 10, 2 differ/);
    expect(differs).toMatch(/live: {4}null/);
    expect(differs).toMatch(/rebuilt: \{"_id":"a","version":0\}/);
    expect(exitCode(report(0))).toBe(0);
    expect(exitCode(report(2))).toBe(1);
    expect(exitCode(report(2, true))).toBe(0);
  });

  it('shows progress as replayed / total, rate and ETA', () => {
    expect(progressLine({ replayed: 50, total: 200, rate: 100, etaSeconds: 1.5 })).toBe(
      'replayed 50/200 messages, 100/s, ETA 2 s',
    );
  });
});
