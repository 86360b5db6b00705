import {
  AggregateExistsError,
  type AggregateStore,
  type Bus,
  type EventData,
  Listener,
  type ListenerOptions,
} from '@ticketing/common';
import type { ExpirationState } from '../models/expiration';
import type { ExpirationScheduler } from '../scheduler/expiration-scheduler';

/** Schedules the expiration of each new order, once per order however often the event arrives. */
export class OrderCreatedListener extends Listener<'order.created'> {
  readonly subject = 'order.created' as const;

  constructor(
    bus: Bus,
    options: ListenerOptions,
    private readonly expirations: AggregateStore<ExpirationState>,
    private readonly scheduler: Pick<ExpirationScheduler, 'scheduled'>,
  ) {
    super(bus, options);
  }

  async onMessage(data: EventData<'order.created'>): Promise<void> {
    const expiresAt = new Date(data.expiresAt);
    try {
      await this.expirations.create(data.id, { orderId: data.id, expiresAt, status: 'scheduled' });
    } catch (error) {
      if (!(error instanceof AggregateExistsError)) throw error;
      // A repeat: the job exists. If its first writer died before the head, roll it forward when safe.
      await this.expirations.repairHead(data.id, 0);
    }
    this.scheduler.scheduled(expiresAt);
  }
}
