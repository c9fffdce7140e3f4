/**
 * CloudFront signed URLs with a custom policy, signed here with node:crypto
 * (RSA-SHA1 over the policy JSON, as CloudFront verifies it). An HLS or DASH
 * manifest names many segments by relative URL, so one policy covers every
 * object of a video, `<CDN_BASE_URL>/videos/<id>/*`, and all of the video's
 * URLs carry the same query string: the player appends it to the requests
 * the manifests lead to (hls.js `xhrSetup`, dash.js request interceptors),
 * since a query string is not inherited by relative URLs.
 */
import { createSign, type KeyObject } from 'node:crypto';

export interface CloudFrontSigning {
  /** e.g. https://d111111abcdef8.cloudfront.net (its origin is the bucket), without a trailing slash. */
  baseUrl: string;
  /** The public key id in the distribution's trusted key group (or a legacy key pair id). */
  keyPairId: string;
  /** The RSA private key that goes with it. */
  privateKey: KeyObject;
}

/** Base64 in CloudFront's URL-safe variant: `+` → `-`, `=` → `_`, `/` → `~`. */
export function cloudFrontBase64(bytes: Buffer | string): string {
  return Buffer.from(bytes).toString('base64').replaceAll('+', '-').replaceAll('=', '_').replaceAll('/', '~');
}

/** The custom policy allowing GETs of `resource` (which may end in `*`) until `expiresAt` (Unix seconds). */
export function customPolicy(resource: string, expiresAt: number): string {
  return JSON.stringify({
    Statement: [{ Resource: resource, Condition: { DateLessThan: { 'AWS:EpochTime': expiresAt } } }],
  });
}

/** `Policy=…&Key-Pair-Id=…&Signature=…` for a custom policy (the order AWS's own signer writes). */
export function signedQuery(policy: string, keyPairId: string, privateKey: KeyObject): string {
  const signature = createSign('RSA-SHA1').update(policy).sign(privateKey);
  return `Policy=${cloudFrontBase64(policy)}&Key-Pair-Id=${keyPairId}&Signature=${cloudFrontBase64(signature)}`;
}

export class CloudFrontSigner {
  readonly #signing: CloudFrontSigning;

  constructor(signing: CloudFrontSigning) {
    this.#signing = signing;
  }

  /** The query string that opens every object of a video until `expiresAt` (Unix seconds). */
  videoQuery(videoId: string, expiresAt: number): string {
    const { baseUrl, keyPairId, privateKey } = this.#signing;
    return signedQuery(customPolicy(`${baseUrl}/videos/${videoId}/*`, expiresAt), keyPairId, privateKey);
  }

  /** The CDN URL of an object, signed with `query`. */
  url(key: string, query: string): string {
    return `${this.#signing.baseUrl}/${key}?${query}`;
  }
}
