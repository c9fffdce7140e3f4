import { describe, expect, it } from 'vitest';
import { createMetrics, httpRecorder } from '../src/metrics.ts';

describe('httpRecorder', () => {
  it('records requests in the RED histogram under their labels', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const record = httpRecorder(metrics, 'gateway').route('/v1/users/:id');
    record('GET', 200, 0.002);
    record('GET', 200, 0.004);
    record('GET', 404, 0.001);
    record('HEAD', 200, 20);
    const text = await metrics.registry.metrics();
    expect(text).toContain('# TYPE wavecast_http_request_duration_seconds histogram');
    const labels = 'service="gateway",method="GET",route="/v1/users/:id",status="200"';
    expect(text).toContain(`wavecast_http_request_duration_seconds_count{${labels}} 2`);
    expect(text).toContain(
      'wavecast_http_request_duration_seconds_count{service="gateway",method="GET",route="/v1/users/:id",status="404"} 1',
    );
    expect(text).toMatch(/wavecast_http_request_duration_seconds_sum\{[^}]*status="200"\} 0\.006/);
    // Buckets are cumulative, and a value above the largest bound lands in +Inf only.
    expect(text).toContain(`wavecast_http_request_duration_seconds_bucket{${labels},le="0.001"} 0`);
    expect(text).toContain(`wavecast_http_request_duration_seconds_bucket{${labels},le="0.0025"} 1`);
    expect(text).toContain(`wavecast_http_request_duration_seconds_bucket{${labels},le="0.005"} 2`);
    expect(text).toContain(`wavecast_http_request_duration_seconds_bucket{${labels},le="+Inf"} 2`);
    const head = 'service="gateway",method="HEAD",route="/v1/users/:id",status="200"';
    expect(text).toContain(`wavecast_http_request_duration_seconds_bucket{${head},le="10"} 0`);
    expect(text).toContain(`wavecast_http_request_duration_seconds_bucket{${head},le="+Inf"} 1`);
  });

  it('starts again from zero after a reset, keeping its series', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const record = httpRecorder(metrics, 'gateway').route('/healthz');
    record('GET', 200, 0.0001);
    metrics.registry.resetMetrics();
    record('GET', 200, 0.0001);
    const text = await metrics.registry.metrics();
    expect(text).toContain(
      'wavecast_http_request_duration_seconds_count{service="gateway",method="GET",route="/healthz",status="200"} 1',
    );
  });
});
