import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { durableName } from '@ticketing/common';
import { eventually } from '@ticketing/testing';
import { replicatedNames } from '../stack';
import { consistencyViolations } from './consistency';
import {
  type Answer,
  ApiClient,
  listTicket,
  orderTicket,
  payOrder,
  purchaseBurst,
  startTestStack,
  type TestStack,
  waitForOrderStatus,
} from './support';

// Two replicas of every service on a 3-node NATS cluster whose streams have 3 replicas, as in production.
let test: TestStack;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

beforeAll(async () => {
  test = await startTestStack(
    {
      PAYMENT_CLAIM_GRACE_SECONDS: '3',
      AUTH_RATE_LIMIT_PER_IP: '10000',
      TICKET_CREATION_LIMIT_PER_MINUTE: '10000',
    },
    { scale: { replicas: 2, natsNodes: 3 } },
  );
}, 300_000);

afterAll(async () => {
  await test?.stop();
});

async function withJetStream<T>(use: (jsm: Awaited<ReturnType<typeof jetstreamManager>>) => Promise<T>) {
  const nc = await connect({ servers: test.stack.natsUrl.split(',') });
  try {
    return await use(await jetstreamManager(nc));
  } finally {
    await nc.close();
  }
}

it('runs every service twice and every stream on all three nats-servers', async () => {
  for (const name of replicatedNames) {
    expect(test.stack.replicas[name]).toHaveLength(2);
    // Every one started at the first attempt: none crashed setting up its streams and consumers on the cluster.
    expect(test.stack.replicas[name].map((r) => [name, r.process.restarts])).toEqual([
      [name, 0],
      [name, 0],
    ]);
  }
  expect(test.stack.natsNodes.map((node) => node.name)).toEqual(['n1', 'n2', 'n3']);
  await withJetStream(async (jsm) => {
    for (const stream of ['TICKETS', 'ORDERS', 'PAYMENTS', 'EXPIRATION']) {
      const info = await jsm.streams.info(stream);
      expect([stream, info.config.num_replicas, (info.cluster?.replicas ?? []).length]).toEqual([
        stream,
        3,
        2,
      ]);
    }
  });
}, 60_000);

/** An API client that remembers every answer a purchase must never get: a 5xx, or no answer at all. */
class WatchfulClient extends ApiClient {
  static failures: string[] = [];

  override async request<T = Record<string, unknown>>(
    method: string,
    path: string,
    body?: unknown,
  ): Promise<Answer<T>> {
    try {
      const answer = await super.request<T>(method, path, body);
      if (answer.status >= 500)
        WatchfulClient.failures.push(`${method} ${path}: ${answer.status} ${JSON.stringify(answer.body)}`);
      return answer;
    } catch (error) {
      WatchfulClient.failures.push(`${method} ${path}: ${(error as Error).message}`);
      throw error;
    }
  }
}

it('loses no event and fails no purchase while every replica of every service is restarted in turn', async () => {
  WatchfulClient.failures = [];
  const seller = await new WatchfulClient(test.stack.url).signup();
  let restarting = true;
  const completed: string[] = [];
  // Three buyers purchasing one ticket after another, like a steady trickle of customers, until the restart ends.
  const shopper = async () => {
    while (restarting) {
      const buyer = await new WatchfulClient(test.stack.url).signup();
      const ticket = await listTicket(seller, 20, 'Rolling');
      const order = await orderTicket(buyer, ticket.id, { timeoutMs: 30_000 });
      const paid = await payOrder(buyer, order.id, 'tok_visa', { timeoutMs: 30_000 });
      expect([order.id, paid.status]).toEqual([order.id, 201]);
      await waitForOrderStatus(buyer, order.id, 'complete', 60_000);
      completed.push(order.id);
    }
  };
  const shoppers = Promise.all([shopper(), shopper(), shopper()]);
  const restarted: string[] = [];
  try {
    for (const name of replicatedNames) {
      for (const index of [0, 1]) {
        const before = test.stack.replicas[name][index]!.process.pid;
        await test.stack.restartReplica(name, index, 90_000);
        expect(test.stack.replicas[name][index]!.process.pid).not.toBe(before);
        restarted.push(`${name}#${index + 1}`);
      }
    }
  } finally {
    restarting = false;
  }
  await shoppers;
  expect(restarted).toHaveLength(replicatedNames.length * 2);
  // Purchases went on during the whole restart, and not one request of theirs failed.
  expect(completed.length).toBeGreaterThanOrEqual(replicatedNames.length * 2);
  expect(WatchfulClient.failures).toEqual([]);
  await eventually(async () => expect(await consistencyViolations(test)).toEqual([]), {
    timeoutMs: 60_000,
    intervalMs: 500,
  });
}, 600_000);

