import { objectId } from '@ticketing/testing';
import type { EventData } from '../events/catalog';

/** A valid `ticket.created` payload. */
export function ticketCreated(
  overrides: Partial<EventData<'ticket.created'>> = {},
): EventData<'ticket.created'> {
  return {
    id: objectId(),
    version: 0,
    title: 'Concert',
    price: 20,
    currency: 'usd',
    userId: objectId(),
    ...overrides,
  };
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
