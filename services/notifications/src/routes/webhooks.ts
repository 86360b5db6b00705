import {
  type ApiRouter,
  BadRequestError,
  ConflictError,
  NotFoundError,
  type UserPayload,
} from '@ticketing/common';
import { type AddressPolicy, checkUrl, RefusedAddressError } from '../delivery/address-guard';
import { type Delivery, type DeliveryStore, redeliver } from '../domain/delivery';
import { type AccountStore, type Endpoint, register, remove } from '../domain/webhooks';
import {
  createdWebhookSchema,
  deliveryListSchema,
  deliveryParamsSchema,
  deliverySchema,
  newWebhookBodySchema,
  webhookListSchema,
  webhookParamsSchema,
} from './schemas';

const notFound = 'No such webhook of the caller’s';

function webhookView(endpoint: Endpoint) {
  return {
    id: endpoint.id,
    url: endpoint.url,
    events: endpoint.events,
    status: endpoint.status,
    createdAt: endpoint.createdAt.toISOString(),
    ...(endpoint.failingSince ? { failingSince: endpoint.failingSince.toISOString() } : {}),
  };
}

function deliveryView(delivery: Delivery) {
  const optional = <T>(value: T | null | undefined) => value ?? undefined;
  return {
    id: delivery._id,
    eventId: delivery.event.id,
    type: delivery.event.type,
    status: delivery.status,
    attempts: delivery.attempts,
    createdAt: delivery.occurredAt.toISOString(),
    nextAttemptAt: delivery.status === 'pending' ? delivery.nextAttemptAt.toISOString() : undefined,
    lastStatusCode: optional(delivery.lastStatusCode),
    lastError: optional(delivery.lastError),
    lastResponseBody: optional(delivery.lastResponseBody),
    lastDurationMs: optional(delivery.lastDurationMs),
  };
}

export interface WebhookRoutesOptions {
  accounts: AccountStore;
  deliveries: DeliveryStore;
  policy: AddressPolicy;
  maxEndpoints: number;
  maxAgeMs: number;
  /** A delivery is pending again: send it. */
  redelivered(delivery: Delivery): void;
}

/** Declares /api/webhooks and its deliveries. */
export function webhookRoutes(api: ApiRouter, options: WebhookRoutesOptions): void {
  const { accounts, deliveries } = options;
  const ownEndpoint = async (user: UserPayload, id: string): Promise<Endpoint> => {
    const endpoint = (await accounts.get(user.id))?.endpoints.find((e) => e.id === id);
    if (!endpoint) throw new NotFoundError('Webhook not found');
    return endpoint;
  };

  api.route({
    method: 'post',
    path: '/api/webhooks',
    operationId: 'createWebhook',
    summary: 'Register an endpoint for some events; the answer shows its signing secret, once',
    auth: 'required',
    body: newWebhookBodySchema,
    responses: {
      201: { description: 'The endpoint, with its secret', schema: createdWebhookSchema },
      409: 'The caller has WEBHOOK_MAX_ENDPOINTS_PER_USER endpoints',
    },
    handler: async (req, res) => {
      try {
        await checkUrl(req.body.url, options.policy);
      } catch (error) {
        if (error instanceof RefusedAddressError) throw new BadRequestError(error.message, 'url');
        throw error;
      }
      const before = new Set(((await accounts.get(req.currentUser!.id))?.endpoints ?? []).map((e) => e.id));
      const { latest, changed } = await accounts.decide(req.currentUser!.id, (account) =>
        register(account, req.body, options.maxEndpoints, new Date()),
      );
      const added = latest?.endpoints.find((e) => !before.has(e.id) && e.url === req.body.url);
      if (!changed || !added) {
        throw new ConflictError(`At most ${options.maxEndpoints} webhooks per user`);
      }
      res.status(201).json({ ...webhookView(added), secret: added.secret });
    },
  });

  api.route({
    method: 'get',
    path: '/api/webhooks',
    operationId: 'listWebhooks',
    summary: 'My endpoints (without their secrets)',
    auth: 'required',
    responses: { 200: { description: 'The caller’s endpoints, oldest first', schema: webhookListSchema } },
    handler: async (req, res) => {
      const account = await accounts.get(req.currentUser!.id);
      res.status(200).json((account?.endpoints ?? []).map(webhookView));
    },
  });

  api.route({
    method: 'delete',
    path: '/api/webhooks/:id',
    operationId: 'deleteWebhook',
    summary: 'Remove an endpoint; what it had still to receive is dropped',
    auth: 'required',
    params: webhookParamsSchema,
    responses: { 204: { description: 'Removed' }, 404: notFound },
    handler: async (req, res) => {
      const { changed } = await accounts.decide(req.currentUser!.id, (account) =>
        remove(account, req.params.id),
      );
      if (!changed) throw new NotFoundError('Webhook not found');
      res.status(204).end();
    },
  });

  api.route({
    method: 'get',
    path: '/api/webhooks/:id/deliveries',
    operationId: 'listWebhookDeliveries',
    summary: 'The endpoint’s latest 50 deliveries, newest event first',
    auth: 'required',
    params: webhookParamsSchema,
    responses: { 200: { description: 'Deliveries', schema: deliveryListSchema }, 404: notFound },
    handler: async (req, res) => {
      const endpoint = await ownEndpoint(req.currentUser!, req.params.id);
      const found = await deliveries.find(
        { endpointId: endpoint.id },
        { sort: { occurredAt: -1, sequence: -1, _id: -1 }, limit: 50 },
      );
      res.status(200).json(found.map(deliveryView));
    },
  });

  api.route({
    method: 'post',
    path: '/api/webhooks/:id/deliveries/:deliveryId/redeliver',
    operationId: 'redeliverWebhook',
    summary: 'Send a delivery again (a failed one gets a fresh run of retries)',
    auth: 'required',
    params: deliveryParamsSchema,
    responses: {
      202: { description: 'Pending again', schema: deliverySchema },
      404: 'No such webhook or delivery of the caller’s',
    },
    handler: async (req, res) => {
      const endpoint = await ownEndpoint(req.currentUser!, req.params.id);
      const delivery = await deliveries.get(req.params.deliveryId);
      if (!delivery || delivery.endpointId !== endpoint.id) throw new NotFoundError('Delivery not found');
      const { latest } = await deliveries.decide(delivery._id, (current) =>
        current ? redeliver(current, new Date(), options.maxAgeMs) : undefined,
      );
      options.redelivered(latest!);
      res.status(202).json(deliveryView(latest!));
    },
  });
}
