import { readFile } from 'node:fs/promises';
import { eventually } from '@ticketing/testing';
import { launchChromium, newShopper, sellTicket, signUp, visible } from './browser';
import { ApiClient, listTicket, startTestStack, type TestStack, waitForOrderStatus } from './support';

let test: TestStack;

beforeAll(async () => {
  // Jaeger built by the recipe when it is missing (CI's install-tools run has it already).
  // Orders expire soon enough for the expiry test, late enough for the purchase to be paid first.
  test = await startTestStack({ ORDER_EXPIRATION_SECONDS: '20' }, { jaeger: 'build' });
}, 900_000);

afterAll(async () => {
  await test?.stop();
});

/** A trace as Jaeger's query API returns it (`/api/traces/<id>`). */
interface JaegerTrace {
  traceID: string;
  spans: Array<{
    spanID: string;
    operationName: string;
    processID: string;
    references: Array<{ refType: string; spanID: string }>;
  }>;
  processes: Record<string, { serviceName: string }>;
}

/** `<service> <operation>` of every span of the trace, and the span each one is a child of. */
async function fetchTrace(traceId: string) {
  const response = await fetch(`${test.stack.jaeger!.url}/api/traces/${traceId}`);
  if (response.status !== 200) throw new Error(`trace ${traceId}: ${response.status}`);
  const [found] = ((await response.json()) as { data: JaegerTrace[] }).data;
  const named = new Map(
    found!.spans.map((span) => [
      span.spanID,
      `${found!.processes[span.processID]!.serviceName} ${span.operationName}`,
    ]),
  );
  return found!.spans.map((span) => ({
    span: named.get(span.spanID)!,
    parent: named.get(span.references.find((ref) => ref.refType === 'CHILD_OF')?.spanID ?? ''),
  }));
}

