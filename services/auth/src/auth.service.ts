import type { Client } from '@connectrpc/connect';
import { Role, type User, type UsersService } from '@wavecast/contracts/gen/wavecast/users/v1/users_pb.js';
import type { Cache } from '@wavecast/kit/cache';
import { AppError } from '@wavecast/kit/errors';
import { newId } from '@wavecast/kit/ids';
import type { Logger } from '@wavecast/kit/log';
import { denyKeys, type TokenVerifier } from '@wavecast/kit/tokens';
import type { AuthRepository } from './auth.repository.ts';
import type { SigningKeys } from './keys.ts';
import type { LoginThrottle } from './login-throttle.ts';
import { assertStrongPassword, type PasswordHasher } from './password.ts';
import { newRefreshToken, parseRefreshToken, secretMatches } from './refresh-token.ts';

export interface TokenPair {
  accessToken: string;
  refreshToken: string;
  expiresIn: number;
}

export interface Session {
  user: User;
  tokens: TokenPair;
}

export interface AuthServiceDeps {
  repo: AuthRepository;
  users: Client<typeof UsersService>;
  hasher: PasswordHasher;
  keys: SigningKeys;
  throttle: LoginThrottle;
  verifier: TokenVerifier;
  cache: Cache;
  logger: Logger;
  accessTtlSeconds: number;
  refreshTtlSeconds: number;
}

const invalidCredentials = () => new AppError('unauthenticated', 'wrong username, email or password');
const invalidRefresh = () => new AppError('unauthenticated', 'refresh token is invalid or expired');

/** Credentials, sessions and tokens. Knows nothing of gRPC or HTTP. */
export class AuthService {
  readonly #d: AuthServiceDeps;

  constructor(deps: AuthServiceDeps) {
    this.#d = deps;
  }

