import { writeFileSync } from 'node:fs';
import { PrefixedLog } from './log';
import { findPostgresBinDir, startFerretDbOnPostgres } from './postgres';

/**
 * `node dist/database-main.js <dir> <url-file>`: FerretDB on a throwaway PostgreSQL cluster in `<dir>` for CI,
 * the same servers `npm start` runs. Writes the Mongo URL to `<url-file>` once it answers; stops on SIGTERM.
 */
async function main(): Promise<void> {
  const [dir, urlFile] = process.argv.slice(2);
  if (!dir || !urlFile) throw new Error('usage: database-main.js <dir> <url-file>');
  const binDir = await findPostgresBinDir();
  if (!binDir) throw new Error('PostgreSQL is not installed (apt-get install postgresql)');
  const database = await startFerretDbOnPostgres(binDir, {
    dir,
    throwaway: true,
    log: { postgres: new PrefixedLog('postgres'), ferretdb: new PrefixedLog('ferretdb') },
  });
  const stop = () => database.stop().then(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  writeFileSync(urlFile, database.url);
  console.log(`${database.description}: ${database.url}`);
}

main().catch((error: unknown) => {
  console.error(`database failed to start: ${(error as Error).message}`);
  process.exit(1);
});
