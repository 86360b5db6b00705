import { startStack } from './stack';
import { stackToolResolver } from './tools';

const bold = (text: string) => (process.stdout.isTTY ? `\u001b[1m${text}\u001b[0m` : text);

/** `npm start`: the whole system on this machine until Ctrl-C. */
async function main(): Promise<void> {
  const startedAt = Date.now();
  const stack = await startStack({ jaeger: 'if-present' });
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: stopping the gateway, the services (gracefully), then NATS and Mongo…`);
    stack.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error('stop failed:', error);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));

  await stack.waitReady();
  const seconds = ((Date.now() - startedAt) / 1000).toFixed(1);
  const lines = [
    '',
    bold(`  Ticketing is ready (${seconds}s) — the shop: ${stack.url}/`),
    '',
    `    shop         ${stack.url}/`,
    `    API          ${stack.url}/api/users · /api/tickets · /api/orders · /api/payments · /api/webhooks`,
    `    health       ${stack.url}/api/health`,
    `    NATS         ${stack.natsUrl}  (${stack.infra.nats})`,
    ...(stack.natsNodes.length > 1
      ? stack.natsNodes.map((node) => `      ${node.name.padEnd(10)} ${node.url}  pid ${node.pid() ?? '?'}`)
      : []),
    `    Mongo        ${stack.infra.mongo}`,
    `    payments     ${stack.infra.payments}`,
    stack.jaeger
      ? `    Jaeger UI    ${stack.jaeger.url}/  (traces of every request; API ${stack.jaeger.url}/api/traces?service=orders)`
      : process.env.OTEL_EXPORTER_OTLP_ENDPOINT
        ? `    traces       to OTEL_EXPORTER_OTLP_ENDPOINT (${process.env.OTEL_EXPORTER_OTLP_ENDPOINT})`
        : '    traces       off: Jaeger is not installed (bash .ci/install-tools.sh jaeger, then npm start again)',
    ...Object.entries(stack.replicas).flatMap(([name, replicas]) =>
      replicas.map((service) => {
        const label = replicas.length > 1 ? `${name} #${service.replica}` : name;
        return `    ${label.padEnd(12)} ${service.url}  pid ${service.process.pid}`;
      }),
    ),
    `    state        ${stack.stateFile}`,
    '',
    '  Try: curl -s -c /tmp/c -H "content-type: application/json" \\',
    `         -d '{"email":"me@example.com","password":"password123"}' ${stack.url}/api/users/signup`,
    '  Ctrl-C stops everything.',
    '',
  ];
  console.log(lines.join('\n'));
  // Only for looking at the bus by hand: found or built after the banner (a build waits for any other build of
  // the tools cache), never in the way of the system.
  const nats = await stackToolResolver().optional('nats', 'the nats CLI is optional');
  if (nats)
    console.log(`  nats CLI: ${nats} --server ${stack.natsUrl} stream ls  (or: consumer report ORDERS)\n`);
}

main().catch((error: unknown) => {
  console.error(`npm start failed: ${(error as Error).message}`);
  process.exit(1);
});
