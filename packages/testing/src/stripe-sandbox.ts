import { randomBytes } from 'node:crypto';
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Stripe test-mode tokens the sandbox approves, with the card brand each stands for. */
export const SANDBOX_APPROVED_TOKENS: Readonly<Record<string, string>> = {
  tok_visa: 'visa',
  tok_visa_debit: 'visa',
  tok_mastercard: 'mastercard',
  tok_mastercard_debit: 'mastercard',
  tok_mastercard_prepaid: 'mastercard',
  tok_amex: 'amex',
  tok_discover: 'discover',
  tok_diners: 'diners',
  tok_jcb: 'jcb',
  tok_unionpay: 'unionpay',
};

/** The part of a Stripe `card_error` body that a declining test token determines. */
interface Decline {
  code: string;
  decline_code: string;
  message: string;
  param?: string;
}

const declined = (decline_code: string, message = 'Your card was declined.'): Decline => ({
  code: 'card_declined',
  decline_code,
  message,
});

/** Stripe test-mode tokens the sandbox declines, each with the `card_error` Stripe answers (HTTP 402) for it. */
export const SANDBOX_DECLINED_TOKENS: Readonly<Record<string, Decline>> = {
  tok_chargeDeclined: declined('generic_decline'),
  tok_chargeDeclinedInsufficientFunds: declined('insufficient_funds', 'Your card has insufficient funds.'),
  tok_chargeDeclinedFraudulent: declined('fraudulent'),
  tok_chargeDeclinedLostCard: declined('lost_card'),
  tok_chargeDeclinedStolenCard: declined('stolen_card'),
  tok_chargeDeclinedExpiredCard: {
    code: 'expired_card',
    decline_code: 'expired_card',
    message: 'Your card has expired.',
    param: 'exp_month',
  },
  tok_chargeDeclinedIncorrectCvc: {
    code: 'incorrect_cvc',
    decline_code: 'incorrect_cvc',
    message: "Your card's security code is incorrect.",
    param: 'cvc',
  },
  tok_chargeDeclinedProcessingError: {
    code: 'processing_error',
    decline_code: 'processing_error',
    message: 'An error occurred while processing your card. Try again in a little bit.',
  },
};

/** Stripe's smallest USD charge, in cents. */
export const SANDBOX_MINIMUM_CHARGE_CENTS = 50;

/** One answer of the sandbox, kept under the idempotency key it was given with. */
interface SandboxRecord {
  key: string;
  kind: 'charge' | 'refund';
  /** The request's parameters, canonical: a replay with other parameters is refused, as Stripe does. */
  fingerprint: string;
  /** The answer: a charge or refund object, or a Stripe error with its status. */
  status: number;
  body: Record<string, unknown>;
  /** What a test may ask of a charge attempt, declined ones included (Stripe keeps those as failed charges). */
  charge?: SandboxCharge;
}

/** A charge attempt as the sandbox recorded it. */
export interface SandboxCharge {
  id: string;
  status: 'succeeded' | 'failed';
  amount: number;
  token: string;
  metadata: Record<string, string>;
}

/** A refund as the sandbox recorded it. */
export interface SandboxRefund {
  id: string;
  charge: string;
  amount: number;
}

/** A running {@link startStripeSandbox}. */
export interface StripeSandbox {
  /** Base URL for the Stripe client (`STRIPE_API_URL`). */
  url: string;
  /** A test-mode key it accepts (`STRIPE_SECRET_KEY`). */
  secretKey: string;
  /** Every charge attempt it answered (once per idempotency key), oldest first. */
  charges(): SandboxCharge[];
  /** Every refund it made, oldest first. */
  refunds(): SandboxRefund[];
  close(): Promise<void>;
}

/** Options of {@link startStripeSandbox}. */
export interface StripeSandboxOptions {
  /** Port on 127.0.0.1 (default any free one). */
  port?: number;
  /** Where its answers are kept across restarts (one JSON line each); in memory only without it. */
  file?: string;
}

const ID_ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** A Stripe-shaped object id: `<prefix>_` and 24 random alphanumerics. */
function stripeLikeId(prefix: string): string {
  return `${prefix}_${[...randomBytes(24)].map((byte) => ID_ALPHABET[byte % ID_ALPHABET.length]).join('')}`;
}

function stripeError(
  status: number,
  type: string,
  message: string,
  extra: Record<string, unknown> = {},
): { status: number; body: Record<string, unknown> } {
  return { status, body: { error: { type, message, ...extra } } };
}

/** The fields of a form-encoded Stripe request, `metadata[k]=v` gathered into `metadata`. */
function formFields(raw: string): { fields: Record<string, string>; metadata: Record<string, string> } {
  const fields: Record<string, string> = {};
  const metadata: Record<string, string> = {};
  for (const [name, value] of new URLSearchParams(raw)) {
    const meta = /^metadata\[(.+)\]$/.exec(name);
    if (meta) metadata[meta[1]!] = value;
    else fields[name] = value;
  }
  return { fields, metadata };
}

/**
 * A payment provider that moves no money, speaking the part of Stripe's API the payments service uses
 * (`POST /v1/charges` with a card token, `POST /v1/refunds`), for running the system where neither Stripe nor
 * stripe-mock is at hand, and for the journeys stripe-mock cannot play: it declines. It answers as Stripe's test
 * mode does for its documented test tokens: `tok_visa` and the other brand tokens are charged,
 * `tok_chargeDeclined` and its variants are declined with Stripe's `card_error` (402), any other token is
 * unknown (400 on `source`). Idempotency keys are honoured as Stripe honours them: the first answer for a key (a
 * charge, a decline, a refund) is kept, a request with the same key gets it again (across restarts with
 * `file`), one with other parameters is refused. Keys never expire here (Stripe forgets them after a day).
 */
