/**
 * CloudFront-signed playback: the policy names every object of the video
 * and the expiry, the signature verifies with the public key (RSA-SHA1),
 * the encoding is CloudFront's URL-safe base64, and the result is what
 * AWS's own signer (@aws-sdk/cloudfront-signer) makes of the same policy.
 */
import { createVerify, generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getSignedUrl } from '@aws-sdk/cloudfront-signer';
import { ConfigError, describeConfig, loadConfig } from '@wavecast/kit/config';
import { newId } from '@wavecast/kit/ids';
import { describe, expect, it } from 'vitest';
import { CloudFrontSigner, cloudFrontBase64, customPolicy } from '../src/cloudfront.ts';
import { catalogConfigSpec, cloudFrontSigningFrom } from '../src/config.ts';
import { PlaybackSigner } from '../src/playback.ts';
import type { Video } from '../src/video.model.ts';
import { readyVideo } from './support/videos.ts';

const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
const base = 'https://d111111abcdef8.cloudfront.net';
const keyPairId = 'K2JCJMDEHXQW5F';
const now = 1_900_000_000;

/** CloudFront's base64 back to bytes. */
const fromCloudFront = (text: string) =>
  Buffer.from(text.replaceAll('-', '+').replaceAll('_', '=').replaceAll('~', '/'), 'base64');

const ready = (visibility: Video['visibility']) => readyVideo(visibility, { images: true });

describe('CloudFront signing', () => {
  it("uses CloudFront's URL-safe base64", () => {
    const bytes = Buffer.from([0xfb, 0xff, 0xbf, 0x00]);
    expect(bytes.toString('base64')).toBe('+/+/AA==');
    expect(cloudFrontBase64(bytes)).toBe('-~-~AA__');
  });

  it('signs a custom policy over videos/<id>/* that verifies with the public key', () => {
    const video = ready('private');
    const signer = new PlaybackSigner(
      Buffer.alloc(32),
      600,
      new CloudFrontSigner({ baseUrl: base, keyPairId, privateKey }),
    );
    const playback = signer.playback(video, new Date(now * 1000))!;
    const hls = new URL(playback.hlsUrl);
    expect(`${hls.origin}${hls.pathname}`).toBe(`${base}/videos/${video.id}/master.m3u8`);
    const params = Object.fromEntries(hls.searchParams);
    expect(Object.keys(params)).toEqual(['Policy', 'Key-Pair-Id', 'Signature']);
    expect(params['Key-Pair-Id']).toBe(keyPairId);
    for (const value of [params.Policy!, params.Signature!]) expect(value).toMatch(/^[A-Za-z0-9~_-]+$/);
    const policy = fromCloudFront(params.Policy!).toString('utf8');
    expect(JSON.parse(policy)).toEqual({
      Statement: [
        {
          Resource: `${base}/videos/${video.id}/*`,
          Condition: { DateLessThan: { 'AWS:EpochTime': now + 600 } },
        },
      ],
    });
    const verify = createVerify('RSA-SHA1').update(policy);
    expect(verify.verify(publicKey, fromCloudFront(params.Signature!))).toBe(true);
    expect(
      createVerify('RSA-SHA1')
        .update(policy.replace(video.id, newId('vid')))
        .verify(publicKey, fromCloudFront(params.Signature!)),
    ).toBe(false);

    // One query string for all of the video's URLs, which the player appends to what the manifests name.
    const query = hls.search;
    expect(playback).toEqual({
      hlsUrl: `${base}/videos/${video.id}/master.m3u8${query}`,
      dashUrl: `${base}/videos/${video.id}/manifest.mpd${query}`,
      posterUrl: `${base}/videos/${video.id}/poster.jpg${query}`,
      storyboard: expect.objectContaining({ url: `${base}/videos/${video.id}/storyboard.jpg${query}` }),
      expiresAt: new Date((now + 600) * 1000),
    });
  });

  it('signs public videos too (the distribution refuses unsigned requests), and nothing not READY', () => {
    const signer = new PlaybackSigner(
      Buffer.alloc(32),
      60,
      new CloudFrontSigner({ baseUrl: base, keyPairId, privateKey }),
    );
    const playback = signer.playback(ready('public'), new Date(now * 1000))!;
    expect(playback.hlsUrl).toContain('&Key-Pair-Id=');
    expect(playback.expiresAt).toEqual(new Date((now + 60) * 1000));
    expect(signer.playback({ ...ready('public'), status: 'processing' }, new Date())).toBeNull();
  });

  it('matches @aws-sdk/cloudfront-signer for the same policy, byte for byte', () => {
    const video = newId('vid');
    const policy = customPolicy(`${base}/videos/${video}/*`, now);
    const signer = new CloudFrontSigner({ baseUrl: base, keyPairId, privateKey });
    const ours = signer.url(`videos/${video}/master.m3u8`, signer.videoQuery(video, now));
    const theirs = getSignedUrl({
      url: `${base}/videos/${video}/master.m3u8`,
      keyPairId,
      privateKey: pem,
      policy,
    });
    expect(ours).toBe(theirs);
  });
});

