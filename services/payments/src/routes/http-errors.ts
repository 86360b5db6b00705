import { HttpError } from '@ticketing/common';

/** 402: the gateway declined the card; nothing was charged and the buyer may try another card. */
export class PaymentRequiredError extends HttpError {
  override readonly name = 'PaymentRequiredError';
  readonly status = 402;
  readonly code = 'PAYMENT_DECLINED';

  /** The card token is the input at fault. */
  constructor(message: string) {
    super(message, 'token');
  }
}

/** 502: the payment gateway failed or did not answer; the attempt is settled later under its own key. */
export class BadGatewayError extends HttpError {
  override readonly name = 'BadGatewayError';
  readonly status = 502;
  readonly code = 'PAYMENT_GATEWAY_FAILED';
}
