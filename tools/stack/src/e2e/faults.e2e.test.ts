import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { eventually } from '@ticketing/testing';
import type { ServiceName } from '../stack';
import { consistencyViolations, snapshot } from './consistency';
import { purchaseBurst, startTestStack, type TestStack } from './support';

let test: TestStack;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

beforeAll(async () => {
  test = await startTestStack({
    // Payments resumes a charge whose recording a crash interrupted after this long (same idempotency key).
    PAYMENT_CLAIM_GRACE_SECONDS: '3',
    AUTH_RATE_LIMIT_PER_IP: '10000',
  });
}, 180_000);

afterAll(async () => {
  await test?.stop();
});

const burstWith = (count: number, fault: () => Promise<void>) => purchaseBurst(test, count, fault);

function killHard(service: ServiceName) {
  return async () => {
    const before = test.stack.services[service].process.pid;
    test.stack.services[service].process.kill('SIGKILL');
    // The supervisor restarts it with back-off; wait until a new process serves again.
    await eventually(
      async () => {
        expect(test.stack.services[service].process.pid).not.toBe(before);
        expect((await fetch(`${test.stack.services[service].url}/readyz`)).status).toBe(200);
      },
      { timeoutMs: 30_000, intervalMs: 200 },
    );
  };
}

it('loses nothing when orders is killed with -9 in the middle of a burst of purchases', async () => {
  const orders = await burstWith(10, killHard('orders'));
  expect(new Set(orders).size).toBe(10);
}, 180_000);

it('loses nothing when tickets is killed with -9 in the middle of a burst of purchases', async () => {
  await burstWith(10, killHard('tickets'));
}, 180_000);

it('loses nothing when nats-server restarts in the middle of a burst of purchases', async () => {
  const nats = test.stack.nats;
  if (!nats) throw new Error('this test needs the stack’s own nats-server (unset NATS_URL)');
  await burstWith(10, async () => {
    await nats.stop();
    await sleep(1500);
    await nats.restart();
  });
}, 180_000);

it('changes nothing when every consumer is reset and every event is delivered again', async () => {
  // Quiet first: every change published (a relay may still be backing off after the NATS restart above).
  await eventually(async () => expect(await consistencyViolations(test)).toEqual([]), {
    timeoutMs: 60_000,
    intervalMs: 500,
  });
  const before = await snapshot(test);
  const nc = await connect({ servers: test.stack.natsUrl });
  try {
    const jsm = await jetstreamManager(nc);
    const counts = async () =>
      Object.fromEntries(
        await Promise.all(
          ['TICKETS', 'ORDERS', 'PAYMENTS', 'EXPIRATION'].map(async (s) => [
            s,
            (await jsm.streams.info(s)).state.messages,
          ]),
        ),
      );
    const messagesBefore = await counts();
    const consumers: Array<[string, string]> = [];
    for (const stream of ['TICKETS', 'ORDERS', 'PAYMENTS', 'EXPIRATION']) {
      // The services' durables (a test reader's ephemeral consumer may still be on its way out).
      for await (const info of jsm.consumers.list(stream))
        if (info.config.durable_name) consumers.push([stream, info.name]);
    }
    // tickets 3, orders 5 (the event catalog's consumers), payments 3, expiration 1, notifications 5.
    expect(consumers).toHaveLength(17);
    for (const [stream, name] of consumers) await jsm.consumers.delete(stream, name);
    // Each service recreates its durables at start, from the first message of each stream.
    for (const service of ['tickets', 'orders', 'payments', 'expiration', 'notifications'] as const)
      await killHard(service)();
    await eventually(
      async () => {
        for (const [stream, name] of consumers) {
          const info = await jsm.consumers.info(stream, name);
          expect([name, info.num_pending, info.num_ack_pending]).toEqual([name, 0, 0]);
          // Everything on its subject was delivered to the new consumer (and acked, per the line above).
          const subject = info.config.filter_subject!;
          const { state } = await jsm.streams.info(stream, { subjects_filter: subject });
          const stored = (state.subjects as Record<string, number> | undefined)?.[subject] ?? 0;
          expect([name, info.delivered.consumer_seq >= stored]).toEqual([name, true]);
        }
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    await sleep(1000);
    expect(await counts()).toEqual(messagesBefore);
    expect(await snapshot(test)).toEqual(before);
    expect(await consistencyViolations(test)).toEqual([]);
  } finally {
    await nc.close();
  }
}, 180_000);