describe('CloudFront settings', () => {
  const load = (env: Record<string, string>) => cloudFrontSigningFrom(loadConfig(catalogConfigSpec, env));

  it('are off by default, and need the base URL, the key pair id and the key together', () => {
    expect(load({})).toBeUndefined();
    expect(() => load({ CDN_BASE_URL: base })).toThrow(ConfigError);
    expect(() => load({ CDN_BASE_URL: base })).toThrow(
      'CloudFront-signed playback needs CLOUDFRONT_KEY_PAIR_ID, CLOUDFRONT_PRIVATE_KEY (or CLOUDFRONT_PRIVATE_KEY_FILE) as well',
    );
    expect(() => load({ CLOUDFRONT_PRIVATE_KEY: pem, CLOUDFRONT_KEY_PAIR_ID: keyPairId })).toThrow(
      /needs CDN_BASE_URL as well/,
    );
    const signing = load({
      CDN_BASE_URL: `${base}/`,
      CLOUDFRONT_KEY_PAIR_ID: keyPairId,
      CLOUDFRONT_PRIVATE_KEY: pem.replaceAll('\n', '\\n'),
    });
    expect(signing).toMatchObject({ baseUrl: base, keyPairId });
    expect(signing?.privateKey.asymmetricKeyType).toBe('rsa');
  });

  it('read the key from a file, refuse a bad or non-RSA key, and never show it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'wavecast-cloudfront-'));
    try {
      const file = join(dir, 'key.pem');
      await writeFile(file, pem);
      const env = {
        CDN_BASE_URL: base,
        CLOUDFRONT_KEY_PAIR_ID: keyPairId,
        CLOUDFRONT_PRIVATE_KEY_FILE: file,
      };
      expect(load(env)?.privateKey.asymmetricKeyType).toBe('rsa');
      expect(() => load({ ...env, CLOUDFRONT_PRIVATE_KEY: pem })).toThrow(/both set: keep one/);
      expect(() => loadConfig(catalogConfigSpec, { CLOUDFRONT_PRIVATE_KEY_FILE: join(dir, 'none') })).toThrow(
        'CLOUDFRONT_PRIVATE_KEY_FILE cannot be read (ENOENT)',
      );
      expect(() => loadConfig(catalogConfigSpec, { CLOUDFRONT_PRIVATE_KEY: 'not a key' })).toThrow(
        'CLOUDFRONT_PRIVATE_KEY must be a PEM private key',
      );
      const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({
        type: 'pkcs8',
        format: 'pem',
      });
      expect(() => loadConfig(catalogConfigSpec, { CLOUDFRONT_PRIVATE_KEY: ec as string })).toThrow(
        /must be an RSA key/,
      );
      expect(() => loadConfig(catalogConfigSpec, { CDN_BASE_URL: `${base}/?x=1` })).toThrow(/no query/);
      expect(() => loadConfig(catalogConfigSpec, { CLOUDFRONT_KEY_PAIR_ID: 'k&x=1' })).toThrow(/key id/);
      const shown = JSON.stringify(describeConfig(catalogConfigSpec, loadConfig(catalogConfigSpec, env)));
      expect(shown).toContain('"CLOUDFRONT_PRIVATE_KEY_FILE":"***"');
      expect(shown).not.toContain('PRIVATE KEY-----');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
