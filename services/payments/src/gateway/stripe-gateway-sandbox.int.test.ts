// The Stripe gateway against the test kit's Stripe sandbox: the journeys stripe-mock cannot play (it declines no
// card and keeps no idempotency keys, stripe/stripe-mock#158), through the real Stripe client over HTTP.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  objectId,
  SANDBOX_APPROVED_TOKENS,
  SANDBOX_DECLINED_TOKENS,
  type StripeSandbox,
  startStripeSandbox,
} from '@ticketing/testing';
import {
  type ChargeRequest,
  InvalidPaymentTokenError,
  PaymentDeclinedError,
  PaymentGatewayError,
} from './payment-gateway';
import { StripeGateway } from './stripe-gateway';

let sandbox: StripeSandbox;
let gateway: StripeGateway;
const dir = mkdtempSync(join(tmpdir(), 'stripe-sandbox-'));

const gatewayOf = (server: StripeSandbox) =>
  new StripeGateway({ secretKey: server.secretKey, apiUrl: server.url, maxNetworkRetries: 0 });

beforeAll(async () => {
  sandbox = await startStripeSandbox({ file: join(dir, 'answers.jsonl') });
  gateway = gatewayOf(sandbox);
});

afterAll(async () => {
  await sandbox?.close();
  rmSync(dir, { recursive: true, force: true });
});

function chargeRequest(overrides: Partial<ChargeRequest> = {}): ChargeRequest {
  const orderId = objectId();
  return {
    amountCents: 2500,
    currency: 'usd',
    token: 'tok_visa',
    idempotencyKey: orderId,
    metadata: { orderId },
    ...overrides,
  };
}

function failure(promise: Promise<unknown>): Promise<Error> {
  return promise.then(
    () => {
      throw new Error('expected the gateway to refuse');
    },
    (error: Error) => error,
  );
}

const chargesOf = (orderId: string) => sandbox.charges().filter((c) => c.metadata.orderId === orderId);

it('charges tok_visa once per idempotency key, also for concurrent first requests', async () => {
  const request = chargeRequest();
  const first = await gateway.charge(request);
  expect(first.chargeId).toMatch(/^ch_[A-Za-z0-9]{24}$/);

  expect(await gateway.charge(request)).toEqual(first);
  const concurrent = await Promise.all(Array.from({ length: 5 }, () => gateway.charge(request)));
  expect(concurrent).toEqual(Array(5).fill(first));
  expect(chargesOf(request.metadata!.orderId!)).toEqual([
    { id: first.chargeId, status: 'succeeded', amount: 2500, token: 'tok_visa', metadata: request.metadata },
  ]);
});

it('keeps its answers across a restart when given a file', async () => {
  const request = chargeRequest();
  const first = await gateway.charge(request);
  await sandbox.close();
  sandbox = await startStripeSandbox({ file: join(dir, 'answers.jsonl') });
  gateway = gatewayOf(sandbox);

  expect(await gateway.charge(request)).toEqual(first);
  expect(chargesOf(request.metadata!.orderId!)).toHaveLength(1);
});

it('refuses a key reused with other parameters, as Stripe does, and charges nothing more', async () => {
  const request = chargeRequest();
  await gateway.charge(request);
  for (const other of [{ token: 'tok_mastercard' }, { amountCents: 2600 }, { metadata: { orderId: 'x' } }]) {
    const error = await failure(gateway.charge({ ...request, ...other }));
    expect(error).toBeInstanceOf(PaymentGatewayError);
    expect(error.message).toMatch(/same parameters/);
  }
  expect(chargesOf(request.metadata!.orderId!)).toHaveLength(1);
});

it('approves every brand token it documents, each a new charge', async () => {
  const ids = new Set<string>();
  for (const token of Object.keys(SANDBOX_APPROVED_TOKENS)) {
    ids.add((await gateway.charge(chargeRequest({ token }))).chargeId);
  }
  expect(ids.size).toBe(Object.keys(SANDBOX_APPROVED_TOKENS).length);
});

it.each(Object.entries(SANDBOX_DECLINED_TOKENS))(
  'declines %s with its reason, the same for its key again',
  async (token, decline) => {
    const request = chargeRequest({ token });
    const error = await failure(gateway.charge(request));
    expect(error).toBeInstanceOf(PaymentDeclinedError);
    expect(error).toMatchObject({ message: decline.message, declineCode: decline.decline_code });

    const again = await failure(gateway.charge(request));
    expect(again).toMatchObject({ message: decline.message, declineCode: decline.decline_code });
    expect(chargesOf(request.metadata!.orderId!)).toEqual([
      expect.objectContaining({ id: expect.stringMatching(/^ch_/), status: 'failed', token }),
    ]);
  },
);

it('rejects an unknown token and an amount under 50 cents as Stripe does, keeping nothing for the key', async () => {
  const unknown = chargeRequest({ token: 'tok_made_up' });
  const error = await failure(gateway.charge(unknown));
  expect(error).toBeInstanceOf(InvalidPaymentTokenError);
  expect(error.message).toBe("No such token: 'tok_made_up'");

  const small = chargeRequest({ amountCents: 49 });
  const tooSmall = await failure(gateway.charge(small));
  expect(tooSmall).toBeInstanceOf(PaymentGatewayError);
  expect(tooSmall.message).toMatch(/at least \$0\.50/);

  expect(chargesOf(unknown.metadata!.orderId!)).toEqual([]);
  // Not kept, so the key is still free for a valid request.
  expect((await gateway.charge({ ...small, amountCents: 50 })).chargeId).toMatch(/^ch_/);
});

it('refunds what it charged once per key, and refuses a second refund or a charge it never made', async () => {
  const { chargeId } = await gateway.charge(chargeRequest());
  const key = `refund-${objectId()}`;
  const { refundId } = await gateway.refund({ chargeId, idempotencyKey: key });
  expect(refundId).toMatch(/^re_[A-Za-z0-9]{24}$/);
  expect(await gateway.refund({ chargeId, idempotencyKey: key })).toEqual({ refundId });
  expect(sandbox.refunds().filter((r) => r.charge === chargeId)).toEqual([
    { id: refundId, charge: chargeId, amount: 2500 },
  ]);

  const second = await failure(gateway.refund({ chargeId, idempotencyKey: `refund-${objectId()}` }));
  expect(second).toBeInstanceOf(PaymentGatewayError);
  expect(second.message).toMatch(/already been refunded/);

  const unknown = await failure(gateway.refund({ chargeId: 'ch_nope', idempotencyKey: objectId() }));
  expect(unknown.message).toMatch(/No such charge/);

  const declined = chargeRequest({ token: 'tok_chargeDeclined' });
  await failure(gateway.charge(declined));
  const [failedCharge] = chargesOf(declined.metadata!.orderId!);
  const notCharged = await failure(
    gateway.refund({ chargeId: failedCharge!.id, idempotencyKey: objectId() }),
  );
  expect(notCharged.message).toMatch(/No such charge/);

  // A refund key is a key like any other: reused for a different request, it is refused.
  const { chargeId: other } = await gateway.charge(chargeRequest());
  const reused = await failure(gateway.refund({ chargeId: other, idempotencyKey: key }));
  expect(reused.message).toMatch(/same parameters/);
});

it('takes test keys only', async () => {
  const live = new StripeGateway({ secretKey: 'sk_live_x', apiUrl: sandbox.url, maxNetworkRetries: 0 });
  expect(await failure(live.charge(chargeRequest()))).toBeInstanceOf(PaymentGatewayError);
});
