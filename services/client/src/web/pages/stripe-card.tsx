import { loadStripe, type Stripe, type StripeCardElement } from '@stripe/stripe-js';
import { useEffect, useRef, useState } from 'preact/hooks';

interface StripeCardProps {
  publishableKey: string;
  disabled: boolean;
  /** Called with the card token Stripe made (the payments API charges it). */
  onToken: (token: string) => void;
}

/** Stripe's own card element (the card number never touches this shop), turned into a token on submit. */
export function StripeCard({ publishableKey, disabled, onToken }: StripeCardProps) {
  const mount = useRef<HTMLDivElement>(null);
  const [stripe, setStripe] = useState<Stripe | null>(null);
  const [card, setCard] = useState<StripeCardElement | null>(null);
  const [error, setError] = useState<string | undefined>();

  useEffect(() => {
    let element: StripeCardElement | undefined;
    loadStripe(publishableKey).then(
      (loaded) => {
        if (!loaded || !mount.current) return;
        element = loaded.elements().create('card');
        element.mount(mount.current);
        setStripe(loaded);
        setCard(element);
      },
      () => setError('The card form could not load. Check your connection and reload the page.'),
    );
    return () => element?.destroy();
  }, [publishableKey]);

  const submit = async (event: Event) => {
    event.preventDefault();
    if (!stripe || !card) return;
    const result = await stripe.createToken(card);
    if (result.error) setError(result.error.message ?? 'The card was not accepted.');
    else onToken(result.token.id);
  };

  return (
    <form onSubmit={submit}>
      <fieldset>
        <legend>Card</legend>
        <div ref={mount} class="card-element" />
      </fieldset>
      {error && (
        <p class="field-error" role="alert">
          {error}
        </p>
      )}
      <button type="submit" class="button" disabled={disabled || !card}>
        Pay
      </button>
    </form>
  );
}
