import type {
  ChargeRequest,
  ChargeResult,
  PaymentGateway,
  RefundRequest,
  RefundResult,
} from '../gateway/payment-gateway';

/**
 * Wraps a real gateway (Stripe against stripe-mock) and records every call that reached it, so a test can say
 * "charged exactly once". It stands in for nothing: each call still goes to the wrapped gateway. `holdCharges`
 * parks charges before they are sent, to order a charge against an event deterministically.
 */
export class RecordingGateway implements PaymentGateway {
  /** Charges sent to the wrapped gateway, in order. */
  readonly charges: ChargeRequest[] = [];
  /** Refunds sent to the wrapped gateway, in order. */
  readonly refunds: RefundRequest[] = [];
  private hold: Promise<void> | undefined;
  private parked = 0;

  constructor(private readonly inner: PaymentGateway) {}

  async charge(request: ChargeRequest): Promise<ChargeResult> {
    if (this.hold) {
      this.parked += 1;
      await this.hold;
    }
    this.charges.push(request);
    return this.inner.charge(request);
  }

  async refund(request: RefundRequest): Promise<RefundResult> {
    this.refunds.push(request);
    return this.inner.refund(request);
  }

  /** Charges made from now on wait until the returned `release` is called. */
  holdCharges(): { parkedCount: () => number; release: () => void } {
    let release!: () => void;
    this.hold = new Promise<void>((resolve) => {
      release = resolve;
    });
    return {
      parkedCount: () => this.parked,
      release: () => {
        this.hold = undefined;
        release();
      },
    };
  }

  /** Calls recorded for one order. */
  chargesOf(orderId: string): ChargeRequest[] {
    return this.charges.filter((charge) => charge.metadata?.orderId === orderId);
  }
}
