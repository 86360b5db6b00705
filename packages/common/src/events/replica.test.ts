import { type MongoHandle, startMongo } from '@ticketing/testing';
import mongoose, { type Connection, type Model, Schema } from 'mongoose';
import { objectId } from '../test-support/fixtures';
import { OutOfOrderError } from './errors';
import { applyInOrder } from './replica';

interface TicketReplica {
  _id: string;
  title: string;
  price: number;
  version: number;
}

let mongo: MongoHandle;
let connection: Connection;
let Replica: Model<TicketReplica>;

beforeAll(async () => {
  mongo = await startMongo();
  connection = await mongoose.createConnection(mongo.url).asPromise();
  Replica = connection.model<TicketReplica>(
    'TicketReplica',
    new Schema<TicketReplica>({ _id: String, title: String, price: Number, version: Number }),
  );
});

afterAll(async () => {
  await connection?.close();
  await mongo?.stop();
});

it('applies versions in order and calls repeats duplicates', async () => {
  const id = objectId();
  expect(await applyInOrder(Replica, { id, version: 0, set: { title: 'a', price: 1 } })).toBe('applied');
  expect(await applyInOrder(Replica, { id, version: 0, set: { title: 'changed', price: 9 } })).toBe(
    'duplicate',
  );
  expect(await applyInOrder(Replica, { id, version: 1, set: { title: 'b', price: 2 } })).toBe('applied');
  expect(await applyInOrder(Replica, { id, version: 1, set: { title: 'again', price: 3 } })).toBe(
    'duplicate',
  );
  expect(await Replica.findById(id).lean()).toMatchObject({ title: 'b', price: 2, version: 1 });
});

it('holds back a version whose predecessor is missing, for a known and for an unknown aggregate', async () => {
  const id = objectId();
  await expect(applyInOrder(Replica, { id, version: 1, set: { title: 'b' } })).rejects.toEqual(
    expect.objectContaining({ name: 'OutOfOrderError', appliedVersion: undefined, incomingVersion: 1 }),
  );
  await applyInOrder(Replica, { id, version: 0, set: { title: 'a', price: 1 } });
  await expect(applyInOrder(Replica, { id, version: 3, set: { title: 'd' } })).rejects.toBeInstanceOf(
    OutOfOrderError,
  );
  expect(await Replica.findById(id).lean()).toMatchObject({ title: 'a', version: 0 });
});

it('converges to the same state whatever the delivery order, retrying what was early', async () => {
  const id = objectId();
  const events = [0, 1, 2, 3, 4].map((version) => ({
    id,
    version,
    set: { title: `v${version}`, price: version + 1 },
  }));
  const pending = [events[3]!, events[1]!, events[4]!, events[0]!, events[2]!, events[1]!];
  while (pending.length > 0) {
    const event = pending.shift()!;
    try {
      await applyInOrder(Replica, event);
    } catch (error) {
      if (!(error instanceof OutOfOrderError)) throw error;
      pending.push(event); // what the listener's delayed nak does
    }
  }
  expect(await Replica.findById(id).lean()).toMatchObject({ title: 'v4', price: 5, version: 4 });
});
