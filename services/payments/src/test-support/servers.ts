import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A TCP port nothing listens on (bound once by us, then released): a gateway that is really unreachable. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** An HTTP server answering every request with `status` and the JSON `body`; resolves with its URL. */
export async function cannedServer(
  status: number,
  body: unknown,
): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(status, { 'Content-Type': 'application/json', 'Request-Id': 'req_canned' });
      res.end(JSON.stringify(body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The body Stripe answers (with HTTP 402) when the issuer declines a card, per Stripe's error documentation. */
export const stripeCardDeclinedBody = {
  error: {
    type: 'card_error',
    code: 'card_declined',
    decline_code: 'generic_decline',
    message: 'Your card was declined.',
    charge: 'ch_declined',
    doc_url: 'https://stripe.com/docs/error-codes/card-declined',
  },
};
