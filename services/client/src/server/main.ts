import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createLogger, loadConfig } from '@ticketing/common';
import { createClientApp } from './app';
import { clientConfigSchema } from './config';

/** Serves the shop until SIGTERM or SIGINT, then stops taking connections and exits once requests are done. */
function main(): void {
  const config = loadConfig(clientConfigSchema);
  const logger = createLogger({ service: 'client', level: config.LOG_LEVEL });
  const publicDir = config.PUBLIC_DIR ?? join(__dirname, '..', 'public');
  let server: Server;
  try {
    const app = createClientApp({ config, publicDir });
    server = app.listen(config.PORT, () => {
      logger.info(
        {
          port: (server.address() as AddressInfo).port,
          payments: config.STRIPE_PUBLISHABLE_KEY ? 'stripe' : config.TEST_CARD_TOKENS,
        },
        'http listening',
      );
    });
  } catch (error) {
    logger.fatal({ err: error }, 'start failed');
    process.exit(1);
  }
  // Requests are short (files); a browser's idle keep-alive connection must not hold the stop.
  server.keepAliveTimeout = 5000;
  const shutdown = (signal: string) => {
    logger.info({ signal }, 'shutting down');
    server.close(() => {
      logger.info('stopped');
      process.exit(0);
    });
    server.closeIdleConnections();
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
}

main();
