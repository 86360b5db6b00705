import {
  AggregateExistsError,
  type AggregateStore,
  type ApiRouter,
  NotAuthorizedError,
  objectIdSchema,
} from '@ticketing/common';
import type { UserModel } from '../models/user';

/** The record that an account was erased: when, nothing else (its id is the user's, its event user.deleted). */
export interface ErasureState {
  at: Date;
}

export type ErasureStore = AggregateStore<ErasureState>;

/**
 * DELETE /api/users/me → 204: deletes the signed-in user's account. The erasure and its user.deleted are one
 * insert (published by the relay, so every service hears of it even if this process dies next), then the user
 * document goes; a retry after a crash between the two finds the erasure and finishes. The token stops working
 * at once: auth refuses ids it no longer has.
 */
export function deleteAccountRoute(api: ApiRouter, users: UserModel, erasures: ErasureStore): void {
  api.route({
    method: 'delete',
    path: '/api/users/me',
    operationId: 'deleteAccount',
    summary: 'Delete my account; every service forgets or pseudonymizes what it holds about me',
    auth: 'required',
    responses: {
      204: { description: 'Deleted; user.deleted is published' },
      401: 'Not signed in, or the account is already deleted',
    },
    handler: async (req, res) => {
      const id = req.currentUser!.id;
      if (!objectIdSchema.safeParse(id).success || !(await users.exists({ _id: id }))) {
        throw new NotAuthorizedError();
      }
      try {
        await erasures.create(id, { at: new Date() }, [{ subject: 'user.deleted', data: { id } }]);
      } catch (error) {
        if (!(error instanceof AggregateExistsError)) throw error;
      }
      await users.deleteOne({ _id: id });
      req.session = null;
      res.status(204).end();
    },
  });
}
