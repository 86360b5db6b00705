import { rmSync } from 'node:fs';
import { join } from 'node:path';
import {
  type Bus,
  connectBus,
  createLogger,
  durableName,
  eventCatalog,
  Listener,
  on,
  type Subject,
  serviceInboxPrefix,
  subjects,
} from '@ticketing/common';
import {
  eventStreamOf,
  listenedSubjects,
  publishedSubjects,
  type ServiceName,
  serviceNames,
} from './contract';
import { natsConfigFiles, natsEnv, type Overlay, overlays, renderOverlay } from './manifests';
import { NatsConfSyntaxError, parseNatsConf } from './nats-conf';
import { expectedPublish, permissionProblems, readUsers } from './nats-permissions';
import { type RunningNats, runNats, testNatsConfig, writeConfigFiles } from './nats-server';

describe('NATS config reader', () => {
  test('reads maps, arrays, quoted and bare strings, variables, comments and includes', () => {
    const conf = parseNatsConf('main.conf', {
      'main.conf':
        'port: 4222 # client\nname = $NAME\njetstream {\n  store_dir: "/data/js"\n}\ninclude ./more.conf\n',
      'more.conf': '// users\nlist: [ "a", b\n  "$JS.API.INFO" ]\nurl: nats://x:1\n',
    });
    expect(conf).toEqual({
      port: '4222',
      name: { variable: 'NAME' },
      jetstream: { store_dir: '/data/js' },
      list: ['a', 'b', '$JS.API.INFO'],
      url: 'nats://x:1',
    });
  });

  test('reports what it cannot read, with the line', () => {
    expect(() => parseNatsConf('a.conf', { 'a.conf': 'x {\n y: [1, 2\n' })).toThrow(NatsConfSyntaxError);
    expect(() => parseNatsConf('a.conf', { 'a.conf': 'x: 1\nx: 2\n' })).toThrow(/a.conf:2: "x" is set twice/);
    expect(() => parseNatsConf('a.conf', { 'a.conf': 'include ./missing.conf\n' })).toThrow(/missing.conf/);
  });
});

