/**
 * `--set Param=Value` for dead-letter replays: one update parameter in the API's spelling,
 * checked as the API checks it.
 */
import { ValidationError } from '../errors.js';
import { updateParamsSchema } from '../jobs/participant-job.js';
import { UPDATE_PARAM_NAMES, type UpdateParticipantParams } from '../signalwire/types.js';

type ParamName = (typeof UPDATE_PARAM_NAMES)[number];

const BOOLEAN_PARAMS: ReadonlySet<ParamName> = new Set(['Muted', 'Hold', 'Coaching']);
const METHOD_PARAMS: ReadonlySet<ParamName> = new Set([
  'HoldMethod',
  'AnnounceMethod',
  'WaitMethod',
]);

function isParamName(name: string): name is ParamName {
  return (UPDATE_PARAM_NAMES as readonly string[]).includes(name);
}

function typedValue(name: ParamName, raw: string): unknown {
  if (BOOLEAN_PARAMS.has(name)) {
    if (raw === 'true') return true;
    if (raw === 'false') return false;
    throw new ValidationError(`--set ${name} must be true or false; got '${raw}'`, name);
  }
  if (METHOD_PARAMS.has(name)) return raw.toUpperCase();
  return raw;
}

/**
 * Parses `Param=Value` into one typed parameter, e.g. `HoldUrl=https://...` or `Muted=false`.
 * Rules that involve two parameters (Coaching needs CallSidToCoach) are checked when the
 * replayed job is validated as a whole.
 * @throws ValidationError naming the allowed parameters or what the value must be.
 */
export function parseSetOption(text: string): Partial<UpdateParticipantParams> {
  const eq = text.indexOf('=');
  const name = eq > 0 ? text.slice(0, eq).trim() : '';
  if (!name) {
    throw new ValidationError(
      `--set must look like Param=Value (e.g. HoldUrl=https://example.com/music.mp3); got '${text}'`,
      'set',
    );
  }
  if (!isParamName(name)) {
    throw new ValidationError(
      `--set: unknown parameter '${name}'; allowed parameters are: ${UPDATE_PARAM_NAMES.join(', ')}`,
      'set',
    );
  }
  const candidate = { [name]: typedValue(name, text.slice(eq + 1).trim()) };
  const parsed = updateParamsSchema.safeParse(candidate);
  const issue = parsed.success ? undefined : parsed.error.issues.find((i) => i.path[0] === name);
  if (issue) throw new ValidationError(`--set ${name}: ${issue.message}`, name);
  // The schema's output: SIDs (CallSidToCoach) in their canonical spelling.
  const value = parsed.success ? (parsed.data as Record<string, unknown>)[name] : candidate[name];
  return { [name]: value } as Partial<UpdateParticipantParams>;
}

/**
 * Parses several `--set` options into one object.
 * @throws ValidationError when a parameter is given twice (which one was meant is unclear).
 */
export function parseSetOptions(texts: readonly string[]): Partial<UpdateParticipantParams> {
  const merged: Record<string, unknown> = {};
  for (const text of texts) {
    for (const [name, value] of Object.entries(parseSetOption(text))) {
      if (name in merged) {
        throw new ValidationError(
          `--set ${name} is given twice (${JSON.stringify(merged[name])} and ${JSON.stringify(value)}); give it once`,
          name,
        );
      }
      merged[name] = value;
    }
  }
  return merged as Partial<UpdateParticipantParams>;
}
