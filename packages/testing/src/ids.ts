import { randomBytes } from 'node:crypto';

/** A fresh random id of 24 hex characters, the shape of a Mongo ObjectId (what the API's ids look like). */
export function objectId(): string {
  return randomBytes(12).toString('hex');
}
