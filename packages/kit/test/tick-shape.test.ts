import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { keptTickObject } from '../src/tick-shape.ts';

const entries = ['../../../apps/cli/src/main.ts', '../../../bench/lib/child-platform.ts'];

describe('tick-shape', () => {
  it('holds a tick object once the first tick has run', async () => {
    await new Promise<void>((resolve) => process.nextTick(resolve));
    const tick = keptTickObject() as Record<PropertyKey, unknown> | undefined;
    expect(tick).toBeDefined();
    // What Node schedules: the callback and its arguments, keyed by its async-id symbols.
    expect(Object.keys(tick ?? {})).toEqual(['callback', 'args']);
    expect(Object.getOwnPropertySymbols(tick).map(String)).toContain('Symbol(async_id_symbol)');
  });

  it.each(entries)('is the first import of %s, so it runs before anything heavy is loaded', async (file) => {
    const source = await readFile(new URL(file, import.meta.url), 'utf8');
    const firstImport = source.split('\n').find((line) => line.startsWith('import '));
    expect(firstImport).toBe("import '@wavecast/kit/tick-shape';");
  });
});
