import { collectDefaultMetrics, Registry } from 'prom-client';

/**
 * A fresh Prometheus registry for one service: process and Node.js default metrics, every series labelled
 * `service`. A registry per service (not prom-client's global one) keeps tests and in-process stacks from
 * colliding on metric names; the HTTP kit, bus and outbox register their own metrics on it.
 */
export function createMetricsRegistry(service: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry });
  return registry;
}
