import { type DeliveryStore, deliveryIdOf, newDelivery, webhookEventIdOf } from '../domain/delivery';
import type { AccountStore, WebhookEventType } from '../domain/webhooks';

/** Creates the deliveries of one webhook event to the endpoints of a user that subscribed to it. */
export type Notify = (notice: {
  userId: string;
  type: WebhookEventType;
  /** What caused it, unique per event (the bus event's id): the webhook event's id is derived from it. */
  cause: string;
  occurredAt: Date;
  /** Its position in its stream: orders events of the same millisecond. */
  sequence: number;
  data: Record<string, unknown>;
}) => Promise<void>;

/**
 * One delivery per (endpoint, event): its id is derived from both and creating it is the claim, so an event that
 * arrives twice, or a fan-out a crash cut short and a redelivery finishes, creates each delivery once.
 */
export function fanOut(
  accounts: AccountStore,
  deliveries: DeliveryStore,
  maxAgeMs: number,
  created: (endpointId: string, userId: string) => void,
): Notify {
  return async ({ userId, type, cause, occurredAt, sequence, data }) => {
    const account = await accounts.get(userId);
    const id = webhookEventIdOf(type, cause);
    const event = { id, type, createdAt: occurredAt.toISOString(), data };
    for (const endpoint of account?.endpoints ?? []) {
      if (!endpoint.events.includes(type)) continue;
      await deliveries.createOnce(
        deliveryIdOf(endpoint.id, id),
        newDelivery(endpoint.id, userId, event, sequence, new Date(), maxAgeMs),
      );
      created(endpoint.id, userId);
    }
  };
}
