import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { NatsConnection, Subscription } from '@nats-io/nats-core';

/** The core NATS subject on which the replicas of `service` tell each other of changes (publish and subscribe). */
export function changeNoticeSubject(service: string): string {
  return `_ticketing.changed.${service}`;
}

/**
 * Tells whoever waits for an aggregate that it changed: waiters in this process at once, and, over core NATS
 * (`_ticketing.changed.<service>`, no JetStream), the other replicas of the service, whose listener may not be
 * the one that applied the change. A notice only wakes a waiter, which then reads the database: a lost notice
 * costs time, never correctness.
 */
export class ChangeNotices {
  private readonly local = new EventEmitter();
  private readonly instance = randomUUID();
  private subscription: Subscription | undefined;
  private connection: NatsConnection | undefined;
  private subject = '';

  constructor() {
    // Every pending waitFor listens here; hundreds at once are normal under load.
    this.local.setMaxListeners(0);
  }

  /** Starts sharing notices with the service's other replicas over `nc`. */
  connect(nc: NatsConnection, service: string): void {
    this.connection = nc;
    this.subject = changeNoticeSubject(service);
    this.subscription = nc.subscribe(this.subject, {
      callback: (error, message) => {
        if (error) return;
        const [from, key] = message.string().split(' ', 2);
        if (from !== this.instance && key) this.local.emit(key);
      },
    });
  }

  /** Stops listening to other replicas. */
  disconnect(): void {
    this.subscription?.unsubscribe();
    this.subscription = undefined;
    this.connection = undefined;
  }

  /**
   * Announces that aggregate `id` of `store` changed (to `head`, when this process wrote it); to the other
   * replicas too when `replicas` (stores whose aggregates other replicas may wait for).
   */
  changed(store: string, id: string, head?: unknown, replicas = false): void {
    const key = `${store}/${id}`;
    this.local.emit(key, head);
    if (replicas && this.connection && !this.connection.isClosed()) {
      this.connection.publish(this.subject, `${this.instance} ${key}`);
    }
  }

  /**
   * Calls `wake` on every change of `id` in `store` until the returned function is called, with the new head
   * when the change was written here (a change in another replica says only that there is one).
   */
  watch(store: string, id: string, wake: (head?: unknown) => void): () => void {
    const key = `${store}/${id}`;
    this.local.on(key, wake);
    return () => this.local.off(key, wake);
  }
}
