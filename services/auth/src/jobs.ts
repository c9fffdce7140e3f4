import { eventSchemas } from '@wavecast/contracts/events';
import type { Bus, Subscription } from '@wavecast/kit/bus';
import { typedEvents } from '@wavecast/kit/events';
import type { AuthService } from './auth.service.ts';

/** Event handlers of the auth service. Each is idempotent: redelivery is harmless. */
export function subscribeAuthEvents(bus: Bus, auth: AuthService): Promise<Subscription> {
  return typedEvents(bus, eventSchemas).subscribe('auth', {
    'user.banned.v1': (event) => auth.onUserBanned(event.user_id),
  });
}
