import { retryDelayMs } from '../domain/delivery';
import { checkAddress, checkUrlScheme, RefusedAddressError } from './address-guard';
import { signatureHeader, verifySignature } from './signature';

const strict = { allowHttp: false, allowPrivate: false };
const local = { allowHttp: true, allowPrivate: true };

it.each([
  '127.0.0.1',
  '10.0.0.1',
  '172.16.5.4',
  '192.168.1.1',
  '100.64.0.1',
  '0.0.0.0',
  '::1',
  'fd12::1',
  'fe80::1',
  '::ffff:10.0.0.1',
  '224.0.0.1',
])('refuses %s unless private addresses are allowed', (address) => {
  expect(() => checkAddress(address, strict)).toThrow(RefusedAddressError);
  expect(() => checkAddress(address, local)).not.toThrow();
});

it.each(['169.254.169.254', '169.254.1.1', 'fd00:ec2::254', '::ffff:169.254.169.254'])(
  'refuses the metadata address %s always',
  (address) => {
    expect(() => checkAddress(address, local)).toThrow(/metadata/);
  },
);

it('lets public addresses through', () => {
  for (const address of ['93.184.216.34', '2606:2800:220:1::1', '172.32.0.1']) {
    expect(() => checkAddress(address, strict)).not.toThrow();
  }
});

it('takes https only, http when allowed, and no credentials in the URL', () => {
  expect(() => checkUrlScheme('http://example.com/', strict)).toThrow('must be an https URL');
  expect(checkUrlScheme('http://example.com/', local).host).toBe('example.com');
  expect(() => checkUrlScheme('ftp://example.com/', local)).toThrow(RefusedAddressError);
  expect(() => checkUrlScheme('https://user:pw@example.com/', strict)).toThrow('must not carry credentials');
});

it('waits the schedule’s delay for each failed attempt, the last one repeating, within ±20 %', () => {
  const schedule = [5, 30, 120];
  expect(retryDelayMs(schedule, 1, () => 0.5)).toBe(5000);
  expect(retryDelayMs(schedule, 2, () => 0)).toBe(24_000);
  expect(retryDelayMs(schedule, 3, () => 1)).toBe(144_000);
  expect(retryDelayMs(schedule, 9, () => 0.5)).toBe(120_000);
});

it('signs "<t>.<body>" and verifies only that body, that secret, within the tolerance', () => {
  const header = signatureHeader('whsec_a', 1_700_000_000, '{"a":1}');
  expect(header).toMatch(/^t=1700000000,v1=[0-9a-f]{64}$/);
  expect(verifySignature('whsec_a', header, '{"a":1}', 300, 1_700_000_100)).toBe(true);
  expect(verifySignature('whsec_a', header, '{"a":2}', 300, 1_700_000_100)).toBe(false);
  expect(verifySignature('whsec_b', header, '{"a":1}', 300, 1_700_000_100)).toBe(false);
  expect(verifySignature('whsec_a', header, '{"a":1}', 300, 1_700_000_400)).toBe(false);
});
