import { objectId } from '@ticketing/testing';
import { EventSchemaError } from './errors';
import { parseEventData, schemaVersionOf } from './validate';

const v1 = () => ({ id: objectId(), version: 0, title: 'Concert', price: 20, userId: objectId() });

describe('ticket.created, schema version 2', () => {
  it('upcasts a v1 payload: the price was in US dollars', () => {
    const payload = v1();
    expect(parseEventData('ticket.created', payload, 1)).toEqual({ ...payload, currency: 'usd' });
  });

  it('reads a v2 payload as it is, and a v2 payload without currency with the default', () => {
    const payload = v1();
    expect(parseEventData('ticket.created', { ...payload, currency: 'usd' }, 2)).toEqual({
      ...payload,
      currency: 'usd',
    });
    expect(parseEventData('ticket.created', payload)).toEqual({ ...payload, currency: 'usd' });
  });

  it('refuses a currency it does not know, naming the field', () => {
    expect(() => parseEventData('ticket.created', { ...v1(), currency: 'eur' }, 2)).toThrow(/currency/);
  });

  it('refuses a version newer than the one this code reads, and a version 0', () => {
    expect(() => parseEventData('ticket.created', v1(), 3)).toThrow(EventSchemaError);
    expect(() => parseEventData('ticket.created', v1(), 3)).toThrow(/schema version 3/);
    expect(() => parseEventData('ticket.created', v1(), 0)).toThrow(/schema version 0/);
    expect(() => parseEventData('ticket.created', v1(), Number.NaN)).toThrow(EventSchemaError);
  });

  it('still checks an upcast payload against the current schema', () => {
    expect(() => parseEventData('ticket.created', { ...v1(), price: -1 }, 1)).toThrow(/price/);
    expect(() => parseEventData('ticket.created', 'not an object', 1)).toThrow(EventSchemaError);
  });
});

describe('schemaVersionOf', () => {
  it('reads a header, takes a missing one for version 1, and a malformed one for no version', () => {
    expect(schemaVersionOf('2')).toBe(2);
    expect(schemaVersionOf(undefined)).toBe(1);
    expect(schemaVersionOf('')).toBe(1);
    expect(schemaVersionOf('2a')).toBeNaN();
  });
});
