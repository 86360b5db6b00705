import { EventStreamHub, forgetUser, type ServiceDefinition } from '@ticketing/common';
import { type TicketsConfig, ticketsConfigSchema } from './config';
import type { TicketState } from './domain/ticket';
import { orderEventSubscriptions } from './events/order-events';
import { OnSaleListing } from './models/on-sale';
import { createTicketRoute } from './routes/create-ticket';
import { listTicketsRoute } from './routes/list-tickets';
import { showTicketRoute } from './routes/show-ticket';
import { ticketHistoryRoute } from './routes/ticket-history';
import { ticketUpdatesRoute } from './routes/ticket-updates';
import { updateTicketRoute } from './routes/update-ticket';

/**
 * The tickets service: tickets for sale and their reservation state, which follows the orders service's events.
 * Every change is one new version of the ticket with its ticket.* event.
 */
export const ticketsService: ServiceDefinition<TicketsConfig> = {
  name: 'tickets',
  configSchema: ticketsConfigSchema,
  build({ store, bus, logger, config, rateLimit }) {
    const tickets = store<TicketState>('tickets');
    const listing = new OnSaleListing(tickets, bus, logger);
    const updates = new EventStreamHub({ bus, stream: 'TICKETS', consumerPrefix: 'tickets_updates', logger });
    const perSeller = rateLimit({
      name: 'ticket-creation',
      limit: config.TICKET_CREATION_LIMIT_PER_MINUTE,
      windowMs: 60_000,
    });
    return {
      routes(api, app) {
        ticketUpdatesRoute(app, updates);
        createTicketRoute(api, tickets, perSeller);
        listTicketsRoute(api, listing);
        showTicketRoute(api, tickets);
        ticketHistoryRoute(api, tickets);
        updateTicketRoute(api, tickets);
      },
      listeners: [
        ...orderEventSubscriptions(tickets, logger),
        // Erasure: a seller's tickets stay (orders and payments refer to them), under the seller's pseudonym.
        forgetUser(config.JWT_KEY, { pseudonymize: [{ store: tickets, paths: ['userId'] }] }),
      ],
      workers: [listing, updates],
      stores: { tickets },
    };
  },
};
