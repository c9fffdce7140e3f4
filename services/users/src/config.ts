import { env } from '@wavecast/kit/config';

export const usersConfigSpec = {
  adminUsername: env.optionalStr('WAVECAST_ADMIN_USERNAME'),
};
