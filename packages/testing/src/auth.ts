import { randomBytes } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { objectId } from './ids';

/** The signed-in user a test acts as. */
export interface TestUser {
  /** User id (24 hex characters, like a Mongo ObjectId). */
  id: string;
  /** User email. */
  email: string;
}

/** What {@link signTestUser} returns: the user and every form the services accept its JWT in. */
export interface SignedTestUser {
  /** The user inside the token. */
  user: TestUser;
  /** The JWT carrying `{ id, email }`. */
  token: string;
  /** Full `Cookie` header value: `session=<base64 JSON {jwt}>`, cookie-session's unsigned format. */
  cookie: string;
  /** Full `Authorization` header value: `Bearer <jwt>`. */
  bearer: string;
}

/** Options of {@link signTestUser}. */
export interface SignTestUserOptions {
  /** HS256 key; default `JWT_KEY` or `test-jwt-key`. */
  jwtKey?: string;
  /** Token lifetime, seconds or a `ms` string like `'15m'`; default `'1h'`. */
  expiresIn?: string | number;
}

/** Signs a JWT for a (by default random) user, the way the auth service does, for tests of other services. */
export function signTestUser(
  user: Partial<TestUser> = {},
  options: SignTestUserOptions = {},
): SignedTestUser {
  const id = user.id ?? objectId();
  const email = user.email ?? `user-${randomBytes(4).toString('hex')}@test.dev`;
  const key = options.jwtKey ?? process.env.JWT_KEY ?? 'test-jwt-key';
  const token = jwt.sign({ id, email }, key, {
    algorithm: 'HS256',
    expiresIn: (options.expiresIn ?? '1h') as jwt.SignOptions['expiresIn'],
  });
  const session = Buffer.from(JSON.stringify({ jwt: token })).toString('base64');
  return { user: { id, email }, token, cookie: `session=${session}`, bearer: `Bearer ${token}` };
}
