import { randomBytes, type ScryptOptions, scrypt, timingSafeEqual } from 'node:crypto';

/** scrypt work factors; stored with every hash so they can be raised later without breaking old hashes. */
interface ScryptParams {
  /** CPU/memory cost, a power of two. */
  N: number;
  r: number;
  p: number;
}

// OWASP's scrypt recommendation (N=2^15, r=8, p=1): ~32 MiB and tens of ms per hash.
const CURRENT_PARAMS: ScryptParams = { N: 2 ** 15, r: 8, p: 1 };
const KEY_LENGTH = 64;
const SALT_LENGTH = 16;
const PREFIX = 'scrypt';
// Node refuses parameters needing more than maxmem (default 32 MiB); 128*N*r is the need, leave headroom.
const MAX_MEMORY = 256 * 1024 * 1024;

/** A stored password hash could not be read (corrupted record or unknown scheme). */
export class PasswordHashFormatError extends Error {
  override readonly name = 'PasswordHashFormatError';
  readonly code = 'PASSWORD_HASH_FORMAT';
}

function derive(password: string, salt: Buffer, params: ScryptParams, keyLength: number): Promise<Buffer> {
  const options: ScryptOptions = { N: params.N, r: params.r, p: params.p, maxmem: MAX_MEMORY };
  // The async form runs on libuv's thread pool, so hashing never blocks the event loop.
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFKC'), salt, keyLength, options, (error, key) =>
      error ? reject(error) : resolve(key),
    );
  });
}

/** Hashes a password with scrypt and a fresh random salt: `scrypt$N$r$p$salt$hash` (base64 parts). */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(SALT_LENGTH);
  const key = await derive(password, salt, CURRENT_PARAMS, KEY_LENGTH);
  const { N, r, p } = CURRENT_PARAMS;
  return [PREFIX, N, r, p, salt.toString('base64'), key.toString('base64')].join('$');
}

function parseHash(stored: string): { params: ScryptParams; salt: Buffer; key: Buffer } {
  const parts = stored.split('$');
  const [prefix, N, r, p, salt, key] = parts;
  const params = { N: Number(N), r: Number(r), p: Number(p) };
  const valid =
    parts.length === 6 &&
    prefix === PREFIX &&
    Object.values(params).every((value) => Number.isInteger(value) && value > 0) &&
    salt !== undefined &&
    key !== undefined &&
    salt.length > 0 &&
    key.length > 0;
  if (!valid) throw new PasswordHashFormatError('stored password hash is not a scrypt hash');
  return { params, salt: Buffer.from(salt!, 'base64'), key: Buffer.from(key!, 'base64') };
}

/** True when `password` matches `stored`; the comparison takes the same time wherever the bytes differ. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const { params, salt, key } = parseHash(stored);
  const candidate = await derive(password, salt, params, key.length);
  return timingSafeEqual(candidate, key);
}

let dummyHash: Promise<string> | undefined;

/** Computes the dummy hash ahead of the first unknown-email sign-in, so that one is not slower than the rest. */
export async function primeDummyHash(): Promise<void> {
  dummyHash ??= hashPassword(randomBytes(16).toString('hex'));
  await dummyHash;
}

/**
 * Spends the same work as checking a real password, and fails. Sign-in calls it for an unknown email so that
 * the response time does not tell unknown emails from wrong passwords.
 */
export async function verifyAgainstDummy(password: string): Promise<false> {
  await primeDummyHash();
  await verifyPassword(password, await dummyHash!);
  return false;
}
