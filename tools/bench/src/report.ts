import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { StackProcess } from '@ticketing/stack/stack';
import type { CostBreakdown } from './cost';
import type { FlowLevelResult } from './flow';
import type { SeedResult } from './growth';
import type { HttpFigures } from './http-load';
import type { LagFigures } from './lag';
import type { MachineInfo } from './machine';
import type { BenchSettings } from './settings';
import { ratio, round, roundSummary, type Summary } from './stats';
import type { StepWait } from './waits';

/** Version of the JSON layout below. */
export const REPORT_SCHEMA = 'ticketing-bench/2';

/** A purchase-flow level as reported (its samples left out). */
export type FlowLevelReport = Omit<FlowLevelResult, 'samples'> & {
  /** Flow start → the orders service writing `complete` (its change's `at`). */
  completeWritten: Summary | null;
  /** What one purchase cost: round trips, CPU per process, events (null: no flow completed). */
  cost: CostBreakdown | null;
  /** Each step's mean time and the share of it spent waiting on another service. */
  waits: StepWait[];
};

/** A seeding step of the growth level, as reported (without the ids). */
export type SeedReport = Omit<SeedResult, 'ids'> & {
  /** Successes. */
  count: number;
};

/** The growth level: the reads and a flow level again, once the stack holds many tickets and orders. */
export interface GrowthReport {
  /** The tickets listed. */
  tickets: SeedReport;
  /** How long after the last listing the orders service had applied every seeded ticket.created, in s. */
  ordersCaughtUpSeconds: number;
  /** The purchases of seeded tickets made (the order history). */
  purchases: SeedReport;
  /** GET /api/tickets again, with the count on sale. */
  reads: HttpFigures & { ticketsOnSale: number };
  /** The flow level again. */
  flow: FlowLevelReport;
}

/** The machine's floors, measured in the same run on the stack's own NATS and Mongo. */
export interface Floors {
  /** A bare Express 5 app answering 200 `{}`, under autocannon like the HTTP reads. */
  express: HttpFigures & { where: 'process' | 'inline' };
  /** JetStream publish → ack, sequential, file storage. */
  publishAck: Summary;
  /** JetStream publish → delivery to a durable pull consumer, sequential. */
  publishDelivery: Summary;
  /** One Mongo insertOne. */
  mongoInsert: Summary;
}

/** One system figure beside its floor. */
export interface Comparison {
  /** The system measurement. */
  system: string;
  /** Which figure (`p50` in ms, or `rate` per second). */
  figure: 'p50' | 'rate';
  /** The system's value. */
  value: number | null;
  /** The floor it is compared with. */
  floor: string;
  /** The floor's value. */
  floorValue: number | null;
  /** value / floorValue. */
  ratio: number | null;
}

/** Where the HTTP tests went. */
export interface HttpTarget {
  /** Base URL autocannon hit. */
  url: string;
  /** `gateway`, or `tickets service` when the gateway could not be measured. */
  via: 'gateway' | 'tickets service';
  /** Why not the gateway, or why the figures are unreliable. */
  note?: string;
}

/** Everything one run measured: what `bench/results/<timestamp>.json` holds. */
export interface BenchReport {
  /** Layout version. */
  schema: typeof REPORT_SCHEMA;
  /** Start of the run (ISO 8601). */
  startedAt: string;
  /** End of the run (ISO 8601). */
  finishedAt: string;
  /** The machine. */
  machine: MachineInfo;
  /** Which stack was measured. */
  stack: { mode: 'running' | 'started'; description: string; gatewayUrl: string };
  /** The settings used. */
  settings: BenchSettings;
  /** HTTP through the gateway. */
  http: { target: HttpTarget; reads: HttpFigures & { ticketsOnSale: number }; writes: HttpFigures };
  /** Every process of the stack whose CPU was read (stack.json `processes`). */
  processes: StackProcess[];
  /** Purchase flows, one entry per concurrency level. */
  flows: FlowLevelReport[];
  /** What the idle stack costs per second (heartbeats, timers), measured before the flows. */
  idle: CostBreakdown | null;
  /** The growth level (null when BENCH_GROWTH_TICKETS=0). */
  growth: GrowthReport | null;
  /** Event lag from the change documents. */
  eventLag: LagFigures[];
  /** The machine's floors. */
  floors: Floors;
  /** Each system figure as a ratio to its floor. */
  comparisons: Comparison[];
}

