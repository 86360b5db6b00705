import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CostBreakdown } from './cost';
import type { HttpFigures } from './http-load';
import {
  buildReport,
  comparisons,
  fileTimestamp,
  formatMs,
  formatRate,
  formatRatio,
  formatReport,
  type Measurements,
  REPORT_SCHEMA,
  renderTable,
  writeReport,
} from './report';
import { defaultSettings } from './settings';
import { type Summary, summarize } from './stats';

const summary = (...samples: number[]): Summary => summarize(samples)!;

function http(name: string, rate: number, latency: number[], extra: Partial<HttpFigures> = {}): HttpFigures {
  return {
    name,
    connections: 10,
    elapsedSeconds: 8.0004,
    ok: latency.length,
    otherStatuses: {},
    errors: 0,
    rate,
    latency: summary(...latency),
    ...extra,
  };
}

function cost(scale: number, per: CostBreakdown['per'] = 'flow'): CostBreakdown {
  return {
    per,
    divisor: 24,
    windowSeconds: 12.5,
    mongoCommands: {
      total: 30 * scale,
      byService: {
        tickets: { total: 10 * scale, byCommand: { insert: 4 * scale, find: 6 * scale } },
        orders: { total: 20 * scale, byCommand: { insert: 20 * scale } },
      },
    },
    cpuMs: {
      total: 90 * scale,
      byProcess: { orders: 60 * scale, postgres: 30 * scale, nats: null, client: 0 },
      processes: { orders: 1, postgres: 9, nats: 1, client: 1 },
      bench: 6 / 7,
    },
    eventsPublished: { total: 5 * scale, byService: { tickets: 2 * scale, orders: 3 * scale } },
    eventsHandled: { total: 6 * scale, byService: { orders: { acked: 5 * scale, deferred: scale } } },
  };
}

const waits = (share: number) => [
  { step: 'list' as const, waitsOn: null, flows: 24, meanMs: 10, waitingMs: 0, share: null },
  {
    step: 'order' as const,
    waitsOn: 'ticket.created: tickets → orders',
    flows: 24,
    meanMs: 40,
    waitingMs: 40 * share,
    share,
  },
  {
    step: 'pay' as const,
    waitsOn: 'order.created: orders → payments',
    flows: 23,
    meanMs: 20,
    waitingMs: 1,
    share: 0.05,
  },
  {
    step: 'complete' as const,
    waitsOn: 'payment.created: payments → orders',
    flows: 0,
    meanMs: 0,
    waitingMs: 0,
    share: null,
  },
];

