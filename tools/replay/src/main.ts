import { replayService, type ServiceConfig, type ServiceDefinition } from '@ticketing/common';
import {
  exitCode,
  locateService,
  parseArgs,
  progressLine,
  type ReplayableService,
  summary,
  UsageError,
  usage,
} from './cli';

async function definitionOf(service: ReplayableService): Promise<ServiceDefinition<ServiceConfig>> {
  if (service === 'orders') return (await import('@ticketing/orders/app')).ordersService as never;
  return (await import('@ticketing/payments/app')).paymentsService as never;
}

/**
 * The secrets a replay needs: the JWT key, from which erasure derives the pseudonyms of erased users (a rebuilt
 * replica must be erased like the live one), by default the key `npm start` gives its services
 * (tools/stack/src/stack.ts). It charges nothing, but payments' config schema wants a Stripe key all the same.
 */
const LOCAL_STACK_JWT_KEY = 'local-stack-dev-key-not-for-production';
const stubSecrets: Record<ReplayableService, Record<string, string>> = {
  orders: {},
  payments: { STRIPE_SECRET_KEY: 'sk_test_replay_charges_nothing' },
};

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  const env = {
    JWT_KEY: LOCAL_STACK_JWT_KEY,
    ...stubSecrets[args.service],
    ...process.env,
    ...locateService(args.service, process.env),
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'error',
  };
  const tty = process.stderr.isTTY;
  const report = await replayService(await definitionOf(args.service), {
    env,
    mode: args.mode,
    start: args.start,
    onProgress: tty ? (progress) => process.stderr.write(`\r${progressLine(progress)}\u001b[K`) : undefined,
  });
  if (tty) process.stderr.write('\n');
  process.stdout.write(`${summary(report)}\n`);
  return exitCode(report);
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof UsageError) process.stderr.write(`${error.message}\n${usage}\n`);
    else process.stderr.write(`replay failed: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(2);
  },
);
