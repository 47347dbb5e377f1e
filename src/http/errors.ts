/**
 * Errors of the HTTP layer and the one place that turns any error into an answer. Every
 * error is logged; 4xx answers carry the details (and the offending field), 5xx answers a
 * bare message, since their details are for the log.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { ConfbulkError, ValidationError } from '../errors.js';

/** The resource named in the path does not exist. */
export class NotFoundError extends ConfbulkError {
  readonly statusCode = 404;
}

/** No bearer token, or not the right one. */
export class UnauthorizedError extends ConfbulkError {
  readonly statusCode = 401;
}

/** A valid token whose role or spaces do not cover the request. */
export class ForbiddenError extends ConfbulkError {
  readonly statusCode = 403;
}

/** An idempotency key reused with a different request. */
export class ConflictError extends ConfbulkError {
  readonly statusCode = 409;
}

export const UNAUTHORIZED_MESSAGE =
  'missing or wrong bearer token: send the header Authorization: Bearer <CONFBULK_API_TOKEN>';

/** Body of every error answer. */
export interface ErrorBody {
  error: string;
  message: string;
  field?: string;
}

interface ErrorAnswer {
  status: number;
  body: ErrorBody;
}

const VALIDATION_NAMES = new Set(['ValidationError', 'ConfigError']);

/** Errors are recognised by name as well as by class: they cross module boundaries. */
function isValidationError(err: unknown): err is Error & { field?: string } {
  return err instanceof ValidationError || (err instanceof Error && VALIDATION_NAMES.has(err.name));
}

function answerOf(err: FastifyError | Error, bodyLimit: number): ErrorAnswer {
  if (isValidationError(err)) {
    const body: ErrorBody = { error: 'ValidationError', message: err.message };
    if (err.field) body.field = err.field;
    return { status: 400, body };
  }
  if (err instanceof NotFoundError || err.name === 'BatchNotFoundError') {
    return { status: 404, body: { error: 'NotFound', message: err.message } };
  }
  if (err instanceof UnauthorizedError)
    return { status: 401, body: { error: 'Unauthorized', message: err.message } };
  if (err instanceof ForbiddenError)
    return { status: 403, body: { error: 'Forbidden', message: err.message } };
  if (err instanceof ConflictError || err.name === 'IdempotencyConflictError') {
    return {
      status: 409,
      body: { error: 'Conflict', message: err.message, field: 'idempotencyKey' },
    };
  }
  const code = (err as FastifyError).code;
  if (code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    return {
      status: 413,
      body: {
        error: 'PayloadTooLarge',
        message: `body: larger than the limit of ${bodyLimit} bytes`,
        field: 'body',
      },
    };
  }
  if (code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
    return {
      status: 415,
      body: {
        error: 'UnsupportedMediaType',
        message: 'body: Content-Type must be application/json',
        field: 'body',
      },
    };
  }
  const status = (err as FastifyError).statusCode ?? 500;
  if (status >= 400 && status < 500) {
    // Content-type parser failures (invalid or empty JSON, a __proto__ key, bad length).
    const aboutBody = code?.startsWith('FST_ERR_CTP') || err instanceof SyntaxError;
    const name =
      status === 400 ? 'ValidationError' : err.name === 'FastifyError' ? 'BadRequest' : err.name;
    return {
      status,
      body: aboutBody
        ? { error: name, message: `body: ${err.message}`, field: 'body' }
        : { error: name, message: err.message },
    };
  }
  return {
    status: status >= 500 && status < 600 ? status : 500,
    body: { error: 'InternalServerError', message: 'internal server error' },
  };
}

/** The app's error handler; `bodyLimit` is quoted in 413 answers. */
export function errorHandler(bodyLimit: number) {
  return (err: FastifyError | Error, request: FastifyRequest, reply: FastifyReply) => {
    const { status, body } = answerOf(err, bodyLimit);
    if (status >= 500) request.log.error({ err }, 'request failed');
    else
      request.log.info(
        { err: { name: err.name, message: err.message }, status },
        'request refused',
      );
    if (status === 401) void reply.header('www-authenticate', 'Bearer');
    return reply.code(status).send(body);
  };
}

/** Answer for a path no route serves. */
export function notFoundHandler(request: FastifyRequest, reply: FastifyReply) {
  return reply.code(404).send({
    error: 'NotFound',
    message: `no route ${request.method} ${request.url.split('?')[0]}`,
  });
}
