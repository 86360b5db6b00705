import type { IRouter } from 'express';

/** GET /api/users/currentuser → 200 {currentUser: {id, email} | null}, from the cookie or Bearer token. */
export function mountCurrentUser(router: IRouter): void {
  router.get('/api/users/currentuser', (req, res) => {
    const user = req.currentUser;
    res.status(200).json({ currentUser: user ? { id: user.id, email: user.email } : null });
  });
}