  async register(input: {
    username: string;
    email: string;
    password: string;
    clientIp: string;
  }): Promise<Session> {
    assertStrongPassword(input.password, input.username, input.email);
    // Hash first: once the user exists, only the credentials insert can fail.
    const passwordHash = await this.#d.hasher.hash(input.password);
    const { user } = await this.#d.users.createUser({ username: input.username, email: input.email });
    if (!user) throw new AppError('internal', 'users service returned no user');
    try {
      await this.#d.repo.insertCredentials(user.id, passwordHash);
    } catch (err) {
      await this.#d.users.deleteUser({ userId: user.id }).catch((undo) => {
        this.#d.logger.error({ err: undo, userId: user.id }, 'could not undo a half-done registration');
      });
      throw err;
    }
    return { user, tokens: await this.#openSession(user, input.clientIp) };
  }

  async login(input: { login: string; password: string; clientIp: string }): Promise<Session> {
    const login = input.login.trim();
    if (!login || !input.password) throw invalidCredentials();
    const user = await this.#findUser(login);
    // Failures count against the account, so its username and its email share one limit.
    const account = user ? `id:${user.id}` : `name:${login.toLowerCase()}`;
    await this.#d.throttle.check(account, input.clientIp);
    const stored = user && (await this.#d.repo.findPasswordHash(user.id));
    if (!user || !stored) {
      await this.#d.hasher.verifyDummy(input.password);
      await this.#d.throttle.failed(account, input.clientIp);
      throw invalidCredentials();
    }
    if (!(await this.#d.hasher.verify(stored, input.password))) {
      await this.#d.throttle.failed(account, input.clientIp);
      throw invalidCredentials();
    }
    if (user.banned) throw new AppError('permission_denied', 'this account is banned');
    await this.#d.throttle.succeeded(account);
    if (this.#d.hasher.needsRehash(stored)) {
      await this.#d.repo.updatePasswordHash(user.id, await this.#d.hasher.hash(input.password));
    }
    return { user, tokens: await this.#openSession(user, input.clientIp) };
  }

  async refresh(token: string): Promise<Session> {
    const parsed = parseRefreshToken(token);
    if (!parsed) throw invalidRefresh();
    const { repo } = this.#d;
    const stored = await repo.findRefreshToken(repo.db, parsed.id);
    if (!stored || !secretMatches(parsed.secret, stored.secretHash)) throw invalidRefresh();
    if (stored.sessionRevokedAt) throw new AppError('unauthenticated', 'this session has ended');
    if (stored.expiresAt.getTime() <= Date.now()) throw invalidRefresh();
    if (stored.usedAt) throw await this.#reuseDetected(stored.sessionId, stored.userId);
    // The user is read before the transaction: no RPC while holding a connection.
    const { user } = await this.#d.users.getUser({ key: { case: 'id', value: stored.userId } });
    if (!user) throw invalidRefresh();
    if (user.banned) {
      await this.#endSession(stored.sessionId, 'user banned');
      throw new AppError('permission_denied', 'this account is banned');
    }
    // Marking the old token used and storing its successor commit together, so
    // a failure in between cannot strand the session.
    const tokens = await repo.transaction(async (trx) => {
      if (!(await repo.markRefreshTokenUsed(trx, stored.id))) return undefined;
      await repo.touchSession(trx, stored.sessionId);
      return this.#issue(trx, user, stored.sessionId);
    });
    if (!tokens) throw await this.#reuseDetected(stored.sessionId, stored.userId);
    return { user, tokens };
  }

  async logout(accessToken: string): Promise<void> {
    const claims = await this.#d.verifier.verify(accessToken);
    const ttlMs = Math.max(1, claims.exp * 1000 - Date.now());
    await this.#d.cache.set(denyKeys.token(claims.jti), '1', { ttlMs });
    await this.#endSession(claims.sid, 'logout');
  }

  /**
   * Ends every session of a banned user, which also denies their live access
   * tokens (each carries its session id). Idempotent.
   */
  async onUserBanned(userId: string): Promise<void> {
    const ttlMs = this.#d.accessTtlSeconds * 1000 + 60_000;
    const ended = await this.#d.repo.revokeUserSessions(userId, 'user banned');
    // Also the sessions a previous, interrupted delivery revoked but did not deny yet.
    const recent = await this.#d.repo.sessionsRevokedSince(userId, new Date(Date.now() - ttlMs));
    const deny = [...new Set([...ended, ...recent])];
    await Promise.all(deny.map((sid) => this.#d.cache.set(denyKeys.session(sid), 'user banned', { ttlMs })));
    this.#d.logger.info({ userId, ended: ended.length }, 'ended the sessions of a banned user');
  }

  jwks() {
    return this.#d.keys.jwks();
  }

  /** A rotated-away token came back: it leaked. End the whole family. */
  async #reuseDetected(sessionId: string, userId: string): Promise<AppError> {
    await this.#endSession(sessionId, 'refresh token reuse');
    this.#d.logger.warn({ sessionId, userId }, 'refresh token reuse detected; session ended');
    return new AppError('unauthenticated', 'refresh token was already used; the session has been ended');
  }

  async #endSession(sessionId: string, reason: string): Promise<void> {
    await this.#d.repo.revokeSession(this.#d.repo.db, sessionId, reason);
    await this.#d.cache.set(denyKeys.session(sessionId), reason, {
      ttlMs: this.#d.accessTtlSeconds * 1000 + 60_000,
    });
  }

  async #findUser(login: string): Promise<User | undefined> {
    const key = login.includes('@')
      ? { case: 'email' as const, value: login }
      : { case: 'username' as const, value: login };
    try {
      return (await this.#d.users.getUser({ key })).user;
    } catch (err) {
      if (AppError.is(err, 'not_found')) return undefined;
      throw err;
    }
  }

  async #openSession(user: User, clientIp: string): Promise<TokenPair> {
    const { repo } = this.#d;
    return repo.transaction(async (trx) => {
      const sessionId = newId('ses');
      await repo.insertSession(trx, { id: sessionId, userId: user.id, clientIp });
      return this.#issue(trx, user, sessionId);
    });
  }

  async #issue(
    trx: Parameters<AuthRepository['insertRefreshToken']>[0],
    user: User,
    sessionId: string,
  ): Promise<TokenPair> {
    const refresh = newRefreshToken();
    await this.#d.repo.insertRefreshToken(trx, {
      id: refresh.id,
      sessionId,
      secretHash: refresh.secretHash,
      expiresAt: new Date(Date.now() + this.#d.refreshTtlSeconds * 1000),
    });
    const { token } = await this.#d.keys.sign(
      {
        sub: user.id,
        sid: sessionId,
        role: user.role === Role.ADMIN ? 'admin' : 'user',
        name: user.username,
      },
      this.#d.accessTtlSeconds,
    );
    return { accessToken: token, refreshToken: refresh.token, expiresIn: this.#d.accessTtlSeconds };
  }
}
