import type { ConnectRouter } from '@connectrpc/connect';
import { UsersService } from '@wavecast/contracts/gen/wavecast/users/v1/users_pb.js';
import { AppError } from '@wavecast/kit/errors';
import type { UserService } from '../user.service.ts';
import { roleFromProto, userToProto } from './mapping.ts';

const MAX_PAGE = 100;

/** gRPC handlers: map proto <-> domain, nothing else. */
export function usersRoutes(users: UserService) {
  return (router: ConnectRouter) =>
    router.service(UsersService, {
      async createUser(req) {
        return { user: userToProto(await users.create({ username: req.username, email: req.email })) };
      },
      async getUser(req) {
        switch (req.key.case) {
          case 'id':
            return { user: userToProto(await users.get(req.key.value)) };
          case 'username':
            return { user: userToProto(await users.getByUsername(req.key.value)) };
          case 'email':
            return { user: userToProto(await users.getByEmail(req.key.value)) };
          case undefined:
            throw new AppError('invalid_argument', 'one of id, username or email is required');
        }
      },
      async updateProfile(req) {
        const patch = { displayName: req.displayName, bio: req.bio, avatarUrl: req.avatarUrl };
        return { user: userToProto(await users.updateProfile(req.userId, patch)) };
      },
      async listUsers(req) {
        const limit = Math.min(Math.max(req.pageSize || 20, 1), MAX_PAGE);
        const found = await users.list(req.actorId, {
          limit: limit + 1,
          banned: req.banned,
          ...(req.query && { query: req.query }),
          ...(req.pageToken && { beforeId: req.pageToken }),
        });
        const page = found.slice(0, limit);
        return {
          users: page.map(userToProto),
          nextPageToken: found.length > limit ? (page.at(-1)?.id ?? '') : '',
        };
      },
      async banUser(req) {
        return { user: userToProto(await users.ban(req.actorId, req.userId, req.reason)) };
      },
      async unbanUser(req) {
        return { user: userToProto(await users.unban(req.actorId, req.userId)) };
      },
      async setRole(req) {
        return { user: userToProto(await users.setRole(req.actorId, req.userId, roleFromProto(req.role))) };
      },
      async deleteUser(req) {
        await users.deleteRecent(req.userId);
        return {};
      },
    });
}