/** The report without comparisons (what the run measures); {@link buildReport} adds them. */
export type Measurements = Omit<BenchReport, 'schema' | 'comparisons'>;

const EXPRESS = 'express empty GET';
const ACK = 'JetStream publish→ack';
const DELIVERY = 'JetStream publish→delivery';

/** The system-vs-floor pairs: HTTP p50 and rate vs Express, flow p50 vs publish→ack, lag p50 vs delivery. */
export function comparisons(m: Measurements): Comparison[] {
  const compare = (
    system: string,
    figure: 'p50' | 'rate',
    value: number | null | undefined,
    floor: string,
    floorValue: number | null | undefined,
  ): Comparison => ({
    system,
    figure,
    value: value ?? null,
    floor,
    floorValue: floorValue ?? null,
    ratio: ratio(value, floorValue),
  });
  const express = m.floors.express;
  return [
    compare(m.http.reads.name, 'p50', m.http.reads.latency?.p50, EXPRESS, express.latency?.p50),
    compare(m.http.reads.name, 'rate', m.http.reads.rate, EXPRESS, express.rate),
    compare(m.http.writes.name, 'p50', m.http.writes.latency?.p50, EXPRESS, express.latency?.p50),
    compare(m.http.writes.name, 'rate', m.http.writes.rate, EXPRESS, express.rate),
    ...m.flows.map((flow) =>
      compare(flowName(flow.concurrency), 'p50', flow.latency?.p50, ACK, m.floors.publishAck.p50),
    ),
    ...(m.growth
      ? [
          compare(
            grown(m.http.reads.name),
            'p50',
            m.growth.reads.latency?.p50,
            EXPRESS,
            express.latency?.p50,
          ),
          compare(grown(m.http.reads.name), 'rate', m.growth.reads.rate, EXPRESS, express.rate),
          compare(
            grown(flowName(m.growth.flow.concurrency)),
            'p50',
            m.growth.flow.latency?.p50,
            ACK,
            m.floors.publishAck.p50,
          ),
        ]
      : []),
    ...m.eventLag.map((lag) =>
      compare(`event lag ${lag.name}`, 'p50', lag.lag?.p50, DELIVERY, m.floors.publishDelivery.p50),
    ),
  ];
}

/** The name of a figure of the growth level. */
export function grown(name: string): string {
  return `${name}, grown`;
}

/** The name of a flow level in reports. */
export function flowName(concurrency: number): string {
  return `purchase flow, ${concurrency} buyer${concurrency === 1 ? '' : 's'}`;
}

function roundHttp<T extends HttpFigures>(figures: T): T {
  return {
    ...figures,
    elapsedSeconds: round(figures.elapsedSeconds),
    rate: round(figures.rate, 1),
    latency: roundSummary(figures.latency),
  };
}

function roundValues<T extends number | null>(values: Record<string, T>, digits: number): Record<string, T> {
  return Object.fromEntries(
    Object.entries(values).map(([key, value]) => [key, value === null ? null : round(value, digits)]),
  ) as Record<string, T>;
}

/** A cost breakdown with counts to 2 decimals and CPU to 0.01 ms. */
export function roundCost(cost: CostBreakdown | null): CostBreakdown | null {
  if (!cost) return null;
  return {
    ...cost,
    divisor: round(cost.divisor, 3),
    windowSeconds: round(cost.windowSeconds, 3),
    mongoCommands: {
      total: round(cost.mongoCommands.total, 2),
      byService: Object.fromEntries(
        Object.entries(cost.mongoCommands.byService).map(([service, c]) => [
          service,
          { total: round(c.total, 2), byCommand: roundValues(c.byCommand, 2) },
        ]),
      ),
    },
    cpuMs: {
      total: round(cost.cpuMs.total, 2),
      byProcess: roundValues(cost.cpuMs.byProcess, 2),
      processes: cost.cpuMs.processes,
      bench: round(cost.cpuMs.bench, 2),
    },
    eventsPublished: {
      total: round(cost.eventsPublished.total, 2),
      byService: roundValues(cost.eventsPublished.byService, 2),
    },
    eventsHandled: {
      total: round(cost.eventsHandled.total, 2),
      byService: Object.fromEntries(
        Object.entries(cost.eventsHandled.byService).map(([service, o]) => [service, roundValues(o, 2)]),
      ),
    },
  };
}

