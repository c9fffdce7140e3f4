import { AppError, type FieldViolation, httpStatus } from '@wavecast/kit/errors';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { TypedApp } from '../typed.ts';

interface AjvError {
  instancePath: string;
  keyword: string;
  message?: string;
  params: Record<string, unknown>;
  parentSchema?: { description?: string };
}

/**
 * Ajv errors as one violation per field (the first problem found), with
 * `/user/email` paths as `user.email`. A failed pattern is explained by the
 * schema's description instead of the regular expression.
 */
function violations(errors: AjvError[], context: string): FieldViolation[] {
  const byField = new Map<string, FieldViolation>();
  for (const v of errors.map((e) => violation(e, context))) {
    if (!byField.has(v.field)) byField.set(v.field, v);
  }
  return [...byField.values()];
}

function violation(e: AjvError, context: string): FieldViolation {
  const path = e.instancePath.replace(/^\//, '').replaceAll('/', '.');
  if (e.keyword === 'required') {
    const missing = String(e.params.missingProperty);
    return { field: path ? `${path}.${missing}` : missing, message: 'is required' };
  }
  if (e.keyword === 'additionalProperties') {
    const extra = String(e.params.additionalProperty);
    return { field: path ? `${path}.${extra}` : extra, message: 'is not a known field' };
  }
  if (e.keyword === 'minProperties') return { field: path || context, message: 'must not be empty' };
  if (e.keyword === 'pattern' && e.parentSchema?.description) {
    return { field: path || context, message: `must be ${e.parentSchema.description}` };
  }
  return { field: path || context, message: e.message ?? 'is invalid' };
}

/** Fastify's own request errors, as the AppError a client should see. */
function fromFastify(err: FastifyError, bodyLimit: number): AppError | undefined {
  if (err.validation) {
    const fields = violations(err.validation as AjvError[], err.validationContext ?? 'body');
    const message = fields.map((f) => `${f.field} ${f.message}`).join('; ');
    return new AppError('invalid_argument', message, { fields });
  }
  switch (err.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new AppError('invalid_argument', 'request body is not valid JSON');
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new AppError('payload_too_large', `request body is larger than ${bodyLimit} bytes`);
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new AppError('invalid_argument', 'request body must be application/json');
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new AppError('invalid_argument', 'Content-Length does not match the body');
  }
  if (err instanceof SyntaxError) return new AppError('invalid_argument', 'request body is not valid JSON');
  return undefined;
}

export function sendError(request: FastifyRequest, reply: FastifyReply, err: AppError) {
  if (err.retryAfterSeconds !== undefined) reply.header('retry-after', String(err.retryAfterSeconds));
  return reply.code(httpStatus(err.code)).send({
    error: {
      code: err.code,
      message: err.message,
      request_id: request.id,
      ...(err.fields.length > 0 && { fields: err.fields }),
    },
  });
}

/** What the gateway does for a request that matched no route: before its 404, and once it is sent. */
export interface UnmatchedHooks {
  before(request: FastifyRequest, reply: FastifyReply): void;
  after(request: FastifyRequest, reply: FastifyReply): void;
}

/**
 * The one place errors become HTTP responses. Causes are logged (with the
 * request id, also for routes that enter its context only where they need
 * it), never sent.
 */
export function registerErrorHandling(app: TypedApp, bodyLimit: number, unmatched?: UnmatchedHooks): void {
  app.setErrorHandler((err: FastifyError, request, reply) => {
    let appErr: AppError;
    if (err instanceof AppError) appErr = err;
    else appErr = fromFastify(err, bodyLimit) ?? new AppError('internal', 'internal error', { cause: err });
    const requestId = request.id;
    if (appErr.code === 'internal')
      request.log.error({ err: appErr.cause ?? err, requestId }, 'request failed');
    else if (appErr.code === 'unavailable')
      request.log.warn({ err: appErr.cause ?? appErr, requestId }, 'dependency unavailable');
    return sendError(request, reply, appErr);
  });
  app.setNotFoundHandler((request, reply) => {
    if (unmatched) {
      unmatched.before(request, reply);
      reply.raw.once('finish', () => unmatched.after(request, reply));
    }
    return sendError(
      request,
      reply,
      new AppError('not_found', `no route for ${request.method} ${request.url.split('?')[0]}`),
    );
  });
}
