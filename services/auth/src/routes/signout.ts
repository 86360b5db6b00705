import type { IRouter } from 'express';

/** POST /api/users/signout → 200 {}; clears the session cookie (a Bearer token simply stops being sent). */
export function mountSignout(router: IRouter): void {
  router.post('/api/users/signout', (req, res) => {
    req.session = null;
    res.status(200).json({});
  });
}