describe.each(overlays)('NATS config of overlay %s', (overlay: Overlay) => {
  test('nats-server accepts it (nats-server -t), with the environment the pod gives it', async () => {
    const dir = writeConfigFiles(natsConfigFiles(renderOverlay(overlay)));
    try {
      const result = await testNatsConfig(join(dir, 'nats.conf'), natsEnv(overlay));
      expect(result).toEqual({ ok: true, output: expect.stringContaining('is valid') });
      const withoutPasswords = Object.fromEntries(
        Object.entries(natsEnv(overlay)).filter(([name]) => !name.startsWith('NATS_PASSWORD_')),
      );
      expect((await testNatsConfig(join(dir, 'nats.conf'), withoutPasswords)).ok).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('users and permissions are exactly what the event catalog and the listener table need', () => {
    const users = readUsers(parseNatsConf('nats.conf', natsConfigFiles(renderOverlay(overlay))));
    expect(permissionProblems(users)).toEqual([]);
  });
});

describe('the permission check', () => {
  const users = () => readUsers(parseNatsConf('nats.conf', natsConfigFiles(renderOverlay('dev'))));

  test('fails on a missing subject and on an extra one', () => {
    const changed = users().map((user) =>
      user.user === 'tickets'
        ? {
            ...user,
            publishAllow: [...user.publishAllow!.filter((s) => s !== 'ticket.updated'), 'order.created'],
          }
        : user,
    );
    expect(permissionProblems(changed)).toEqual([
      'user tickets publish: missing "ticket.updated"',
      'user tickets publish: not needed "order.created"',
    ]);
  });

  test('follows the catalog: every subject is published by exactly one user, consumed by its listeners', () => {
    for (const subject of subjects) {
      const publishers = serviceNames.filter((s) => expectedPublish(s).includes(subject));
      expect([subject, publishers.length]).toEqual([subject, 1]);
      for (const service of serviceNames) {
        const stream = eventCatalog[subject].stream;
        const create = `$JS.API.CONSUMER.CREATE.${stream}.${durableName(service, subject)}.${subject}`;
        expect([service, subject, expectedPublish(service).includes(create)]).toEqual([
          service,
          subject,
          listenedSubjects[service].includes(subject),
        ]);
      }
    }
  });
});

/** A listener that accepts anything: the test only cares that the bus lets it consume and dead-letter. */
function listenerFor(bus: Bus, service: ServiceName, subject: Subject): Listener<Subject> {
  const logger = createLogger({ service, level: 'silent' });
  return new Listener(
    on(subject, () => undefined),
    bus,
    { service, logger, retryDelayMs: 50 },
  );
}

describe('the permissions on a real nats-server (dev config), with the services’ own bus code', () => {
  let nats: RunningNats;
  const buses = new Map<string, Bus>();
  const listeners: Array<Listener<Subject>> = [];

  const connect = async (user: string, env: Record<string, string>) => {
    const bus = await connectBus({
      servers: nats.url,
      name: `infra-check-${user}`,
      logger: createLogger({ service: user, level: 'silent' }),
      user,
      pass: env[`NATS_PASSWORD_${user.toUpperCase()}`],
      publishTimeoutMs: 5000,
      // What startService gives each service; the operator keeps the default inbox.
      inboxPrefix: user === 'admin' ? undefined : serviceInboxPrefix(user),
    });
    buses.set(user, bus);
    return bus;
  };

  beforeAll(async () => {
    const env = natsEnv('dev');
    nats = await runNats(natsConfigFiles(renderOverlay('dev')), env);
    await connect('admin', env);
    for (const service of serviceNames) await connect(service, env);
  });

  afterAll(async () => {
    for (const listener of listeners) await listener.stop();
    for (const bus of buses.values()) await bus.close();
    await nats?.stop();
  });

  test('each service ensures the streams, consumes what it listens to, acks, and dead-letters', async () => {
    for (const service of serviceNames) await buses.get(service)!.ensureStreams();
    for (const service of serviceNames) {
      for (const subject of listenedSubjects[service]) {
        const listener = listenerFor(buses.get(service)!, service, subject);
        await listener.start();
        listeners.push(listener);
      }
    }
    // Not JSON: every listener of the subject dead-letters it (its own dlq subject) and terminates it (ack API).
    for (const service of serviceNames) {
      for (const subject of publishedSubjects(service))
        await buses.get(service)!.js.publish(subject, 'not json');
    }
    const expected = serviceNames
      .flatMap((s) => listenedSubjects[s].map((subject) => `dlq.${s}.${subject}`))
      .sort();
    const admin = buses.get('admin')!;
    // Each listener terminates its message after the dead letter's PubAck: wait for both to show.
    const observe = async () => {
      const info = await admin.jsm.streams.info('DLQ', { subjects_filter: '>' });
      const unsettled: string[] = [];
      for (const service of serviceNames) {
        for (const subject of listenedSubjects[service]) {
          const consumer = await admin.jsm.consumers.info(
            eventCatalog[subject].stream,
            durableName(service, subject),
          );
          if (consumer.num_ack_pending + consumer.num_pending > 0) unsettled.push(consumer.name);
        }
      }
      return { deadLetters: Object.keys(info.state.subjects ?? {}).sort(), unsettled };
    };
    const deadline = Date.now() + 20_000;
    let observed = await observe();
    while (Date.now() < deadline) {
      if (observed.deadLetters.length >= expected.length && observed.unsettled.length === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
      observed = await observe();
    }
    expect(observed).toEqual({ deadLetters: expected, unsettled: [] });
  });

  test.each(Object.entries(eventStreamOf))(
    '%s follows its own stream %s with ordered consumers (event streams to browsers), and no other stream',
    async (service, stream) => {
      const bus = buses.get(service)!;
      await bus.ensureStreams();
      const subject = publishedSubjects(service as ServiceName)[0]!;
      const ack = await bus.js.publish(subject, 'an event');
      // What EventStreamHub does: an ordered consumer from a sequence, one message, then delete it.
      const consumer = await bus.js.consumers.get(stream!, {
        name_prefix: `${service}_updates_check`,
        opt_start_seq: ack.seq,
      });
      const messages = await consumer.consume({ max_messages: 10 });
      for await (const message of messages) {
        expect(message.seq).toBe(ack.seq);
        break;
      }
      await messages.close();
      expect(await consumer.delete()).toBe(true);
      const elsewhere = service === 'tickets' ? 'ORDERS' : 'TICKETS';
      await expect(
        bus.nc.request(`$JS.API.CONSUMER.CREATE.${elsewhere}.${service}_updates_x`, '{}', { timeout: 5000 }),
      ).rejects.toThrow('Permissions Violation');
    },
  );

  test.each(serviceNames)('%s is refused everything else', async (service) => {
    const bus = buses.get(service)!;
    const refusedPublish = async (subject: string, request = false) => {
      const attempt = request
        ? bus.nc.request(subject, '{}', { timeout: 5000 })
        : bus.js.publish(subject, 'x', { timeout: 5000 });
      await expect(attempt).rejects.toThrow(`Permissions Violation for Publish to "${subject}"`);
    };
    for (const subject of subjects.filter((s) => !publishedSubjects(service).includes(s)))
      await refusedPublish(subject);
    const other = serviceNames.find((s) => s !== service)!;
    await refusedPublish(`dlq.${other}.order.created`);
    for (const subject of subjects.filter((s) => !listenedSubjects[service].includes(s))) {
      const stream = eventCatalog[subject].stream;
      await refusedPublish(
        `$JS.API.CONSUMER.CREATE.${stream}.${durableName(service, subject)}.${subject}`,
        true,
      );
    }
    for (const subject of listenedSubjects[service]) {
      // Its own durable, pointed at another subject of the stream.
      const stream = eventCatalog[subject].stream;
      const elsewhere = subjects.find((s) => eventCatalog[s].stream === stream && s !== subject) ?? 'x';
      await refusedPublish(
        `$JS.API.CONSUMER.CREATE.${stream}.${durableName(service, subject)}.${elsewhere}`,
        true,
      );
    }
    await refusedPublish('$JS.API.STREAM.DELETE.ORDERS', true);
    await refusedPublish('$JS.API.STREAM.PURGE.TICKETS', true);
    await refusedPublish('$JS.API.STREAM.MSG.GET.PAYMENTS', true);
    await refusedPublish('$JS.API.CONSUMER.CREATE.ORDERS', true);
    // Neither events by plain subscription, nor the inboxes where other services' pulled messages arrive.
    for (const subject of ['order.created', '_INBOX.>', `${serviceInboxPrefix(other)}.>`]) {
      const subscription = bus.nc.subscribe(subject);
      const closed = await subscription.closed;
      expect(closed instanceof Error ? closed.message : closed).toContain(
        `Permissions Violation for Subscription to "${subject}"`,
      );
    }
  });
});
