import { eventCatalog, type StreamName, type Subject, subjects } from '@ticketing/common';

// The agreed contract between the services and their deployment: what each service listens to,
// which stream it owns, where its public routes live. Subjects and streams themselves come from the event
// catalog in @ticketing/common, so a new event shows up here without an edit.

/** The six services, as named in services/<name> and @ticketing/<name>. */
export const serviceNames = ['auth', 'tickets', 'orders', 'payments', 'expiration', 'notifications'] as const;
/** One service name. */
export type ServiceName = (typeof serviceNames)[number];

/** The subjects each service listens to (the event catalog: "consumed by"). */
export const listenedSubjects: Record<ServiceName, readonly Subject[]> = {
  auth: [],
  tickets: ['order.created', 'order.cancelled', 'order.completed', 'user.deleted'],
  orders: [
    'ticket.created',
    'ticket.updated',
    'ticket.refused',
    'expiration.complete',
    'payment.created',
    'user.deleted',
  ],
  payments: ['order.created', 'order.cancelled', 'order.completed', 'user.deleted'],
  expiration: ['order.created'],
  notifications: [
    'ticket.created',
    'ticket.updated',
    'order.created',
    'order.cancelled',
    'order.completed',
    'user.deleted',
  ],
};

/** The stream whose events a service publishes ("one stream per owning service"). */
export const ownedStream: Record<ServiceName, Exclude<StreamName, 'DLQ'> | undefined> = {
  auth: 'USERS',
  tickets: 'TICKETS',
  orders: 'ORDERS',
  payments: 'PAYMENTS',
  expiration: 'EXPIRATION',
  // Publishes no event of the catalog: its output is webhooks (and dead letters of failed ones).
  notifications: undefined,
};

/** The stream a service serves to browsers as Server-Sent Events (its `/updates` route), through ordered consumers. */
export const eventStreamOf: Partial<Record<ServiceName, Exclude<StreamName, 'DLQ'>>> = {
  tickets: 'TICKETS',
  orders: 'ORDERS',
};

/** The event-stream routes, which the Ingress serves unbuffered with a long read timeout. */
export const eventStreamRoutes: Record<string, ServiceName> = {
  '/api/tickets/updates': 'tickets',
  '/api/orders/updates': 'orders',
};

/** The web shop: not a service (no Mongo, no NATS), served at `/` behind the same Ingress. */
export const webName = 'client' as const;

/** The public route prefix of each service behind the ingress; expiration has none. */
export const publicRoutes: Record<ServiceName, string | undefined> = {
  auth: '/api/users',
  tickets: '/api/tickets',
  orders: '/api/orders',
  payments: '/api/payments',
  expiration: undefined,
  notifications: '/api/webhooks',
};

/** Health endpoints every service serves on PORT. */
export const healthPaths = { liveness: '/healthz', readiness: '/readyz', metrics: '/metrics' } as const;

/** The image skaffold builds for a service (or the web shop) and its Deployment runs. */
export function imageName(service: ServiceName | typeof webName): string {
  return `ticketing/${service}`;
}

/** The Mongo StatefulSet / headless Service of a service. */
export function mongoName(service: ServiceName): string {
  return `${service}-mongo`;
}

/** The subjects a service publishes: every catalog subject stored in the stream it owns. */
export function publishedSubjects(service: ServiceName): Subject[] {
  const stream = ownedStream[service];
  return subjects.filter((subject) => eventCatalog[subject].stream === stream);
}
