/**
 * Schemas of the direct-to-bucket upload routes (S3 storage): a presigned
 * PUT of the source file, then its confirmation. See schemas.ts for the
 * conventions.
 */
import { probeFields } from '@wavecast/contracts/events';
import Type, { type Static } from 'typebox';

export const UploadUrlBody = Type.Object(
  {
    size_bytes: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: Number.MAX_SAFE_INTEGER,
        description: 'The exact size of the file; when given, the URL accepts a file of that size only',
      }),
    ),
  },
  { additionalProperties: false },
);

export const DirectUpload = Type.Object(
  {
    url: Type.String({ description: 'Presigned S3 URL to send the file to, as the whole body' }),
    method: Type.Literal('PUT'),
    headers: Type.Record(Type.String(), Type.String(), {
      description:
        'Headers the signature covers besides Host: Content-Length when size_bytes was given ' +
        '(HTTP clients send it by themselves)',
    }),
    expires_at: Type.String({ format: 'date-time', description: 'When the URL stops accepting the file' }),
    max_bytes: Type.Integer({
      minimum: 1,
      description: 'The largest file accepted (size_bytes, when given)',
    }),
  },
  { $id: 'DirectUpload', title: 'DirectUpload' },
);

export const UploadedFile = Type.Object(
  {
    video_id: Type.String({ description: 'vid_… id' }),
    status: Type.Literal('uploaded', { description: 'The file is accepted; encoding follows' }),
    size_bytes: Type.Integer({ minimum: 1 }),
    probe: Type.Object(probeFields, { description: 'What ffprobe found in the file' }),
  },
  { $id: 'UploadedFile', title: 'UploadedFile' },
);

export const uploadSchemas = [DirectUpload, UploadedFile];

export type DirectUploadView = Static<typeof DirectUpload>;
/** What the uploads service answers; the route adds the video id and status. */
export type UploadedFileView = Omit<Static<typeof UploadedFile>, 'video_id' | 'status'>;