function measurements(): Measurements {
  return {
    startedAt: '2025-01-31T12:34:56.789Z',
    finishedAt: '2025-01-31T12:38:00.000Z',
    machine: {
      nproc: 2,
      cpuModel: 'Test CPU',
      memoryTotalGiB: 8,
      memoryFreeGiB: 6,
      loadAverage: [0.5, 0.4, 0.3],
      node: 'v20.0.0',
      os: 'linux',
    },
    stack: { mode: 'started', description: 'stack started by the bench', gatewayUrl: 'http://127.0.0.1:1' },
    settings: defaultSettings,
    http: {
      target: { url: 'http://127.0.0.1:2', via: 'tickets service', note: 'the gateway closes connections' },
      reads: { ...http('GET /api/tickets', 500, [4, 5, 6]), ticketsOnSale: 20 },
      writes: http('POST /api/tickets', 100, [9, 10, 11], { otherStatuses: { '429': 3 }, errors: 1 }),
    },
    processes: [{ role: 'orders', pid: 10, port: 11, url: 'http://127.0.0.1:11' }],
    flows: [1, 8].map((concurrency) => ({
      concurrency,
      elapsedSeconds: 12,
      completed: 24,
      failed: concurrency === 8 ? 2 : 0,
      errors: concurrency === 8 ? ['payment: 409'] : [],
      rate: 2 * concurrency,
      latency: summary(40 * concurrency, 50 * concurrency, 60 * concurrency),
      steps: { listed: summary(5), ordered: summary(20), paid: summary(30) },
      completeWritten: summary(30 * concurrency),
      cost: cost(concurrency),
      waits: waits(concurrency / 10),
    })),
    idle: cost(0.1, 'second'),
    growth: {
      tickets: { count: 1000, failed: 0, errors: [], seconds: 5.123, rate: 195.2 },
      ordersCaughtUpSeconds: 1.5,
      purchases: { count: 30, failed: 1, errors: ['order: 409'], seconds: 10, rate: 3 },
      reads: { ...http('GET /api/tickets', 250, [8, 10, 12]), ticketsOnSale: 990 },
      flow: {
        concurrency: 8,
        elapsedSeconds: 12,
        completed: 12,
        failed: 0,
        errors: [],
        rate: 8,
        latency: summary(600, 800, 1000),
        steps: { listed: summary(5), ordered: summary(20), paid: summary(30) },
        completeWritten: summary(700),
        cost: cost(2),
        waits: waits(0.5),
      },
    },
    eventLag: [
      { name: 'tickets → orders (ticket.*)', pairs: 3, missing: 0, lag: summary(2, 3, 4) },
      { name: 'orders → payments (order.*)', pairs: 3, missing: 1, lag: summary(6, 6, 6) },
    ],
    floors: {
      express: { ...http('express empty GET /', 2000, [0.4, 0.5, 0.6]), where: 'process' },
      publishAck: summary(0.9, 1, 1.1),
      publishDelivery: summary(1.4, 1.5, 1.6),
      mongoInsert: summary(0.7, 0.8),
    },
  };
}

describe('comparisons', () => {
  it('puts each system figure beside its floor as a ratio', () => {
    const list = comparisons(measurements());
    const find = (system: string, figure: string) =>
      list.find((c) => c.system === system && c.figure === figure)!;
    expect(find('GET /api/tickets', 'p50')).toEqual({
      system: 'GET /api/tickets',
      figure: 'p50',
      value: 5,
      floor: 'express empty GET',
      floorValue: 0.5,
      ratio: 10,
    });
    expect(find('GET /api/tickets', 'rate').ratio).toBe(0.25);
    expect(find('POST /api/tickets', 'p50').ratio).toBe(20);
    expect(find('purchase flow, 1 buyer', 'p50')).toMatchObject({
      floor: 'JetStream publish→ack',
      value: 50,
      floorValue: 1,
      ratio: 50,
    });
    expect(find('purchase flow, 8 buyers', 'p50').ratio).toBe(400);
    expect(find('event lag tickets → orders (ticket.*)', 'p50')).toMatchObject({
      floor: 'JetStream publish→delivery',
      ratio: 2,
    });
    expect(find('GET /api/tickets, grown', 'p50').ratio).toBe(20);
    expect(find('purchase flow, 8 buyers, grown', 'p50').ratio).toBe(800);
    expect(list).toHaveLength(4 + 2 + 3 + 2);
  });

  it('has no ratio when a figure is missing', () => {
    const m = measurements();
    m.flows[0]!.latency = null;
    expect(comparisons(m).find((c) => c.system === 'purchase flow, 1 buyer')).toMatchObject({
      value: null,
      ratio: null,
    });
  });
});

