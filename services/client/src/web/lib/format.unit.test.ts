import { formatPrice, formatRemaining } from './format';

it('formats prices in major units as dollars with cents', () => {
  expect(formatPrice(12.5)).toBe('$12.50');
  expect(formatPrice(1000)).toBe('$1,000.00');
  expect(formatPrice(0.01)).toBe('$0.01');
});

it('formats time left as m:ss, rounding up and never below zero', () => {
  expect(formatRemaining(900_000)).toBe('15:00');
  expect(formatRemaining(61_000)).toBe('1:01');
  expect(formatRemaining(400)).toBe('0:01');
  expect(formatRemaining(-5000)).toBe('0:00');
  expect(formatRemaining(3_661_000)).toBe('1:01:01');
});