export async function startStripeSandbox(options: StripeSandboxOptions = {}): Promise<StripeSandbox> {
  const answers = new Map<string, SandboxRecord>();
  if (options.file && existsSync(options.file)) {
    for (const line of readFileSync(options.file, 'utf8').split('\n')) {
      if (line) {
        const record = JSON.parse(line) as SandboxRecord;
        answers.set(record.key, record);
      }
    }
  }
  const keep = (record: SandboxRecord) => {
    answers.set(record.key, record);
    if (options.file) appendFileSync(options.file, `${JSON.stringify(record)}\n`);
    return record;
  };
  const charges = () => [...answers.values()].filter((r) => r.kind === 'charge' && r.status === 200);
  const refunds = () => [...answers.values()].filter((r) => r.kind === 'refund' && r.status === 200);

  const charge = (
    key: string,
    fingerprint: string,
    fields: Record<string, string>,
    metadata: Record<string, string>,
  ) => {
    const amount = Number(fields.amount);
    const token = fields.source ?? '';
    // Requests Stripe rejects as invalid are not kept under their key (Stripe saves no result for them).
    if (!Number.isInteger(amount) || amount < SANDBOX_MINIMUM_CHARGE_CENTS) {
      return stripeError(400, 'invalid_request_error', 'Amount must be at least $0.50 usd', {
        param: 'amount',
        code: 'amount_too_small',
      });
    }
    const decline = SANDBOX_DECLINED_TOKENS[token];
    const brand = SANDBOX_APPROVED_TOKENS[token];
    if (!decline && !brand) {
      return stripeError(400, 'invalid_request_error', `No such token: '${token}'`, {
        param: 'source',
        code: 'resource_missing',
      });
    }
    const id = stripeLikeId('ch');
    const attempt: SandboxCharge = { id, status: decline ? 'failed' : 'succeeded', amount, token, metadata };
    const answer = decline
      ? stripeError(402, 'card_error', decline.message, {
          code: decline.code,
          decline_code: decline.decline_code,
          charge: id,
          ...(decline.param ? { param: decline.param } : {}),
        })
      : {
          status: 200,
          body: {
            id,
            object: 'charge',
            amount,
            currency: fields.currency,
            status: 'succeeded',
            paid: true,
            captured: true,
            refunded: false,
            metadata,
            source: { object: 'card', brand },
            created: Math.floor(Date.now() / 1000),
          },
        };
    return keep({ key, kind: 'charge', fingerprint, ...answer, charge: attempt });
  };

  const refund = (key: string, fingerprint: string, fields: Record<string, string>) => {
    const charged = charges().find((record) => record.body.id === fields.charge);
    if (!charged) {
      return stripeError(400, 'invalid_request_error', `No such charge: '${fields.charge}'`, {
        param: 'charge',
        code: 'resource_missing',
      });
    }
    if (refunds().some((r) => r.body.charge === fields.charge)) {
      return stripeError(400, 'invalid_request_error', `Charge ${fields.charge} has already been refunded.`, {
        code: 'charge_already_refunded',
      });
    }
    const body = {
      id: stripeLikeId('re'),
      object: 'refund',
      charge: fields.charge,
      amount: charged.body.amount,
      currency: charged.body.currency,
      status: 'succeeded',
    };
    return keep({ key, kind: 'refund', fingerprint, status: 200, body });
  };

  const answer = (req: IncomingMessage, raw: string): { status: number; body: Record<string, unknown> } => {
    const key = (req.headers.authorization ?? '').replace(/^Bearer\s+/i, '');
    if (!/^sk_test_\w+$/.test(key)) {
      return stripeError(401, 'invalid_request_error', 'The sandbox takes test keys only (sk_test_...)');
    }
    const path = (req.url ?? '').split('?')[0];
    if (req.method !== 'POST' || (path !== '/v1/charges' && path !== '/v1/refunds')) {
      return stripeError(404, 'invalid_request_error', `Unrecognized request URL (${req.method}: ${path})`);
    }
    const { fields, metadata } = formFields(raw);
    const kind = path === '/v1/charges' ? 'charge' : 'refund';
    const idempotencyKey = String(req.headers['idempotency-key'] ?? randomBytes(16).toString('hex'));
    const fingerprint =
      kind === 'charge'
        ? JSON.stringify([
            kind,
            fields.amount,
            fields.currency,
            fields.source,
            Object.entries(metadata).sort(),
          ])
        : JSON.stringify([kind, fields.charge]);
    const earlier = answers.get(idempotencyKey);
    if (earlier) {
      if (earlier.fingerprint === fingerprint) return earlier;
      return stripeError(
        400,
        'idempotency_error',
        `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${idempotencyKey}' if you meant to execute a different request.`,
      );
    }
    return kind === 'charge'
      ? charge(idempotencyKey, fingerprint, fields, metadata)
      : refund(idempotencyKey, fingerprint, fields);
  };

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let raw = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      raw += chunk;
    });
    req.on('end', () => {
      const { status, body } = answer(req, raw);
      res.writeHead(status, { 'content-type': 'application/json', 'request-id': stripeLikeId('req') });
      res.end(JSON.stringify(body));
    });
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    secretKey: 'sk_test_sandbox',
    charges: () => [...answers.values()].flatMap((record) => (record.charge ? [record.charge] : [])),
    refunds: () =>
      refunds().map(({ body }) => ({
        id: String(body.id),
        charge: String(body.charge),
        amount: Number(body.amount),
      })),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
