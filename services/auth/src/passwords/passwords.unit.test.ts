import { hashPassword, PasswordHashFormatError, verifyAgainstDummy, verifyPassword } from './passwords';

describe('passwords', () => {
  it('verifies the right password and rejects others, including a one-character change', async () => {
    const stored = await hashPassword('correct horse battery');
    expect(await verifyPassword('correct horse battery', stored)).toBe(true);
    expect(await verifyPassword('correct horse batterY', stored)).toBe(false);
    expect(await verifyPassword('', stored)).toBe(false);
  });

  it('salts each hash: one password hashed twice gives two different hashes, both valid', async () => {
    const [a, b] = await Promise.all([hashPassword('same password'), hashPassword('same password')]);
    expect(a).not.toBe(b);
    expect(a.split('$')[4]).not.toBe(b.split('$')[4]);
    expect(await verifyPassword('same password', a)).toBe(true);
    expect(await verifyPassword('same password', b)).toBe(true);
  });

  it('reads the work factors from the stored hash, so older parameters keep verifying', async () => {
    const current = await hashPassword('pw-12345678');
    const [, , , , salt] = current.split('$');
    // A hash made with lighter parameters than today's: verification must use N=1024 from the record.
    const { scryptSync } = await import('node:crypto');
    const key = scryptSync('pw-12345678', Buffer.from(salt!, 'base64'), 32, { N: 1024, r: 8, p: 1 });
    const old = ['scrypt', 1024, 8, 1, salt, key.toString('base64')].join('$');
    expect(await verifyPassword('pw-12345678', old)).toBe(true);
    expect(await verifyPassword('pw-87654321', old)).toBe(false);
  });

  it('refuses a stored value that is not a scrypt hash instead of comparing against it', async () => {
    for (const bad of ['plain-text', 'bcrypt$1$2$3$4$5', 'scrypt$x$8$1$c2FsdA==$a2V5', 'scrypt$1024$8$1$$']) {
      await expect(verifyPassword('anything', bad)).rejects.toBeInstanceOf(PasswordHashFormatError);
    }
  });

  it('checks unknown users against a dummy hash: always false, same work as a real check', async () => {
    expect(await verifyAgainstDummy('whatever')).toBe(false);
    const stored = await hashPassword('x');
    const time = async (fn: () => Promise<unknown>) => {
      const start = process.hrtime.bigint();
      await fn();
      return Number(process.hrtime.bigint() - start) / 1e6;
    };
    const real: number[] = [];
    const dummy: number[] = [];
    for (let i = 0; i < 5; i++) {
      real.push(await time(() => verifyPassword('y', stored)));
      dummy.push(await time(() => verifyAgainstDummy('y')));
    }
    // Medians, so one burst of load on the machine cannot decide it.
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[2]!;
    expect(median(dummy)).toBeGreaterThan(median(real) * 0.3);
  });
});
