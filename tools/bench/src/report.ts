import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FlowLevelResult } from './flow';
import type { HttpFigures } from './http-load';
import type { LagFigures } from './lag';
import type { MachineInfo } from './machine';
import type { BenchSettings } from './settings';
import { ratio, round, roundSummary, type Summary } from './stats';

/** Version of the JSON layout below. */
export const REPORT_SCHEMA = 'ticketing-bench/1';

/** A purchase-flow level as reported (its samples left out). */
export type FlowLevelReport = Omit<FlowLevelResult, 'samples'> & {
  /** Flow start → the orders service writing `complete` (its change's `at`): the flow without client polling. */
  completeWritten: Summary | null;
};

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
  /** Purchase flows, one entry per concurrency level. */
  flows: FlowLevelReport[];
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
    ...m.eventLag.map((lag) =>
      compare(`event lag ${lag.name}`, 'p50', lag.lag?.p50, DELIVERY, m.floors.publishDelivery.p50),
    ),
  ];
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

/** The full report: measurements rounded to µs (ms with 3 decimals) and the comparisons (4 significant digits). */
export function buildReport(m: Measurements): BenchReport {
  const rounded: Measurements = {
    ...m,
    http: { target: m.http.target, reads: roundHttp(m.http.reads), writes: roundHttp(m.http.writes) },
    flows: m.flows.map((flow) => ({
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
    })),
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
  const http = (figures: HttpFigures) => {
    const p50 = comparison(report, figures.name, 'p50');
    const rate = comparison(report, figures.name, 'rate');
    rows.push([
      `${figures.name} (${figures.connections} conn, ${report.http.target.via === 'gateway' ? 'gateway' : 'tickets direct'})`,
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
  http(report.http.reads);
  http(report.http.writes);
  for (const flow of report.flows) {
    const name = flowName(flow.concurrency);
    const p50 = comparison(report, name, 'p50');
    rows.push([
      `${name} (polls every ${flow.pollIntervalMs} ms)`,
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
  if (report.flows.some((flow) => flow.completeWritten)) {
    lines.push(
      '',
      'flow start → `complete` written by the orders service (its change document, so no client polling in it): ' +
        report.flows
          .map(
            (flow) =>
              `${flow.concurrency} buyer${flow.concurrency === 1 ? '' : 's'}: p50 ${formatMs(flow.completeWritten?.p50)} p99 ${formatMs(flow.completeWritten?.p99)}`,
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
  for (const flow of report.flows) {
    if (flow.failed > 0)
      problems.push(`${flowName(flow.concurrency)}: ${flow.failed} failed (${flow.errors.join('; ')})`);
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
