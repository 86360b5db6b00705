import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmod, copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { create } from 'tar';
import { ChecksumMismatchError, DownloadError, NatsServerNotFoundError } from '../errors';
import { downloadNatsServer, findNatsServer, natsServerVersion } from './binary';

const run = promisify(execFile);
const folder = `nats-server-v${natsServerVersion}-linux-amd64`;
const archiveName = `${folder}.tar.gz`;

/** A local stand-in for the GitHub release: serves files from a map and counts requests per path. */
class ReleaseServer {
  readonly files = new Map<string, Buffer>();
  readonly requests: string[] = [];
  private server: Server | undefined;
  baseUrl = '';

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      this.requests.push(req.url ?? '');
      const body = this.files.get(req.url ?? '');
      if (!body) {
        res.writeHead(404).end('not found');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(body);
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.baseUrl = `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}/releases`;
  }

  count(file: string): number {
    return this.requests.filter((url) => url.endsWith(`/${file}`)).length;
  }

  async stop(): Promise<void> {
    await new Promise((resolve) => this.server?.close(resolve));
  }
}

async function listRecursive(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true })).map(String);
}

describe('downloadNatsServer', () => {
  let work: string;
  let archive: Buffer;
  let release: ReleaseServer;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'ticketing-dl-test-'));
    // The archive is built from the real local binary, laid out like the published release.
    const localBinary = await findNatsServer();
    await mkdir(join(work, 'src', folder), { recursive: true });
    await copyFile(localBinary, join(work, 'src', folder, 'nats-server'));
    await chmod(join(work, 'src', folder, 'nats-server'), 0o755);
    const archivePath = join(work, archiveName);
    await create({ gzip: { level: 1 }, file: archivePath, cwd: join(work, 'src') }, [folder]);
    archive = await readFile(archivePath);

    release = new ReleaseServer();
    await release.start();
    release.files.set(`/releases/v${natsServerVersion}/${archiveName}`, archive);
  });

  afterAll(async () => {
    await release?.stop();
    await rm(work, { recursive: true, force: true });
  });

  function publishSums(sha: string): void {
    const other = 'a'.repeat(64);
    const text = `${other}  nats-server-v${natsServerVersion}-darwin-arm64.tar.gz\n${sha}  ${archiveName}\n`;
    release.files.set(`/releases/v${natsServerVersion}/SHA256SUMS`, Buffer.from(text));
  }

  it('downloads, verifies and unpacks the release once, then serves it from the cache', async () => {
    publishSums(createHash('sha256').update(archive).digest('hex'));
    const cacheDir = await mkdtemp(join(work, 'cache-'));
    const options = { baseUrl: release.baseUrl, cacheDir, platform: 'linux', arch: 'x64' };
    const before = release.count(archiveName);

    const binary = await downloadNatsServer(options);
    expect(binary.startsWith(cacheDir)).toBe(true);
    const { stdout } = await run(binary, ['--version']);
    expect(stdout).toContain(natsServerVersion);
    expect(release.count(archiveName)).toBe(before + 1);

    expect(await downloadNatsServer(options)).toBe(binary);
    expect(release.count(archiveName)).toBe(before + 1);
    // Only the binary is left behind: no temp files or archives in the cache.
    expect(await listRecursive(cacheDir)).toEqual(
      expect.arrayContaining([join('nats-server', `v${natsServerVersion}`, 'linux-amd64', 'nats-server')]),
    );
    expect(
      (await listRecursive(cacheDir)).filter((p) => p.includes('.tmp') || p.endsWith('.tar.gz')),
    ).toEqual([]);
  });

  it('parallel callers on an empty cache all get a working binary', async () => {
    publishSums(createHash('sha256').update(archive).digest('hex'));
    const cacheDir = await mkdtemp(join(work, 'cache-'));
    const options = { baseUrl: `${release.baseUrl}/`, cacheDir, platform: 'linux', arch: 'amd64' };
    const paths = await Promise.all([downloadNatsServer(options), downloadNatsServer(options)]);
    expect(paths[0]).toBe(paths[1]);
    const { stdout } = await run(paths[0]!, ['--version']);
    expect(stdout).toContain(natsServerVersion);
    expect(await readdir(cacheDir)).toEqual(['nats-server']);
  });

  it('rejects an archive whose SHA-256 does not match and caches nothing', async () => {
    publishSums(createHash('sha256').update('something else').digest('hex'));
    const cacheDir = await mkdtemp(join(work, 'cache-'));
    const err = await downloadNatsServer({
      baseUrl: release.baseUrl,
      cacheDir,
      platform: 'linux',
      arch: 'x64',
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ChecksumMismatchError);
    expect(err).toMatchObject({
      name: 'ChecksumMismatchError',
      code: 'CHECKSUM_MISMATCH',
      actual: createHash('sha256').update(archive).digest('hex'),
    });
    expect(await listRecursive(cacheDir)).toEqual([]);
  });

  it('reports a release that is not published as a DownloadError', async () => {
    const cacheDir = await mkdtemp(join(work, 'cache-'));
    const err = await downloadNatsServer({
      baseUrl: release.baseUrl,
      cacheDir,
      version: '9.9.9',
      platform: 'linux',
      arch: 'x64',
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DownloadError);
    expect((err as Error).message).toMatch(/v9\.9\.9\/SHA256SUMS answered 404/);
    expect(await listRecursive(cacheDir)).toEqual([]);
  });

  it('takes its base URL from NATS_SERVER_DOWNLOAD_URL', async () => {
    publishSums(createHash('sha256').update(archive).digest('hex'));
    const cacheDir = await mkdtemp(join(work, 'cache-'));
    const saved = process.env.NATS_SERVER_DOWNLOAD_URL;
    process.env.NATS_SERVER_DOWNLOAD_URL = release.baseUrl;
    try {
      const before = release.count(archiveName);
      await downloadNatsServer({ cacheDir, platform: 'linux', arch: 'x64' });
      expect(release.count(archiveName)).toBe(before + 1);
    } finally {
      if (saved === undefined) delete process.env.NATS_SERVER_DOWNLOAD_URL;
      else process.env.NATS_SERVER_DOWNLOAD_URL = saved;
    }
  });
});

