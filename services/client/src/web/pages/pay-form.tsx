import type { ComponentType } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { FormAlert, Status } from '../components/page';
import { ApiError, api, type Order, purchaseTrace } from '../lib/api';
import type { ShopConfig } from '../lib/config';
import { formatPrice } from '../lib/format';

type StripeCardComponent = ComponentType<{
  publishableKey: string;
  disabled: boolean;
  onToken: (token: string) => void;
}>;

/**
 * Stripe's card element. Stripe.js comes from Stripe (their rule for card data): this chunk, and so that
 * script, is loaded only when a publishable key is configured.
 */
function useStripeCard(enabled: boolean): StripeCardComponent | undefined {
  const [component, setComponent] = useState<StripeCardComponent | undefined>();
  useEffect(() => {
    if (enabled) void import('./stripe-card').then((module) => setComponent(() => module.StripeCard));
  }, [enabled]);
  return component;
}

/** How the shop names the test cards of the local payments backends. */
const testCardLabels: Record<string, string> = {
  tok_visa: 'Test Visa card — the payment goes through',
  tok_chargeDeclined: 'Test card that is declined',
};

interface PayFormProps {
  order: Order;
  config: ShopConfig;
  /** Called after the payment was accepted (the order completes shortly after). */
  onPaid: () => void | Promise<void>;
}

/** Pays an order: with Stripe's card element when a publishable key is set, else with the backend's test cards. */
export function PayForm({ order, config, onPaid }: PayFormProps) {
  const [token, setToken] = useState(config.testCards[0] ?? 'tok_visa');
  const [error, setError] = useState<ApiError | undefined>();
  const [state, setState] = useState<'idle' | 'paying' | 'accepted'>('idle');
  const StripeCard = useStripeCard(Boolean(config.stripePublishableKey));

  const pay = async (cardToken: string) => {
    setState('paying');
    setError(undefined);
    try {
      const trace = purchaseTrace.headersFor(order.id);
      await api('POST', '/api/payments', { orderId: order.id, token: cardToken }, trace);
      setState('accepted');
      // The order completes once orders applies the payment: one request answered when it has (no polling).
      await api('GET', `/api/orders/${order.id}?waitFor=complete&timeout=10`, undefined, trace);
      await onPaid();
    } catch (caught) {
      setState('idle');
      setError(caught instanceof ApiError ? caught : new ApiError(0, [{ message: String(caught) }]));
    }
  };

  if (state === 'accepted') return <Status>Payment accepted — confirming your order…</Status>;
  const declined = error?.forField('token');
  return (
    <section class="pay" aria-labelledby="pay-heading">
      <h2 id="pay-heading">Pay {formatPrice(order.ticket.price)}</h2>
      <FormAlert messages={error?.general(['token']) ?? []} />
      {config.stripePublishableKey ? (
        StripeCard ? (
          <StripeCard
            publishableKey={config.stripePublishableKey}
            disabled={state === 'paying'}
            onToken={pay}
          />
        ) : (
          <p aria-busy="true">Loading the card form…</p>
        )
      ) : (
        <form
          onSubmit={(event) => {
            event.preventDefault();
            void pay(token);
          }}
        >
          <fieldset aria-describedby={declined ? 'card-error' : undefined}>
            <legend>Card (test mode: no real money moves)</legend>
            {config.testCards.map((card) => (
              <label key={card} class="choice">
                <input
                  type="radio"
                  name="card"
                  value={card}
                  checked={token === card}
                  onChange={() => setToken(card)}
                />
                {testCardLabels[card] ?? card}
              </label>
            ))}
          </fieldset>
          {declined && (
            <p class="field-error" id="card-error" role="alert">
              {declined}
            </p>
          )}
          <button type="submit" class="button" disabled={state === 'paying'}>
            Pay {formatPrice(order.ticket.price)}
          </button>
        </form>
      )}
      {config.stripePublishableKey && declined && (
        <p class="field-error" role="alert">
          {declined}
        </p>
      )}
    </section>
  );
}
