import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';

/** Cloud metadata endpoints (169.254.169.254, fd00:ec2::254): refused even when private addresses are allowed. */
const metadata = new BlockList();
metadata.addSubnet('169.254.0.0', 16, 'ipv4');
metadata.addAddress('fd00:ec2::254', 'ipv6');

/** Loopback, private, shared, link-local, multicast and reserved ranges: nothing a public webhook lives at. */
const nonPublic = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  nonPublic.addSubnet(network, prefix, 'ipv4');
}
for (const [network, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const) {
  nonPublic.addSubnet(network, prefix, 'ipv6');
}

/** A URL or address a webhook may not use, with the reason a user is shown. */
export class RefusedAddressError extends Error {}

/** What may be reached: `allowHttp` lets plain http through, `allowPrivate` every range but metadata. */
export interface AddressPolicy {
  allowHttp: boolean;
  allowPrivate: boolean;
}

/** The IPv4 address inside an IPv4-mapped IPv6 one (`::ffff:10.0.0.1`), else the address itself. */
function unmapped(address: string): { address: string; family: 'ipv4' | 'ipv6' } {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return { address: mapped[1]!, family: 'ipv4' };
  return { address, family: isIP(address) === 6 ? 'ipv6' : 'ipv4' };
}

/** Throws {@link RefusedAddressError} unless `address` (an IP) may be connected to under `policy`. */
export function checkAddress(address: string, policy: AddressPolicy): void {
  const { address: ip, family } = unmapped(address);
  if (metadata.check(ip, family)) throw new RefusedAddressError(`${address} is a metadata address`);
  if (!policy.allowPrivate && nonPublic.check(ip, family)) {
    throw new RefusedAddressError(`${address} is a loopback, private or link-local address`);
  }
}

/** The URL if its scheme is allowed, else {@link RefusedAddressError}. */
export function checkUrlScheme(raw: string, policy: AddressPolicy): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new RefusedAddressError('must be an absolute URL');
  }
  const allowed = policy.allowHttp ? ['https:', 'http:'] : ['https:'];
  if (!allowed.includes(url.protocol)) {
    throw new RefusedAddressError(policy.allowHttp ? 'must be an http or https URL' : 'must be an https URL');
  }
  if (url.username || url.password) throw new RefusedAddressError('must not carry credentials');
  return url;
}

/** The host of a URL as DNS and `net` want it (IPv6 literals without brackets). */
export function hostOf(url: URL): string {
  return url.hostname.replace(/^\[(.*)\]$/, '$1');
}

/**
 * Checks a URL as registration does: its scheme, then every address its host resolves to (an address that
 * does not resolve is refused too). Delivery checks again, on the address it connects to.
 */
export async function checkUrl(raw: string, policy: AddressPolicy): Promise<URL> {
  const url = checkUrlScheme(raw, policy);
  const host = hostOf(url);
  if (isIP(host)) {
    checkAddress(host, policy);
    return url;
  }
  let addresses: Array<{ address: string }>;
  try {
    addresses = await lookup(host, { all: true });
  } catch {
    throw new RefusedAddressError(`${host} does not resolve`);
  }
  for (const { address } of addresses) checkAddress(address, policy);
  return url;
}