describe('buildReport', () => {
  it('has the JSON layout: schema, run, machine, stack, settings, http, flows, lag, floors, comparisons', () => {
    const report = buildReport(measurements());
    expect(Object.keys(report).sort()).toEqual(
      [
        'comparisons',
        'eventLag',
        'finishedAt',
        'floors',
        'flows',
        'growth',
        'http',
        'idle',
        'machine',
        'processes',
        'schema',
        'settings',
        'stack',
        'startedAt',
      ].sort(),
    );
    expect(report.schema).toBe(REPORT_SCHEMA);
    expect(Object.keys(report.http.reads).sort()).toEqual(
      [
        'connections',
        'elapsedSeconds',
        'errors',
        'latency',
        'name',
        'ok',
        'otherStatuses',
        'rate',
        'ticketsOnSale',
      ].sort(),
    );
    expect(Object.keys(report.http.reads.latency!).sort()).toEqual(
      ['count', 'max', 'mean', 'min', 'p50', 'p95', 'p99'].sort(),
    );
    expect(Object.keys(report.floors).sort()).toEqual([
      'express',
      'mongoInsert',
      'publishAck',
      'publishDelivery',
    ]);
    expect(report.flows[0]).toHaveProperty('completeWritten');
    expect(report.flows[0]!.cost!.cpuMs.bench).toBe(0.86);
    expect(report.flows[0]!.cost!.cpuMs.byProcess.nats).toBeNull();
    expect(report.growth!.flow.waits[1]!.share).toBe(0.5);
    expect(report.flows[0]).not.toHaveProperty('samples');
    expect(report.http.reads.elapsedSeconds).toBe(8);
    expect(report.comparisons.every((c) => c.ratio === null || Number.isFinite(c.ratio))).toBe(true);
    // A plain JSON value: it survives a round trip unchanged.
    expect(JSON.parse(JSON.stringify(report))).toEqual(report);
  });

  it('rounds figures to the microsecond and ratios to four significant digits', () => {
    const m = measurements();
    m.floors.publishAck = summary(1 / 3);
    m.flows[0]!.latency = summary(100 / 3);
    const report = buildReport(m);
    expect(report.floors.publishAck.p50).toBe(0.333);
    expect(report.comparisons.find((c) => c.system === 'purchase flow, 1 buyer')!.ratio).toBe(100.1);
    m.http.writes.rate = 10.9;
    m.floors.express.rate = 4211;
    const writeRate = buildReport(m).comparisons.find(
      (c) => c.system === 'POST /api/tickets' && c.figure === 'rate',
    );
    expect(writeRate!.ratio).toBe(0.002588);
  });
});

describe('formatting', () => {
  it('formats durations, rates and ratios for people', () => {
    expect(formatMs(0.4234)).toBe('0.42 ms');
    expect(formatMs(12.34)).toBe('12.3 ms');
    expect(formatMs(153.4)).toBe('153 ms');
    expect(formatMs(12_345)).toBe('12.3 s');
    expect(formatMs(null)).toBe('–');
    expect(formatRate(1543.4, 'req')).toBe('1,543 req/s');
    expect(formatRate(7.123, 'flows')).toBe('7.12 flows/s');
    expect(formatRate(12.34, 'flows')).toBe('12.3 flows/s');
    expect(formatRatio(8.333)).toBe('×8.33');
    expect(formatRatio(150.2)).toBe('×150');
    expect(formatRatio(0.25)).toBe('×0.25');
    expect(formatRatio(10.9 / 4211)).toBe('×0.0026');
    expect(formatRatio(0)).toBe('×0.00');
    expect(formatRatio(null)).toBe('–');
  });

  it('aligns a table: first column left, others right, a rule under the header', () => {
    expect(
      renderTable(
        ['name', 'n'],
        [
          ['a', '1'],
          ['longer', '100'],
        ],
      ),
    ).toBe(['name      n', '──────  ───', 'a         1', 'longer  100'].join('\n'));
  });

  it('prints every measurement beside its floor, the floors, and the problems', () => {
    const text = formatReport(buildReport(measurements()));
    const line = (start: string) => text.split('\n').find((l) => l.startsWith(start))!;
    expect(line('GET /api/tickets (10 conn, tickets direct)')).toMatch(
      /500 req\/s\s+5\.00 ms.*express empty GET\s+0\.50 ms\s+×10\.0\s+×0\.25$/,
    );
    expect(line('purchase flow, 8 buyers ')).toMatch(
      /16\.0 flows\/s\s+400 ms.*JetStream publish→ack\s+1\.00 ms\s+×400$/,
    );
    expect(line('event lag orders → payments')).toMatch(
      /6\.00 ms.*JetStream publish→delivery\s+1\.50 ms\s+×4\.00$/,
    );
    expect(line('express empty GET / (10 conn, own process)')).toMatch(/2,000 req\/s\s+0\.50 ms/);
    expect(line('Mongo insertOne')).toMatch(/0\.75 ms/);
    expect(text).toContain('machine: 2 cores, Test CPU, 8 GiB RAM, node v20.0.0');
    expect(text).toContain('POST /api/tickets: 3× 429 1 errors');
    expect(text).toContain('purchase flow, 8 buyers: 2 failed (payment: 409)');
    expect(text).toContain('event lag orders → payments (order.*): 1 events not applied');
    expect(text).toContain('1 buyer: p50 30.0 ms');
    expect(text).toContain('8 buyers: p50 240 ms');
    expect(text).toContain('growth seeding: purchases: 1 failed (order: 409)');
    expect(text).toContain('HTTP: the gateway closes connections.');
  });
});