/** Orders a ticket through the gateway; the answer names the order's trace (W3C traceresponse). */
async function placeOrder(buyer: ApiClient, ticketId: string) {
  return eventually(async () => {
    const response = await fetch(`${test.stack.url}/api/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie: buyer.sessionCookie },
      body: JSON.stringify({ ticketId }),
    });
    if (response.status !== 201) throw new Error(`order: ${response.status} ${await response.text()}`);
    return {
      order: (await response.json()) as { id: string },
      traceresponse: response.headers.get('traceresponse'),
    };
  });
}

it('runs Jaeger and lists it in stack.json', async () => {
  expect(test.stack.jaeger?.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  const state = JSON.parse(await readFile(test.stack.stateFile, 'utf8')) as {
    jaeger: { url: string };
    processes: Array<{ role: string }>;
  };
  expect(state.jaeger.url).toBe(test.stack.jaeger!.url);
  expect(state.processes.map((p) => p.role)).toContain('jaeger');
});

it('traces one purchase across tickets, orders, payments and expiration, and the log lines carry its trace id', async () => {
  const seller = await new ApiClient(test.stack.url).signup();
  const buyer = await new ApiClient(test.stack.url).signup();
  const ticket = await listTicket(seller, 30, 'Traced purchase');
  const ordered = await placeOrder(buyer, ticket.id);
  const [, traceId, spanId] = ordered.traceresponse?.split('-') ?? [];
  expect(traceId).toMatch(/^[0-9a-f]{32}$/);
  // The buyer's payment continues the purchase's trace, as a client that carries traceparent does.
  const paid = await eventually(async () => {
    const response = await fetch(`${test.stack.url}/api/payments`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        cookie: buyer.sessionCookie,
        traceparent: `00-${traceId}-${spanId}-01`,
      },
      body: JSON.stringify({ orderId: ordered.order.id, token: 'tok_visa' }),
    });
    if (response.status === 404) throw new Error('payments does not know the order yet');
    return response;
  });
  expect(paid.status).toBe(201);
  expect(paid.headers.get('traceresponse')).toContain(traceId);
  await waitForOrderStatus(buyer, ordered.order.id, 'complete');

  const expected = [
    { span: 'orders POST /api/orders', parent: undefined },
    { span: 'orders send order.created', parent: 'orders POST /api/orders' },
    { span: 'tickets process order.created', parent: 'orders send order.created' },
    { span: 'payments process order.created', parent: 'orders send order.created' },
    { span: 'expiration process order.created', parent: 'orders send order.created' },
    { span: 'tickets send ticket.updated', parent: 'tickets process order.created' },
    { span: 'payments POST /api/payments', parent: 'orders POST /api/orders' },
    { span: 'payments send payment.created', parent: 'payments POST /api/payments' },
    { span: 'orders process payment.created', parent: 'payments send payment.created' },
    { span: 'orders send order.completed', parent: 'orders process payment.created' },
    { span: 'tickets process order.completed', parent: 'orders send order.completed' },
  ];
  // Spans arrive in batches from five processes: ask until every one is there.
  await eventually(
    async () => {
      const spans = await fetchTrace(traceId!);
      for (const span of expected) expect(spans).toContainEqual(span);
    },
    { timeoutMs: 60_000, intervalMs: 1000 },
  );
  // Each service's spans are found by service too.
  for (const service of ['tickets', 'orders', 'payments', 'expiration']) {
    const response = await fetch(
      `${test.stack.jaeger!.url}/api/traces?service=${service}&limit=100&lookback=1h`,
    );
    const traces = ((await response.json()) as { data: JaegerTrace[] }).data;
    expect(traces.map((trace) => trace.traceID)).toContain(traceId);
  }
  // The log lines of the purchase carry its trace id: the request lines of orders and payments (their handlers
  // of events log nothing at info when all goes well).
  const log = await readFile(test.logFile, 'utf8');
  for (const service of ['orders', 'payments']) {
    const lines = log
      .split('\n')
      .filter((line) => line.startsWith(service) && line.includes(`traceId=${traceId}`));
    expect({ service, lines: lines.length > 0 }).toEqual({ service, lines: true });
  }
}, 180_000);

it('an order left unpaid expires in the trace of its creation: the timer expiration set continues it', async () => {
  const seller = await new ApiClient(test.stack.url).signup();
  const buyer = await new ApiClient(test.stack.url).signup();
  const ticket = await listTicket(seller, 12, 'Traced expiry');
  const ordered = await placeOrder(buyer, ticket.id);
  const traceId = ordered.traceresponse?.split('-')[1];
  await waitForOrderStatus(buyer, ordered.order.id, 'cancelled', 90_000, 500);
  const expected = [
    { span: 'expiration process order.created', parent: 'orders send order.created' },
    { span: 'expiration send expiration.complete', parent: 'expiration process order.created' },
    { span: 'orders process expiration.complete', parent: 'expiration send expiration.complete' },
    { span: 'orders send order.cancelled', parent: 'orders process expiration.complete' },
  ];
  await eventually(
    async () => {
      const spans = await fetchTrace(traceId!);
      for (const span of expected) expect(spans).toContainEqual(span);
    },
    { timeoutMs: 60_000, intervalMs: 1000 },
  );
}, 180_000);

it('a purchase in the shop is one trace: the browser pays in the trace of its order', async () => {
  const browser = await launchChromium();
  try {
    const [seller, buyer] = [
      await newShopper(browser, test.stack.url),
      await newShopper(browser, test.stack.url),
    ];
    await signUp(seller);
    await signUp(buyer);
    const ticketId = await sellTicket(seller, 'Traced in the shop', '45');
    await buyer.page.goto(`/tickets/${ticketId}`);
    const ordered = buyer.page.waitForResponse((r) => r.url().endsWith('/api/orders') && r.status() === 201);
    await (await visible(buyer.page.getByRole('button', { name: /^Buy for \$/ }))).click();
    const traceresponse = (await ordered).headers().traceresponse;
    const traceId = traceresponse?.split('-')[1];
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);
    await visible(buyer.page.getByRole('timer'));
    const paying = buyer.page.waitForRequest((r) => r.url().endsWith('/api/payments'));
    await buyer.page.getByRole('button', { name: 'Pay $45.00' }).click();
    expect((await paying).headers().traceparent).toBe(traceresponse);
    await visible(buyer.page.getByText('Paid. The ticket is yours'), 30_000);
    await eventually(
      async () => {
        const spans = await fetchTrace(traceId!);
        expect(spans).toContainEqual({
          span: 'payments POST /api/payments',
          parent: 'orders POST /api/orders',
        });
        expect(spans).toContainEqual({
          span: 'orders process payment.created',
          parent: 'payments send payment.created',
        });
      },
      { timeoutMs: 60_000, intervalMs: 1000 },
    );
  } finally {
    await browser.close();
  }
}, 180_000);