function roundFlow(flow: FlowLevelReport): FlowLevelReport {
  return {
    ...flow,
    elapsedSeconds: round(flow.elapsedSeconds),
    rate: round(flow.rate, 2),
    latency: roundSummary(flow.latency),
    steps: {
      listed: roundSummary(flow.steps.listed),
      ordered: roundSummary(flow.steps.ordered),
      paid: roundSummary(flow.steps.paid),
    },
    completeWritten: roundSummary(flow.completeWritten),
    cost: roundCost(flow.cost),
    waits: flow.waits.map((w) => ({
      ...w,
      meanMs: round(w.meanMs),
      waitingMs: round(w.waitingMs),
      share: w.share === null ? null : round(w.share, 4),
    })),
  };
}

function roundSeed(seed: SeedReport): SeedReport {
  return { ...seed, seconds: round(seed.seconds), rate: round(seed.rate, 1) };
}

/** The full report: measurements rounded to µs (ms with 3 decimals) and the comparisons (4 significant digits). */
export function buildReport(m: Measurements): BenchReport {
  const rounded: Measurements = {
    ...m,
    http: { target: m.http.target, reads: roundHttp(m.http.reads), writes: roundHttp(m.http.writes) },
    flows: m.flows.map(roundFlow),
    idle: roundCost(m.idle),
    growth: m.growth && {
      ...m.growth,
      tickets: roundSeed(m.growth.tickets),
      ordersCaughtUpSeconds: round(m.growth.ordersCaughtUpSeconds),
      purchases: roundSeed(m.growth.purchases),
      reads: roundHttp(m.growth.reads),
      flow: roundFlow(m.growth.flow),
    },
    eventLag: m.eventLag.map((lag) => ({ ...lag, lag: roundSummary(lag.lag) })),
    floors: {
      express: roundHttp(m.floors.express),
      publishAck: roundSummary(m.floors.publishAck)!,
      publishDelivery: roundSummary(m.floors.publishDelivery)!,
      mongoInsert: roundSummary(m.floors.mongoInsert)!,
    },
  };
  return {
    schema: REPORT_SCHEMA,
    ...rounded,
    comparisons: comparisons(rounded).map((c) => ({
      ...c,
      ratio: c.ratio === null ? null : Number(c.ratio.toPrecision(4)),
    })),
  };
}

/** A duration for people: `0.42 ms`, `12.3 ms`, `153 ms`, `12.4 s`; `–` when there is none. */
export function formatMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '–';
  if (ms >= 10_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms >= 100) return `${ms.toFixed(0)} ms`;
  if (ms >= 10) return `${ms.toFixed(1)} ms`;
  return `${ms.toFixed(2)} ms`;
}

/** A rate for people: `1,543/s`, `7.1/s`, `0.42/s`. */
export function formatRate(rate: number | null | undefined, unit: string): string {
  if (rate === null || rate === undefined || !Number.isFinite(rate)) return '–';
  const digits = rate >= 100 ? 0 : rate >= 10 ? 1 : 2;
  return `${rate.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })} ${unit}/s`;
}

/** A ratio for people: `×150`, `×23.5`, `×8.33`, `×0.25`, `×0.0026` (two significant digits below 1). */
export function formatRatio(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '–';
  if (value > 0 && value < 1) return `×${Number(value.toPrecision(2))}`;
  const digits = value >= 100 ? 0 : value >= 10 ? 1 : 2;
  return `×${value.toFixed(digits)}`;
}

