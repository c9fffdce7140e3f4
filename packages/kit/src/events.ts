/**
 * Typed events over the bus port. Given the schema map from
 * `@wavecast/contracts/events`, `publish` only accepts a known type with a
 * matching payload (validated before it leaves), and `subscribe` takes one
 * handler per subscribed type, so a missing handler is a compile error. A
 * payload that fails validation on arrival is dead-lettered, not retried.
 */
import type { Static, TSchema } from 'typebox';
import { Compile } from 'typebox/compile';
import { type Bus, type ConsumeOptions, type Envelope, PermanentError, type Subscription } from './bus.ts';
import { AppError } from './errors.ts';

export type EventHandlers<S extends Record<string, TSchema>, T extends keyof S> = {
  [K in T]: (data: Static<S[K]>, envelope: Envelope) => Promise<void>;
};

export interface EventBus<S extends Record<string, TSchema>> {
  publish<T extends keyof S & string>(type: T, data: Static<S[T]>, opts?: { id?: string }): Promise<void>;
  subscribe<T extends keyof S & string>(
    group: string,
    handlers: EventHandlers<S, T>,
    opts?: ConsumeOptions,
  ): Promise<Subscription>;
}

export function typedEvents<S extends Record<string, TSchema>>(bus: Bus, schemas: S): EventBus<S> {
  const validators = new Map(Object.entries(schemas).map(([type, schema]) => [type, Compile(schema)]));
  const check = (type: string, data: unknown): string | undefined => {
    const validator = validators.get(type);
    if (!validator) return `unknown event type "${type}"`;
    if (validator.Check(data)) return undefined;
    const first = validator.Errors(data)[0];
    return `invalid ${type}: ${first ? `${first.instancePath || '/'} ${first.message}` : 'does not match its schema'}`;
  };
  return {
    async publish(type, data, opts) {
      const problem = check(type, data);
      if (problem) throw new AppError('internal', problem);
      await bus.publish(type, data, opts);
    },
    subscribe(group, handlers, opts) {
      const table = handlers as Record<string, (data: unknown, envelope: Envelope) => Promise<void>>;
      return bus.subscribe(
        group,
        Object.keys(table),
        async (envelope) => {
          const handler = table[envelope.type];
          if (!handler) throw new PermanentError(`no handler for ${envelope.type}`);
          const problem = check(envelope.type, envelope.data);
          if (problem) throw new PermanentError(problem);
          await handler(envelope.data, envelope);
        },
        opts,
      );
    },
  };
}
