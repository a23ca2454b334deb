/**
 * NATS subject rules, as nats-server applies them: tokens separated by '.', no empty token, no
 * whitespace. A concrete subject (what triggers a function) has no wildcard tokens.
 */

/** The rules every subject follows: not empty, no whitespace, no empty token. */
function subjectSyntaxProblem(subject: string): string | undefined {
  if (subject.length === 0) {
    return 'the subject is empty';
  }
  if (/\s/.test(subject)) {
    return 'a NATS subject cannot contain spaces or other whitespace';
  }
  if (subject.split('.').some((t) => t.length === 0)) {
    return 'a NATS subject cannot start or end with "." or contain ".."';
  }
  return undefined;
}

/** Returns why `subject` is not a concrete NATS subject, or undefined when it is one. */
export function concreteSubjectProblem(subject: string): string | undefined {
  const syntax = subjectSyntaxProblem(subject);
  if (syntax) {
    return syntax;
  }
  if (subject.split('.').some((t) => t === '*' || t === '>')) {
    return 'a trigger is published on a concrete subject: wildcards "*" and ">" are only for subscriptions';
  }
  return undefined;
}

/** Whether `subject` matches `pattern`, with NATS wildcards: `*` one token, `>` one or more trailing tokens. */
export function subjectMatches(pattern: string, subject: string): boolean {
  const p = pattern.split('.');
  const s = subject.split('.');
  for (let i = 0; i < p.length; i++) {
    if (p[i] === '>') {
      return s.length > i;
    }
    if (i >= s.length || (p[i] !== '*' && p[i] !== s[i])) {
      return false;
    }
  }
  return p.length === s.length;
}

/** Subject spaces a function may not be triggered from: the server's, JetStream's and Nex's own. */
export const RESERVED_SUBJECT_PREFIXES = ['$SYS', '$JS', '$NEX'];

/** Returns why `subject` cannot be a trigger subject (wildcards allowed), or undefined when it can. */
export function triggerSubjectProblem(subject: string): string | undefined {
  const syntax = subjectSyntaxProblem(subject);
  if (syntax) {
    return syntax;
  }
  const tokens = subject.split('.');
  const full = tokens.indexOf('>');
  if (full >= 0 && full !== tokens.length - 1) {
    return '">" matches the rest of a subject, so it must be the last token';
  }
  if (tokens.some((t) => t.length > 1 && (t.includes('*') || t.includes('>')))) {
    return 'wildcards "*" and ">" must be whole tokens, e.g. "orders.*", not "orders.new*"';
  }
  if (RESERVED_SUBJECT_PREFIXES.includes(tokens[0])) {
    return `subjects under ${tokens[0]}.> belong to ${tokens[0] === '$SYS' ? 'the NATS server' : tokens[0] === '$JS' ? 'JetStream' : 'Nex itself'}: pick a subject of your own`;
  }
  return undefined;
}

/**
 * Whether two subjects (either may hold wildcards) can match the same message, as nats-server's
 * SubjectsCollide decides: token by token, `*` against any one token, `>` against the rest.
 */
export function subjectsCollide(a: string, b: string): boolean {
  const x = a.split('.');
  const y = b.split('.');
  for (let i = 0; ; i++) {
    const p = x[i];
    const q = y[i];
    if (p === undefined || q === undefined) {
      return p === q;
    }
    if (p === '>' || q === '>') {
      return true;
    }
    if (p !== '*' && q !== '*' && p !== q) {
      return false;
    }
  }
}

/** A Nex namespace: one NATS subject token (nodes read it from the control subjects' third token). */
export const NAMESPACE_PATTERN = /^[^\s.*>]+$/;

/** The namespace of the `nex` CLI and of a connection that names none (a Nex 0.4 node's own endpoints use `system`). */
export const DEFAULT_NAMESPACE = 'default';

/** Why `namespace` cannot be a Nex namespace, or undefined when it can. */
export function namespaceProblem(namespace: string): string | undefined {
  if (!NAMESPACE_PATTERN.test(namespace)) {
    return `"${namespace}" is not a namespace: a namespace is one subject token (no ".", "*", ">" or whitespace), e.g. "default"`;
  }
  return undefined;
}

/** Where a workload runs, for messages: nothing for the `default` namespace, " in the namespace X" for any other. */
export function inNamespace(namespace: string): string {
  return namespace === DEFAULT_NAMESPACE ? '' : ` in the namespace ${namespace}`;
}
