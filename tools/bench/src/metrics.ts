import { MeasurementError } from './errors';

/** One sample of the Prometheus text format: `name{label="value",…} value`. */
export interface MetricSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const SAMPLE = /^([A-Za-z_:][A-Za-z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\S+)?$/;
const LABEL = /\s*([A-Za-z_][A-Za-z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?/gy;

function unescapeLabel(value: string): string {
  return value.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
}

/** Parses the samples of a Prometheus text exposition (what prom-client serves at /metrics); comments skipped. */
export function parseMetrics(text: string): MetricSample[] {
  const samples: MetricSample[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const match = SAMPLE.exec(line);
    if (!match) continue;
    const labels: Record<string, string> = {};
    if (match[2]) {
      LABEL.lastIndex = 0;
      for (let label = LABEL.exec(match[2]); label; label = LABEL.exec(match[2]))
        labels[label[1]!] = unescapeLabel(label[2]!);
    }
    const value = match[3] === '+Inf' ? Infinity : match[3] === '-Inf' ? -Infinity : Number(match[3]);
    samples.push({ name: match[1]!, labels, value });
  }
  return samples;
}

/** The counters of one service the cost of a purchase is made of. */
export interface ServiceCounters {
  /** `mongo_commands_total` by command: every command the service sent to Mongo. */
  mongoCommands: Record<string, number>;
  /** `outbox_published_total`: events its relay published (and JetStream acknowledged). */
  eventsPublished: number;
  /** `events_handled_total` by outcome (`acked`, `deferred`, `retried`, …), over every subject. */
  eventsHandled: Record<string, number>;
}

/** The {@link ServiceCounters} in a service's samples (missing metrics count as zero). */
export function serviceCounters(samples: readonly MetricSample[]): ServiceCounters {
  const counters: ServiceCounters = { mongoCommands: {}, eventsPublished: 0, eventsHandled: {} };
  const add = (into: Record<string, number>, key: string | undefined, value: number) => {
    const name = key ?? 'unknown';
    into[name] = (into[name] ?? 0) + value;
  };
  for (const sample of samples) {
    if (sample.name === 'mongo_commands_total')
      add(counters.mongoCommands, sample.labels.command, sample.value);
    else if (sample.name === 'outbox_published_total') counters.eventsPublished += sample.value;
    else if (sample.name === 'events_handled_total')
      add(counters.eventsHandled, sample.labels.outcome, sample.value);
  }
  return counters;
}

/** GET `<baseUrl>/metrics`, parsed; {@link MeasurementError} when it does not answer 200 in time. */
export async function fetchMetrics(baseUrl: string, timeoutMs = 5000): Promise<MetricSample[]> {
  let response: Response;
  try {
    response = await fetch(`${baseUrl}/metrics`, { signal: AbortSignal.timeout(timeoutMs) });
  } catch (error) {
    throw new MeasurementError(`${baseUrl}/metrics`, (error as Error).message, { cause: error });
  }
  const text = await response.text();
  if (response.status !== 200)
    throw new MeasurementError(`${baseUrl}/metrics`, `answered ${response.status}`);
  return parseMetrics(text);
}
