import { createHash, randomBytes } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import { access, chmod, mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { extract } from 'tar';
import { ChecksumMismatchError, DownloadError, NatsServerNotFoundError } from '../errors';

/** The nats-server release this package pins when it has to download one. */
export const natsServerVersion = '2.14.5';

/** Where nats-server releases are published (GitHub releases). */
export const defaultNatsServerDownloadUrl = 'https://github.com/nats-io/nats-server/releases/download';

/** Options of {@link downloadNatsServer}. */
export interface DownloadNatsServerOptions {
  /** Release to fetch, with or without a leading `v`; default {@link natsServerVersion}. */
  version?: string;
  /** Base of the release URLs; default `NATS_SERVER_DOWNLOAD_URL` or GitHub releases. */
  baseUrl?: string;
  /** Root of the tools cache; default `TICKETING_TOOLS_DIR` or `~/.cache/ticketing-tools`. */
  cacheDir?: string;
  /** Target OS, Node (`linux`, `darwin`) naming; default this machine's. */
  platform?: string;
  /** Target CPU, Node (`x64`, `arm64`) or release (`amd64`) naming; default this machine's. */
  arch?: string;
  /** Give up on each HTTP request after this long; default 120000 ms. */
  timeoutMs?: number;
}

/** Options of {@link findNatsServer}: where a download, if one is needed, comes from and goes to. */
export interface FindNatsServerOptions {
  /** Root of the tools cache; default `TICKETING_TOOLS_DIR` or `~/.cache/ticketing-tools`. */
  cacheDir?: string;
  /** Base of the release URLs; default `NATS_SERVER_DOWNLOAD_URL` or GitHub releases. */
  baseUrl?: string;
}

/** The tools cache root: `TICKETING_TOOLS_DIR`, else `~/.cache/ticketing-tools`. */
export function toolsCacheDir(): string {
  return process.env.TICKETING_TOOLS_DIR || join(homedir(), '.cache', 'ticketing-tools');
}

/**
 * Path of a nats-server binary: `NATS_SERVER_BIN`, else `nats-server` on PATH, else the pinned release,
 * downloaded once into the tools cache and checked against its published SHA-256.
 */
export async function findNatsServer(options: FindNatsServerOptions = {}): Promise<string> {
  const fromEnv = process.env.NATS_SERVER_BIN;
  if (fromEnv) {
    if (!(await isExecutableFile(fromEnv))) {
      throw new NatsServerNotFoundError(`NATS_SERVER_BIN=${fromEnv} is not an executable file`);
    }
    return fromEnv;
  }
  const onPath = await findOnPath('nats-server');
  if (onPath) return onPath;
  // Where .ci/install-tools.sh builds it, for developers who did not put that directory on PATH.
  const built = join(options.cacheDir ?? toolsCacheDir(), 'bin', 'nats-server');
  if (await isExecutableFile(built)) return built;
  try {
    return await downloadNatsServer({ cacheDir: options.cacheDir, baseUrl: options.baseUrl });
  } catch (err) {
    if (err instanceof ChecksumMismatchError) throw err;
    throw new NatsServerNotFoundError(
      `no nats-server found (NATS_SERVER_BIN unset, none on PATH or in ${join(options.cacheDir ?? toolsCacheDir(), 'bin')}) and downloading v${natsServerVersion} failed: ` +
        `${(err as Error).message}. Install one (go install github.com/nats-io/nats-server/v2@v${natsServerVersion}) ` +
        'and put it on PATH, or set NATS_URL to a running server',
      { cause: err },
    );
  }
}

/**
 * Fetches a nats-server release for one platform into the cache and returns the binary's path; a binary
 * already in the cache is returned without any request.
 */
export async function downloadNatsServer(options: DownloadNatsServerOptions = {}): Promise<string> {
  const version = (options.version ?? natsServerVersion).replace(/^v/, '');
  const baseUrl = (
    options.baseUrl ??
    process.env.NATS_SERVER_DOWNLOAD_URL ??
    defaultNatsServerDownloadUrl
  ).replace(/\/+$/, '');
  const cacheDir = options.cacheDir ?? toolsCacheDir();
  const os = releaseOs(options.platform ?? process.platform);
  const arch = releaseArch(options.arch ?? process.arch);
  const timeoutMs = options.timeoutMs ?? 120_000;

  const finalDir = join(cacheDir, 'nats-server', `v${version}`, `${os}-${arch}`);
  const finalPath = join(finalDir, 'nats-server');
  if (await isExecutableFile(finalPath)) return finalPath;

  const folder = `nats-server-v${version}-${os}-${arch}`;
  const archiveName = `${folder}.tar.gz`;
  const releaseUrl = `${baseUrl}/v${version}`;

  const sums = parseSums((await fetchBytes(`${releaseUrl}/SHA256SUMS`, timeoutMs)).toString('utf8'));
  const expected = sums.get(archiveName);
  if (!expected) {
    throw new DownloadError(`${releaseUrl}/SHA256SUMS has no entry for ${archiveName}`);
  }
  const archive = await fetchBytes(`${releaseUrl}/${archiveName}`, timeoutMs);
  const actual = createHash('sha256').update(archive).digest('hex');
  if (actual !== expected) throw new ChecksumMismatchError(archiveName, expected, actual);

  // Unpack next to the cache (same filesystem, so the final rename is atomic) in a directory of our own:
  // parallel jest workers each unpack privately and the last rename wins with identical bytes.
  await mkdir(cacheDir, { recursive: true });
  const workDir = join(cacheDir, `.tmp-nats-server-${process.pid}-${randomBytes(4).toString('hex')}`);
  await mkdir(workDir);
  try {
    const archivePath = join(workDir, archiveName);
    await writeFile(archivePath, archive);
    const entry = `${folder}/nats-server`;
    try {
      await extract({
        file: archivePath,
        cwd: workDir,
        filter: (path) => path.replace(/^\.\//, '') === entry,
      });
    } catch (err) {
      throw new DownloadError(`cannot unpack ${archiveName}: ${(err as Error).message}`, { cause: err });
    }
    const unpacked = join(workDir, folder, 'nats-server');
    if (!(await isFile(unpacked))) {
      throw new DownloadError(`${archiveName} does not contain ${entry}`);
    }
    await chmod(unpacked, 0o755);
    await mkdir(finalDir, { recursive: true });
    await rename(unpacked, finalPath);
    return finalPath;
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}

function releaseOs(platform: string): 'linux' | 'darwin' {
  if (platform === 'linux' || platform === 'darwin') return platform;
  throw new NatsServerNotFoundError(
    `no nats-server download for platform ${platform}: install nats-server and set NATS_SERVER_BIN`,
  );
}

function releaseArch(arch: string): 'amd64' | 'arm64' {
  if (arch === 'x64' || arch === 'amd64') return 'amd64';
  if (arch === 'arm64') return 'arm64';
  throw new NatsServerNotFoundError(
    `no nats-server download for CPU ${arch}: install nats-server and set NATS_SERVER_BIN`,
  );
}

function parseSums(text: string): Map<string, string> {
  const sums = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    // `sha256sum` marks binary-mode entries with a `*` before the name.
    const match = /^([0-9a-fA-F]{64})\s+\*?(\S.*)$/.exec(line.trim());
    if (match) sums.set(match[2]!.trim(), match[1]!.toLowerCase());
  }
  return sums;
}

async function fetchBytes(url: string, timeoutMs: number): Promise<Buffer> {
  let response: Response;
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    throw new DownloadError(`GET ${url} failed: ${(err as Error).message}`, { cause: err });
  }
  if (!response.ok) {
    throw new DownloadError(`GET ${url} answered ${response.status} ${response.statusText}`);
  }
  try {
    return Buffer.from(await response.arrayBuffer());
  } catch (err) {
    throw new DownloadError(`GET ${url}: reading the body failed: ${(err as Error).message}`, { cause: err });
  }
}

async function findOnPath(name: string): Promise<string | undefined> {
  const names = process.platform === 'win32' ? [`${name}.exe`, name] : [name];
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    for (const candidate of names) {
      const path = join(dir, candidate);
      if (await isExecutableFile(path)) return path;
    }
  }
  return undefined;
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

async function isExecutableFile(path: string): Promise<boolean> {
  if (!(await isFile(path))) return false;
  try {
    await access(path, fsConstants.X_OK);
    return true;
  } catch {
    return false;
  }
}
