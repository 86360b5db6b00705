import { jsonSchema } from '@ticketing/common';
import { centsToPrice, priceInputSchema, priceToCents } from './price';

describe('priceToCents', () => {
  it.each([
    [12.5, 1250],
    ['12.50', 1250],
    ['12.5', 1250],
    ['0.01', 1],
    [0.29, 29],
    ['0.29', 29],
    [0.1 + 0.2, 30],
    [19.99, 1999],
    ['  7 ', 700],
    [1_000_000_000, 100_000_000_000],
    ['1000000000.00', 100_000_000_000],
    ['007.10', 710],
  ])('%j → %d cents', (input, cents) => {
    expect(priceToCents(input)).toBe(cents);
  });

  it.each([
    [undefined, 'is required'],
    [null, 'is required'],
    [0, 'must be greater than 0'],
    ['0.00', 'must be greater than 0'],
    [-1, 'must be greater than 0'],
    [12.345, 'must have at most 2 decimals'],
    ['12.345', 'must be a number with at most 2 decimals, e.g. 12.50'],
    ['1e3', 'must be a number with at most 2 decimals, e.g. 12.50'],
    ['-5', 'must be a number with at most 2 decimals, e.g. 12.50'],
    ['12.', 'must be a number with at most 2 decimals, e.g. 12.50'],
    ['', 'must be a number with at most 2 decimals, e.g. 12.50'],
    ['0x10', 'must be a number with at most 2 decimals, e.g. 12.50'],
    ['1 000', 'must be a number with at most 2 decimals, e.g. 12.50'],
    [1_000_000_000.01, 'must be at most 1000000000'],
    ['1000000000.01', 'must be at most 1000000000'],
    ['9'.repeat(400), 'must be at most 1000000000'],
    [Number.POSITIVE_INFINITY, 'must be a finite number'],
    [Number.NaN, 'must be a finite number'],
    [true, 'must be a number or a numeric string'],
    [{ $gt: 0 }, 'must be a number or a numeric string'],
    [[12], 'must be a number or a numeric string'],
  ])('%j is refused: %s', (input, problem) => {
    expect(priceToCents(input)).toBe(problem);
  });

  it('round-trips every cent amount of a range exactly through major units', () => {
    for (let cents = 1; cents <= 100_000; cents += 7) {
      const price = centsToPrice(cents);
      expect(priceToCents(price)).toBe(cents);
      expect(priceToCents(price.toFixed(2))).toBe(cents);
    }
  });

  it('reports problems as zod issues of the field', () => {
    const result = priceInputSchema.safeParse('abc');
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.message).toMatch(/at most 2 decimals/);
    expect(priceInputSchema.parse('3.10')).toBe(310);
    for (const [input, problem] of [
      [undefined, 'is required'],
      [null, 'is required'],
      [true, 'must be a number or a numeric string'],
      [{ $gt: 0 }, 'must be a number or a numeric string'],
      [Number.NaN, 'must be a finite number'],
      [-1, 'must be greater than 0'],
    ] as const) {
      expect(priceInputSchema.safeParse(input).error?.issues.map((issue) => issue.message)).toEqual([
        problem,
      ]);
    }
  });

  it('documents what it accepts: a positive number or a decimal string', () => {
    expect(jsonSchema(priceInputSchema, 'input')).toMatchObject({
      anyOf: [
        { type: 'number', exclusiveMinimum: 0, maximum: 1_000_000_000 },
        { type: 'string', pattern: '^\\s*\\d+(\\.\\d{1,2})?\\s*$' },
      ],
    });
    const pattern = new RegExp(
      (jsonSchema(priceInputSchema, 'input').anyOf as Array<{ pattern?: string }>)[1]!.pattern!,
    );
    for (const accepted of ['12.50', ' 7 ', '0.29']) expect(pattern.test(accepted)).toBe(true);
    for (const refused of ['1e3', '-5', '12.', '12.345', '0x10']) expect(pattern.test(refused)).toBe(false);
  });
});
