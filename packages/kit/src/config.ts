/**
 * Typed configuration from environment variables. Every service declares a
 * spec, `loadConfig` parses it once and reports ALL invalid variables together,
 * and the result is frozen. Secrets are marked so `describeConfig` masks them.
 */
type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

export interface Field<T> {
  readonly variable: string;
  readonly secret: boolean;
  parse(raw: string | undefined): Parsed<T>;
}

interface Common<T> {
  default?: T;
  secret?: boolean;
}

function field<T>(variable: string, opts: Common<T>, convert: (raw: string) => Parsed<T>): Field<T> {
  return {
    variable,
    secret: opts.secret ?? false,
    parse(raw) {
      if (raw === undefined || raw === '') {
        if (opts.default !== undefined) return { ok: true, value: opts.default };
        return { ok: false, error: 'is required' };
      }
      return convert(raw);
    },
  };
}

/** A 32-byte key in base64 (standard or URL alphabet), e.g. `openssl rand -base64 32`; undefined if it is not one. */
export function parseKey32(raw: string): Buffer | undefined {
  const text = raw.trim();
  if (!/^[A-Za-z0-9+/_-]{43}=?$/.test(text)) return undefined;
  const bytes = Buffer.from(text, 'base64');
  return bytes.length === 32 ? bytes : undefined;
}

export const env = {
  str(variable: string, opts: Common<string> & { pattern?: RegExp } = {}): Field<string> {
    return field(variable, opts, (raw) =>
      opts.pattern && !opts.pattern.test(raw)
        ? { ok: false, error: `must match ${opts.pattern}` }
        : { ok: true, value: raw },
    );
  },
  optionalStr(variable: string, opts: { secret?: boolean } = {}): Field<string | undefined> {
    return {
      variable,
      secret: opts.secret ?? false,
      parse: (raw) => ({ ok: true, value: raw === '' ? undefined : raw }),
    };
  },
  int(variable: string, opts: Common<number> & { min?: number; max?: number } = {}): Field<number> {
    return field(variable, opts, (raw) => {
      if (!/^-?\d+$/.test(raw.trim())) return { ok: false, error: `must be an integer, got "${raw}"` };
      const value = Number(raw);
      if (opts.min !== undefined && value < opts.min) return { ok: false, error: `must be >= ${opts.min}` };
      if (opts.max !== undefined && value > opts.max) return { ok: false, error: `must be <= ${opts.max}` };
      return { ok: true, value };
    });
  },
  bool(variable: string, opts: Common<boolean> = {}): Field<boolean> {
    return field(variable, opts, (raw) => {
      const v = raw.trim().toLowerCase();
      if (['1', 'true', 'yes', 'on'].includes(v)) return { ok: true, value: true };
      if (['0', 'false', 'no', 'off'].includes(v)) return { ok: true, value: false };
      return { ok: false, error: `must be true or false, got "${raw}"` };
    });
  },
  oneOf<const T extends string>(variable: string, values: readonly T[], opts: Common<T> = {}): Field<T> {
    return field(variable, opts, (raw) =>
      (values as readonly string[]).includes(raw)
        ? { ok: true, value: raw as T }
        : { ok: false, error: `must be one of ${values.join(', ')}, got "${raw}"` },
    );
  },
  url(variable: string, opts: Common<string> & { protocols?: string[] } = {}): Field<string> {
    return field(variable, opts, (raw) => {
      let parsed: URL;
      try {
        parsed = new URL(raw);
      } catch {
        return { ok: false, error: 'must be a URL' };
      }
      if (opts.protocols && !opts.protocols.includes(parsed.protocol.replace(/:$/, ''))) {
        return { ok: false, error: `must use one of ${opts.protocols.join(', ')}` };
      }
      return { ok: true, value: raw };
    });
  },
  /** A secret 32-byte key in base64 (see `parseKey32`); unset is an error when `required`, else undefined. */
  key32<R extends boolean>(
    variable: string,
    opts: { required: R },
  ): Field<R extends true ? Buffer : Buffer | undefined> {
    return {
      variable,
      secret: true,
      parse(raw) {
        if (raw === undefined || raw.trim() === '') {
          return opts.required
            ? { ok: false, error: 'is required: 32 random bytes in base64 (openssl rand -base64 32)' }
            : { ok: true, value: undefined as never };
        }
        const value = parseKey32(raw);
        return value ? { ok: true, value } : { ok: false, error: 'must be 32 bytes in base64' };
      },
    };
  },
  list(variable: string, opts: Common<string[]> = {}): Field<string[]> {
    return field(variable, opts, (raw) => ({
      ok: true,
      value: raw
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s.length > 0),
    }));
  },
};

export type Spec = Record<string, Field<unknown>>;
export type ConfigOf<S extends Spec> = { readonly [K in keyof S]: S[K] extends Field<infer T> ? T : never };

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`invalid configuration: ${problems.join('; ')}`);
    this.problems = problems;
  }
}

export function loadConfig<S extends Spec>(spec: S, source: NodeJS.ProcessEnv = process.env): ConfigOf<S> {
  const problems: string[] = [];
  const out: Record<string, unknown> = {};
  for (const [key, f] of Object.entries(spec)) {
    const result = f.parse(source[f.variable]);
    if (result.ok) out[key] = result.value;
    else problems.push(`${f.variable} ${result.error}`);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze(out) as ConfigOf<S>;
}

/** The configuration as loggable key/values, with secrets masked. */
export function describeConfig<S extends Spec>(spec: S, config: ConfigOf<S>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, f] of Object.entries(spec)) {
    const value = (config as Record<string, unknown>)[key];
    out[f.variable] = f.secret && value !== undefined ? '***' : value;
  }
  return out;
}
