import { eventually, readStream } from '@ticketing/testing';
import { consistencyViolations } from './consistency';
import {
  ApiClient,
  listTicket,
  orderTicket,
  startTestStack,
  type TestStack,
  waitForOrderStatus,
} from './support';

let test: TestStack;

beforeAll(async () => {
  test = await startTestStack({ ORDER_EXPIRATION_SECONDS: '3', API_VALIDATE_RESPONSES: 'true' });
}, 180_000);

afterAll(async () => {
  await test?.stop();
});

it('cancels an unpaid order when its window ends and puts the ticket back on sale', async () => {
  const seller = await new ApiClient(test.stack.url).signup();
  const buyer = await new ApiClient(test.stack.url).signup();
  const ticket = await listTicket(seller, 30, 'Expiry test');
  const order = await orderTicket(buyer, ticket.id);
  // Tickets reserved it for the order (off the list only until the window ends, which a slow poll can miss: the
  // stream is the witness).
  await eventually(async () => {
    const updates = await readStream({ servers: test.stack.natsUrl, stream: 'TICKETS' });
    const reservedFor = updates
      .map((m) => m.data as { id: string; orderId?: string })
      .filter((t) => t.id === ticket.id && t.orderId === order.id);
    expect(reservedFor).toHaveLength(1);
  });

  await waitForOrderStatus(buyer, order.id, 'cancelled', 20_000);
  await eventually(async () => {
    const listed = await buyer.request<Array<{ id: string }>>('GET', '/api/tickets');
    expect(listed.body.map((t) => t.id)).toContain(ticket.id);
  });
  const expirations = await readStream({ servers: test.stack.natsUrl, stream: 'EXPIRATION' });
  expect(expirations.filter((m) => (m.data as { orderId: string }).orderId === order.id)).toHaveLength(1);
  // Payments learns of the cancellation on its own path: pay once its replica has it.
  await eventually(async () => {
    const replica = await test
      .db('payments')
      .collection<{ _id: string; status: string }>('orders')
      .findOne({ _id: order.id });
    expect(replica?.status).toBe('cancelled');
  });
  const paidLate = await buyer.request('POST', '/api/payments', { orderId: order.id, token: 'tok_visa' });
  expect(paidLate.status).toBe(409);

  // Back on sale: another buyer can order it; the one who let it expire waits out REORDER_COOLDOWN_SECONDS.
  const other = await new ApiClient(test.stack.url).signup();
  const again = await orderTicket(other, ticket.id);
  expect(again.status).toBe('created');
  const cooling = await buyer.request('POST', '/api/orders', { ticketId: ticket.id });
  expect(cooling.status).toBe(409);
  await eventually(async () => expect(await consistencyViolations(test)).toEqual([]), {
    timeoutMs: 60_000,
    intervalMs: 500,
  });
}, 180_000);
