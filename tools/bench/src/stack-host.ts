// Child process of the bench: hosts a stack of its own (startStack) until told to stop (SIGTERM, or the
// bench going away), so that the stack's gateway runs beside, not inside, the load generator's event loop.
import { createWriteStream } from 'node:fs';
import { type Stack, startStack } from '@ticketing/stack/stack';
import type { HostMessage } from './target';

function send(message: HostMessage): void {
  process.send?.(message);
}

/** Starts the stack described by the BENCH_STACK_* variables the bench sets, and stops it on demand. */
async function host(): Promise<void> {
  const logTo = createWriteStream(process.env.BENCH_STACK_LOG!, { flags: 'a' });
  let starting: Promise<Stack> | undefined;
  let stopping = false;
  const stop = (code: number) => {
    if (stopping) return;
    stopping = true;
    void (async () => {
      // A stop asked for while the stack starts waits for it, so that no service is left behind.
      const stack = await starting?.catch(() => undefined);
      await stack?.stop().catch(() => undefined);
      logTo.end();
      process.exit(code);
    })();
  };
  process.once('SIGTERM', () => stop(0));
  process.once('SIGINT', () => stop(0));
  process.once('disconnect', () => stop(0));
  try {
    starting = startStack({
      port: 0,
      dataDir: process.env.BENCH_STACK_DATA_DIR!,
      env: JSON.parse(process.env.BENCH_STACK_ENV ?? '{}') as Record<string, string>,
      logTo,
      databasePrefix: process.env.BENCH_STACK_PREFIX,
    });
    const stack = await starting;
    await stack.waitReady(Number(process.env.BENCH_STACK_READY_MS ?? 120_000));
    send({ type: 'ready' });
  } catch (error) {
    send({ type: 'error', message: (error as Error).message });
    stop(1);
  }
}

void host();
