export type Role = 'user' | 'admin';

export interface User {
  id: string;
  username: string;
  email: string;
  displayName: string;
  bio: string;
  avatarUrl: string;
  role: Role;
  bannedAt: Date | null;
  banReason: string;
  createdAt: Date;
  updatedAt: Date;
}

export interface ProfilePatch {
  displayName?: string | undefined;
  bio?: string | undefined;
  avatarUrl?: string | undefined;
}

export interface UserFilter {
  /** Case-insensitive prefix of username or email. */
  query?: string;
  banned?: boolean | undefined;
  /** Exclusive: users created before this id. */
  beforeId?: string;
  limit: number;
}
