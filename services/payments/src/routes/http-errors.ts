import { type ErrorEntry, HttpError } from '@ticketing/common';

/** 402: the gateway declined the card; nothing was charged and the buyer may try another card. */
export class PaymentRequiredError extends HttpError {
  override readonly name = 'PaymentRequiredError';
  readonly status = 402;
  readonly code = 'PAYMENT_DECLINED';

  serialize(): ErrorEntry[] {
    return [{ message: this.message, field: 'token' }];
  }
}

/** 502: the payment gateway failed or could not be reached; no payment was recorded, retrying is safe. */
export class BadGatewayError extends HttpError {
  override readonly name = 'BadGatewayError';
  readonly status = 502;
  readonly code = 'PAYMENT_GATEWAY_FAILED';

  serialize(): ErrorEntry[] {
    return [{ message: this.message }];
  }
}
