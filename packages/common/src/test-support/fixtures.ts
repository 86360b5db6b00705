import { randomBytes } from 'node:crypto';
import type { EventData } from '../events/catalog';

/** A fresh 24-hex id, as Mongo would make. */
export function objectId(): string {
  return randomBytes(12).toString('hex');
}

/** A valid `ticket.created` payload. */
export function ticketCreated(
  overrides: Partial<EventData<'ticket.created'>> = {},
): EventData<'ticket.created'> {
  return { id: objectId(), version: 0, title: 'Concert', price: 20, userId: objectId(), ...overrides };
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
