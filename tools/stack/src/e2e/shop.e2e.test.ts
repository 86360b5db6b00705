// biome-ignore-all lint/performance/useDomNodeTextContent: Playwright's innerText is the rendered text, what a person sees, which is what these tests assert
import { eventually } from '@ticketing/testing';
import type { Browser } from 'playwright-core';
import {
  gone,
  launchChromium,
  newShopper,
  type Shopper,
  screenshot,
  sellTicket,
  seriousAxeViolations,
  sessionCookieOf,
  signUp,
  tabTo,
  visible,
} from './browser';
import { startTestStack, type TestStack } from './support';

// The shop in a real Chromium against a whole started stack (NATS, Mongo, six services, the shop, the gateway).
// Payments charge through the test kit's Stripe sandbox: it declines tok_chargeDeclined, so the declined-card
// journey is real too.
// Reservations last 40 s: long enough to pay on a loaded machine, short enough to watch one expire.
const RESERVATION_SECONDS = 40;

let test: TestStack;
let browser: Browser;
const shoppers: Shopper[] = [];

beforeAll(async () => {
  [test, browser] = await Promise.all([
    startTestStack({ ORDER_EXPIRATION_SECONDS: String(RESERVATION_SECONDS) }, { sandboxPayments: true }),
    launchChromium(),
  ]);
}, 180_000);

afterEach(() => {
  // Whatever a test did, the pages it drove must not have thrown or broken the CSP.
  const problems = shoppers.flatMap((s) => s.problems.splice(0).map((p) => `${s.email}: ${p}`));
  expect(problems).toEqual([]);
});

afterAll(async () => {
  await browser?.close();
  await test?.stop();
});

async function shopper(): Promise<Shopper> {
  const created = await newShopper(browser, test.stack.url);
  shoppers.push(created);
  return created;
}

async function signedUpShopper(): Promise<Shopper> {
  const created = await shopper();
  await signUp(created);
  return created;
}

async function expectAccessible(s: Shopper): Promise<void> {
  expect(await seriousAxeViolations(s.page)).toEqual([]);
}

/** The text of a field's error, as the page ties it to the input (aria-describedby). */
async function fieldError(s: Shopper, label: string): Promise<string> {
  const input = s.page.getByLabel(label);
  await visible(s.page.locator(`#${await input.getAttribute('id')}-error`));
  expect(await input.getAttribute('aria-invalid')).toBe('true');
  expect(await input.getAttribute('aria-describedby')).toContain('-error');
  return s.page.locator(`#${await input.getAttribute('id')}-error`).innerText();
}

/** Buys a ticket from its page; resolves with the order id once the order page shows the countdown. */
async function buy(s: Shopper, ticketId: string): Promise<string> {
  await s.page.goto(`/tickets/${ticketId}`);
  await (await visible(s.page.getByRole('button', { name: /^Buy for \$/ }))).click();
  await s.page.waitForURL(/\/orders\/[a-f0-9]{24}$/, { timeout: 30_000 });
  await visible(s.page.getByRole('timer'));
  return s.page.url().split('/').pop()!;
}

/** Waits until the page's update stream is connected (the shop marks <html data-live="open">). */
async function liveStreamOpen(s: Shopper): Promise<void> {
  await s.page.locator('html[data-live="open"]').waitFor({ state: 'attached', timeout: 20_000 });
}

/** Marks the page so a test can tell it was updated in place, not reloaded. */
async function markPage(s: Shopper): Promise<void> {
  await s.page.evaluate('window.__notReloaded = true');
}

async function notReloaded(s: Shopper): Promise<boolean> {
  return (await s.page.evaluate('window.__notReloaded === true')) as boolean;
}

