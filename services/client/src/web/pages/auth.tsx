import { useState } from 'preact/hooks';
import { useLocation } from 'preact-iso';
import { FormAlert, Page } from '../components/page';
import { TextField } from '../components/text-field';
import { ApiError, api } from '../lib/api';
import { useSession } from '../lib/session';

const fields = ['email', 'password'] as const;

/** Sign up (`mode="signup"`) or sign in: email and password, the API's errors next to their fields. */
export function AuthPage({ mode }: { mode: 'signup' | 'signin' }) {
  const { refresh } = useSession();
  const { route, query } = useLocation();
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<ApiError | undefined>();
  const [busy, setBusy] = useState(false);
  const signup = mode === 'signup';

  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await api('POST', signup ? '/api/users/signup' : '/api/users/signin', { email, password });
      await refresh();
      // Only a path of this shop: never an address someone put in a link.
      const next = query.next?.startsWith('/') && !query.next.startsWith('//') ? query.next : '/';
      route(next);
    } catch (caught) {
      setError(caught instanceof ApiError ? caught : new ApiError(0, [{ message: String(caught) }]));
    } finally {
      setBusy(false);
    }
  };

  return (
    <Page title={signup ? 'Create your account' : 'Sign in'}>
      <form class="form narrow" onSubmit={submit} noValidate>
        <FormAlert messages={error?.general(fields) ?? []} />
        <TextField
          name="email"
          label="Email"
          type="email"
          autoComplete="email"
          required
          value={email}
          onInput={setEmail}
          error={error?.forField('email')}
        />
        <TextField
          name="password"
          label="Password"
          type="password"
          autoComplete={signup ? 'new-password' : 'current-password'}
          hint={signup ? 'Between 8 and 128 characters.' : undefined}
          required
          value={password}
          onInput={setPassword}
          error={error?.forField('password')}
        />
        <button type="submit" class="button" disabled={busy}>
          {signup ? 'Sign up' : 'Sign in'}
        </button>
        <p class="aside">
          {signup ? (
            <>
              Have an account? <a href="/signin">Sign in</a>
            </>
          ) : (
            <>
              New here? <a href="/signup">Create an account</a>
            </>
          )}
        </p>
      </form>
    </Page>
  );
}
