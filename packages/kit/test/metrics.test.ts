import { describe, expect, it } from 'vitest';
import { createMetrics, httpRecorder } from '../src/metrics.ts';

describe('httpRecorder', () => {
  it('records requests in the RED histogram under their labels', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const record = httpRecorder(metrics, 'gateway');
    record('GET', '/v1/users/:id', 200, 0.002);
    record('GET', '/v1/users/:id', 200, 0.004);
    record('GET', '/v1/users/:id', 404, 0.001);
    const text = await metrics.registry.metrics();
    expect(text).toContain(
      'wavecast_http_request_duration_seconds_count{service="gateway",method="GET",route="/v1/users/:id",status="200"} 2',
    );
    expect(text).toContain(
      'wavecast_http_request_duration_seconds_count{service="gateway",method="GET",route="/v1/users/:id",status="404"} 1',
    );
    expect(text).toMatch(/wavecast_http_request_duration_seconds_sum\{[^}]*status="200"\} 0\.006/);
  });
});
