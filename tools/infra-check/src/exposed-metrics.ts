import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  type RunningService,
  type ServiceConfig,
  type ServiceDefinition,
  startService,
} from '@ticketing/common';
import { type MongoHandle, serviceTestEnv, signTestUser, startMongo } from '@ticketing/testing';
import { type ServiceName, serviceNames } from './contract';
import { freePort, type RunningNats, runNats, startServerProcess } from './nats-server';
import { observabilityDir } from './observability';
import { exposedFamilies, type MetricFamily } from './promql';
import { findTool, repoPath } from './repo';

/** A json-exporter probe as a PodMonitor endpoint asks for it: module and the NATS URL to read. */
export interface ExporterProbe {
  module: string;
  /** The target URL as the PodMonitor has it (host and port are those inside the NATS pod). */
  target: string;
}

/** What the system really exposes, read from running processes. */
export interface ExposedMetrics {
  /** Each service's /metrics, read from the service started with its own code. */
  services: Record<ServiceName, MetricFamily[]>;
  /** json-exporter's answer to each probe, against a nats-server the services use. */
  nats: Record<string, MetricFamily[]>;
  /** The raw pages, for messages. */
  pages: Record<string, string>;
}

interface Started {
  running: RunningService;
  server: Server;
  mongo: MongoHandle;
}

function serviceDefinition(service: ServiceName): ServiceDefinition<ServiceConfig> {
  // The source, through jest's transform (like service-config.ts): a stale build cannot hide a renamed metric.
  const loaded: Record<string, unknown> = require(repoPath('services', service, 'src', 'app.ts'));
  const definition = loaded[`${service}Service`];
  if (!definition) throw new Error(`services/${service}/src/app.ts does not export ${service}Service`);
  return definition as ServiceDefinition<ServiceConfig>;
}

async function startOne(service: ServiceName, nats: RunningNats): Promise<Started> {
  const mongo = await startMongo({ dbName: `infra_check_metrics_${service}_${process.pid}` });
  try {
    const env = serviceTestEnv(
      { nats, mongo },
      service === 'payments' ? { STRIPE_SECRET_KEY: 'sk_test_metrics' } : {},
    );
    const running = await startService(serviceDefinition(service), { env, listen: false });
    const server = createServer(running.app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    return { running, server, mongo };
  } catch (error) {
    await mongo.stop();
    throw error;
  }
}

/**
 * Lists a ticket through the tickets service and waits until orders has handled its ticket.created, so that
 * every metric a working purchase path touches has been written at least once.
 */
async function handleOneEvent(ticketsUrl: string, ordersUrl: string): Promise<void> {
  const response = await fetch(`${ticketsUrl}/api/tickets`, {
    method: 'POST',
    headers: { authorization: signTestUser().bearer, 'content-type': 'application/json' },
    body: JSON.stringify({ title: 'infra-check', price: '10' }),
  });
  if (response.status !== 201)
    throw new Error(`POST /api/tickets answered ${response.status}: ${await response.text()}`);
  const deadline = Date.now() + 20_000;
  const handled = /^events_handled_total\{[^}]*subject="ticket.created"[^}]*outcome="acked"[^}]*\} [1-9]/m;
  while (!handled.test(await get(`${ordersUrl}/metrics`))) {
    if (Date.now() > deadline) throw new Error('orders did not handle ticket.created within 20 s');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function get(url: string): Promise<string> {
  // A timer of our own, cleared at once: AbortSignal.timeout's would keep jest waiting after the last test.
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new Error(`GET ${url}: no answer within 10 s`)), 10_000);
  try {
    const response = await fetch(url, { signal: controller.signal });
    const text = await response.text();
    if (!response.ok) throw new Error(`GET ${url} answered ${response.status}: ${text.slice(0, 500)}`);
    return text;
  } finally {
    clearTimeout(timer);
  }
}

/** json-exporter on infra/observability/nats-exporter.yml, on a free local port; resolves once it listens. */
async function startExporter(): Promise<{ url: string; stop(): Promise<void> }> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const { stop } = await startServerProcess({
    name: 'json-exporter',
    command: findTool('json-exporter'),
    args: [`--config.file=${observabilityDir}/nats-exporter.yml`, `--web.listen-address=127.0.0.1:${port}`],
    ready: async () => (await get(`${url}/`)).length > 0,
    timeoutMs: 15_000,
  });
  return { url, stop };
}

/**
 * Starts a nats-server, the six services on it (each with its own database; their listeners create their
 * durable consumers, their buses the streams), and json-exporter; has one event handled (a ticket listed), then
 * reads every service's /metrics and the exporter's answer to each probe, the NATS pod's address in the target
 * replaced by the test server's.
 */
export async function readExposedMetrics(probes: ExporterProbe[]): Promise<ExposedMetrics> {
  const nats = await runNats({ 'nats.conf': 'jetstream {\n  store_dir: /data/jetstream\n}\n' }, {});
  const started: Started[] = [];
  let exporter: { url: string; stop(): Promise<void> } | undefined;
  try {
    for (const service of serviceNames) started.push(await startOne(service, nats));
    exporter = await startExporter();
    const urls = Object.fromEntries(
      serviceNames.map((service, i) => {
        const { port } = started[i]!.server.address() as AddressInfo;
        return [service, `http://127.0.0.1:${port}`];
      }),
    ) as Record<ServiceName, string>;
    await handleOneEvent(urls.tickets, urls.orders);
    const pages: Record<string, string> = {};
    const services = {} as Record<ServiceName, MetricFamily[]>;
    for (const service of serviceNames) {
      pages[service] = await get(`${urls[service]}/metrics`);
      services[service] = exposedFamilies(pages[service]);
    }
    const natsFamilies: Record<string, MetricFamily[]> = {};
    for (const probe of probes) {
      const target = new URL(probe.target);
      const local = new URL(`${target.pathname}${target.search}`, nats.monitorUrl);
      const query = new URLSearchParams({ module: probe.module, target: local.href });
      const page = await get(`${exporter.url}/probe?${query}`);
      pages[`nats ${probe.module}`] = page;
      natsFamilies[probe.module] = exposedFamilies(page);
    }
    return { services, nats: natsFamilies, pages };
  } finally {
    await exporter?.stop();
    for (const { running, server, mongo } of started.reverse()) {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await running.stop();
      await mongo.stop();
    }
    await nats.stop();
  }
}
