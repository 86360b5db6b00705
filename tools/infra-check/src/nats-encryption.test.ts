import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { connectBus, createLogger } from '@ticketing/common';
import {
  type K8sObject,
  named,
  natsConfigFiles,
  natsEnv,
  type Overlay,
  renderOverlay,
  type Workload,
} from './manifests';
import { parseNatsConf } from './nats-conf';
import { runNats } from './nats-server';

/** Every file under `dir`, concatenated. */
function everyByte(dir: string): Buffer {
  const chunks: Buffer[] = [];
  const walk = (at: string) => {
    for (const name of readdirSync(at)) {
      const path = join(at, name);
      if (statSync(path).isDirectory()) walk(path);
      else chunks.push(readFileSync(path));
    }
  };
  walk(dir);
  return Buffer.concat(chunks);
}

/**
 * Runs nats-server on an overlay's JetStream settings (one server: dev's empty cluster.conf, as a three-node
 * cluster needs its peers), publishes a message that is easy to find and reads it back, then stops the server
 * and returns every byte of its store directory.
 */
async function storeAfterPublishing(overlay: Overlay, canary: string): Promise<Buffer> {
  const files = { ...natsConfigFiles(renderOverlay(overlay)), 'cluster.conf': '' };
  const env = natsEnv(overlay);
  let stored: Buffer = Buffer.alloc(0);
  const nats = await runNats(files, env, {
    onStopped: (storeDir) => {
      stored = everyByte(storeDir);
    },
  });
  try {
    const bus = await connectBus({
      servers: nats.url,
      name: 'infra-check-encryption',
      logger: createLogger({ service: 'infra-check', level: 'silent' }),
      user: 'admin',
      pass: env.NATS_PASSWORD_ADMIN,
    });
    try {
      await bus.ensureStreams();
      const ack = await bus.js.publish('ticket.created', JSON.stringify({ title: canary }));
      const message = await bus.jsm.streams.getMessage('TICKETS', { seq: ack.seq });
      expect(message?.string()).toContain(canary);
    } finally {
      await bus.close();
    }
  } finally {
    await nats.stop();
  }
  expect(stored.length).toBeGreaterThan(0);
  return stored;
}

describe('JetStream encryption at rest', () => {
  test('the prod overlay encrypts the store with chachapoly, its key from the Secret nats-jetstream', () => {
    const objects = renderOverlay('prod');
    const conf = parseNatsConf('nats.conf', natsConfigFiles(objects));
    expect(conf.jetstream).toMatchObject({ cipher: 'chachapoly' });
    expect(natsConfigFiles(objects)['jetstream.conf']).toMatch(/^\s*key: \$JETSTREAM_KEY$/m);
    const container = named<Workload>(objects as K8sObject[], 'StatefulSet', 'nats').spec.template.spec!
      .containers[0]!;
    expect(container.env?.find((variable) => variable.name === 'JETSTREAM_KEY')?.valueFrom).toEqual({
      secretKeyRef: { name: 'nats-jetstream', key: 'key' },
    });
    expect(parseNatsConf('nats.conf', natsConfigFiles(renderOverlay('dev'))).jetstream).not.toHaveProperty(
      'cipher',
    );
  });

  test('a real nats-server on the prod config keeps a published payload nowhere in clear text', async () => {
    const canary = `canary-${randomBytes(12).toString('hex')}`;
    const stored = await storeAfterPublishing('prod', canary);
    expect(stored.includes(canary)).toBe(false);
    expect(stored.includes('ticket.created')).toBe(false);
  }, 60_000);

  test('the same check finds it on the dev config, which does not encrypt (the check can see a payload)', async () => {
    const canary = `canary-${randomBytes(12).toString('hex')}`;
    expect((await storeAfterPublishing('dev', canary)).includes(canary)).toBe(true);
  }, 60_000);
});
