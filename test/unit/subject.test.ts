import * as assert from 'assert';
import { concreteSubjectProblem } from '../../src/core/subject';

describe('concreteSubjectProblem', () => {
  it('accepts concrete subjects', () => {
    for (const s of ['echo', 'orders.created', 'a.b.c-d_e', '$X.y']) {
      assert.strictEqual(concreteSubjectProblem(s), undefined, s);
    }
  });
  it('explains what is wrong', () => {
    assert.match(concreteSubjectProblem('')!, /empty/);
    assert.match(concreteSubjectProblem('a b')!, /whitespace/);
    assert.match(concreteSubjectProblem('a..b')!, /"\.\."/);
    assert.match(concreteSubjectProblem('.a')!, /start or end/);
    assert.match(concreteSubjectProblem('a.*')!, /wildcards/);
    assert.match(concreteSubjectProblem('a.>')!, /wildcards/);
  });
});
