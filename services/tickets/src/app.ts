import type { ServiceDefinition } from '@ticketing/common';
import { type TicketsConfig, ticketsConfigSchema } from './config';
import {
  OrderCancelledListener,
  OrderCompletedListener,
  OrderCreatedListener,
} from './events/order-listeners';
import { type TicketsModels, ticketsModels } from './models/ticket';
import { mountCreateTicket } from './routes/create-ticket';
import { mountListTickets } from './routes/list-tickets';
import { mountShowTicket } from './routes/show-ticket';
import { mountUpdateTicket } from './routes/update-ticket';

/**
 * The tickets service: tickets for sale (create, list, show, update) and their reservation state, driven by
 * the orders service's events. Every change is one new version of the ticket carrying its ticket.* event.
 */
export const ticketsService: ServiceDefinition<TicketsConfig, TicketsModels> = {
  name: 'tickets',
  configSchema: ticketsConfigSchema,
  models: ticketsModels,
  listeners({ bus, listenerOptions, models }) {
    return [
      new OrderCreatedListener(bus, listenerOptions, models.tickets),
      new OrderCancelledListener(bus, listenerOptions, models.tickets),
      new OrderCompletedListener(bus, listenerOptions, models.tickets),
    ];
  },
  routes(app, { models }) {
    mountCreateTicket(app, models.tickets);
    mountListTickets(app, models.ticketHeads);
    mountShowTicket(app, models.tickets);
    mountUpdateTicket(app, models.tickets);
  },
};