/** Left-aligned first column, right-aligned others, two spaces apart; a rule under the header. */
export function renderTable(header: string[], rows: string[][]): string {
  const widths = header.map((cell, column) =>
    Math.max(cell.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (cells: string[]) =>
    cells
      .map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!)))
      .join('  ')
      .trimEnd();
  return [line(header), widths.map((w) => '─'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

function comparison(report: BenchReport, system: string, figure: 'p50' | 'rate'): Comparison | undefined {
  return report.comparisons.find((c) => c.system === system && c.figure === figure);
}

/** A flow level with its name in the tables: `1 buyer`, `8 buyers`, `8 buyers, grown`. */
interface NamedLevel {
  name: string;
  flow: FlowLevelReport;
}

function buyersName(concurrency: number): string {
  return `${concurrency} buyer${concurrency === 1 ? '' : 's'}`;
}

/** The flow levels, the growth level's last. */
export function measuredLevels(report: BenchReport): NamedLevel[] {
  return [
    ...report.flows.map((flow) => ({ name: buyersName(flow.concurrency), flow })),
    ...(report.growth
      ? [{ name: grown(buyersName(report.growth.flow.concurrency)), flow: report.growth.flow }]
      : []),
  ];
}

/** A count per purchase: `36.1`, `0.42`; `–` when there is none. */
export function formatCount(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '–';
  return value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2);
}

/** A share: `62%`, `4.5%`, `0%`; `–` when there is none. */
export function formatShare(share: number | null | undefined): string {
  if (share === null || share === undefined || !Number.isFinite(share)) return '–';
  const percent = share * 100;
  return `${percent >= 10 || percent === 0 ? percent.toFixed(0) : percent.toFixed(1)}%`;
}

/** Keys of several records, in the order first seen. */
function keysOf(records: ReadonlyArray<Record<string, unknown> | undefined>): string[] {
  return [...new Set(records.flatMap((record) => Object.keys(record ?? {})))];
}

/**
 * The cost of one purchase at each level (and of one second of the idle stack): Mongo commands per service
 * and by command, CPU per process, the bench's own CPU, events published and handled per service.
 */
export function formatCosts(levels: readonly NamedLevel[], idle: CostBreakdown | null): string {
  const columns: Array<CostBreakdown | null> = [...levels.map((level) => level.flow.cost), idle];
  const header = ['cost per purchase', ...levels.map((level) => level.name), 'idle, per s'];
  const costs = columns.filter((cost): cost is CostBreakdown => cost !== null);
  const rows: string[][] = [
    ['flows (idle: seconds) measured', ...columns.map((cost) => (cost ? formatCount(cost.divisor) : '–'))],
  ];
  type Value = (cost: CostBreakdown) => number | null | undefined;
  const total = (label: string, value: Value) =>
    rows.push([label, ...columns.map((cost) => (cost ? formatCount(value(cost)) : '–'))]);
  // A detail that is zero in every column (the client's CPU, auth's events) says nothing: left out.
  const detail = (label: string, value: Value) => {
    if (costs.every((cost) => (value(cost) ?? 0) === 0)) return;
    total(label, (cost) => value(cost) ?? 0);
  };
  total('Mongo commands (round trips)', (cost) => cost.mongoCommands.total);
  for (const service of keysOf(costs.map((cost) => cost.mongoCommands.byService))) {
    detail(`  ${service}`, (cost) => cost.mongoCommands.byService[service]?.total);
    const commands = keysOf(costs.map((cost) => cost.mongoCommands.byService[service]?.byCommand));
    for (const command of commands.sort())
      detail(`    ${command}`, (cost) => cost.mongoCommands.byService[service]?.byCommand[command]);
  }
  total('CPU ms, the stack', (cost) => cost.cpuMs.total);
  for (const role of keysOf(costs.map((cost) => cost.cpuMs.byProcess))) {
    const tree = Math.max(0, ...costs.map((cost) => cost.cpuMs.processes[role] ?? 0));
    const label = `  ${role}${tree > 1 ? ` (up to ${tree} processes)` : ''}`;
    // null (the process restarted: its CPU is unknown) is shown, not taken for zero.
    if (costs.some((cost) => cost.cpuMs.byProcess[role] === null))
      total(label, (cost) => cost.cpuMs.byProcess[role]);
    else detail(label, (cost) => cost.cpuMs.byProcess[role]);
  }
  total('CPU ms, the bench (load generator)', (cost) => cost.cpuMs.bench);
  total('events published', (cost) => cost.eventsPublished.total);
  for (const service of keysOf(costs.map((cost) => cost.eventsPublished.byService)))
    detail(`  ${service}`, (cost) => cost.eventsPublished.byService[service]);
  total('events handled', (cost) => cost.eventsHandled.total);
  for (const service of keysOf(costs.map((cost) => cost.eventsHandled.byService)))
    detail(`  ${service}`, (cost) =>
      Object.values(cost.eventsHandled.byService[service] ?? {}).reduce((a, b) => a + b, 0),
    );
  return renderTable(header, rows);
}

/** Each step's mean time and the share of it that waits on another service, per level. */
export function formatWaits(levels: readonly NamedLevel[]): string {
  const steps = levels[0]?.flow.waits ?? [];
  const rows = steps.map((step, i) => [
    `${step.step}${step.waitsOn ? ` (waits for ${step.waitsOn})` : ''}`,
    ...levels.map(({ flow }) => {
      const wait = flow.waits[i];
      if (!wait || wait.flows === 0) return '–';
      return wait.share === null
        ? formatMs(wait.meanMs)
        : `${formatMs(wait.meanMs)}, ${formatShare(wait.share)} waiting`;
    }),
  ]);
  return renderTable(
    ['step: mean time, share waiting on another service', ...levels.map((l) => l.name)],
    rows,
  );
}

/** The growth level: what was seeded, then reads and the flow level before and after, side by side. */
export function formatGrowth(report: BenchReport): string {
  const growth = report.growth!;
  const base = report.flows.find((flow) => flow.concurrency === growth.flow.concurrency);
  const reads = report.http.reads;
  const flowLabel = flowName(growth.flow.concurrency);
  const rows: string[][] = [
    ['tickets on sale', String(reads.ticketsOnSale), String(growth.reads.ticketsOnSale)],
    [`${reads.name} rate`, formatRate(reads.rate, 'req'), formatRate(growth.reads.rate, 'req')],
    [`${reads.name} p50`, formatMs(reads.latency?.p50), formatMs(growth.reads.latency?.p50)],
    [`${reads.name} p99`, formatMs(reads.latency?.p99), formatMs(growth.reads.latency?.p99)],
    [`${flowLabel} rate`, formatRate(base?.rate, 'flows'), formatRate(growth.flow.rate, 'flows')],
    [`${flowLabel} p50`, formatMs(base?.latency?.p50), formatMs(growth.flow.latency?.p50)],
    [`${flowLabel} p99`, formatMs(base?.latency?.p99), formatMs(growth.flow.latency?.p99)],
  ];
  const t = growth.tickets;
  const p = growth.purchases;
  return [
    `growth: ${t.count.toLocaleString('en-US')} tickets listed in ${t.seconds.toFixed(1)} s (${formatRate(t.rate, 'tickets')}), ` +
      `orders had them all ${growth.ordersCaughtUpSeconds.toFixed(1)} s later; ` +
      `${p.count} purchases of them in ${p.seconds.toFixed(1)} s (${formatRate(p.rate, 'purchases')})`,
    renderTable(['growth', 'before', 'after'], rows),
  ].join('\n');
}

/** The report as text: system figures beside their floors, the floors, then anything that went wrong. */
export function formatReport(report: BenchReport): string {
  const header = [
    'measure',
    'n',
    'rate',
    'p50',
    'p95',
    'p99',
    'floor',
    'floor p50',
    'p50 ×floor',
    'rate ×floor',
  ];
  const rows: string[][] = [];
  const httpRow = (figures: HttpFigures, name = figures.name) => {
    const p50 = comparison(report, name, 'p50');
    const rate = comparison(report, name, 'rate');
    rows.push([
      `${name} (${figures.connections} conn, ${report.http.target.via === 'gateway' ? 'gateway' : 'tickets direct'})`,
      String(figures.ok),
      formatRate(figures.rate, 'req'),
      formatMs(figures.latency?.p50),
      formatMs(figures.latency?.p95),
      formatMs(figures.latency?.p99),
      EXPRESS,
      formatMs(p50?.floorValue),
      formatRatio(p50?.ratio),
      formatRatio(rate?.ratio),
    ]);
  };
  const flowRow = (flow: FlowLevelReport, name: string) => {
    const p50 = comparison(report, name, 'p50');
    rows.push([
      name,
      String(flow.completed),
      formatRate(flow.rate, 'flows'),
      formatMs(flow.latency?.p50),
      formatMs(flow.latency?.p95),
      formatMs(flow.latency?.p99),
      ACK,
      formatMs(p50?.floorValue),
      formatRatio(p50?.ratio),
      '',
    ]);
  };
  httpRow(report.http.reads);
  httpRow(report.http.writes);
  for (const flow of report.flows) flowRow(flow, flowName(flow.concurrency));
  if (report.growth) {
    httpRow(report.growth.reads, grown(report.http.reads.name));
    flowRow(report.growth.flow, grown(flowName(report.growth.flow.concurrency)));
  }
  for (const lag of report.eventLag) {
    const name = `event lag ${lag.name}`;
    const p50 = comparison(report, name, 'p50');
    rows.push([
      name,
      String(lag.pairs),
      '',
      formatMs(lag.lag?.p50),
      formatMs(lag.lag?.p95),
      formatMs(lag.lag?.p99),
      DELIVERY,
      formatMs(p50?.floorValue),
      formatRatio(p50?.ratio),
      '',
    ]);
  }

  const floors = report.floors;
  const floorRows: string[][] = [
    [
      `${EXPRESS} / (${floors.express.connections} conn, ${floors.express.where === 'process' ? 'own process' : 'in the bench process'})`,
      String(floors.express.ok),
      formatRate(floors.express.rate, 'req'),
      formatMs(floors.express.latency?.p50),
      formatMs(floors.express.latency?.p95),
      formatMs(floors.express.latency?.p99),
    ],
    ...(
      [
        [`${ACK} (file storage, sequential)`, floors.publishAck],
        [`${DELIVERY} (durable pull consumer)`, floors.publishDelivery],
        ['Mongo insertOne (sequential)', floors.mongoInsert],
      ] as const
    ).map(([name, s]) => [name, String(s.count), '', formatMs(s.p50), formatMs(s.p95), formatMs(s.p99)]),
  ];

  const m = report.machine;
  const lines = [
    `Ticketing bench — ${report.startedAt}`,
    `machine: ${m.nproc} cores, ${m.cpuModel}, ${m.memoryTotalGiB} GiB RAM, node ${m.node}, load average ${m.loadAverage.join(' ')} at start`,
    `stack: ${report.stack.description}`,
    '',
    renderTable(header, rows),
    '',
    renderTable(['floor', 'n', 'rate', 'p50', 'p95', 'p99'], floorRows),
  ];
  const levels = measuredLevels(report);
  if (levels.some((level) => level.flow.cost)) lines.push('', formatCosts(levels, report.idle));
  if (levels.length > 0) lines.push('', formatWaits(levels));
  if (report.growth) lines.push('', formatGrowth(report));
  if (levels.some((level) => level.flow.completeWritten)) {
    lines.push(
      '',
      'flow start → `complete` written by the orders service (its change document): ' +
        levels
          .map(
            ({ name, flow }) =>
              `${name}: p50 ${formatMs(flow.completeWritten?.p50)} p99 ${formatMs(flow.completeWritten?.p99)}`,
          )
          .join(' · '),
    );
  }
  lines.push(
    `GET /api/tickets listed ${report.http.reads.ticketsOnSale} tickets on sale during the read test.`,
  );
  if (report.http.target.note) lines.push(`HTTP: ${report.http.target.note}.`);
  const problems: string[] = [];
  for (const figures of [report.http.reads, report.http.writes, floors.express]) {
    const other = Object.entries(figures.otherStatuses);
    if (other.length > 0 || figures.errors > 0) {
      problems.push(
        `${figures.name}: ${other.map(([status, n]) => `${n}× ${status}`).join(', ')}${figures.errors ? ` ${figures.errors} errors` : ''}`.trim(),
      );
    }
  }
  for (const { name, flow } of levels) {
    if (flow.failed > 0)
      problems.push(`purchase flow, ${name}: ${flow.failed} failed (${flow.errors.join('; ')})`);
  }
  if (report.growth) {
    for (const [what, seed] of [
      ['growth seeding: tickets', report.growth.tickets],
      ['growth seeding: purchases', report.growth.purchases],
    ] as const) {
      if (seed.failed > 0) problems.push(`${what}: ${seed.failed} failed (${seed.errors.join('; ')})`);
    }
  }
  for (const lag of report.eventLag) {
    if (lag.missing > 0)
      problems.push(`event lag ${lag.name}: ${lag.missing} events not applied by the replica in time`);
  }
  if (problems.length > 0) lines.push('', 'problems:', ...problems.map((p) => `  - ${p}`));
  return lines.join('\n');
}

/** `2025-01-31T12-34-56Z`: an ISO time usable as a file name. */
export function fileTimestamp(date: Date): string {
  return date
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z')
    .replace(/:/g, '-');
}

/** Writes the report to `<dir>/<timestamp>.json` and returns the path. */
export function writeReport(report: BenchReport, dir: string): string {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${fileTimestamp(new Date(report.startedAt))}.json`);
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  return file;
}
