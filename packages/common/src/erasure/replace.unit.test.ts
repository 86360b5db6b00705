import { Types } from 'mongoose';
import { replacedEverywhere } from './replace';

describe('replacedEverywhere', () => {
  it('replaces the id as a value and as a key at any depth, keeping dates and ObjectIds as they are', () => {
    const at = new Date('2026-12-01T00:00:00Z');
    const oid = new Types.ObjectId();
    const doc = {
      _id: 'o1:0',
      state: { userId: 'u1', cooldowns: { u1: 5, u2: 6 }, list: ['u1', 'x'], at, oid, note: 'u1-not-whole' },
    };
    expect(replacedEverywhere(doc, 'u1', 'p1')).toEqual({
      _id: 'o1:0',
      state: { userId: 'p1', cooldowns: { p1: 5, u2: 6 }, list: ['p1', 'x'], at, oid, note: 'u1-not-whole' },
    });
    expect(replacedEverywhere(doc, 'u1', 'p1')!.state.at).toBe(at);
  });

  it('answers null when the id is nowhere', () => {
    expect(replacedEverywhere({ a: 'b', c: ['d'] }, 'u1', 'p1')).toBeNull();
  });
});
