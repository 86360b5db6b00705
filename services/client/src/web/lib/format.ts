const money = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD' });

/** A price in major units (what the API sends) as money: 12.5 → "$12.50". */
export function formatPrice(price: number): string {
  return money.format(price);
}

/** Time left as m:ss (or h:mm:ss), never negative: 61_000 → "1:01". */
export function formatRemaining(ms: number): string {
  const total = Math.max(0, Math.ceil(ms / 1000));
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = String(total % 60).padStart(2, '0');
  return hours > 0 ? `${hours}:${String(minutes).padStart(2, '0')}:${seconds}` : `${minutes}:${seconds}`;
}
