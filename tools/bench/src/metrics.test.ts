import { type HttpServerHandle, listenHttp } from '@ticketing/testing';
import { MeasurementError } from './errors';
import { fetchMetrics, parseMetrics, serviceCounters } from './metrics';

// What prom-client serves at a service's /metrics (trimmed).
const exposition = `# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.
# TYPE process_cpu_seconds_total counter
process_cpu_seconds_total{service="orders"} 0.357014
# HELP mongo_commands_total Commands sent to Mongo, by command name
# TYPE mongo_commands_total counter
mongo_commands_total{command="insert",service="orders"} 18
mongo_commands_total{command="find",service="orders"} 7
mongo_commands_total{command="update",service="orders"} 2
outbox_published_total{service="orders"} 12
events_handled_total{subject="ticket.created",outcome="acked",service="orders"} 5
events_handled_total{subject="payment.created",outcome="acked",service="orders"} 3
events_handled_total{subject="ticket.created",outcome="deferred",service="orders"} 1
http_request_duration_seconds_bucket{le="+Inf",route="/api/orders/:id",path="a \\"quoted\\", \\\\ one"} 4
`;

describe('/metrics', () => {
  it('parses samples with labels, escapes and infinities', () => {
    const samples = parseMetrics(exposition);
    expect(samples).toHaveLength(9);
    expect(samples[0]).toEqual({
      name: 'process_cpu_seconds_total',
      labels: { service: 'orders' },
      value: 0.357014,
    });
    expect(samples[8]!.labels).toEqual({ le: '+Inf', route: '/api/orders/:id', path: 'a "quoted", \\ one' });
    expect(parseMetrics('up 1 1700000000000\nnan_metric NaN\nlargest +Inf\n+Inf_bad 3')).toEqual([
      { name: 'up', labels: {}, value: 1 },
      { name: 'nan_metric', labels: {}, value: Number.NaN },
      { name: 'largest', labels: {}, value: Number.POSITIVE_INFINITY },
    ]);
  });

  it('keeps the counters a purchase costs: commands by name, events published and handled by outcome', () => {
    expect(serviceCounters(parseMetrics(exposition))).toEqual({
      mongoCommands: { insert: 18, find: 7, update: 2 },
      eventsPublished: 12,
      eventsHandled: { acked: 8, deferred: 1 },
    });
    expect(serviceCounters([])).toEqual({ mongoCommands: {}, eventsPublished: 0, eventsHandled: {} });
  });

  describe('from a real server', () => {
    let server: HttpServerHandle;
    beforeAll(async () => {
      server = await listenHttp((req, res) => {
        if (req.url === '/metrics') {
          res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
          res.end(exposition);
        } else {
          res.writeHead(503);
          res.end();
        }
      });
    });
    afterAll(() => server.close());

    it('fetches and parses /metrics, and says which server failed', async () => {
      expect(serviceCounters(await fetchMetrics(server.url)).eventsPublished).toBe(12);
      await expect(fetchMetrics(`${server.url}/nothing`)).rejects.toThrow(MeasurementError);
      await expect(fetchMetrics(`${server.url}/nothing`)).rejects.toThrow('answered 503');
      await expect(fetchMetrics('http://127.0.0.1:1')).rejects.toMatchObject({ code: 'MEASUREMENT_FAILED' });
    });
  });
});
