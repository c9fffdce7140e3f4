/**
 * Input rules shared by the edge (gateway route schemas) and the services
 * that own the data, so both reject the same things with the same words.
 */
export const USERNAME = {
  pattern: '^[A-Za-z][A-Za-z0-9_]{2,29}$',
  minLength: 3,
  maxLength: 30,
  description: '3-30 characters: letters, digits and underscores, starting with a letter',
} as const;

/** Names that would collide with routes or mislead viewers. */
export const RESERVED_USERNAMES: ReadonlySet<string> = new Set([
  'me',
  'api',
  'live',
  'docs',
  'admin_panel',
  'healthz',
  'readyz',
  'metrics',
  'system',
  'wavecast',
  'support',
  'moderator',
  'null',
  'undefined',
]);

export const EMAIL = {
  // Deliberately simple: one @, no spaces, a dot in the domain.
  pattern: '^[^\\s@]{1,64}@[^\\s@]+\\.[^\\s@]{2,}$',
  maxLength: 254,
} as const;

export const PASSWORD = { minLength: 8, maxLength: 256 } as const;
export const DISPLAY_NAME = { maxLength: 50 } as const;
export const BIO = { maxLength: 500 } as const;
export const AVATAR_URL = { maxLength: 2048 } as const;

/** A channel's title and category: one line each. */
export const CHANNEL_TITLE = { minLength: 1, maxLength: 140 } as const;
export const CHANNEL_CATEGORY = { maxLength: 50 } as const;