describe('accounts', () => {
  it('signs up (errors beside the fields they name), signs out and in; the header says who is signed in', async () => {
    const ada = await shopper();
    await ada.page.goto('/');
    await visible(ada.page.getByRole('link', { name: 'Sign up' }));
    await ada.page.getByRole('link', { name: 'Sign up' }).click();
    await visible(ada.page.getByRole('heading', { name: 'Create your account' }));
    await ada.page.getByLabel('Email').fill('not-an-email');
    await ada.page.getByLabel('Password').fill('short');
    await ada.page.getByRole('button', { name: 'Sign up' }).click();
    expect(await fieldError(ada, 'Email')).toMatch(/email/i);
    expect(await fieldError(ada, 'Password')).toMatch(/8/);
    await expectAccessible(ada);
    await screenshot(ada.page, 'signup-errors');

    await ada.page.getByLabel('Email').fill(ada.email);
    await ada.page.getByLabel('Password').fill(ada.password);
    await ada.page.getByRole('button', { name: 'Sign up' }).click();
    await visible(ada.page.getByText(`Signed in as ${ada.email}`));
    await visible(ada.page.getByRole('heading', { name: 'Tickets on sale' }));

    await ada.page.getByRole('button', { name: 'Sign out' }).click();
    await visible(ada.page.getByRole('link', { name: 'Sign in' }));
    expect(await ada.page.getByText(`Signed in as`).count()).toBe(0);

    await ada.page.getByRole('link', { name: 'Sign in' }).click();
    await visible(ada.page.getByRole('heading', { name: 'Sign in' }));
    await ada.page.getByLabel('Email').fill(ada.email);
    await ada.page.getByLabel('Password').fill('wrong password here');
    await ada.page.getByRole('button', { name: 'Sign in' }).click();
    await visible(ada.page.getByRole('alert'));
    expect(await ada.page.getByText('Signed in as').count()).toBe(0);
    await expectAccessible(ada);

    await ada.page.getByLabel('Password').fill(ada.password);
    await ada.page.getByRole('button', { name: 'Sign in' }).click();
    await visible(ada.page.getByText(`Signed in as ${ada.email}`));
    // A reload keeps the session: it is the cookie, not page state.
    await ada.page.reload();
    await visible(ada.page.getByText(`Signed in as ${ada.email}`));
  }, 120_000);

  it('names the email that is taken', async () => {
    const first = await signedUpShopper();
    const second = await shopper();
    await second.page.goto('/signup');
    await second.page.getByLabel('Email').fill(first.email);
    await second.page.getByLabel('Password').fill(second.password);
    await second.page.getByRole('button', { name: 'Sign up' }).click();
    expect(await fieldError(second, 'Email')).toMatch(/in use|taken|exists/i);
  }, 60_000);
});

describe('selling', () => {
  it('lists a ticket (price as money), shows it on sale, edits it, and says why a reserved ticket cannot change', async () => {
    const seller = await signedUpShopper();
    await seller.page.goto('/tickets/new');
    await visible(seller.page.getByRole('heading', { name: 'Sell a ticket' }));
    await seller.page.getByLabel('Title').fill('   ');
    await seller.page.getByLabel('Price (USD)').fill('12.345');
    await seller.page.getByRole('button', { name: 'List ticket' }).click();
    expect(await fieldError(seller, 'Title')).not.toBe('');
    expect(await fieldError(seller, 'Price (USD)')).toMatch(/decimal/i);
    await expectAccessible(seller);

    const ticketId = await sellTicket(seller, 'Jazz night, row 4', '25.5');
    await visible(seller.page.getByText('$25.50'));
    await visible(seller.page.getByText('This is your ticket.'));
    await expectAccessible(seller);

    await seller.page.goto('/');
    const card = seller.page.locator(`[data-ticket-id="${ticketId}"]`);
    await visible(card);
    expect(await card.innerText()).toMatch(/Jazz night, row 4\s+\$25\.50/);

    await seller.page.goto(`/tickets/${ticketId}/edit`);
    await visible(seller.page.getByRole('heading', { name: 'Edit ticket' }));
    expect(await seller.page.getByLabel('Price (USD)').inputValue()).toBe('25.50');
    await seller.page.getByLabel('Price (USD)').fill('30');
    await seller.page.getByRole('button', { name: 'Save changes' }).click();
    await seller.page.waitForURL(new RegExp(`/tickets/${ticketId}$`));
    await visible(seller.page.getByText('$30.00'));

    // The seller opens the form, a buyer reserves meanwhile, the seller saves: the API's 409 is explained.
    await seller.page.goto(`/tickets/${ticketId}/edit`);
    await visible(seller.page.getByRole('button', { name: 'Save changes' }));
    const buyer = await signedUpShopper();
    await buy(buyer, ticketId);
    await seller.page.getByLabel('Title').fill('Jazz night, front row');
    await seller.page.getByRole('button', { name: 'Save changes' }).click();
    const alert = await visible(seller.page.getByRole('alert'));
    expect(await alert.innerText()).toMatch(/reserved|changed since you opened it/i);
    // Opened while reserved, the form says so before anyone tries.
    await seller.page.reload();
    await visible(seller.page.getByText(/A buyer has reserved this ticket, so it cannot be changed now/));
    await expectAccessible(seller);
    await screenshot(seller.page, 'edit-reserved');
  }, 120_000);
});

