import { headers as natsHeaders } from '@nats-io/transport-node';
import {
  type Bus,
  DeadLetterHeaders,
  DueScheduler,
  deadLetterSubject,
  type Logger,
  type Worker,
} from '@ticketing/common';
import { Counter, type Registry } from 'prom-client';
import {
  claimAttempt,
  type Delivery,
  type DeliveryState,
  type DeliveryStore,
  recordAttempt,
  retryDelayMs,
} from '../domain/delivery';
import { type AccountStore, afterAttempt } from '../domain/webhooks';
import type { AddressPolicy } from './address-guard';
import { send } from './sender';

export interface DispatcherOptions {
  deliveries: DeliveryStore;
  accounts: AccountStore;
  bus: Bus;
  logger: Logger;
  metrics: Registry;
  policy: AddressPolicy;
  timeoutMs: number;
  retrySchedule: number[];
  pauseAfterMs: number;
  probeMs: number;
  pollMs: number;
}

/**
 * Sends each endpoint's pending deliveries, oldest event first, one at a time: a delivery waiting for a retry
 * holds back the later ones of its endpoint, so a receiver sees its events in order. Every replica runs one;
 * an attempt is claimed on the delivery first (a version of it), so only one replica sends it, and a claim
 * whose replica died runs out and is taken again.
 */
export class DeliveryDispatcher implements Worker {
  private readonly scheduler: DueScheduler<DeliveryState>;
  private readonly draining = new Map<string, Promise<void>>();
  private readonly again = new Set<string>();
  private readonly attempts: Counter<'outcome'>;
  private stopped = false;

  constructor(private readonly options: DispatcherOptions) {
    this.scheduler = new DueScheduler<DeliveryState>({
      store: options.deliveries,
      waiting: { status: 'pending' },
      dueAt: (delivery) => delivery.nextAttemptAt.getTime(),
      fire: async (delivery) => this.kick(delivery.endpointId, delivery.userId),
      pollMs: options.pollMs,
      logger: options.logger,
      name: 'webhook deliveries',
    });
    this.attempts = new Counter({
      name: 'webhook_attempts_total',
      help: 'Webhook delivery attempts by outcome: delivered, retried (failed, tried again later), failed (gave up)',
      labelNames: ['outcome'],
      registers: [options.metrics],
    });
  }

  start(): void {
    this.stopped = false;
    this.scheduler.start();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.scheduler.stop();
    await Promise.all([...this.draining.values()]);
  }

  /** Sends what is due for an endpoint, unless this instance is at it already (then it looks again after). */
  kick(endpointId: string, userId: string): void {
    if (this.stopped) return;
    if (this.draining.has(endpointId)) {
      this.again.add(endpointId);
      return;
    }
    const run = (async () => {
      do {
        this.again.delete(endpointId);
        try {
          await this.drain(endpointId, userId);
        } catch (error) {
          // The poll comes back to it.
          this.options.logger.warn({ err: error, endpointId }, 'webhook delivery interrupted');
        }
      } while (this.again.has(endpointId) && !this.stopped);
    })().finally(() => this.draining.delete(endpointId));
    this.draining.set(endpointId, run);
  }

  private async oldestPending(endpointId: string): Promise<Delivery | undefined> {
    const [oldest] = await this.options.deliveries.find(
      { endpointId, status: 'pending' },
      { sort: { occurredAt: 1, sequence: 1, _id: 1 }, limit: 1 },
    );
    return oldest;
  }

  private async drain(endpointId: string, userId: string): Promise<void> {
    const { deliveries, accounts } = this.options;
    while (!this.stopped) {
      const oldest = await this.oldestPending(endpointId);
      if (!oldest) return;
      const now = new Date();
      if (oldest.nextAttemptAt.getTime() > now.getTime()) {
        this.scheduler.scheduled(oldest); // a timer wakes for it
        return;
      }
      const endpoint = (await accounts.get(userId))?.endpoints.find((e) => e.id === endpointId);
      if (!endpoint) {
        // Removed by its owner: what it still had to send is dropped, not dead-lettered.
        await deliveries.decide(oldest._id, (d) =>
          d?.status === 'pending'
            ? { state: { ...d, status: 'failed', lastError: 'endpoint removed' } }
            : undefined,
        );
        continue;
      }
      const claimMs = this.options.timeoutMs + 5000;
      const claimed = await deliveries.decide(oldest._id, (d) => claimAttempt(d, now, claimMs), {
        current: oldest,
      });
      if (!claimed.changed || !claimed.latest) return; // another replica sends it
      const attempt = claimed.latest;
      const result = await send(
        {
          url: endpoint.url,
          secret: endpoint.secret,
          eventId: attempt.event.id,
          body: JSON.stringify(attempt.event),
        },
        this.options.policy,
        this.options.timeoutMs,
      );
      const finished = new Date();
      const wait =
        endpoint.status === 'paused'
          ? this.options.probeMs
          : retryDelayMs(this.options.retrySchedule, attempt.attempts);
      const decision = recordAttempt(attempt, result, finished, new Date(finished.getTime() + wait));
      if (decision.state.status === 'failed') await this.deadLetter(attempt, result.error ?? 'failed');
      const recorded = await deliveries.decide(
        attempt._id,
        (d) => (d && d.version === attempt.version ? decision : undefined),
        { current: attempt },
      );
      await accounts.decide(userId, (a) =>
        afterAttempt(a, endpointId, result.ok, finished, this.options.pauseAfterMs),
      );
      const outcome = decision.state.status === 'pending' ? 'retried' : decision.state.status;
      this.attempts.inc({ outcome });
      this.options.logger.info(
        {
          deliveryId: attempt._id,
          endpointId,
          eventId: attempt.event.id,
          attempt: attempt.attempts,
          outcome,
          statusCode: result.statusCode,
          error: result.error,
        },
        'webhook attempt',
      );
      if (outcome === 'retried') {
        if (recorded.latest) this.scheduler.scheduled(recorded.latest);
        return;
      }
    }
  }

  /** The failed delivery, with its last error, on `dlq.notifications.webhook.<type>`; once per delivery. */
  private async deadLetter(delivery: Delivery, error: string): Promise<void> {
    const headers = natsHeaders();
    headers.set(DeadLetterHeaders.error, error.replace(/[\r\n]+/g, ' ').slice(0, 1000));
    headers.set(DeadLetterHeaders.service, 'notifications');
    headers.set(DeadLetterHeaders.subject, `webhook.${delivery.event.type}`);
    headers.set(DeadLetterHeaders.originalId, delivery.event.id);
    headers.set(DeadLetterHeaders.deliveryCount, String(delivery.attempts));
    await this.options.bus.js.publish(
      deadLetterSubject('notifications', `webhook.${delivery.event.type}`),
      JSON.stringify({ deliveryId: delivery._id, endpointId: delivery.endpointId, event: delivery.event }),
      { headers, msgID: `dlq:notifications:webhook:${delivery._id}:${delivery.attempts}` },
    );
  }
}
