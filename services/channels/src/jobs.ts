import { eventSchemas } from '@wavecast/contracts/events';
import type { Bus, Subscription } from '@wavecast/kit/bus';
import { typedEvents } from '@wavecast/kit/events';
import type { ChannelService } from './channel.service.ts';

/** Event handlers of the channels service. Each is idempotent, and ignores events older than the state. */
export function subscribeChannelsEvents(bus: Bus, channels: ChannelService): Promise<Subscription> {
  return typedEvents(bus, eventSchemas).subscribe('channels', {
    'user.banned.v1': (event) => channels.onOwnerBanned(event.user_id, new Date(event.banned_at)),
    'user.unbanned.v1': (event) => channels.onOwnerUnbanned(event.user_id, new Date(event.unbanned_at)),
  });
}
