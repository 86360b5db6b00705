import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A TCP port nothing listens on (bound once by us, then released): a gateway that is really unreachable. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