describe('buying', () => {
  it('orders a ticket, counts the reservation down, is declined with one card and pays with another', async () => {
    const seller = await signedUpShopper();
    const buyer = await signedUpShopper();
    const ticketId = await sellTicket(seller, 'Opera: La Traviata', '80');

    await buyer.page.goto(`/tickets/${ticketId}`);
    await visible(buyer.page.getByRole('button', { name: 'Buy for $80.00' }));
    await expectAccessible(buyer);
    await screenshot(buyer.page, 'ticket');
    const orderId = await buy(buyer, ticketId);
    const timer = buyer.page.getByRole('timer');
    const first = await timer.innerText();
    expect(first).toMatch(/^0:[0-4]\d$/);
    await eventually(async () => expect(await timer.innerText()).not.toBe(first), { timeoutMs: 5000 });
    await expectAccessible(buyer);
    await screenshot(buyer.page, 'order-reserved');

    await buyer.page.getByLabel('Test card that is declined').check();
    await buyer.page.getByRole('button', { name: 'Pay $80.00' }).click();
    const declined = await visible(buyer.page.locator('#card-error'));
    expect(await declined.innerText()).toMatch(/declined/i);
    await expectAccessible(buyer);

    await buyer.page.getByLabel('Test Visa card — the payment goes through').check();
    await buyer.page.getByRole('button', { name: 'Pay $80.00' }).click();
    await visible(buyer.page.getByText('Paid. The ticket is yours'), 30_000);
    await gone(buyer.page.getByRole('timer'));
    await expectAccessible(buyer);
    await screenshot(buyer.page, 'order-paid');

    await buyer.page.getByRole('link', { name: 'My orders' }).first().click();
    const row = await visible(buyer.page.locator(`tr[data-order-id="${orderId}"]`));
    expect(await row.innerText()).toMatch(/Opera: La Traviata\s+\$80\.00\s+Paid/);
    await expectAccessible(buyer);
    await screenshot(buyer.page, 'my-orders');

    // Sold: off the list for good.
    await seller.page.goto('/');
    await visible(seller.page.getByRole('heading', { name: 'Tickets on sale' }));
    await seller.page.waitForLoadState('networkidle');
    expect(await seller.page.locator(`[data-ticket-id="${ticketId}"]`).count()).toBe(0);
  }, 150_000);

  it('cancels an unpaid order: the page says so and the ticket is on sale again', async () => {
    const seller = await signedUpShopper();
    const buyer = await signedUpShopper();
    const ticketId = await sellTicket(seller, 'Chamber music matinee', '15');
    const orderId = await buy(buyer, ticketId);
    await buyer.page.getByRole('button', { name: 'Cancel order' }).click();
    await visible(buyer.page.getByText('You cancelled this order. The ticket is back on sale.'));
    expect(await buyer.page.getByRole('button', { name: /^Pay/ }).count()).toBe(0);
    await expectAccessible(buyer);

    await buyer.page.goto('/orders');
    const row = await visible(buyer.page.locator(`tr[data-order-id="${orderId}"]`));
    expect(await row.innerText()).toMatch(/Cancelled/);
    await buyer.page.goto('/');
    await visible(buyer.page.locator(`[data-ticket-id="${ticketId}"]`));
  }, 120_000);

  it('says so when the reservation expires, on the open page, without a reload', async () => {
    const seller = await signedUpShopper();
    const buyer = await signedUpShopper();
    const ticketId = await sellTicket(seller, 'Midnight film screening', '9.99');
    const orderId = await buy(buyer, ticketId);
    await markPage(buyer);
    await visible(
      buyer.page.getByText('This reservation expired before it was paid. The ticket is back on sale.'),
      (RESERVATION_SECONDS + 60) * 1000,
    );
    expect(await notReloaded(buyer)).toBe(true);
    expect(await buyer.page.getByRole('button', { name: /^Pay/ }).count()).toBe(0);
    await screenshot(buyer.page, 'order-expired');
    await buyer.page.goto('/orders');
    expect(await (await visible(buyer.page.locator(`tr[data-order-id="${orderId}"]`))).innerText()).toMatch(
      /Expired/,
    );
  }, 180_000);
});