describe('findNatsServer', () => {
  const saved = { bin: process.env.NATS_SERVER_BIN, path: process.env.PATH };

  afterEach(() => {
    if (saved.bin === undefined) delete process.env.NATS_SERVER_BIN;
    else process.env.NATS_SERVER_BIN = saved.bin;
    process.env.PATH = saved.path;
  });

  it('prefers NATS_SERVER_BIN and refuses one that is not executable', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ticketing-find-'));
    try {
      const fake = join(dir, 'my-nats');
      await writeFile(fake, '#!/bin/sh\necho fake\n');
      await chmod(fake, 0o755);
      process.env.NATS_SERVER_BIN = fake;
      expect(await findNatsServer()).toBe(fake);

      await chmod(fake, 0o644);
      await expect(findNatsServer()).rejects.toBeInstanceOf(NatsServerNotFoundError);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('finds nats-server on PATH', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ticketing-find-'));
    try {
      const onPath = join(dir, 'nats-server');
      await writeFile(onPath, '#!/bin/sh\necho fake\n');
      await chmod(onPath, 0o755);
      delete process.env.NATS_SERVER_BIN;
      process.env.PATH = `/nonexistent-dir:${dir}:${saved.path}`;
      expect(await findNatsServer()).toBe(onPath);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('finds the one .ci/install-tools.sh built in the tools directory when PATH has none', async () => {
    const tools = await mkdtemp(join(tmpdir(), 'ticketing-tools-'));
    try {
      await mkdir(join(tools, 'bin'));
      const built = join(tools, 'bin', 'nats-server');
      await writeFile(built, '#!/bin/sh\necho fake\n');
      await chmod(built, 0o755);
      delete process.env.NATS_SERVER_BIN;
      process.env.PATH = '/nonexistent-dir';
      expect(await findNatsServer({ cacheDir: tools, baseUrl: 'http://127.0.0.1:9' })).toBe(built);
    } finally {
      await rm(tools, { recursive: true, force: true });
    }
  });
});
