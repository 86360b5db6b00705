import { connect } from 'node:net';
import { serviceNames } from '../stack';
import { ApiClient, startTestStack, type TestStack } from './support';

// The edge of the running system: only the gateway is reachable from elsewhere, and it alone says who a client
// is (X-Forwarded-For), so a client cannot pick its own rate-limit budget.

let test: TestStack;

beforeAll(async () => {
  test = await startTestStack({ AUTH_RATE_LIMIT_PER_IP: '3' });
}, 180_000);

afterAll(async () => {
  await test?.stop();
});

/** Whether a TCP connection to host:port is accepted. */
function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, host);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

it('runs every service on 127.0.0.1 only, so other addresses cannot reach them around the gateway', async () => {
  for (const name of serviceNames) {
    const { port } = test.stack.services[name];
    expect(await accepts('127.0.0.1', port)).toBe(true);
    // 127.0.0.2 is this machine too, but not the address the services are bound to: any other address of the
    // host (or of a container's network) fares the same.
    expect(await accepts('127.0.0.2', port)).toBe(false);
  }
});

it('gives a client forging X-Forwarded-For no fresh per-address budget, through the gateway or around it', async () => {
  const signin = (base: string, forged: string) =>
    fetch(`${base}/api/users/signin`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-forwarded-for': forged },
      body: JSON.stringify({ email: 'nobody@example.com', password: 'guess' }),
    });
  const statuses: number[] = [];
  for (let i = 1; i <= 4; i++) statuses.push((await signin(test.stack.url, `198.51.100.${i}`)).status);
  expect(statuses).toEqual([400, 400, 400, 429]);
  const aroundTheGateway = `http://127.0.0.2:${test.stack.services.auth.port}`;
  await expect(signin(aroundTheGateway, '198.51.100.99')).rejects.toThrow();
});

it('answers through the gateway with helmet headers and no-store', async () => {
  const user = new ApiClient(test.stack.url);
  const signup = await fetch(`${test.stack.url}/api/users/signup`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-forwarded-for': '192.0.2.1' },
    body: JSON.stringify({ email: user.email, password: 'correct horse battery' }),
  });
  // The address budget above is spent: this proves the 429 carries them as well.
  expect(signup.status).toBe(429);
  expect(Number(signup.headers.get('retry-after'))).toBeGreaterThan(0);
  for (const res of [signup, await fetch(`${test.stack.url}/api/tickets`)]) {
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('content-security-policy')).toBe("default-src 'none';frame-ancestors 'none'");
  }
});
