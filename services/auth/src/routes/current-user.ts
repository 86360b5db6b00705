import type { ApiRouter } from '@ticketing/common';
import type { UserModel } from '../models/user';
import { currentUserBodySchema, userSchema } from './schemas';

/** GET /api/users/currentuser → 200 {currentUser: {id, email} | null}, from the cookie or Bearer token, for a user that exists. */
export function currentUserRoute(api: ApiRouter, users: UserModel): void {
  api.route({
    method: 'get',
    path: '/api/users/currentuser',
    operationId: 'getCurrentUser',
    summary: 'The signed-in user, or null',
    auth: 'optional',
    responses: { 200: { description: 'The user the token names, or null', schema: currentUserBodySchema } },
    handler: async (req, res) => {
      // A validly signed token whose id or email this service could not have issued names no user of ours, nor
      // does the token of an account deleted since.
      const user = req.currentUser
        ? userSchema.safeParse({ id: req.currentUser.id, email: req.currentUser.email })
        : undefined;
      const exists = user?.success && (await users.exists({ _id: user.data.id })) !== null;
      res.status(200).json({ currentUser: exists ? user.data : null });
    },
  });
}
