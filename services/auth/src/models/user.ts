import type { Connection, Model } from 'mongoose';
import { Schema } from 'mongoose';

/** A user as stored: the email is normalised (trimmed, lower-case) and unique; only a scrypt hash is kept. */
export interface User {
  /** Normalised email, unique by index. */
  email: string;
  /** `scrypt$N$r$p$salt$hash`; never leaves the service. */
  passwordHash: string;
  createdAt: Date;
}

export type UserModel = Model<User>;

const userSchema = new Schema<User>(
  {
    email: { type: String, required: true, unique: true },
    passwordHash: { type: String, required: true, select: false },
    createdAt: { type: Date, required: true, default: () => new Date() },
  },
  {
    // Responses are built field by field; this only guards against a user document being serialised by mistake.
    toJSON: {
      transform: (_doc, ret: Record<string, unknown>) => ({ id: String(ret._id), email: ret.email }),
    },
  },
);

/** The `User` model on `connection`, registered on first use (its unique index is built by startService). */
export function userModel(connection: Connection): UserModel {
  return (connection.models.User as UserModel | undefined) ?? connection.model<User>('User', userSchema);
}
