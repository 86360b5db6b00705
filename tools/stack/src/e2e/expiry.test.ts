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
  await eventually(async () => {
    // Off the list once tickets has applied order.created.
    const listed = await buyer.request<Array<{ id: string }>>('GET', '/api/tickets');
    expect(listed.body.map((t) => t.id)).not.toContain(ticket.id);
  });

  await waitForOrderStatus(buyer, order.id, 'cancelled', 20_000);
  await eventually(async () => {
    const listed = await buyer.request<Array<{ id: string }>>('GET', '/api/tickets');
    expect(listed.body.map((t) => t.id)).toContain(ticket.id);
  });
  const expirations = await readStream({ servers: test.stack.natsUrl, stream: 'EXPIRATION' });
  expect(expirations.filter((m) => (m.data as { orderId: string }).orderId === order.id)).toHaveLength(1);
  const paidLate = await buyer.request('POST', '/api/payments', { orderId: order.id, token: 'tok_visa' });
  expect(paidLate.status).toBe(409);

  const again = await orderTicket(buyer, ticket.id); // back on sale: it can be ordered again
  expect(again.status).toBe('created');
  await eventually(async () => expect(await consistencyViolations(test)).toEqual([]), { timeoutMs: 20_000 });
});