describe('live updates', () => {
  it("drops a ticket from another buyer's list the moment it is reserved, and shows new and relisted ones", async () => {
    const seller = await signedUpShopper();
    const watcher = await signedUpShopper();
    const buyer = await signedUpShopper();
    const ticketId = await sellTicket(seller, 'String quartet, balcony', '42');

    await watcher.page.goto('/');
    await visible(watcher.page.locator(`[data-ticket-id="${ticketId}"]`));
    await liveStreamOpen(watcher);
    await markPage(watcher);

    const orderId = await buy(buyer, ticketId);
    await gone(watcher.page.locator(`[data-ticket-id="${ticketId}"]`), 20_000);

    const newTicket = await sellTicket(seller, 'Late-night comedy', '7');
    await visible(watcher.page.locator(`[data-ticket-id="${newTicket}"]`), 20_000);
    expect(await watcher.page.locator(`[data-ticket-id="${newTicket}"]`).innerText()).toMatch(/\$7\.00/);

    // The buyer cancels: the ticket is on sale again, and the watcher sees it come back.
    await buyer.page.getByRole('button', { name: 'Cancel order' }).click();
    await visible(buyer.page.getByText('You cancelled this order.'));
    await visible(watcher.page.locator(`[data-ticket-id="${ticketId}"]`), 20_000);
    expect(await notReloaded(watcher)).toBe(true);
    await expectAccessible(watcher);
    await screenshot(watcher.page, 'shop');
    expect(orderId).toMatch(/^[a-f0-9]{24}$/);
  }, 150_000);

  it("updates the buyer's order page when the order is paid elsewhere (another tab)", async () => {
    const seller = await signedUpShopper();
    const buyer = await signedUpShopper();
    const ticketId = await sellTicket(seller, 'Paid in another tab', '33');
    const orderId = await buy(buyer, ticketId);
    await liveStreamOpen(buyer);
    await markPage(buyer);
    // Payments learns of the order from order.created: ask again while it answers 404.
    const cookie = await sessionCookieOf(buyer);
    await eventually(
      async () => {
        const paid = await fetch(`${test.stack.url}/api/payments`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', cookie },
          body: JSON.stringify({ orderId, token: 'tok_visa' }),
        });
        expect(paid.status).toBe(201);
      },
      { timeoutMs: 20_000, intervalMs: 250 },
    );
    await visible(buyer.page.getByText('Paid. The ticket is yours'), 30_000);
    expect(await notReloaded(buyer)).toBe(true);
  }, 120_000);
});

describe('keyboard only', () => {
  it('signs up, finds a ticket, buys and pays it without a mouse', async () => {
    const seller = await signedUpShopper();
    const ticketId = await sellTicket(seller, 'Keyboard gig', '19');
    const person = await shopper();
    const { page } = person;
    await page.goto('/');
    await visible(page.locator(`[data-ticket-id="${ticketId}"]`));

    await tabTo(page, 'Sign up');
    await page.keyboard.press('Enter');
    await visible(page.getByRole('heading', { name: 'Create your account' }));
    await tabTo(page, 'Email');
    await page.keyboard.type(person.email);
    await page.keyboard.press('Tab');
    await page.keyboard.type(person.password);
    await page.keyboard.press('Enter');
    await visible(page.getByText(`Signed in as ${person.email}`));

    await visible(page.locator(`[data-ticket-id="${ticketId}"]`));
    await tabTo(page, 'Keyboard gig', 80);
    await page.keyboard.press('Enter');
    await visible(page.getByRole('heading', { name: 'Keyboard gig' }));
    await tabTo(page, 'Buy for $19.00');
    await page.keyboard.press('Enter');
    await visible(page.getByRole('timer'), 30_000);
    await tabTo(page, 'Pay $19.00');
    await page.keyboard.press('Enter');
    await visible(page.getByText('Paid. The ticket is yours'), 30_000);
  }, 150_000);
});

describe('pages', () => {
  it('a path the shop does not know is a page that says so, with a way back', async () => {
    const visitor = await shopper();
    await visitor.page.goto('/no/such/page');
    await visible(visitor.page.getByRole('heading', { name: 'Page not found' }));
    await expectAccessible(visitor);
    await visitor.page.getByRole('link', { name: 'See the tickets on sale' }).click();
    await visible(visitor.page.getByRole('heading', { name: 'Tickets on sale' }));
    await expectAccessible(visitor);
  }, 60_000);
});
