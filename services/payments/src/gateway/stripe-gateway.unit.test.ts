import Stripe from 'stripe';
import { stripeMockUrl } from '../test-support/fixtures';
import { closedPort } from '../test-support/servers';
import { InvalidPaymentTokenError, PaymentDeclinedError, PaymentGatewayError } from './payment-gateway';
import { StripeGateway, stripeEndpoint, toGatewayError } from './stripe-gateway';

let mockUrl: string;

beforeAll(() => {
  mockUrl = stripeMockUrl();
});

it('charges a card token and refunds the charge on stripe-mock', async () => {
  const gateway = new StripeGateway({
    secretKey: 'sk_test_ticketing',
    apiUrl: mockUrl,
    maxNetworkRetries: 0,
  });
  const { chargeId } = await gateway.charge({
    amountCents: 2500,
    currency: 'usd',
    token: 'tok_visa',
    idempotencyKey: 'order-1',
  });
  expect(chargeId).toMatch(/^ch_/);
  const { refundId } = await gateway.refund({ chargeId, idempotencyKey: 'refund-order-1' });
  expect(refundId).toMatch(/^re_/);
});

it('reports an unreachable API as a PaymentGatewayError', async () => {
  const gateway = new StripeGateway({
    secretKey: 'sk_test_ticketing',
    apiUrl: `http://127.0.0.1:${await closedPort()}`,
    maxNetworkRetries: 0,
  });
  await expect(
    gateway.charge({ amountCents: 100, currency: 'usd', token: 'tok_visa', idempotencyKey: 'order-2' }),
  ).rejects.toBeInstanceOf(PaymentGatewayError);
});

describe('toGatewayError', () => {
  it('turns a card_error into a decline carrying the issuer reason', () => {
    const error = toGatewayError(
      new Stripe.errors.StripeCardError({
        type: 'card_error',
        message: 'Your card has insufficient funds.',
        code: 'card_declined',
        decline_code: 'insufficient_funds',
      }),
    );
    expect(error).toBeInstanceOf(PaymentDeclinedError);
    expect(error).toMatchObject({
      message: 'Your card has insufficient funds.',
      declineCode: 'insufficient_funds',
    });
  });

  it('turns a rejected source into an invalid-token error, other request errors into gateway failures', () => {
    const badToken = new Stripe.errors.StripeInvalidRequestError({
      type: 'invalid_request_error',
      message: 'No such token: tok_nope',
      param: 'source',
      code: 'resource_missing',
    });
    expect(toGatewayError(badToken)).toBeInstanceOf(InvalidPaymentTokenError);
    const badAmount = new Stripe.errors.StripeInvalidRequestError({
      type: 'invalid_request_error',
      message: 'Amount must be at least 50 cents',
      param: 'amount',
    });
    expect(toGatewayError(badAmount)).toBeInstanceOf(PaymentGatewayError);
  });

  it('turns API, auth and unknown errors into gateway failures that keep the cause', () => {
    const apiError = new Stripe.errors.StripeAPIError({ type: 'api_error', message: 'boom' });
    const mapped = toGatewayError(apiError);
    expect(mapped).toBeInstanceOf(PaymentGatewayError);
    expect(mapped.cause).toBe(apiError);
    expect(
      toGatewayError(new Stripe.errors.StripeAuthenticationError({ type: 'authentication_error' })),
    ).toBeInstanceOf(PaymentGatewayError);
    expect(toGatewayError('weird')).toBeInstanceOf(PaymentGatewayError);
  });
});

it('derives host, port and protocol from an API URL', () => {
  expect(stripeEndpoint('http://127.0.0.1:12111')).toEqual({
    host: '127.0.0.1',
    port: 12111,
    protocol: 'http',
  });
  expect(stripeEndpoint('https://api.stripe.com')).toEqual({
    host: 'api.stripe.com',
    port: 443,
    protocol: 'https',
  });
  expect(() => stripeEndpoint('ftp://example.com')).toThrow(/http/);
});
