import { execFile } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Infra } from './infra';
import type { PrefixedLog } from './log';
import { findTool } from './paths';
import { freePort, waitForPort } from './ports';
import { SupervisedProcess } from './supervisor';

const run = promisify(execFile);

/** The SQL that gives every FerretDB index a GIN twin PostgreSQL can use (see the file for why). */
export const ginTwinsSql = join(__dirname, '..', 'postgres', 'ferretdb-gin-twins.sql');

/** Options of {@link startFerretDbOnPostgres}. */
export interface FerretDbOnPostgresOptions {
  /** Holds `pgdata/` (the cluster) and `ferretdb/` (FerretDB's state); created if missing, kept. */
  dir: string;
  /** FerretDB's port on 127.0.0.1 (default any free one). */
  port?: number;
  /** Merged-log prefixes for PostgreSQL and FerretDB. */
  log: { postgres: PrefixedLog; ferretdb: PrefixedLog };
  /**
   * Data that may be lost on a machine crash (CI): no fsync at all. Otherwise only commits are asynchronous
   * (a crash of the machine may lose the last few hundred milliseconds, never corrupt the cluster).
   */
  throwaway?: boolean;
}

/** Where PostgreSQL's server binaries are: `pg_config --bindir`, else the newest /usr/lib/postgresql/<v>/bin. */
export async function findPostgresBinDir(): Promise<string | undefined> {
  const pgConfig = findTool('pg_config');
  if (pgConfig) {
    const { stdout } = await run(pgConfig, ['--bindir']).catch(() => ({ stdout: '' }));
    const dir = stdout.trim();
    if (dir && existsSync(join(dir, 'initdb'))) return dir;
  }
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    const versions = readdirSync(root)
      .filter((v) => existsSync(join(root, v, 'bin', 'initdb')))
      .sort((a, b) => Number(b) - Number(a));
    if (versions[0]) return join(root, versions[0], 'bin');
  }
  const initdb = findTool('initdb');
  return initdb ? join(initdb, '..') : undefined;
}

/** The account PostgreSQL runs as: ours, or `postgres` when we are root (initdb and postgres refuse root). */
function postgresUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const entry = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .map((line) => line.split(':'))
    .find((fields) => fields[0] === 'postgres');
  if (!entry) {
    throw new Error(
      'running as root, PostgreSQL needs a `postgres` user (apt-get install postgresql creates it)',
    );
  }
  return { uid: Number(entry[2]), gid: Number(entry[3]) };
}

/**
 * FerretDB on a private PostgreSQL cluster in `dir`: initdb on first use, PostgreSQL on a free loopback port
 * (no Unix socket), the `ferretdb` database with the GIN-twin trigger, then FerretDB's PostgreSQL handler.
 * Both run as supervised children; `stop()` ends FerretDB first.
 */
export async function startFerretDbOnPostgres(
  binDir: string,
  options: FerretDbOnPostgresOptions,
): Promise<Infra> {
  const ferretdb = findTool('ferretdb');
  if (!ferretdb) throw new Error('no FerretDB binary (bash .ci/install-tools.sh builds one)');
  const user = postgresUser();
  const pgdata = join(options.dir, 'pgdata');
  mkdirSync(options.dir, { recursive: true });
  if (user) chownSync(options.dir, user.uid, user.gid);
  if (!existsSync(join(pgdata, 'PG_VERSION'))) {
    await run(join(binDir, 'initdb'), ['-D', pgdata, '-A', 'trust', '-U', 'postgres', '--no-sync'], {
      uid: user?.uid,
      gid: user?.gid,
    });
  }
  const pgPort = await freePort();
  const settings = [
    'listen_addresses=127.0.0.1',
    'unix_socket_directories=',
    // FerretDB binds the field name as a parameter (`_jsonb->$1 @> $2`): only a plan made with the values
    // matches the GIN twins' expressions.
    'plan_cache_mode=force_custom_plan',
    // Above FerretDB's pool (below): an exhausted pool can deadlock FerretDB 1.24, whose metadata lock is taken
    // by writers that then wait for a connection while readers hold every connection waiting for that lock.
    'max_connections=300',
    'synchronous_commit=off',
    // FerretDB's inserts against unique keys are how writers claim versions: a lost claim is routine, not news.
    'log_min_messages=fatal',
    'log_min_error_statement=panic',
    ...(options.throwaway ? ['fsync=off', 'full_page_writes=off'] : []),
  ];
  const postgres = new SupervisedProcess({
    name: 'postgres',
    command: join(binDir, 'postgres'),
    args: ['-D', pgdata, '-p', String(pgPort), ...settings.flatMap((setting) => ['-c', setting])],
    env: { ...process.env, LC_ALL: 'C' },
    user,
    log: options.log.postgres,
  });
  postgres.start();
  let ferret: SupervisedProcess | undefined;
  const stop = async () => {
    await ferret?.stop();
    await postgres.stop();
  };
  try {
    await waitForPort(pgPort, 30_000);
    const connection = ['-h', '127.0.0.1', '-p', String(pgPort), '-U', 'postgres'];
    await run(join(binDir, 'createdb'), [...connection, 'ferretdb']).catch((error: { stderr?: string }) => {
      if (!error.stderr?.includes('already exists')) throw error;
    });
    await run(join(binDir, 'psql'), [
      ...connection,
      '-d',
      'ferretdb',
      '-v',
      'ON_ERROR_STOP=1',
      '-q',
      '-f',
      ginTwinsSql,
    ]);
    const port = await freePort(options.port ?? 0);
    const state = join(options.dir, 'ferretdb');
    mkdirSync(state, { recursive: true });
    ferret = new SupervisedProcess({
      name: 'ferretdb',
      command: ferretdb,
      args: [
        '--handler=postgresql',
        `--postgresql-url=postgres://postgres@127.0.0.1:${pgPort}/ferretdb?pool_max_conns=250`,
        `--listen-addr=127.0.0.1:${port}`,
        `--state-dir=${state}`,
        '--debug-addr=-',
        '--telemetry=disable',
        '--log-level=error',
      ],
      env: process.env,
      log: options.log.ferretdb,
    });
    ferret.start();
    await waitForPort(port, 20_000);
    const url = `mongodb://127.0.0.1:${port}/`;
    return {
      url,
      description: `FerretDB on PostgreSQL (${binDir}), data in ${options.dir}`,
      // `postgres` is the postmaster: its backends (one per FerretDB connection) are its children.
      processes: () => [
        ...(ferret?.pid ? [{ role: 'ferretdb', pid: ferret.pid, port, url }] : []),
        ...(postgres.pid ? [{ role: 'postgres', pid: postgres.pid, port: pgPort }] : []),
      ],
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
