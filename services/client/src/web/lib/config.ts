/** What the server tells the page at load (the JSON in `#shop-config`). */
export interface ShopConfig {
  /** A Stripe publishable key: payments then use Stripe's own card element (Stripe.js loads only then). */
  stripePublishableKey: string | null;
  /** Test card tokens the local payments backend takes, offered instead of a card form. */
  testCards: string[];
}

/** The page's config; the defaults serve `vite` dev mode against a local stack. */
export function readConfig(): ShopConfig {
  const fallback: ShopConfig = { stripePublishableKey: null, testCards: ['tok_visa'] };
  try {
    const parsed = JSON.parse(
      document.getElementById('shop-config')?.textContent ?? '{}',
    ) as Partial<ShopConfig>;
    return {
      stripePublishableKey:
        typeof parsed.stripePublishableKey === 'string' ? parsed.stripePublishableKey : null,
      testCards:
        Array.isArray(parsed.testCards) && parsed.testCards.length > 0
          ? parsed.testCards
          : fallback.testCards,
    };
  } catch {
    return fallback;
  }
}
