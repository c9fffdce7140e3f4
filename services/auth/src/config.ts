import { env } from '@wavecast/kit/config';

export const authConfigSpec = {
  accessTtlSeconds: env.int('AUTH_ACCESS_TOKEN_TTL_SECONDS', { default: 900, min: 30, max: 86_400 }),
  refreshTtlSeconds: env.int('AUTH_REFRESH_TOKEN_TTL_SECONDS', { default: 30 * 86_400, min: 300 }),
  argon2MemoryKib: env.int('AUTH_ARGON2_MEMORY_KIB', { default: 19_456, min: 8_192 }),
  argon2Iterations: env.int('AUTH_ARGON2_ITERATIONS', { default: 2, min: 1, max: 20 }),
  loginMaxFailures: env.int('AUTH_LOGIN_MAX_FAILURES', { default: 5, min: 1 }),
  loginMaxFailuresPerAddress: env.int('AUTH_LOGIN_MAX_FAILURES_PER_ADDRESS', { default: 50, min: 1 }),
  loginLockSeconds: env.int('AUTH_LOGIN_LOCK_SECONDS', { default: 900, min: 1 }),
};
