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
 * A replay writes replicas only: it signs nothing and charges nothing, but the services' config schemas want
 * their secrets all the same. Stand-ins, unless the environment gives the real ones.
 */
const unusedSecrets: Record<ReplayableService, Record<string, string>> = {
  orders: { JWT_KEY: 'replay-signs-nothing' },
  payments: { JWT_KEY: 'replay-signs-nothing', STRIPE_SECRET_KEY: 'sk_test_replay_charges_nothing' },
};

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  const env = {
    ...unusedSecrets[args.service],
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
