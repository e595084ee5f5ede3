// The Cognito service model of the repository (crates/api/model/cognito-idp.json), read here by
// code of its own: the operations the server serves (its dispatch table) and a check of a raw
// JSON response body against an operation's output shape (required members, types, enums, and
// no member the shape lacks). Used by cognito-api.test.js on every raw body the SDK receives.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './harness.js';

export const MODEL = JSON.parse(readFileSync(join(REPO_ROOT, 'crates/api/model/cognito-idp.json'), 'utf8'));

/** The operations of the dispatch table in crates/api/src/ops/mod.rs, in its order. */
export function servedOperations() {
  const source = readFileSync(join(REPO_ROOT, 'crates/api/src/ops/mod.rs'), 'utf8');
  const start = source.indexOf('match name {');
  const end = source.indexOf('_ =>', start);
  if (start < 0 || end < 0) throw new Error('no dispatch table in crates/api/src/ops/mod.rs');
  return [...source.slice(start, end).matchAll(/^\s*"(\w+)"\s*=>/gm)].map((m) => m[1]);
}

/** The name of operation `op`'s output shape, or null when it has none. */
export function outputShapeOf(op) {
  const operation = MODEL.operations[op];
  if (!operation) throw new Error(`${op} is not an operation of the model`);
  return operation.output ?? null;
}

const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);

/** What in `value` does not fit the model's shape `name`: a list of problems, empty if none. */
export function shapeProblems(name, value, path = 'output') {
  const shape = MODEL.shapes[name];
  if (!shape) return [`${path}: the model has no shape ${name}`];
  // A document (WebAuthn's options and credentials) is any JSON value.
  if (shape.document) return [];
  switch (shape.type) {
    case 'structure': {
      if (!isObject(value)) return [`${path}: not an object`];
      const members = shape.members ?? {};
      const problems = [];
      for (const m of Object.keys(value)) {
        if (!(m in members)) problems.push(`${path}.${m}: not in the model`);
      }
      for (const m of shape.required ?? []) {
        if (!(m in value)) problems.push(`${path}.${m}: required, missing`);
      }
      for (const [m, v] of Object.entries(value)) {
        if (m in members) problems.push(...shapeProblems(members[m].shape, v, `${path}.${m}`));
      }
      return problems;
    }
    case 'list':
      if (!Array.isArray(value)) return [`${path}: not a list`];
      return value.flatMap((v, i) => shapeProblems(shape.member.shape, v, `${path}[${i}]`));
    case 'map':
      if (!isObject(value)) return [`${path}: not a map`];
      return Object.entries(value).flatMap(([k, v]) => shapeProblems(shape.value.shape, v, `${path}.${k}`));
    case 'string':
      if (typeof value !== 'string') return [`${path}: ${JSON.stringify(value)} is not a string`];
      if (shape.enum && !shape.enum.includes(value)) {
        return [`${path}: ${JSON.stringify(value)} not one of ${shape.enum.join(', ')}`];
      }
      return [];
    case 'integer':
    case 'long':
      return Number.isInteger(value) ? [] : [`${path}: ${JSON.stringify(value)} is not a ${shape.type}`];
    case 'boolean':
      return typeof value === 'boolean' ? [] : [`${path}: ${JSON.stringify(value)} is not a boolean`];
    case 'timestamp':
      // AWS JSON 1.1 sends timestamps as epoch seconds.
      return typeof value === 'number' && Number.isFinite(value) ? [] : [`${path}: ${JSON.stringify(value)} is not a timestamp`];
    case 'blob':
      return typeof value === 'string' ? [] : [`${path}: ${JSON.stringify(value)} is not a base64 blob`];
    default:
      return [];
  }
}

/**
 * The problems of a raw 200 response body of operation `op`: the body must be JSON fitting the
 * output shape, or, for an operation without output, empty or `{}`.
 */
export function responseProblems(op, bodyText) {
  const output = outputShapeOf(op);
  let body;
  if (bodyText.trim() === '') {
    body = {};
  } else {
    try {
      body = JSON.parse(bodyText);
    } catch (e) {
      return [`the body is not JSON (${e.message}): ${bodyText.slice(0, 200)}`];
    }
  }
  if (output === null) {
    return isObject(body) && Object.keys(body).length === 0 ? [] : [`output: ${op} has no output, got ${bodyText.slice(0, 200)}`];
  }
  return shapeProblems(output, body);
}
