/**
 * Request and response schemas of the public REST API. They validate input
 * at the edge, type the handlers, serialise responses, and generate the
 * OpenAPI documents in contracts/openapi/.
 */
import { BIO, DISPLAY_NAME, EMAIL, PASSWORD, USERNAME } from '@wavecast/contracts/rules';
import Type, { type Static } from 'typebox';

export const ErrorBody = Type.Object(
  {
    error: Type.Object({
      code: Type.String({ description: 'Stable machine-readable code, e.g. invalid_argument' }),
      message: Type.String({ description: 'What went wrong, for a person' }),
      request_id: Type.String(),
      fields: Type.Optional(
        Type.Array(Type.Object({ field: Type.String(), message: Type.String() }), {
          description: 'The invalid fields, for invalid_argument',
        }),
      ),
    }),
  },
  { $id: 'Error', title: 'Error' },
);

const userPublicProperties = {
  id: Type.String({ description: 'usr_… id' }),
  username: Type.String(),
  display_name: Type.String(),
  bio: Type.String(),
  avatar_url: Type.String(),
  role: Type.Union([Type.Literal('user'), Type.Literal('admin')]),
  banned: Type.Boolean(),
  created_at: Type.String({ format: 'date-time' }),
};

export const PublicUser = Type.Object(userPublicProperties, { $id: 'PublicUser', title: 'PublicUser' });

export const PrivateUser = Type.Object(
  { ...userPublicProperties, email: Type.String(), updated_at: Type.String({ format: 'date-time' }) },
  { $id: 'PrivateUser', title: 'PrivateUser' },
);

export const AdminUser = Type.Object(
  {
    ...userPublicProperties,
    email: Type.String(),
    ban_reason: Type.String(),
    updated_at: Type.String({ format: 'date-time' }),
  },
  { $id: 'AdminUser', title: 'AdminUser' },
);

export const AuthSession = Type.Object(
  {
    user: Type.Ref('PrivateUser'),
    access_token: Type.String({ description: 'JWT (EdDSA) for the Authorization: Bearer header' }),
    refresh_token: Type.String({ description: 'Single-use; exchange at /v1/auth/refresh' }),
    token_type: Type.Literal('Bearer'),
    expires_in: Type.Integer({ description: 'Access token lifetime in seconds' }),
  },
  { $id: 'AuthSession', title: 'AuthSession' },
);

export const RegisterBody = Type.Object(
  {
    username: Type.String({
      minLength: USERNAME.minLength,
      maxLength: USERNAME.maxLength,
      pattern: USERNAME.pattern,
      description: USERNAME.description,
    }),
    email: Type.String({
      maxLength: EMAIL.maxLength,
      pattern: EMAIL.pattern,
      description: 'an email address',
    }),
    password: Type.String({ minLength: PASSWORD.minLength, maxLength: PASSWORD.maxLength }),
  },
  { additionalProperties: false },
);

export const LoginBody = Type.Object(
  {
    login: Type.String({ minLength: 1, maxLength: EMAIL.maxLength, description: 'Username or email' }),
    password: Type.String({ minLength: 1, maxLength: PASSWORD.maxLength }),
  },
  { additionalProperties: false },
);

export const RefreshBody = Type.Object(
  { refresh_token: Type.String({ minLength: 1, maxLength: 256 }) },
  { additionalProperties: false },
);

export const ProfilePatchBody = Type.Object(
  {
    display_name: Type.Optional(Type.String({ maxLength: DISPLAY_NAME.maxLength })),
    bio: Type.Optional(Type.String({ maxLength: BIO.maxLength })),
    avatar_url: Type.Optional(
      Type.String({ maxLength: 2048, description: 'An http(s) URL, or empty to clear' }),
    ),
  },
  { additionalProperties: false, minProperties: 1 },
);

export const UserListQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
    cursor: Type.Optional(Type.String({ maxLength: 64, description: 'next_cursor of the previous page' })),
    q: Type.Optional(Type.String({ maxLength: 254, description: 'Prefix of username or email' })),
    banned: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);

export const UserList = Type.Object(
  {
    users: Type.Array(Type.Ref('AdminUser')),
    next_cursor: Type.Union([Type.String(), Type.Null()]),
  },
  { $id: 'UserList', title: 'UserList' },
);

export const BanBody = Type.Object(
  { reason: Type.Optional(Type.String({ maxLength: 500 })) },
  { additionalProperties: false },
);

export const UserIdParams = Type.Object({ id: Type.String({ pattern: '^usr_[0-9A-HJKMNP-TV-Z]{26}$' }) });
export const UserKeyParams = Type.Object({
  id_or_username: Type.String({ minLength: 1, maxLength: 64, description: 'A usr_… id or a username' }),
});

export const sharedSchemas = [ErrorBody, PublicUser, PrivateUser, AdminUser, AuthSession, UserList];

export type PublicUserView = Static<typeof PublicUser>;
export type PrivateUserView = Static<typeof PrivateUser>;
export type AdminUserView = Static<typeof AdminUser>;

/** Error responses every route may give, referenced by the OpenAPI documents. */
export function errorResponses(...statuses: number[]) {
  return Object.fromEntries(statuses.map((s) => [s, Type.Ref('Error')]));
}
