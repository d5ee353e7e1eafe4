// What a user types, checked before any request: Kubernetes names, and the numbers and
// durations of flags. The UIs pass the text through these; core's entry points check the
// values again, so that a bad value can never reach the cluster from any caller.
import { KdevError } from './errors.js';

/** RFC 1123 label: namespaces, containers, Services. */
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/** RFC 1123 subdomain: most object names (Deployments, Pods, Jobs, ...). */
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export type NameRule = 'label' | 'subdomain';

/** Why a name is not a valid Kubernetes name of the rule, or undefined when it is. */
export function nameProblem(name: string, rule: NameRule, maxLength = rule === 'label' ? 63 : 253): string | undefined {
  if (name.length === 0) return 'it is empty';
  if (name.length > maxLength) return `it is longer than ${maxLength} characters`;
  if (rule === 'label' ? !DNS_LABEL.test(name) : !DNS_SUBDOMAIN.test(name)) {
    return rule === 'label'
      ? 'it may hold only lower-case letters, digits and "-", and must start and end with a letter or digit'
      : 'it may hold only lower-case letters, digits, "-" and ".", and each dot-separated part must start and end with a letter or digit';
  }
  return undefined;
}

/** Throws INVALID unless `name` is a valid Kubernetes name; `what` says what it names ("deployment name"). */
export function checkName(what: string, name: string, rule: NameRule, maxLength?: number): void {
  const problem = nameProblem(name, rule, maxLength);
  if (problem) {
    throw new KdevError('INVALID', `"${name}" is not a valid ${what}: ${problem}`, 'Kubernetes names look like web, api-v2 or pr-123 (lower case).');
  }
}

/** A namespace name (an RFC 1123 label). */
export function checkNamespace(name: string): void {
  checkName('namespace name', name, 'label');
}

interface NumberRule {
  min?: number;
  max?: number;
  integer?: boolean;
}

function numberProblem(n: number, rule: NumberRule): string | undefined {
  if (!Number.isFinite(n)) return 'not a number';
  if (rule.integer && !Number.isInteger(n)) return 'not a whole number';
  if (rule.min !== undefined && n < rule.min) return rule.min > 0 && n <= 0 ? 'not a positive number' : `less than ${rule.min}`;
  if (rule.max !== undefined && n > rule.max) return `more than ${rule.max}`;
  return undefined;
}

/** A plain decimal number as typed: no hex, no exponent, no empty string. */
function decimal(text: string): number {
  return /^[+-]?(\d+(\.\d*)?|\.\d+)$/.test(text.trim()) ? Number(text) : NaN;
}

/**
 * A numeric flag ("--tail 50"): the number, or INVALID naming the flag and the text.
 * `expect` words the hint ("a positive number of seconds"); default: from the range.
 */
export function parseNumberFlag(flag: string, text: string | number, rule: NumberRule & { unit?: string; expect?: string } = {}): number {
  const n = typeof text === 'number' ? text : decimal(text);
  const problem = numberProblem(n, rule);
  if (problem) {
    const range = rule.min !== undefined && rule.max !== undefined ? ` from ${rule.min} to ${rule.max}` : rule.min !== undefined ? ` of at least ${rule.min}` : '';
    const expect = rule.expect ?? `${rule.integer ? 'a whole number' : 'a number'}${range}${rule.unit ? ` (${rule.unit})` : ''}`;
    throw new KdevError('INVALID', `${flag} ${String(text)}: ${problem}`, `Give ${flag} ${expect}.`);
  }
  return n;
}

/** Longest wait any flag accepts: a day. */
export const MAX_WAIT_SECONDS = 86_400;

/** A "--timeout <seconds>" flag, in milliseconds: a positive number of seconds, at most a day. */
export function parseSecondsFlag(flag: string, text: string | number): number {
  const s = parseNumberFlag(flag, text, { min: 0.001, max: MAX_WAIT_SECONDS, expect: `a positive number of seconds, at most ${MAX_WAIT_SECONDS} (e.g. 180)` });
  return Math.round(s * 1000);
}

/** A TCP port flag or argument. */
export function parsePortFlag(flag: string, text: string | number): number {
  return parseNumberFlag(flag, text, { integer: true, min: 1, max: 65535 });
}

/** A count flag ("--tail 50"): a whole number, at least `min` (default 0). */
export function parseCountFlag(flag: string, text: string | number, min = 0): number {
  return parseNumberFlag(flag, text, { integer: true, min });
}

/** Core's own guard of a timeout passed in milliseconds (the UIs parse the flag first). */
export function checkTimeoutMs(what: string, ms: number | undefined): void {
  if (ms === undefined) return;
  if (!Number.isFinite(ms) || ms <= 0 || ms > MAX_WAIT_SECONDS * 1000) {
    throw new KdevError('INVALID', `${what}: ${String(ms)} ms is not a valid timeout`, `Give a positive number of seconds, at most ${MAX_WAIT_SECONDS}.`);
  }
}
