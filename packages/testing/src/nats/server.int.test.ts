import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstream, jetstreamManager, StorageType } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { ExternalServerError, NatsServerStartError } from '../errors';
import { type NatsServerHandle, startNats } from './server';

function probePort(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = tcpConnect({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve();
    });
    socket.once('error', reject);
  });
}

async function storedMessages(url: string, stream: string): Promise<unknown[]> {
  const nc = await connect({ servers: url });
  try {
    const jsm = await jetstreamManager(nc);
    const { state } = await jsm.streams.info(stream);
    const out: unknown[] = [];
    for (let seq = state.first_seq; seq <= state.last_seq; seq++) {
      const stored = await jsm.streams.getMessage(stream, { seq });
      if (!stored) throw new Error(`${stream} has no message ${seq}`);
      out.push(stored.json());
    }
    return out;
  } finally {
    await nc.close();
  }
}

describe('startNats (own server)', () => {
  let server: NatsServerHandle;

  beforeAll(async () => {
    server = await startNats({ own: true });
  });

  afterAll(async () => {
    await server?.close();
  });

  it('runs a real JetStream server on a random local port', async () => {
    expect(server.external).toBe(false);
    expect(server.port).toBeGreaterThan(0);
    expect(server.url).toBe(`nats://127.0.0.1:${server.port}`);
    expect(existsSync(server.storeDir)).toBe(true);

    const nc = await connect({ servers: server.url });
    try {
      const jsm = await jetstreamManager(nc);
      await jsm.streams.add({ name: 'LIFE', subjects: ['life.>'], storage: StorageType.File });
      const js = jetstream(nc);
      await js.publish('life.one', JSON.stringify({ n: 1 }));
      const ack = await js.publish('life.two', JSON.stringify({ n: 2 }));
      expect(ack.seq).toBe(2);
    } finally {
      await nc.close();
    }
    expect(await storedMessages(server.url, 'LIFE')).toEqual([{ n: 1 }, { n: 2 }]);
  });

  it('stop() ends the process so the port refuses connections', async () => {
    await probePort(server.port);
    await server.stop();
    await expect(probePort(server.port)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    // A second stop is harmless.
    await server.stop();
  });

  it('restart() comes back on the same port with the stored stream and messages', async () => {
    const { port, url } = server;
    await server.restart();
    expect(server.port).toBe(port);
    expect(server.url).toBe(url);
    expect(await storedMessages(server.url, 'LIFE')).toEqual([{ n: 1 }, { n: 2 }]);
  });

  it('restart() of a running server replaces the process and keeps the data', async () => {
    await server.restart();
    expect(await storedMessages(server.url, 'LIFE')).toEqual([{ n: 1 }, { n: 2 }]);
  });
});

describe('startNats life cycle', () => {
  it('close() stops the server and removes the store dir; the handle is then finished', async () => {
    const server = await startNats({ own: true });
    expect(existsSync(server.storeDir)).toBe(true);
    await server.close();
    expect(existsSync(server.storeDir)).toBe(false);
    await expect(probePort(server.port)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    await server.close();
    await expect(server.restart()).rejects.toMatchObject({ code: 'SERVER_CLOSED' });
  });

  it('a store dir given by the caller is used and kept: a new server on it finds the old streams', async () => {
    const storeDir = await mkdtemp(join(tmpdir(), 'kept-store-'));
    try {
      const first = await startNats({ own: true, storeDir });
      const nc = await connect({ servers: first.url });
      await (await jetstreamManager(nc)).streams.add({
        name: 'KEPT',
        subjects: ['kept.>'],
        storage: StorageType.File,
      });
      await jetstream(nc).publish('kept.one', JSON.stringify({ n: 1 }));
      await nc.close();
      await first.close();
      expect(existsSync(storeDir)).toBe(true);
      const second = await startNats({ own: true, storeDir });
      try {
        expect(await storedMessages(second.url, 'KEPT')).toEqual([{ n: 1 }]);
      } finally {
        await second.close();
      }
    } finally {
      await rm(storeDir, { recursive: true, force: true });
    }
  });

  it('a server that cannot start fails with its log and leaves no store behind', async () => {
    const err = await startNats({ own: true, args: ['--no-such-flag'] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NatsServerStartError);
    expect(err).toMatchObject({ name: 'NatsServerStartError', code: 'NATS_SERVER_START_FAILED' });
    const message = (err as Error).message;
    expect(message).toMatch(/exited during start-up/);
    expect(message).toMatch(/no-such-flag/);
    const store = /store (\S+)\)/.exec(message)?.[1];
    expect(store).toBeDefined();
    expect(existsSync(store!)).toBe(false);
  });

  it('NATS_URL makes startNats use that server, which cannot be stopped from here', async () => {
    const owned = await startNats({ own: true });
    const saved = process.env.NATS_URL;
    process.env.NATS_URL = owned.url;
    try {
      const external = await startNats();
      expect(external).toMatchObject({ url: owned.url, port: owned.port, external: true, storeDir: '' });
      await expect(external.stop()).rejects.toBeInstanceOf(ExternalServerError);
      await expect(external.restart()).rejects.toMatchObject({
        name: 'ExternalServerError',
        code: 'EXTERNAL_SERVER',
      });
      await external.close();
      await probePort(owned.port);

      const own = await startNats({ own: true });
      expect(own.external).toBe(false);
      expect(own.port).not.toBe(owned.port);
      await own.close();
    } finally {
      if (saved === undefined) delete process.env.NATS_URL;
      else process.env.NATS_URL = saved;
      await owned.close();
    }
  });
});
