import { ApiRouter, type ServiceDefinition } from '@ticketing/common';
import { type TicketsConfig, ticketsConfigSchema } from './config';
import {
  OrderCancelledListener,
  OrderCompletedListener,
  OrderCreatedListener,
} from './events/order-listeners';
import { type TicketsModels, ticketsModels } from './models/ticket';
import { createTicketRoute } from './routes/create-ticket';
import { listTicketsRoute } from './routes/list-tickets';
import { showTicketRoute } from './routes/show-ticket';
import { ticketUpdatesHub, ticketUpdatesRoute } from './routes/ticket-updates';
import { updateTicketRoute } from './routes/update-ticket';

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
  workers: (context) => [ticketUpdatesHub(context)],
  routes(app, context) {
    const { config, models } = context;
    ticketUpdatesRoute(app, ticketUpdatesHub(context));
    const api = new ApiRouter({
      title: 'tickets API',
      version: '1.0.0',
      validateResponses: config.API_VALIDATE_RESPONSES,
    });
    createTicketRoute(api, models.tickets);
    listTicketsRoute(api, models.ticketHeads);
    showTicketRoute(api, models.tickets);
    updateTicketRoute(api, models.tickets);
    api.mount(app);
  },
};
