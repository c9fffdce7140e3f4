/**
 * The whole platform as the all-in-one process runs it (every service, PGlite
 * in memory), in a temporary data directory that is removed on exit, listening
 * on 127.0.0.1 only. Configured by the environment the benchmark passes.
 */

import { startChildPlatform } from '../lib/child-platform.ts';
import { send } from '../lib/child-runtime.ts';

const platform = await startChildPlatform({ dirPrefix: 'wavecast-bench-', logLevel: 'silent' });
send({ type: 'ready', url: platform.url });
