import type { MessageInitShape } from '@bufbuild/protobuf';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import type { UserSchema } from '@wavecast/contracts/gen/wavecast/users/v1/users_pb.js';
import {
  Role as RoleProto,
  type User as UserProto,
} from '@wavecast/contracts/gen/wavecast/users/v1/users_pb.js';
import { AppError } from '@wavecast/kit/errors';
import type { Role, User } from '../user.model.ts';

export function userToProto(user: User): MessageInitShape<typeof UserSchema> {
  return {
    id: user.id,
    username: user.username,
    email: user.email,
    displayName: user.displayName,
    bio: user.bio,
    avatarUrl: user.avatarUrl,
    role: user.role === 'admin' ? RoleProto.ADMIN : RoleProto.USER,
    banned: user.bannedAt !== null,
    banReason: user.banReason,
    createdAt: timestampFromDate(user.createdAt),
    updatedAt: timestampFromDate(user.updatedAt),
  };
}

export function roleFromProto(role: RoleProto): Role {
  switch (role) {
    case RoleProto.ADMIN:
      return 'admin';
    case RoleProto.USER:
      return 'user';
    case RoleProto.UNSPECIFIED:
      throw new AppError('invalid_argument', 'role is required', {
        fields: [{ field: 'role', message: 'is required' }],
      });
    default:
      throw new AppError('invalid_argument', `unknown role ${role satisfies never}`);
  }
}

export type { UserProto };
