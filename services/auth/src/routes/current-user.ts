import type { ApiRouter } from '@ticketing/common';
import { currentUserBodySchema, userSchema } from './schemas';

/** GET /api/users/currentuser → 200 {currentUser: {id, email} | null}, from the cookie or Bearer token. */
export function currentUserRoute(api: ApiRouter): void {
  api.route({
    method: 'get',
    path: '/api/users/currentuser',
    operationId: 'getCurrentUser',
    summary: 'The signed-in user, or null',
    auth: 'optional',
    responses: { 200: { description: 'The user the token names, or null', schema: currentUserBodySchema } },
    handler: (req, res) => {
      // A validly signed token whose id or email this service could not have issued names no user of ours.
      const user = req.currentUser
        ? userSchema.safeParse({ id: req.currentUser.id, email: req.currentUser.email })
        : undefined;
      res.status(200).json({ currentUser: user?.success ? user.data : null });
    },
  });
}
