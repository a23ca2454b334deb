/**
 * NATS subject rules, as nats-server applies them: tokens separated by '.', no empty token, no
 * whitespace. A concrete subject (what triggers a function) has no wildcard tokens.
 */

/** Returns why `subject` is not a concrete NATS subject, or undefined when it is one. */
export function concreteSubjectProblem(subject: string): string | undefined {
  if (subject.length === 0) {
    return 'the subject is empty';
  }
  if (/\s/.test(subject)) {
    return 'a NATS subject cannot contain spaces or other whitespace';
  }
  const tokens = subject.split('.');
  if (tokens.some((t) => t.length === 0)) {
    return 'a NATS subject cannot start or end with "." or contain ".."';
  }
  if (tokens.some((t) => t === '*' || t === '>')) {
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