/** How many events of `subject` one replica has handled and acked, from its /metrics. */
async function ackedBy(replicaUrl: string, subject: string): Promise<number> {
  const text = await (await fetch(`${replicaUrl}/metrics`)).text();
  return text
    .split('\n')
    .filter((line) => line.startsWith('events_handled_total{'))
    .filter((line) => line.includes(`subject="${subject}"`) && line.includes('outcome="acked"'))
    .reduce((total, line) => total + Number(line.split(' ').at(-1)), 0);
}

it('has the other replica handle the messages a replica held unacked when it was killed with -9', async () => {
  const [held, other] = test.stack.replicas.orders;
  const consumer = durableName('orders', 'ticket.created');
  const ackedBefore = await ackedBy(other!.url, 'ticket.created');
  // Frozen, it keeps its place among the consumer's pullers and takes messages it cannot ack.
  held!.process.kill('SIGSTOP');
  const seller = await new ApiClient(test.stack.url).signup();
  const tickets: Array<{ id: string }> = [];
  try {
    for (let i = 0; i < 10; i++) tickets.push(await listTicket(seller, 30 + i, `Held ${i}`));
    const unacked = async () => {
      const info = await withJetStream((jsm) => jsm.consumers.info('TICKETS', consumer));
      return info.num_pending === 0 ? info.num_ack_pending : 0;
    };
    await eventually(async () => expect(await unacked()).toBeGreaterThan(0), { timeoutMs: 30_000 });
    // The live replica acks within milliseconds: what is still unacked seconds later is the frozen one's.
    await sleep(3000);
    expect(await unacked()).toBeGreaterThan(0);
  } finally {
    // kill -9, and no restart until the other replica has done the work.
    await held!.process.stop('SIGKILL');
  }
  expect(held!.process.pid).toBeUndefined();
  // After the consumer's ack wait the server redelivers them, and only the other replica is there to take them:
  // it handles all ten, and orders sells each ticket.
  await eventually(async () => expect((await ackedBy(other!.url, 'ticket.created')) - ackedBefore).toBe(10), {
    timeoutMs: 90_000,
    intervalMs: 1000,
  });
  const info = await withJetStream((jsm) => jsm.consumers.info('TICKETS', consumer));
  expect([info.num_pending, info.num_ack_pending]).toEqual([0, 0]);
  const buyers = await Promise.all(tickets.map(() => new ApiClient(test.stack.url).signup()));
  for (const [i, ticket] of tickets.entries()) {
    const order = await orderTicket(buyers[i]!, ticket.id);
    expect((await payOrder(buyers[i]!, order.id)).status).toBe(201);
    await waitForOrderStatus(buyers[i]!, order.id, 'complete', 60_000);
  }
  held!.process.start();
  await test.stack.waitReady(120_000);
  await eventually(async () => expect(await consistencyViolations(test)).toEqual([]), {
    timeoutMs: 60_000,
    intervalMs: 500,
  });
}, 300_000);

it('loses nothing when the nats-server leading ORDERS is killed with -9 in a burst of purchases', async () => {
  const leaderOf = () =>
    withJetStream(async (jsm) => (await jsm.streams.info('ORDERS')).cluster?.leader ?? 'none');
  const leader = await leaderOf();
  const node = test.stack.natsNodes.find((candidate) => candidate.name === leader);
  if (!node) throw new Error(`ORDERS is led by ${leader}, not by a node of the stack`);
  const orderIds = await purchaseBurst(test, 10, async () => {
    process.kill(node.pid()!, 'SIGKILL');
    // The other two elect a new leader and carry on; the killed one comes back with its store and catches up.
    await eventually(async () => expect(['none', leader]).not.toContain(await leaderOf()), {
      timeoutMs: 30_000,
      intervalMs: 500,
    });
    await node.handle.restart();
  });
  expect(new Set(orderIds).size).toBe(10);
}, 300_000);
