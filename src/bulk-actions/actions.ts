/**
 * What each bulk action sends: the operation (`update` = POST the parameters, `remove` =
 * DELETE the participant), the parameters the action fixes, the ones a caller must or may
 * add, and the participants it implicitly applies to.
 */
import { ValidationError } from '../errors.js';
import { UPDATE_PARAM_NAMES, type UpdateParticipantParams } from '../signalwire/types.js';
import type { BulkActionName } from '../types.js';

export type UpdateParamName = keyof UpdateParticipantParams;

export interface BulkActionDefinition {
  op: 'update' | 'remove';
  /** Parameters the action always sends; a caller may not give them. */
  fixed: UpdateParticipantParams;
  /** Parameters a caller must give. */
  required: readonly UpdateParamName[];
  /** Parameters a caller may give. */
  optional: readonly UpdateParamName[];
  /** Only participants in this state are targeted (the API's list filter). */
  impliedFilter?: { hold?: boolean };
}

export const BULK_ACTIONS: Readonly<Record<BulkActionName, BulkActionDefinition>> = {
  mute: { op: 'update', fixed: { Muted: true }, required: [], optional: [] },
  unmute: { op: 'update', fixed: { Muted: false }, required: [], optional: [] },
  hold: { op: 'update', fixed: { Hold: true }, required: [], optional: ['HoldUrl', 'HoldMethod'] },
  unhold: { op: 'update', fixed: { Hold: false }, required: [], optional: [] },
  // Changing the music of participants not on hold would do nothing audible and cost a request each.
  'hold-music': {
    op: 'update',
    fixed: {},
    required: ['HoldUrl'],
    optional: ['HoldMethod'],
    impliedFilter: { hold: true },
  },
  'wait-music': { op: 'update', fixed: {}, required: ['WaitUrl'], optional: ['WaitMethod'] },
  announce: { op: 'update', fixed: {}, required: ['AnnounceUrl'], optional: ['AnnounceMethod'] },
  coach: { op: 'update', fixed: { Coaching: true }, required: ['CallSidToCoach'], optional: [] },
  remove: { op: 'remove', fixed: {}, required: [], optional: [] },
  update: { op: 'update', fixed: {}, required: [], optional: UPDATE_PARAM_NAMES },
};

/** A method parameter is meaningless without the URL it describes. */
const METHOD_OF_URL: Partial<Record<UpdateParamName, UpdateParamName>> = {
  HoldMethod: 'HoldUrl',
  AnnounceMethod: 'AnnounceUrl',
  WaitMethod: 'WaitUrl',
};

export interface ResolvedAction {
  op: 'update' | 'remove';
  /** Exactly what is sent to every participant. */
  params: UpdateParticipantParams;
}

function allowedList(def: BulkActionDefinition): string {
  const allowed = [...def.required, ...def.optional];
  return allowed.length ? allowed.join(', ') : 'none';
}

/**
 * Maps an action and the caller's parameters (already type-checked) to what is sent.
 * @throws ValidationError naming the parameter and the ones the action allows.
 */
export function resolveAction(
  action: BulkActionName,
  given: UpdateParticipantParams = {},
): ResolvedAction {
  const def = BULK_ACTIONS[action];
  const allowed = new Set<UpdateParamName>([...def.required, ...def.optional]);
  for (const name of Object.keys(given) as UpdateParamName[]) {
    if (given[name] === undefined) continue;
    if (!allowed.has(name)) {
      const why = name in def.fixed ? ` (the action sets it itself)` : '';
      throw new ValidationError(
        `params.${name}: not allowed for action '${action}'${why}; allowed parameters: ${allowedList(def)}`,
        `params.${name}`,
      );
    }
    const url = METHOD_OF_URL[name];
    if (url && given[url] === undefined) {
      throw new ValidationError(`params.${name}: needs params.${url}`, `params.${name}`);
    }
  }
  for (const name of def.required) {
    if (given[name] === undefined) {
      throw new ValidationError(`params.${name}: required by action '${action}'`, `params.${name}`);
    }
  }
  const params: UpdateParticipantParams = { ...stripUndefined(given), ...def.fixed };
  if (action === 'update' && Object.keys(params).length === 0) {
    throw new ValidationError(
      `params: action 'update' needs at least one of ${UPDATE_PARAM_NAMES.join(', ')}`,
      'params',
    );
  }
  if (params.Coaching === true && params.CallSidToCoach === undefined) {
    throw new ValidationError(
      'params.CallSidToCoach: required when Coaching is true',
      'params.CallSidToCoach',
    );
  }
  return { op: def.op, params: def.op === 'remove' ? {} : params };
}

function stripUndefined(params: UpdateParticipantParams): UpdateParticipantParams {
  return Object.fromEntries(
    Object.entries(params).filter(([, v]) => v !== undefined),
  ) as UpdateParticipantParams;
}
