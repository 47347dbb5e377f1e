/**
 * Route schemas are zod schemas: fastify validates request parts with them (every failure
 * a ValidationError naming the field), and the OpenAPI document shows them as JSON Schema.
 * One definition serves both, so the document cannot drift from what is enforced.
 */
import type { FastifySchema, FastifySchemaCompiler, FastifySerializerCompiler } from 'fastify';
import { z } from 'zod';
import { ValidationError } from '../errors.js';

/** A route part as fastify names it. */
type HttpPart = 'body' | 'querystring' | 'params' | 'headers' | (string & {});

function isZodSchema(value: unknown): value is z.ZodType {
  return typeof value === 'object' && value !== null && '_zod' in value;
}

/** `target.callSids[2]`, like the producer's messages. */
export function fieldOf(path: readonly PropertyKey[]): string {
  return path.reduce<string>(
    (acc, part) =>
      typeof part === 'number' ? `${acc}[${part}]` : acc ? `${acc}.${String(part)}` : String(part),
    '',
  );
}

/** The object keys a schema accepts at `path`, for "allowed: ..." in messages. */
function keysAt(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  let node: z.core.$ZodType | undefined = schema;
  for (const part of [...path, undefined]) {
    while (node && ['optional', 'nullable', 'default', 'pipe'].includes(node._zod.def.type)) {
      const def = node._zod.def as { innerType?: z.core.$ZodType; in?: z.core.$ZodType };
      node = def.innerType ?? def.in;
    }
    if (!node || part === undefined) break;
    const def = node._zod.def as {
      shape?: Record<string, z.core.$ZodType>;
      element?: z.core.$ZodType;
    };
    node = typeof part === 'number' ? def.element : def.shape?.[String(part)];
  }
  const shape = (node?._zod.def as { shape?: Record<string, unknown> } | undefined)?.shape;
  return shape ? Object.keys(shape) : [];
}

function article(expected: string): string {
  return /^[aeiou]/.test(expected) ? `an ${expected}` : `a ${expected}`;
}

/** Messages for zod's default issues; schema-level messages take precedence over these. */
function defaultMessage(issue: z.core.$ZodRawIssue): string | undefined {
  switch (issue.code) {
    case 'invalid_type':
      return issue.input === undefined ? 'is required' : `must be ${article(issue.expected)}`;
    case 'invalid_value':
      return `must be one of: ${issue.values.map(String).join(', ')}`;
    case 'too_small':
      return issue.origin === 'array'
        ? `must have at least ${issue.minimum} entries`
        : issue.origin === 'string'
          ? `must be at least ${issue.minimum} characters`
          : `must be at least ${issue.minimum}`;
    case 'too_big':
      return issue.origin === 'array'
        ? `must have at most ${issue.maximum} entries`
        : issue.origin === 'string'
          ? `must be at most ${issue.maximum} characters`
          : `must be at most ${issue.maximum}`;
    default:
      return undefined;
  }
}

/** A schema message may start with the field's own name (`HoldUrl must be ...`): drop it. */
function withoutFieldName(message: string, path: readonly PropertyKey[]): string {
  const last = path[path.length - 1];
  const name = typeof last === 'string' ? `${last} ` : undefined;
  return name && message.startsWith(name) ? message.slice(name.length) : message;
}

/** The first zod issue as a ValidationError: `params.HoldUrl: must be an http:// or https:// URL`. */
export function issueToValidationError(
  schema: z.ZodType,
  issue: z.core.$ZodIssue,
  part: HttpPart,
): ValidationError {
  const where = fieldOf(issue.path);
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0] ?? '';
    const field = where ? `${where}.${key}` : key;
    const allowed = keysAt(schema, issue.path);
    return new ValidationError(
      `${field}: unknown field; allowed: ${allowed.length ? allowed.join(', ') : 'none'}`,
      field,
    );
  }
  const field = where || (part === 'querystring' ? 'query' : part);
  return new ValidationError(`${field}: ${withoutFieldName(issue.message, issue.path)}`, field);
}

/** Validates a request part with its zod schema; other schemas are not expected. */
export const zodValidatorCompiler: FastifySchemaCompiler<unknown> = ({ schema, httpPart }) => {
  if (!isZodSchema(schema)) {
    throw new Error(`route schema for ${httpPart ?? 'a request part'} must be a zod schema`);
  }
  return (data: unknown) => {
    const result = schema.safeParse(data, { error: defaultMessage });
    if (result.success) return { value: result.data };
    const issue = result.error.issues[0];
    const error = issue
      ? issueToValidationError(schema, issue, httpPart ?? 'body')
      : new ValidationError(`${httpPart ?? 'body'}: invalid`, httpPart);
    return { error };
  };
};

/** Responses are plain JSON; their schemas document them. */
export const jsonSerializerCompiler: FastifySerializerCompiler<unknown> = () => (data) =>
  JSON.stringify(data);

/** JSON Schema of a zod schema, as it is accepted on input. */
export function toJsonSchema(schema: z.ZodType): Record<string, unknown> {
  const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Record<
    string,
    unknown
  >;
  delete json.$schema;
  return json;
}

const SCHEMA_PARTS = ['body', 'querystring', 'params', 'headers'] as const;

/** Converts a route's zod schemas to JSON Schema for @fastify/swagger's `transform`. */
export function routeSchemaToJson(schema: FastifySchema): FastifySchema {
  const out: Record<string, unknown> = { ...schema };
  for (const part of SCHEMA_PARTS) {
    const value = schema[part];
    if (isZodSchema(value)) out[part] = toJsonSchema(value);
  }
  if (schema.response && typeof schema.response === 'object') {
    out.response = Object.fromEntries(
      Object.entries(schema.response as Record<string, unknown>).map(([code, value]) => {
        if (!isZodSchema(value)) return [code, value];
        const description = value.description ?? '';
        return [code, { ...toJsonSchema(value), description }];
      }),
    );
  }
  return out as FastifySchema;
}
