import { type MongoHandle, objectId, startMongo } from '@ticketing/testing';
import mongoose, { type Connection } from 'mongoose';

import {
  type ChargeRequest,
  InvalidPaymentTokenError,
  PaymentDeclinedError,
  PaymentGatewayError,
} from './payment-gateway';
import {
  SANDBOX_APPROVED_TOKENS,
  SANDBOX_COLLECTION,
  SANDBOX_DECLINED_TOKENS,
  SandboxGateway,
  sandboxRecordModel,
} from './sandbox-gateway';

let mongo: MongoHandle;
let connection: Connection;
const warnings: string[] = [];
const logger = {
  warn: (_fields: object, message: string) => {
    warnings.push(message);
  },
};

beforeAll(async () => {
  mongo = await startMongo();
  connection = await mongoose.createConnection(mongo.url).asPromise();
});

afterAll(async () => {
  await connection?.close();
  await mongo?.stop();
});

/** A gateway instance: each call is a fresh one, as after a restart or on another replica. */
const gateway = () => new SandboxGateway({ connection, logger });
const records = () => sandboxRecordModel(connection);

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

it('says at start, as a warning, that no real payment provider is used', () => {
  gateway();
  expect(warnings.at(-1)).toMatch(/PAYMENT_GATEWAY=sandbox: NO real payment provider/);
});

it('charges tok_visa once per idempotency key, also from another instance, and keeps it in sandbox_charges', async () => {
  const request = chargeRequest();
  const first = await gateway().charge(request);
  expect(first.chargeId).toMatch(/^ch_[A-Za-z0-9]{24}$/);

  // The same request again from a restarted instance, and five at once: the original charge every time.
  expect(await gateway().charge(request)).toEqual(first);
  const concurrent = await Promise.all(Array.from({ length: 5 }, () => gateway().charge(request)));
  expect(concurrent).toEqual(Array(5).fill(first));

  const stored = await connection
    .collection(SANDBOX_COLLECTION)
    .find({ 'metadata.orderId': request.metadata!.orderId })
    .toArray();
  expect(stored).toEqual([
    expect.objectContaining({
      _id: request.idempotencyKey,
      kind: 'charge',
      status: 'succeeded',
      chargeId: first.chargeId,
      amountCents: 2500,
      currency: 'usd',
      token: 'tok_visa',
    }),
  ]);
});

it('gives one charge to concurrent first requests with the same key', async () => {
  const request = chargeRequest();
  const results = await Promise.all(Array.from({ length: 6 }, () => gateway().charge(request)));
  expect(new Set(results.map((r) => r.chargeId)).size).toBe(1);
  expect(await records().countDocuments({ _id: request.idempotencyKey })).toBe(1);
});

it('refuses a key reused with other parameters, as Stripe does, and charges nothing more', async () => {
  const request = chargeRequest();
  await gateway().charge(request);
  for (const other of [{ token: 'tok_mastercard' }, { amountCents: 2600 }, { metadata: { orderId: 'x' } }]) {
    const error = await failure(gateway().charge({ ...request, ...other }));
    expect(error).toBeInstanceOf(PaymentGatewayError);
    expect(error.message).toMatch(/same parameters/);
  }
  expect(await records().countDocuments({ _id: request.idempotencyKey })).toBe(1);
});

it('approves every brand token it documents, each a new charge', async () => {
  const ids = new Set<string>();
  for (const token of Object.keys(SANDBOX_APPROVED_TOKENS)) {
    ids.add((await gateway().charge(chargeRequest({ token }))).chargeId);
  }
  expect(ids.size).toBe(Object.keys(SANDBOX_APPROVED_TOKENS).length);
});

it("declines tok_chargeDeclined with Stripe's card_error, and answers the same decline for its key again", async () => {
  const request = chargeRequest({ token: 'tok_chargeDeclined' });
  const error = await failure(gateway().charge(request));
  expect(error).toBeInstanceOf(PaymentDeclinedError);
  expect(error).toMatchObject({ message: 'Your card was declined.', declineCode: 'generic_decline' });

  const again = await failure(gateway().charge(request));
  expect(again).toBeInstanceOf(PaymentDeclinedError);
  expect(again.message).toBe('Your card was declined.');
  expect(await records().findById(request.idempotencyKey).lean()).toMatchObject({
    kind: 'charge',
    status: 'failed',
    chargeId: expect.stringMatching(/^ch_/),
    decline: { code: 'card_declined', decline_code: 'generic_decline' },
  });
});

it.each(Object.entries(SANDBOX_DECLINED_TOKENS))('declines %s with its reason', async (token, decline) => {
  const error = await failure(gateway().charge(chargeRequest({ token })));
  expect(error).toBeInstanceOf(PaymentDeclinedError);
  expect(error).toMatchObject({ message: decline.message, declineCode: decline.decline_code });
});

it('rejects an unknown token and an amount under 50 cents as Stripe does, keeping nothing for the key', async () => {
  const unknown = chargeRequest({ token: 'tok_made_up' });
  const error = await failure(gateway().charge(unknown));
  expect(error).toBeInstanceOf(InvalidPaymentTokenError);
  expect(error.message).toBe("No such token: 'tok_made_up'");

  const small = chargeRequest({ amountCents: 49 });
  const tooSmall = await failure(gateway().charge(small));
  expect(tooSmall).toBeInstanceOf(PaymentGatewayError);
  expect(tooSmall.message).toMatch(/at least \$0\.50/);

  expect(
    await records().countDocuments({ _id: { $in: [unknown.idempotencyKey, small.idempotencyKey] } }),
  ).toBe(0);
  // Not stored, so the key is still free for a valid request.
  expect((await gateway().charge({ ...small, amountCents: 50 })).chargeId).toMatch(/^ch_/);
});

it('refunds what it charged once per key, and refuses a second refund or a charge it never made', async () => {
  const { chargeId } = await gateway().charge(chargeRequest());
  const key = `refund-${objectId()}`;
  const { refundId } = await gateway().refund({ chargeId, idempotencyKey: key });
  expect(refundId).toMatch(/^re_[A-Za-z0-9]{24}$/);
  expect(await gateway().refund({ chargeId, idempotencyKey: key })).toEqual({ refundId });
  expect(await records().find({ chargeId, kind: 'refund' }).lean()).toEqual([
    expect.objectContaining({ _id: key, refundId, amountCents: 2500, status: 'succeeded' }),
  ]);

  const second = await failure(gateway().refund({ chargeId, idempotencyKey: `refund-${objectId()}` }));
  expect(second).toBeInstanceOf(PaymentGatewayError);
  expect(second.message).toMatch(/already been refunded/);

  const unknown = await failure(gateway().refund({ chargeId: 'ch_nope', idempotencyKey: objectId() }));
  expect(unknown.message).toMatch(/No such charge/);

  const declined = chargeRequest({ token: 'tok_chargeDeclined' });
  await failure(gateway().charge(declined));
  const { chargeId: failedCharge } = (await records().findById(declined.idempotencyKey).lean())!;
  const notCharged = await failure(gateway().refund({ chargeId: failedCharge, idempotencyKey: objectId() }));
  expect(notCharged.message).toMatch(/No such charge/);

  // A refund key is a key like any other: reused for a different request, it is refused.
  const { chargeId: other } = await gateway().charge(chargeRequest());
  const reused = await failure(gateway().refund({ chargeId: other, idempotencyKey: key }));
  expect(reused.message).toMatch(/same parameters/);
});
