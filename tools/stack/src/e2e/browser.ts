import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, type BrowserContext, chromium, type Locator, type Page } from 'playwright-core';
import { repoRoot } from '../paths';

/** Debian's Chromium (`apt-get install chromium`); Playwright downloads no browser here. */
export const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Where the tests put their screenshots (gitignored). */
export const screenshotDir = join(repoRoot, '.test-results', 'screenshots');

/**
 * Headless Chromium. Playwright gives it a fresh temporary profile (--user-data-dir) per launch; the network
 * flags keep it from calling home, which this machine's closed network would refuse.
 */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** A person at the shop: their own browser context (cookies), one page, and what went wrong in it. */
export interface Shopper {
  context: BrowserContext;
  page: Page;
  email: string;
  password: string;
  /** Uncaught page errors and console errors (a refused CSP directive shows up here). */
  problems: string[];
}

/** Opens a new browser context for one person (nobody signed in yet). */
export async function newShopper(browser: Browser, baseURL: string): Promise<Shopper> {
  const context = await browser.newContext({ baseURL, viewport: { width: 1100, height: 760 } });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    // 4xx answers the shop shows to the person (a wrong password, a declined card) are expected.
    if (message.type() === 'error' && !/status of 4\d\d/.test(message.text()))
      problems.push(`console: ${message.text()}`);
  });
  return {
    context,
    page,
    email: `shopper-${randomBytes(5).toString('hex')}@example.com`,
    password: 'correct horse battery',
    problems,
  };
}

/** Waits (bounded) until the locator is visible and returns it. */
export async function visible(locator: Locator, timeout = 20_000): Promise<Locator> {
  await locator.first().waitFor({ state: 'visible', timeout });
  return locator.first();
}

/** Waits (bounded) until the locator matches nothing visible. */
export async function gone(locator: Locator, timeout = 20_000): Promise<void> {
  await locator.first().waitFor({ state: 'hidden', timeout });
}

/** Signs up through the shop's form and waits until the header names the person. */
export async function signUp(shopper: Shopper): Promise<void> {
  const { page } = shopper;
  await page.goto('/signup');
  await page.getByLabel('Email').fill(shopper.email);
  await page.getByLabel('Password').fill(shopper.password);
  await page.getByRole('button', { name: 'Sign up' }).click();
  await visible(page.getByText(`Signed in as ${shopper.email}`));
}

/** Lists a ticket through the sell form; resolves with its id (from the page it lands on). */
export async function sellTicket(shopper: Shopper, title: string, price: string): Promise<string> {
  const { page } = shopper;
  await page.goto('/tickets/new');
  await page.getByLabel('Title').fill(title);
  await page.getByLabel('Price (USD)').fill(price);
  await page.getByRole('button', { name: 'List ticket' }).click();
  await page.waitForURL(/\/tickets\/[a-f0-9]{24}$/, { timeout: 20_000 });
  await visible(page.getByRole('heading', { name: title }));
  return page.url().split('/').pop()!;
}

/** The `session` cookie of a shopper, for an API call made outside the page (another tab, another device). */
export async function sessionCookieOf(shopper: Shopper): Promise<string> {
  const session = (await shopper.context.cookies()).find((cookie) => cookie.name === 'session');
  if (!session) throw new Error(`${shopper.email} has no session cookie`);
  return `session=${session.value}`;
}

const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

/** One accessibility problem axe-core found. */
export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  targets: string[];
}

/**
 * The serious and critical axe-core violations of the page as it is now. axe is evaluated through the
 * DevTools protocol, so the shop's CSP (script-src 'self') stays as strict as in production.
 */
export async function seriousAxeViolations(page: Page): Promise<AxeViolation[]> {
  await page.evaluate(axeSource);
  const violations = (await page.evaluate(
    `axe.run(document, { resultTypes: ['violations'] }).then((r) => r.violations.map((v) => ({
      id: v.id, impact: v.impact, help: v.help, targets: v.nodes.map((n) => n.target.join(' ')) })))`,
  )) as AxeViolation[];
  return violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

/** Saves a full-page screenshot under {@link screenshotDir}; returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(screenshotDir, { recursive: true });
  const path = join(screenshotDir, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/**
 * Presses Tab (at most `limit` times) until the focused element has this accessible text, as a keyboard user
 * moves through a page; throws naming what had focus if it never gets there.
 */
export async function tabTo(page: Page, text: string | RegExp, limit = 40): Promise<void> {
  const matches = (value: string) => (typeof text === 'string' ? value.trim() === text : text.test(value));
  const seen: string[] = [];
  for (let i = 0; i < limit; i++) {
    await page.keyboard.press('Tab');
    const focused = (await page.evaluate(
      `(() => { const e = document.activeElement; if (!e) return '';
        const label = e.labels && e.labels[0] ? e.labels[0].textContent : '';
        return (e.getAttribute('aria-label') || label || e.textContent || e.value || '').trim(); })()`,
    )) as string;
    seen.push(focused);
    if (matches(focused)) return;
  }
  throw new Error(`Tab never reached ${String(text)}; focus went through: ${seen.join(' | ')}`);
}
