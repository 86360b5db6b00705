import { z } from 'zod';

/** Highest price in major units, in requests and events. */
export const MAX_PRICE = 1_000_000_000;

// Digits, then at most two decimals: no exponent, sign, hex, or spaces inside ("1e3", "-5", "0x10", "1 000").
const DECIMAL_STRING = /^(\d+)(?:\.(\d{1,2}))?$/;

/** The reason a price input is refused, in the words of the 400 answer. */
type PriceProblem = string;

/**
 * Integer cents from a price in major units, given as a JSON number (12.5) or a numeric string ("12.50").
 * Strings are converted digit by digit, so "0.29" is exactly 29 cents, never 28.999... .
 */
export function priceToCents(value: unknown): number | PriceProblem {
  if (value === undefined || value === null) return 'is required';
  let cents: number;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return 'must be a finite number';
    const scaled = value * 100;
    // Binary floats cannot hold 12.34 exactly: allow the representation error, reject a real third decimal.
    if (Math.abs(scaled - Math.round(scaled)) > 1e-6) return 'must have at most 2 decimals';
    cents = Math.round(scaled);
  } else if (typeof value === 'string') {
    const match = DECIMAL_STRING.exec(value.trim());
    if (!match) return 'must be a number with at most 2 decimals, e.g. 12.50';
    const whole = match[1]!;
    // Leading zeros aside, anything this long is over the maximum; it also keeps Number() exact below.
    if (whole.length > 15) return `must be at most ${MAX_PRICE}`;
    cents = Number(whole) * 100 + Number((match[2] ?? '').padEnd(2, '0'));
  } else {
    return 'must be a number or a numeric string';
  }
  if (cents <= 0) return 'must be greater than 0';
  if (cents > MAX_PRICE * 100) return `must be at most ${MAX_PRICE}`;
  return cents;
}

/** A price in major units (what the API and the events carry) from integer cents (what is stored). */
export function centsToPrice(cents: number): number {
  return cents / 100;
}

/** Integer cents of a price the catalog accepted: it has at most two decimals, so rounding only removes float noise. */
export function priceInCents(price: number): number {
  return Math.round(price * 100);
}

/** A price in major units as events carry it: positive, at most two decimals, at most {@link MAX_PRICE}. */
export const priceSchema = z
  .number()
  .positive()
  .max(MAX_PRICE)
  .refine((value) => Math.abs(value * 100 - Math.round(value * 100)) < 1e-6, {
    message: 'must have at most 2 decimals',
  });

/**
 * Request field schema: a price in major units (number or numeric string) parsed to integer cents. The JSON
 * Schema of the document says what `priceToCents` accepts; the checks themselves are priceToCents's, so that
 * each refusal keeps its own message.
 */
export const priceInputSchema = z
  .union(
    [
      z.number().meta({ exclusiveMinimum: 0, maximum: MAX_PRICE, description: 'At most 2 decimals' }),
      z.string().meta({
        pattern: '^\\s*\\d+(\\.\\d{1,2})?\\s*$',
        description: 'Digits with at most 2 decimals, e.g. "12.50"; > 0 and at most 1000000000',
      }),
    ],
    {
      // zod's number refuses NaN and ±Infinity before priceToCents sees them (JSON cannot carry them anyway).
      error: (issue) =>
        issue.input === undefined || issue.input === null
          ? 'is required'
          : typeof issue.input === 'number'
            ? 'must be a finite number'
            : 'must be a number or a numeric string',
    },
  )
  .transform((value, ctx) => {
    const cents = priceToCents(value);
    if (typeof cents === 'string') {
      ctx.addIssue({ code: 'custom', message: cents });
      return z.NEVER;
    }
    return cents;
  })
  .meta({ description: 'Price in major units: a number or a numeric string; stored as integer cents' });
