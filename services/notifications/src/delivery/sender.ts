import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { type AddressPolicy, checkAddress, checkUrlScheme, hostOf } from './address-guard';
import { EVENT_ID_HEADER, SIGNATURE_HEADER, signatureHeader } from './signature';

/** Bytes of a response body kept for the deliveries list; the rest is read and dropped. */
export const RESPONSE_BODY_LIMIT = 1024;

/** What one attempt got: a status code and the start of the body, or the error that stopped it. */
export interface AttemptResult {
  ok: boolean;
  statusCode?: number;
  /** At most {@link RESPONSE_BODY_LIMIT} bytes of the response body, as text. */
  responseBody?: string;
  error?: string;
  durationMs: number;
}

/** One webhook POST. */
export interface Post {
  url: string;
  secret: string;
  eventId: string;
  body: string;
}

/** Resolves like `dns.lookup`, refusing every address `policy` forbids: the check runs on what is connected to. */
function guardedLookup(policy: AddressPolicy): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, options, (error, address: string | LookupAddress[], family?: number) => {
      if (error) return callback(error, address as string, family);
      try {
        const all = Array.isArray(address) ? address : [{ address, family: family ?? 4 }];
        for (const entry of all) checkAddress(entry.address, policy);
      } catch (refused) {
        return callback(refused as NodeJS.ErrnoException, '', 4);
      }
      (callback as (...args: unknown[]) => void)(null, address, family);
    });
  };
}

/** Sends one signed POST; never throws: every failure is a result with its error. */
export function send(post: Post, policy: AddressPolicy, timeoutMs: number): Promise<AttemptResult> {
  const started = performance.now();
  const done = (result: Omit<AttemptResult, 'durationMs'>): AttemptResult => ({
    ...result,
    durationMs: Math.round(performance.now() - started),
  });
  return new Promise((resolve) => {
    let url: URL;
    try {
      url = checkUrlScheme(post.url, policy);
      // `lookup` is not called for an IP literal: check it here.
      if (isIP(hostOf(url))) checkAddress(hostOf(url), policy);
    } catch (error) {
      resolve(done({ ok: false, error: (error as Error).message }));
      return;
    }
    const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const timestamp = Math.floor(Date.now() / 1000);
    const req = request(url, {
      method: 'POST',
      lookup: guardedLookup(policy),
      timeout: timeoutMs,
      headers: {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(post.body),
        'user-agent': 'ticketing-webhooks/1',
        [SIGNATURE_HEADER]: signatureHeader(post.secret, timestamp, post.body),
        [EVENT_ID_HEADER]: post.eventId,
      },
    });
    // The whole attempt, body included, within the timeout (the socket timeout only counts idle time).
    const deadline = setTimeout(() => req.destroy(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (error) => {
      clearTimeout(deadline);
      resolve(done({ ok: false, error: error.message }));
    });
    req.on('response', (res) => {
      const kept: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        if (size < RESPONSE_BODY_LIMIT) kept.push(chunk.subarray(0, RESPONSE_BODY_LIMIT - size));
        size += chunk.length;
      });
      res.on('error', () => {});
      // After 'end' this changes nothing (a promise resolves once); before it, the body was cut off.
      res.on('close', () => {
        clearTimeout(deadline);
        resolve(
          done({ ok: false, statusCode: res.statusCode, error: 'connection closed before the body ended' }),
        );
      });
      res.on('end', () => {
        clearTimeout(deadline);
        const statusCode = res.statusCode ?? 0;
        const ok = statusCode >= 200 && statusCode < 300;
        resolve(
          done({
            ok,
            statusCode,
            responseBody: Buffer.concat(kept).toString('utf8'),
            ...(ok ? {} : { error: `answered ${statusCode}` }),
          }),
        );
      });
    });
    req.end(post.body);
  });
}
