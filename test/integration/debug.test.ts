/**
 * Debugging a JavaScript function on V8 under VS Code's JavaScript debugger: breakpoints, a trigger
 * case from CodeLens, a "nex" launch configuration, stopping a runaway function, and WebAssembly
 * functions (not debugged). Inside the real extension host of VS Code (code-server), against
 * test/fixtures/workspace.
 */
import * as assert from 'assert';
import * as path from 'path';
import * as vscode from 'vscode';
import type { NexTestApi } from '../../src/vscode/extension';
import { freshApi, ScriptedUi, workspaceDir } from './support';

describe('Debugging a JavaScript function on V8', () => {
  let api: NexTestApi;

  before(async () => {
    api = await freshApi();
  });

  /** Waits for the next "stopped" event of any debug session, and gives the session and its top frame. */
  const nextStop = () =>
    new Promise<{ session: vscode.DebugSession; threadId: number }>((resolve) => {
      const registration = vscode.debug.registerDebugAdapterTrackerFactory('*', {
        createDebugAdapterTracker: (session) => ({
          onDidSendMessage: (message: { type: string; event?: string; body?: { threadId: number; reason: string } }) => {
            if (message.type === 'event' && message.event === 'stopped' && message.body?.reason !== 'entry') {
              registration.dispose();
              resolve({ session, threadId: message.body!.threadId });
            }
          },
        }),
      });
    });
  const topFrame = async (session: vscode.DebugSession, threadId: number) => {
    const trace = (await session.customRequest('stackTrace', { threadId, startFrame: 0, levels: 1 })) as { stackFrames: Array<{ id: number; line: number; source?: { path?: string } }> };
    return trace.stackFrames[0];
  };
  const withTimeout = <T>(p: Promise<T>, what: string, ms = 20000) =>
    Promise.race([p, new Promise<T>((_r, reject) => setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms))]);
  let breakpoint: vscode.SourceBreakpoint;
  const counterJs = () => path.join(workspaceDir(), 'counter', 'counter.js');

  beforeEach(async () => {
    api.setUi(new ScriptedUi([]));
    await api.hostServices.receive(path.join(workspaceDir(), 'counter'), { type: 'mocks.reset' });
    // counter.js line 15: "count += 1;", after the KV read.
    breakpoint = new vscode.SourceBreakpoint(new vscode.Location(vscode.Uri.file(counterJs()), new vscode.Position(14, 0)));
    vscode.debug.addBreakpoints([breakpoint]);
  });
  afterEach(async () => {
    vscode.debug.removeBreakpoints([breakpoint]);
    for (let i = 0; i < 50 && vscode.debug.activeDebugSession; i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
  });

  it('stops at a breakpoint in the function\'s file, evaluates a variable, continues to the reply; the panel shows the host calls', async function () {
    this.timeout(60000);
    const stop = nextStop();
    const t0 = Date.now();
    const running = vscode.commands.executeCommand<{ outcome: { reply: Uint8Array | null; error?: unknown; hostCalls: Array<{ service: string; method: string }> } }>('nex.debugFunction', {
      function: path.join(workspaceDir(), 'counter'),
      subject: 'counter.hit',
      payload: 'x',
    });
    const { session, threadId } = await withTimeout(stop, 'the breakpoint');
    console.log(`      (measured: Debug Function to the first breakpoint hit in ${Date.now() - t0} ms)`);
    const frame = await topFrame(session, threadId);
    assert.strictEqual(frame.line, 15, 'stopped on the breakpoint line');
    // js-debug names the source by a vscode-remote: URI in code-server, by its path on the desktop.
    const sourcePath = frame.source?.path ?? '';
    assert.strictEqual(sourcePath.includes('://') ? vscode.Uri.parse(sourcePath).fsPath : sourcePath, counterJs(), 'in the user\'s own file');
    const evaluated = (await session.customRequest('evaluate', { expression: 'count', frameId: frame.id, context: 'watch' })) as { result: string };
    assert.strictEqual(evaluated.result, '41', 'the value read from the mock KV');
    const subject = (await session.customRequest('evaluate', { expression: 'typeof process + "," + typeof setTimeout + "," + subject + "," + payload.length', frameId: frame.id, context: 'watch' })) as { result: string };
    // (js-debug's own evaluations may offer require; the function never sees it: see the engine unit tests)
    assert.strictEqual(subject.result, "'undefined,undefined,counter.hit,1'", 'the globals a node gives, the subject and the payload');
    await session.customRequest('continue', { threadId });
    const result = (await withTimeout(Promise.resolve(running), 'the reply'))!;
    assert.strictEqual(result.outcome.error, undefined, JSON.stringify(result.outcome.error));
    assert.deepStrictEqual(JSON.parse(Buffer.from(result.outcome.reply!).toString()), { subject: 'counter.hit', count: 42 });
    const out = api.outputLines().join('\n');
    assert.match(out, /Debugging counter on V8 with subject "counter\.hit"/);
    assert.match(out, /host kv\.get\(bucket="hs_default_counter_kv" key="counter_hit"\) → 41/);
    const panel = api.hostServices.snapshot(path.join(workspaceDir(), 'counter'))!;
    assert.deepStrictEqual(
      panel.calls.slice(-3).map((c) => `${c.service}.${c.method}`),
      ['kv.get', 'kv.set', 'messaging.publish'],
      'the calls made while debugging are in the host-services panel',
    );
    assert.strictEqual(panel.kv.find((e) => e.key === 'counter_hit')?.value.text, '42', 'the KV write reached the panel\'s state');
  });

  it('debugs a trigger case from its CodeLens command: the case passes after continuing', async function () {
    this.timeout(60000);
    const id = api.testing.caseIds().find((c) => c.includes('counter') && c.includes('counts on from the mocks'))!;
    assert.ok(id, JSON.stringify(api.testing.caseIds()));
    const stop = nextStop();
    const running = vscode.commands.executeCommand<{ status: string; failures: string[] }>('nex.debugTriggerCase', id);
    const { session, threadId } = await withTimeout(stop, 'the breakpoint');
    assert.strictEqual((await topFrame(session, threadId)).line, 15);
    await session.customRequest('continue', { threadId });
    const result = (await withTimeout(Promise.resolve(running), 'the case result'))!;
    assert.strictEqual(result.status, 'passed', result.failures.join('; '));
  });

  it('starts from a "nex" launch configuration (F5) with a trigger case', async function () {
    this.timeout(60000);
    const stop = nextStop();
    const id = api.testing.caseIds().find((c) => c.includes('counter') && c.includes('counts on from the mocks'))!;
    const before = api.testing.results().get(id);
    const started = await vscode.debug.startDebugging(vscode.workspace.workspaceFolders![0], {
      type: 'nex',
      request: 'launch',
      name: 'Debug counter',
      function: 'counter',
      triggerCase: 'triggers/basic.json#counts on from the mocks',
    });
    assert.strictEqual(started, false, 'the nex configuration itself starts no session: the node session of the run does');
    const { session, threadId } = await withTimeout(stop, 'the breakpoint');
    assert.strictEqual((await topFrame(session, threadId)).line, 15);
    await session.customRequest('continue', { threadId });
    for (let i = 0; i < 100 && api.testing.results().get(id) === before; i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    const result = api.testing.results().get(id);
    assert.notStrictEqual(result, before, 'the case ran again');
    assert.strictEqual(result?.status, 'passed', JSON.stringify(result?.failures));
  });

  it('stops a runaway function from the debug toolbar: the run says so, and no process is left', async function () {
    this.timeout(60000);
    const sessionStarted = new Promise<vscode.DebugSession>((resolve) => {
      const sub = vscode.debug.onDidStartDebugSession((s) => {
        if (s.configuration.program?.endsWith('v8Runner.js')) {
          sub.dispose();
          resolve(s);
        }
      });
    });
    const running = vscode.commands.executeCommand<{ outcome: { error?: { kind: string; message: string } } }>('nex.debugFunction', {
      function: path.join(workspaceDir(), 'endless-loop'),
      subject: 'loop.forever',
      payload: '',
    });
    const session = await withTimeout(sessionStarted, 'the debug session');
    await new Promise((r) => setTimeout(r, 1500)); // well into the loop
    await vscode.debug.stopDebugging(session);
    const result = (await withTimeout(Promise.resolve(running), 'the end of the run'))!;
    assert.strictEqual(result.outcome.error?.kind, 'cancelled', JSON.stringify(result.outcome.error));
    assert.match(result.outcome.error!.message, /the debug session ended before the function returned/);
    const { execFileSync } = require('child_process') as typeof import('child_process');
    let left = '';
    for (let i = 0; i < 50; i++) {
      try {
        left = execFileSync('pgrep', ['-af', 'dist/v8Runner.js'], { encoding: 'utf8' }).trim();
      } catch {
        left = ''; // pgrep exits 1 when nothing matches
      }
      if (!left) {
        break;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.strictEqual(left, '', 'no V8 runner process is left');
  });

  it('explains that WebAssembly functions are not debugged, and offers to run instead', async () => {
    const ui = new ScriptedUi([]);
    api.setUi(ui);
    const result = await vscode.commands.executeCommand('nex.debugFunction', { function: path.join(workspaceDir(), 'wasm-echo'), subject: 'a.b', payload: 'x' });
    assert.strictEqual(result, undefined);
    assert.ok(ui.shown.some((m) => /WebAssembly function: debugging with breakpoints is for JavaScript functions/.test(m)), ui.shown.join('\n'));
  });
});