describe('the cost, waits and growth tables', () => {
  const text = formatReport(buildReport(measurements()));
  const line = (start: string) => text.split('\n').find((l) => l.startsWith(start))!;

  it('gives the cost of one purchase per level and of a second of the idle stack', () => {
    expect(line('cost per purchase')).toMatch(/1 buyer\s+8 buyers\s+8 buyers, grown\s+idle, per s$/);
    expect(line('Mongo commands (round trips)')).toMatch(/30\.0\s+240\s+60\.0\s+3\.00$/);
    expect(line('    find')).toMatch(/6\.00\s+48\.0\s+12\.0\s+0\.60$/);
    expect(line('  postgres (up to 9 processes)')).toMatch(/30\.0\s+240\s+60\.0\s+3\.00$/);
    expect(line('  nats')).toMatch(/–\s+–\s+–\s+–$/);
    expect(line('CPU ms, the bench (load generator)')).toMatch(/0\.86\s+0\.86\s+0\.86\s+0\.86$/);
    // Zero everywhere: left out.
    expect(line('  client')).toBeUndefined();
    expect(line('events handled')).toMatch(/6\.00\s+48\.0\s+12\.0\s+0\.60$/);
  });

  it('gives each step its mean time and share waiting', () => {
    expect(line('order (waits for ticket.created: tickets → orders)')).toMatch(
      /40\.0 ms, 10% waiting\s+40\.0 ms, 80% waiting\s+40\.0 ms, 50% waiting$/,
    );
    expect(line('pay (waits for')).toContain('20.0 ms, 5.0% waiting');
    expect(line('list')).toMatch(/10\.0 ms\s+10\.0 ms\s+10\.0 ms$/);
    expect(line('complete (waits for')).toMatch(/–\s+–\s+–$/);
  });

  it('puts the reads and the flow level before and after the growth side by side', () => {
    expect(text).toContain(
      'growth: 1,000 tickets listed in 5.1 s (195 tickets/s), orders had them all 1.5 s later; 30 purchases of them in 10.0 s (3.00 purchases/s)',
    );
    expect(line('tickets on sale')).toMatch(/20\s+990$/);
    expect(line('GET /api/tickets rate')).toMatch(/500 req\/s\s+250 req\/s$/);
    expect(line('purchase flow, 8 buyers p50')).toMatch(/400 ms\s+800 ms$/);
    expect(line('purchase flow, 8 buyers, grown (')).toBeUndefined();
    expect(line('purchase flow, 8 buyers, grown')).toMatch(/12\s+8\.00 flows\/s\s+800 ms/);
  });

  it('leaves out the growth level when there was none', () => {
    const m = measurements();
    m.growth = null;
    const plain = formatReport(buildReport(m));
    expect(plain).not.toContain('grown');
    expect(plain).not.toContain('growth');
  });
});

describe('writing', () => {
  it('names the file after the start time and writes the report as JSON', () => {
    expect(fileTimestamp(new Date('2025-01-31T12:34:56.789Z'))).toBe('2025-01-31T12-34-56Z');
    const dir = mkdtempSync(join(tmpdir(), 'bench-report-'));
    try {
      const report = buildReport(measurements());
      const file = writeReport(report, join(dir, 'bench', 'results'));
      expect(file).toBe(join(dir, 'bench', 'results', '2025-01-31T12-34-56Z.json'));
      expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(report);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
