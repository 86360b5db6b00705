import { MongoClient } from 'mongodb';
import { MongoStartError } from './errors';
import { type MongoHandle, mongoUrlWithDatabase, startMongo } from './mongo';

async function databaseNames(url: string): Promise<string[]> {
  const client = new MongoClient(url);
  try {
    const { databases } = await client.db().admin().listDatabases({ nameOnly: true });
    return databases.map((db) => db.name);
  } finally {
    await client.close();
  }
}

describe('startMongo', () => {
  const handles: MongoHandle[] = [];

  afterAll(async () => {
    await Promise.all(handles.map((h) => h.stop()));
  });

  it('gives each call its own database, and stop() drops it', async () => {
    const a = await startMongo();
    const b = await startMongo();
    handles.push(a, b);
    expect(a.dbName).toMatch(/^t_[0-9a-f]{8}$/);
    expect(b.dbName).not.toBe(a.dbName);
    expect(a.external).toBe(Boolean(process.env.MONGO_URL));

    // Writes go through each handle's own URL, as a service under test would connect.
    for (const handle of [a, b]) {
      const client = new MongoClient(handle.url);
      try {
        expect(client.db().databaseName).toBe(handle.dbName);
        await client.db().collection('things').insertOne({ owner: handle.dbName });
      } finally {
        await client.close();
      }
    }
    expect(await databaseNames(b.url)).toEqual(expect.arrayContaining([a.dbName, b.dbName]));

    await a.stop();
    const after = await databaseNames(b.url);
    expect(after).not.toContain(a.dbName);
    expect(after).toContain(b.dbName);
    await a.stop();
  });

  it('uses the database name it is given', async () => {
    const name = `t_named_${Date.now().toString(16)}`;
    const handle = await startMongo({ dbName: name });
    handles.push(handle);
    expect(handle.dbName).toBe(name);
    expect(new URL(handle.url).pathname).toBe(`/${name}`);
  });

  it('fails clearly when the server does not answer', async () => {
    const err = await startMongo({
      url: 'mongodb://127.0.0.1:1/?directConnection=true',
      connectTimeoutMs: 300,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MongoStartError);
    expect(err).toMatchObject({ name: 'MongoStartError', code: 'MONGO_START_FAILED' });
  });
});

describe('mongoUrlWithDatabase', () => {
  it.each([
    ['mongodb://127.0.0.1:27017', 'mongodb://127.0.0.1:27017/t_1'],
    ['mongodb://127.0.0.1:27017/', 'mongodb://127.0.0.1:27017/t_1'],
    ['mongodb://127.0.0.1:27017/other', 'mongodb://127.0.0.1:27017/t_1'],
    ['mongodb://h1:1,h2:2/?replicaSet=rs0&w=majority', 'mongodb://h1:1,h2:2/t_1?replicaSet=rs0&w=majority'],
    ['mongodb://h1?directConnection=true', 'mongodb://h1/t_1?directConnection=true'],
    ['mongodb://u:p%40ss@h1/', 'mongodb://u:p%40ss@h1/t_1?authSource=admin'],
    ['mongodb://u:p@h1/app?tls=true', 'mongodb://u:p@h1/t_1?tls=true&authSource=app'],
    ['mongodb://u:p@h1/app?authSource=admin', 'mongodb://u:p@h1/t_1?authSource=admin'],
    [
      'mongodb+srv://u:p@cluster.example.net/?retryWrites=true',
      'mongodb+srv://u:p@cluster.example.net/t_1?retryWrites=true',
    ],
  ])('%s → %s', (base, expected) => {
    expect(mongoUrlWithDatabase(base, 't_1')).toBe(expected);
  });

  it('rejects what is not a Mongo URI, without echoing credentials', () => {
    expect(() => mongoUrlWithDatabase('postgres://u:secret@h/db', 't_1')).toThrow(MongoStartError);
    expect(() => mongoUrlWithDatabase('postgres://u:secret@h/db', 't_1')).toThrow(/^(?!.*secret)/);
  });
});
