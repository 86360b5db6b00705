import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { eventually } from '@ticketing/testing';
import {
  ApiClient,
  listTicket,
  orderTicket,
  payOrder,
  resilientPurchase,
  startTestStack,
  type TestStack,
  waitForOrderStatus,
} from './support';

let test: TestStack;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

beforeAll(async () => {
  test = await startTestStack({
    WEBHOOK_RETRY_SCHEDULE: '1,2',
    NOTIFICATIONS_POLL_MS: '250',
    PAYMENT_CLAIM_GRACE_SECONDS: '3',
    AUTH_RATE_LIMIT_PER_IP: '10000',
  });
}, 180_000);

afterAll(async () => {
  await test?.stop();
});

/** The README's receiver check, as a receiver would write it. */
function verify(secret: string, header: string, rawBody: string, toleranceSeconds = 300): boolean {
  const parts = Object.fromEntries(header.split(',').map((p) => p.split('=')));
  const t = Number(parts.t);
  if (!(Math.abs(Date.now() / 1000 - t) <= toleranceSeconds)) return false;
  const expected = createHmac('sha256', secret).update(`${t}.${rawBody}`).digest();
  const given = Buffer.from(parts.v1 ?? '', 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

interface Post {
  eventId: string;
  signature: string;
  rawBody: string;
  body: { id: string; type: string; createdAt: string; data: { orderId?: string; ticketId?: string } };
}

/** A real webhook receiver on this machine; it can go down and come back on the same port. */
class Receiver {
  readonly posts: Post[] = [];
  private server: Server | undefined;
  port = 0;

  get url(): string {
    return `http://127.0.0.1:${this.port}/hook`;
  }

  async up(): Promise<void> {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const rawBody = Buffer.concat(chunks).toString('utf8');
        this.posts.push({
          eventId: String(req.headers['ticketing-event-id']),
          signature: String(req.headers['ticketing-signature']),
          rawBody,
          body: JSON.parse(rawBody),
        });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', () => resolve()));
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }

  async down(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((resolve) => this.server?.close(resolve));
  }
}

async function registerWebhook(user: ApiClient, url: string, events: string[]) {
  const answer = await user.request<{ id: string; secret: string }>('POST', '/api/webhooks', { url, events });
  expect(answer.status).toBe(201);
  return answer.body;
}

async function purchase(buyer: ApiClient, ticketId: string) {
  const order = await orderTicket(buyer, ticketId);
  expect((await payOrder(buyer, order.id)).status).toBe(201);
  await waitForOrderStatus(buyer, order.id, 'complete');
  return order.id;
}

it('notifies the seller of a sale once, with a signature that verifies', async () => {
  const receiver = new Receiver();
  await receiver.up();
  try {
    const seller = await new ApiClient(test.stack.url).signup();
    const webhook = await registerWebhook(seller, receiver.url, ['ticket.sold']);
    const ticket = await listTicket(seller, 42, 'Webhook concert');
    const buyer = await new ApiClient(test.stack.url).signup();
    const orderId = await purchase(buyer, ticket.id);

    await eventually(() => expect(receiver.posts).toHaveLength(1), { timeoutMs: 20_000 });
    await sleep(2000); // a second POST would come by now
    expect(receiver.posts).toHaveLength(1);
    const [post] = receiver.posts;
    expect(verify(webhook.secret, post!.signature, post!.rawBody)).toBe(true);
    expect(post!.body).toMatchObject({
      id: post!.eventId,
      type: 'ticket.sold',
      data: { orderId, ticketId: ticket.id },
    });
    const deliveries = await seller.request<Array<{ status: string; attempts: number }>>(
      'GET',
      `/api/webhooks/${webhook.id}/deliveries`,
    );
    expect(deliveries.body).toEqual([expect.objectContaining({ status: 'delivered', attempts: 1 })]);
  } finally {
    await receiver.down();
  }
}, 90_000);

it('gives a receiver that was down every event it missed, in order, once it is back', async () => {
  const receiver = new Receiver();
  await receiver.up();
  await receiver.down(); // its port is known, nothing listens on it
  const seller = await new ApiClient(test.stack.url).signup();
  const buyer = await new ApiClient(test.stack.url).signup();
  await registerWebhook(buyer, receiver.url, ['order.created', 'order.completed']);
  const orderIds: string[] = [];
  for (let i = 0; i < 3; i++)
    orderIds.push(await purchase(buyer, (await listTicket(seller, 10 + i, `Missed ${i}`)).id));
  await sleep(3000); // retried against a closed port meanwhile
  await receiver.up();
  try {
    const expected = orderIds.flatMap((id) => [`order.created ${id}`, `order.completed ${id}`]);
    await eventually(() => expect(receiver.posts).toHaveLength(6), { timeoutMs: 30_000 });
    expect(receiver.posts.map((p) => `${p.body.type} ${p.body.data.orderId}`)).toEqual(expected);
  } finally {
    await receiver.down();
  }
}, 120_000);

it('loses no webhook and records each once when notifications is killed with -9 during a burst of sales', async () => {
  const receiver = new Receiver();
  await receiver.up();
  try {
    const seller = await new ApiClient(test.stack.url).signup();
    const webhook = await registerWebhook(seller, receiver.url, ['ticket.sold']);
    const tickets: Array<{ id: string }> = [];
    for (let i = 0; i < 10; i++) tickets.push(await listTicket(seller, 10 + i, `Burst ${i}`));
    const buyers = await Promise.all(tickets.map(() => new ApiClient(test.stack.url).signup()));
    const purchases = Promise.all(buyers.map((buyer, i) => resilientPurchase(buyer, tickets[i]!.id)));
    // Killed as soon as the first sale reached the receiver: others are being handled, created or sent.
    await eventually(() => expect(receiver.posts.length).toBeGreaterThanOrEqual(1), {
      timeoutMs: 30_000,
      intervalMs: 5,
    });
    const notifications = test.stack.services.notifications;
    const before = notifications.process.pid;
    notifications.process.kill('SIGKILL');
    await purchases;
    await eventually(
      async () => {
        expect(notifications.process.pid).not.toBe(before);
        expect((await fetch(`${notifications.url}/readyz`)).status).toBe(200);
      },
      { timeoutMs: 30_000, intervalMs: 200 },
    );

    const soldTickets = () => new Set(receiver.posts.map((p) => p.body.data.ticketId));
    await eventually(() => expect(soldTickets().size).toBe(10), { timeoutMs: 60_000 });
    expect(soldTickets()).toEqual(new Set(tickets.map((t) => t.id)));
    // The service recorded one delivery per sale, each delivered.
    await eventually(async () => {
      const deliveries = await seller.request<Array<{ eventId: string; status: string }>>(
        'GET',
        `/api/webhooks/${webhook.id}/deliveries`,
      );
      expect(deliveries.body).toHaveLength(10);
      expect(deliveries.body.every((d) => d.status === 'delivered')).toBe(true);
      expect(new Set(deliveries.body.map((d) => d.eventId))).toEqual(
        new Set(receiver.posts.map((p) => p.eventId)),
      );
    });
    await sleep(3000); // a late repeat would arrive by now
    // One event id per sale. The receiver may see one POST twice: the attempt the kill cut off after the
    // receiver answered and before the answer was recorded (the same Ticketing-Event-Id, which receivers drop).
    const perEvent = new Map<string, number>();
    for (const post of receiver.posts) perEvent.set(post.eventId, (perEvent.get(post.eventId) ?? 0) + 1);
    expect(perEvent.size).toBe(10);
    expect(receiver.posts.length - perEvent.size).toBeLessThanOrEqual(1);
    for (const post of receiver.posts)
      expect(verify(webhook.secret, post.signature, post.rawBody)).toBe(true);
  } finally {
    await receiver.down();
  }
}, 180_000);
