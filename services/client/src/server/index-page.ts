import type { ClientConfig } from './config';

/** The `<script type="application/json" id="shop-config">` element of index.html (Vite keeps it as written). */
const configElement = /<script type="application\/json" id="shop-config">[\s\S]*?<\/script>/;

/** Thrown when the built index.html lacks what the server must fill in: the build and the server disagree. */
export class IndexPageError extends Error {
  override readonly name = 'IndexPageError';
  readonly code = 'INDEX_PAGE_INVALID';
}

/**
 * index.html with the configuration the page reads at start (payments mode) in place of the build's default.
 * `<` is escaped so no value can close the script element.
 */
export function renderIndexPage(
  html: string,
  config: Pick<ClientConfig, 'STRIPE_PUBLISHABLE_KEY' | 'TEST_CARD_TOKENS'>,
): string {
  if (!configElement.test(html))
    throw new IndexPageError('index.html has no <script id="shop-config"> element');
  const json = JSON.stringify({
    stripePublishableKey: config.STRIPE_PUBLISHABLE_KEY ?? null,
    testCards: config.STRIPE_PUBLISHABLE_KEY ? [] : config.TEST_CARD_TOKENS,
  }).replace(/</g, '\\u003c');
  return html.replace(
    configElement,
    () => `<script type="application/json" id="shop-config">${json}</script>`,
  );
}

/**
 * The Content-Security-Policy of the shop: everything from this origin; Stripe's script and frames only when a
 * publishable key is set (Stripe.js must load from Stripe). The inline config is JSON, never run as script.
 */
export function contentSecurityPolicy(stripe: boolean): string {
  const stripeScript = stripe ? ' https://js.stripe.com' : '';
  return [
    "default-src 'self'",
    `script-src 'self'${stripeScript}`,
    `frame-src ${stripe ? 'https://js.stripe.com https://hooks.stripe.com' : "'none'"}`,
    `connect-src 'self'${stripe ? ' https://api.stripe.com' : ''}`,
    "img-src 'self' data:",
    "style-src 'self'",
    "font-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}
