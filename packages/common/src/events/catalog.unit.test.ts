import { z } from 'zod';
import { eventCatalog, streamNames, streamSubjects, subjects } from './catalog';

/** Every property name of a JSON schema, at any depth. */
function propertyNames(schema: unknown): string[] {
  if (typeof schema !== 'object' || schema === null) return [];
  const names: string[] = [];
  for (const [key, value] of Object.entries(schema)) {
    if (key === 'properties' && typeof value === 'object' && value !== null)
      names.push(...Object.keys(value));
    names.push(...propertyNames(value));
  }
  return names;
}

describe('the event catalog', () => {
  it('carries no personal data: no event has an email, a name, a phone, an address or a password', () => {
    for (const subject of subjects) {
      const fields = propertyNames(z.toJSONSchema(eventCatalog[subject].schema, { io: 'input' }));
      expect(fields.length).toBeGreaterThan(0);
      for (const field of fields)
        expect([subject, field]).not.toEqual([
          subject,
          expect.stringMatching(/e-?mail|name|phone|address|password/i),
        ]);
    }
  });

  it('refuses an email smuggled into a payload (schemas strip what they do not name)', () => {
    const parsed = eventCatalog['user.deleted'].schema.parse({
      id: 'a'.repeat(24),
      version: 0,
      email: 'someone@example.com',
    });
    expect(parsed).toEqual({ id: 'a'.repeat(24), version: 0 });
  });

  it('puts user.deleted, ids only, on the USERS stream', () => {
    expect(streamNames).toContain('USERS');
    expect(streamSubjects('USERS')).toEqual(['user.deleted']);
    expect(propertyNames(z.toJSONSchema(eventCatalog['user.deleted'].schema)).sort()).toEqual([
      'id',
      'version',
    ]);
  });
});
