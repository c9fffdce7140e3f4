import { eventSchemas } from '@wavecast/contracts/events';
import { AppError } from '@wavecast/kit/errors';
import { newId } from '@wavecast/kit/ids';
import { addEvent } from '@wavecast/kit/outbox';
import type { Transaction } from 'kysely';
import type { ProfilePatch, Role, User, UserFilter } from './user.model.ts';
import type { UserRepository, UsersDb } from './user.repository.ts';
import { validateNewUser, validateProfile } from './user.validation.ts';

export interface UserServiceOptions {
  /** This username becomes admin when it registers (besides the first user). */
  adminUsername?: string | undefined;
  /** Called after a commit that wrote events, so the outbox relays at once. */
  onEvents?: () => void;
}

/** How long a freshly created user may be deleted by a failed registration. */
const COMPENSATION_WINDOW_MS = 5 * 60_000;

/** Business rules of user records. Knows nothing of gRPC or HTTP. */
export class UserService {
  readonly #repo: UserRepository;
  readonly #opts: UserServiceOptions;

  constructor(repo: UserRepository, opts: UserServiceOptions = {}) {
    this.#repo = repo;
    this.#opts = opts;
  }

  async #write<T>(fn: (trx: Transaction<UsersDb>) => Promise<T>): Promise<T> {
    const result = await this.#repo.transaction(fn);
    this.#opts.onEvents?.();
    return result;
  }

  async create(input: { username: string; email: string }): Promise<User> {
    const username = input.username.trim();
    const email = input.email.trim();
    validateNewUser(username, email);
    return this.#write(async (trx) => {
      await this.#repo.lockFirstUserDecision(trx);
      const first = !(await this.#repo.anyUserExists(trx));
      const named = this.#opts.adminUsername?.toLowerCase() === username.toLowerCase();
      const role: Role = first || named ? 'admin' : 'user';
      const user = await this.#repo.insert(trx, { id: newId('usr'), username, email, role });
      await addEvent(trx, eventSchemas, 'user.registered.v1', {
        user_id: user.id,
        username: user.username,
        role: user.role,
        created_at: user.createdAt.toISOString(),
      });
      return user;
    });
  }

  async get(id: string): Promise<User> {
    return this.#found(await this.#repo.findById(id));
  }

  async getByUsername(username: string): Promise<User> {
    return this.#found(await this.#repo.findByUsername(username));
  }

  async getByEmail(email: string): Promise<User> {
    return this.#found(await this.#repo.findByEmail(email));
  }

  async updateProfile(userId: string, patch: ProfilePatch): Promise<User> {
    validateProfile(patch);
    return this.#write(async (trx) => {
      const user = this.#found(await this.#repo.updateProfile(trx, userId, patch));
      await addEvent(trx, eventSchemas, 'user.updated.v1', {
        user_id: user.id,
        username: user.username,
        updated_at: user.updatedAt.toISOString(),
      });
      return user;
    });
  }

  async list(actorId: string, filter: UserFilter): Promise<User[]> {
    await this.#requireAdmin(actorId);
    return this.#repo.list(filter);
  }

  async ban(actorId: string, userId: string, reason: string): Promise<User> {
    const actor = await this.#requireAdmin(actorId);
    if (actorId === userId) throw new AppError('failed_precondition', 'you cannot ban yourself');
    if (reason.length > 500) {
      throw new AppError('invalid_argument', 'reason must be at most 500 characters', {
        fields: [{ field: 'reason', message: 'must be at most 500 characters' }],
      });
    }
    return this.#write(async (trx) => {
      const target = this.#found(await this.#repo.findById(userId, trx));
      if (target.role === 'admin') throw new AppError('failed_precondition', 'an admin cannot be banned');
      if (target.bannedAt) return target;
      const user = this.#found(
        await this.#repo.setBan(trx, userId, { at: new Date(), by: actor.id, reason }),
      );
      await addEvent(trx, eventSchemas, 'user.banned.v1', {
        user_id: user.id,
        username: user.username,
        reason,
        banned_by: actor.id,
        banned_at: (user.bannedAt ?? new Date()).toISOString(),
      });
      return user;
    });
  }

  async unban(actorId: string, userId: string): Promise<User> {
    const actor = await this.#requireAdmin(actorId);
    return this.#write(async (trx) => {
      const target = this.#found(await this.#repo.findById(userId, trx));
      if (!target.bannedAt) return target;
      const user = this.#found(await this.#repo.setBan(trx, userId, null));
      await addEvent(trx, eventSchemas, 'user.unbanned.v1', {
        user_id: user.id,
        username: user.username,
        unbanned_by: actor.id,
        unbanned_at: user.updatedAt.toISOString(),
      });
      return user;
    });
  }

  async setRole(actorId: string, userId: string, role: Role): Promise<User> {
    await this.#requireAdmin(actorId);
    if (actorId === userId && role !== 'admin') {
      throw new AppError('failed_precondition', 'you cannot remove your own admin role');
    }
    return this.#write(async (trx) => {
      const user = this.#found(await this.#repo.setRole(trx, userId, role));
      await addEvent(trx, eventSchemas, 'user.updated.v1', {
        user_id: user.id,
        username: user.username,
        updated_at: user.updatedAt.toISOString(),
      });
      return user;
    });
  }

  /** Undoes a creation whose registration failed right after. */
  async deleteRecent(userId: string): Promise<void> {
    await this.#write(async (trx) => {
      const user = await this.#repo.findById(userId, trx);
      if (!user) return;
      if (Date.now() - user.createdAt.getTime() > COMPENSATION_WINDOW_MS) {
        throw new AppError(
          'failed_precondition',
          'only a user created in the last few minutes can be deleted',
        );
      }
      await this.#repo.delete(trx, userId);
      await addEvent(trx, eventSchemas, 'user.deleted.v1', {
        user_id: user.id,
        username: user.username,
        deleted_at: new Date().toISOString(),
      });
    });
  }

  async #requireAdmin(actorId: string): Promise<User> {
    const actor = actorId ? await this.#repo.findById(actorId) : undefined;
    if (actor?.role !== 'admin' || actor.bannedAt) {
      throw new AppError('permission_denied', 'this needs the admin role');
    }
    return actor;
  }

  #found(user: User | undefined): User {
    if (!user) throw new AppError('not_found', 'user not found');
    return user;
  }
}
