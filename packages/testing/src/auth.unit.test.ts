import jwt from 'jsonwebtoken';
import { signTestUser } from './auth';

describe('signTestUser', () => {
  it('signs { id, email } with the key, as cookie and bearer too', () => {
    const signed = signTestUser({ email: 'ann@test.dev' }, { jwtKey: 'k1' });
    expect(signed.user.email).toBe('ann@test.dev');
    expect(signed.user.id).toMatch(/^[0-9a-f]{24}$/);

    const payload = jwt.verify(signed.token, 'k1', { algorithms: ['HS256'] }) as jwt.JwtPayload;
    expect(payload).toMatchObject({ id: signed.user.id, email: 'ann@test.dev' });
    expect(() => jwt.verify(signed.token, 'other-key')).toThrow(jwt.JsonWebTokenError);

    expect(signed.bearer).toBe(`Bearer ${signed.token}`);
    const [name, value] = signed.cookie.split('=', 2) as [string, string];
    expect(name).toBe('session');
    expect(JSON.parse(Buffer.from(value, 'base64').toString('utf8'))).toEqual({ jwt: signed.token });
  });

  it('makes a different random user each call', () => {
    const a = signTestUser();
    const b = signTestUser();
    expect(a.user.id).not.toBe(b.user.id);
    expect(a.user.email).not.toBe(b.user.email);
    expect(a.user.email).toMatch(/^user-[0-9a-f]+@test\.dev$/);
  });

  it('defaults the key to JWT_KEY, then to test-jwt-key', () => {
    const saved = process.env.JWT_KEY;
    try {
      process.env.JWT_KEY = 'from-env';
      expect(() => jwt.verify(signTestUser().token, 'from-env')).not.toThrow();
      delete process.env.JWT_KEY;
      expect(() => jwt.verify(signTestUser().token, 'test-jwt-key')).not.toThrow();
    } finally {
      if (saved === undefined) delete process.env.JWT_KEY;
      else process.env.JWT_KEY = saved;
    }
  });

  it('sets the expiry asked for', () => {
    const { token } = signTestUser({ id: 'a'.repeat(24) }, { expiresIn: 90 });
    const payload = jwt.decode(token) as jwt.JwtPayload;
    expect(payload.id).toBe('a'.repeat(24));
    expect(payload.exp! - payload.iat!).toBe(90);
    const expired = signTestUser({}, { expiresIn: -10 });
    expect(() => jwt.verify(expired.token, 'test-jwt-key')).toThrow(jwt.TokenExpiredError);
  });
});
