import { type ComponentChildren, createContext } from 'preact';
import { useCallback, useContext, useEffect, useMemo, useState } from 'preact/hooks';
import { api, type User } from './api';

/** Who is signed in: undefined while asking, null when nobody. */
interface Session {
  user: User | null | undefined;
  /** Asks the API again (after signing in or out). */
  refresh(): Promise<User | null>;
  signOut(): Promise<void>;
}

const SessionContext = createContext<Session>({
  user: undefined,
  refresh: async () => null,
  signOut: async () => undefined,
});

/** Provides the signed-in user to the whole shop. */
export function SessionProvider({ children }: { children: ComponentChildren }) {
  const [user, setUser] = useState<User | null | undefined>(undefined);
  const refresh = useCallback(async () => {
    try {
      const answer = await api<{ currentUser: User | null }>('GET', '/api/users/currentuser');
      setUser(answer.body.currentUser);
      return answer.body.currentUser;
    } catch {
      setUser(null);
      return null;
    }
  }, []);
  const signOut = useCallback(async () => {
    await api('POST', '/api/users/signout', {});
    setUser(null);
  }, []);
  useEffect(() => {
    void refresh();
  }, [refresh]);
  const value = useMemo(() => ({ user, refresh, signOut }), [user, refresh, signOut]);
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

/** The session of the shop. */
export function useSession(): Session {
  return useContext(SessionContext);
}
