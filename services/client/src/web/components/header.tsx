import { useState } from 'preact/hooks';
import { useLocation } from 'preact-iso';
import { useSession } from '../lib/session';

/** The shop's header: where to go, and who is signed in (with sign out). */
export function Header() {
  const { user, signOut } = useSession();
  const { route, path } = useLocation();
  const [leaving, setLeaving] = useState(false);
  const current = (href: string) => (path === href ? 'page' : undefined);
  const onSignOut = async () => {
    setLeaving(true);
    try {
      await signOut();
      route('/');
    } finally {
      setLeaving(false);
    }
  };
  return (
    <header class="site-header">
      <a class="skip-link" href="#main">
        Skip to content
      </a>
      <a class="brand" href="/">
        Ticketing
      </a>
      <nav aria-label="Main">
        <ul>
          <li>
            <a href="/" aria-current={current('/')}>
              Tickets
            </a>
          </li>
          {user && (
            <>
              <li>
                <a href="/tickets/new" aria-current={current('/tickets/new')}>
                  Sell a ticket
                </a>
              </li>
              <li>
                <a href="/orders" aria-current={current('/orders')}>
                  My orders
                </a>
              </li>
            </>
          )}
        </ul>
      </nav>
      <div class="account">
        {user === undefined ? null : user ? (
          <>
            <span class="who" data-testid="signed-in-as">
              Signed in as <strong>{user.email}</strong>
            </span>
            <button type="button" class="button-quiet" onClick={onSignOut} disabled={leaving}>
              Sign out
            </button>
          </>
        ) : (
          <>
            <a href="/signin" aria-current={current('/signin')}>
              Sign in
            </a>
            <a class="button" href="/signup" aria-current={current('/signup')}>
              Sign up
            </a>
          </>
        )}
      </div>
    </header>
  );
}
