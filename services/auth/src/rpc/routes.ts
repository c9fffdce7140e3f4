import type { ConnectRouter } from '@connectrpc/connect';
import { AuthService } from '@wavecast/contracts/gen/wavecast/auth/v1/auth_pb.js';
import type { AuthService as Auth, Session } from '../auth.service.ts';

const toProto = (s: Session) => ({ user: s.user, tokens: s.tokens });

/** gRPC handlers: map proto <-> domain, nothing else. */
export function authRoutes(auth: Auth) {
  return (router: ConnectRouter) =>
    router.service(AuthService, {
      async register(req) {
        return toProto(
          await auth.register({
            username: req.username,
            email: req.email,
            password: req.password,
            clientIp: req.clientIp,
          }),
        );
      },
      async login(req) {
        return toProto(
          await auth.login({ login: req.login, password: req.password, clientIp: req.clientIp }),
        );
      },
      async refresh(req) {
        return toProto(await auth.refresh(req.refreshToken));
      },
      async logout(req) {
        await auth.logout(req.accessToken);
        return {};
      },
      async getJwks() {
        return { jwksJson: JSON.stringify(auth.jwks()) };
      },
    });
}
