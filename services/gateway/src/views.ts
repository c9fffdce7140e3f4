import { timestampDate } from '@bufbuild/protobuf/wkt';
import { Role, type User } from '@wavecast/contracts/gen/wavecast/users/v1/users_pb.js';
import type { AdminUserView, PrivateUserView, PublicUserView } from './schemas.ts';

const iso = (ts: User['createdAt']) => (ts ? timestampDate(ts).toISOString() : new Date(0).toISOString());

/** What anyone may see of a user. */
export function publicUser(u: User): PublicUserView {
  return {
    id: u.id,
    username: u.username,
    display_name: u.displayName,
    bio: u.bio,
    avatar_url: u.avatarUrl,
    role: u.role === Role.ADMIN ? 'admin' : 'user',
    banned: u.banned,
    created_at: iso(u.createdAt),
  };
}

/** What the user sees of themself. */
export function privateUser(u: User): PrivateUserView {
  return { ...publicUser(u), email: u.email, updated_at: iso(u.updatedAt) };
}

/** What an admin sees. */
export function adminUser(u: User): AdminUserView {
  return { ...privateUser(u), ban_reason: u.banReason };
}
