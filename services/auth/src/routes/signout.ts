import type { ApiRouter } from '@ticketing/common';
import { signoutBodySchema } from './schemas';

/** POST /api/users/signout → 200 {}; clears the session cookie (a Bearer token simply stops being sent). */
export function signoutRoute(api: ApiRouter): void {
  api.route({
    method: 'post',
    path: '/api/users/signout',
    operationId: 'signOut',
    summary: 'Sign out: clear the session cookie',
    auth: 'none',
    responses: { 200: { description: 'Signed out (also without a session)', schema: signoutBodySchema } },
    handler: (req, res) => {
      req.session = null;
      res.status(200).json({});
    },
  });
}
