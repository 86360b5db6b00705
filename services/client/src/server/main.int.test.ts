import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';

// The built server (turbo builds this package before its tests), as npm start and the image run it.
const mainFile = join(__dirname, '..', '..', 'dist', 'server', 'main.js');

function run(env: Record<string, string>): {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
} {
  const child = spawn(process.execPath, [mainFile], { env: { PATH: process.env.PATH ?? '', ...env } });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

it('stops at start on a bad variable, naming it', async () => {
  const server = run({ PORT: 'eighty' });
  expect(await server.exited).toBe(1);
  expect(server.output()).toMatch(/PORT: must be a port number/);
});

it('serves the built shop and stops gracefully on SIGTERM', async () => {
  const server = run({ PORT: '0', LOG_LEVEL: 'info' });
  const deadline = Date.now() + 20_000;
  let port: number | undefined;
  while (!port && Date.now() < deadline) {
    port = Number(/"port":(\d+)/.exec(server.output())?.[1]) || undefined;
    if (!port) await new Promise((resolve) => setTimeout(resolve, 50));
  }
  expect(port).toBeDefined();
  const page = await fetch(`http://127.0.0.1:${port}/tickets/new`);
  expect(page.status).toBe(200);
  const html = await page.text();
  expect(html).toContain('id="shop-config"');
  const script = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
  expect((await fetch(`http://127.0.0.1:${port}${script}`)).status).toBe(200);
  server.child.kill('SIGTERM');
  expect(await server.exited).toBe(0);
  expect(server.output()).toMatch(/"msg":"stopped"/);
});
