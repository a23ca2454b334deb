/** The "Functions" view: one node per function, its problems as children when it has any. */
import * as path from 'path';
import {
  commands as Commands,
  Disposable,
  Event,
  EventEmitter,
  MarkdownString,
  ThemeColor,
  ThemeIcon,
  TreeDataProvider,
  TreeItem,
  TreeItemCollapsibleState,
  Uri,
  window as Window,
  workspace as Workspace,
} from 'vscode';
import { FunctionDefinition, isValid, ValidFunction } from '../../core/manifest';
import { driftNotes, triggerDrift } from '../../explorer/deployDrift';
import { localArtifactHash } from '../../deploy/artifactStore';
import { FileProblem } from '../../core/problems';
import { deployedFunctions, DeployedSnapshot, DeployedTriggers, nodeLabel } from '../../explorer/deployedModel';
import { triggerOverlaps } from '../../explorer/subjectRouting';
import { caseCountText } from '../../triggers/caseReport';
import type { FunctionCaseSummary, TriggerFileSummary } from '../../triggers/caseResults';
import { FunctionCatalog } from '../functionCatalog';
import { DisposableObject } from '../lifecycle';
import { DEFAULT_NAMESPACE } from '../../core/subject';

/** Where a function's triggers overlap another function's: one per other function. */
export interface TriggerOverlap {
  /** The other function's name. */
  other: string;
  /** The colliding triggers: this function's, the other's. */
  pairs: Array<[mine: string, theirs: string]>;
  /** The other is a workspace function. */
  local: boolean;
  /** The nodes (names, else ids) where a workload of the other name with colliding triggers runs. */
  deployedOn: string[];
}

/** What the Deployed view adds to a function: where it is deployed, and whose triggers overlap its own. */
export interface FunctionMarks {
  /** How many nodes run a workload of its name; absent when not deployed (or not connected). */
  deployedNodes?: number;
  /** The names (else ids) of those nodes. */
  deployedOn?: string[];
  /** How deployed copies differ from the local function: "local changes not deployed", "triggers changed, not deployed (+a.*)". */
  drift?: string[];
  /** The namespaces other than "default" it is deployed in. */
  namespaces?: string[];
  overlaps?: TriggerOverlap[];
}

export class FunctionNode {
  constructor(
    readonly definition: FunctionDefinition,
    readonly marks: FunctionMarks = {},
    /** Its trigger files and their cases' last results; undefined when it has none. */
    readonly cases?: FunctionCaseSummary,
  ) {}

  toTreeItem(): TreeItem {
    const def = this.definition;
    const name = def.manifest?.name ?? path.basename(def.dir);
    const hasChildren = !isValid(def) || (def.manifest.triggers?.length ?? 0) > 0 || (this.marks.overlaps?.length ?? 0) > 0 || (this.cases?.files.length ?? 0) > 0;
    const item = new TreeItem(name, hasChildren ? TreeItemCollapsibleState.Expanded : TreeItemCollapsibleState.None);
    item.id = def.dir;
    item.resourceUri = Uri.file(def.dir);
    if (isValid(def)) {
      const m = def.manifest;
      const kind = m.type === 'v8' ? 'JavaScript' : 'WebAssembly';
      const profile = m.compat && m.compat !== 'docs' ? ` · Nex ${m.compat}` : '';
      const nodes = this.marks.deployedNodes ?? 0;
      const inNamespaces = this.marks.namespaces?.length ? ` in ${this.marks.namespaces.join(', ')}` : '';
      const deployed = (nodes > 1 ? ` · deployed on ${nodes} nodes${inNamespaces}` : nodes === 1 ? ` · deployed${inNamespaces}` : '') + (this.marks.drift ? ` (${this.marks.drift.join('; ')})` : '');
      const cases = this.cases ? ` · ${caseCountText(this.cases)}` : '';
      item.description = `${kind} · ${m.type === 'v8' ? m.source : m.artifact}${profile}${cases}${deployed}`;
      item.iconPath = new ThemeIcon(m.type === 'v8' ? 'symbol-function' : 'file-binary');
      item.contextValue = `nexFunction.${m.type}`;
      // A wasm function opens its manifest: the artifact is binary, the sources are the build's.
      item.command = { title: 'Open', command: 'vscode.open', arguments: [Uri.file(def.sourcePath ?? def.manifestPath)] };
      const where = nodes > 0 ? `\n\nDeployed on ${this.marks.deployedOn!.join(', ')}` : '';
      item.tooltip = new MarkdownString(`**${name}** (${kind}, workload type \`${m.type}\`)${m.description ? `\n\n${m.description}` : ''}${where}\n\n${def.dir}`);
    } else {
      item.description = 'invalid manifest';
      item.iconPath = new ThemeIcon('error', new ThemeColor('problemsErrorIcon.foreground'));
      item.contextValue = 'nexFunction.invalid';
      item.command = { title: 'Open Manifest', command: 'vscode.open', arguments: [Uri.file(def.manifestPath)] };
      item.tooltip = def.problems.map((p) => p.message).join('\n');
    }
    return item;
  }
}

export class ProblemNode {
  constructor(readonly problem: FileProblem) {}

  toTreeItem(): TreeItem {
    const p = this.problem;
    const item = new TreeItem(p.field ? `${p.field}: ${p.message}` : p.message, TreeItemCollapsibleState.None);
    item.iconPath = new ThemeIcon('warning', new ThemeColor('problemsWarningIcon.foreground'));
    item.tooltip = `${path.basename(p.file)}${p.line ? `:${p.line}` : ''}: ${p.message}`;
    item.contextValue = 'nexProblem';
    const line = Math.max(0, (p.line ?? 1) - 1);
    item.command = { title: 'Show Problem', command: 'vscode.open', arguments: [Uri.file(p.file), { selection: { start: { line, character: 0 }, end: { line, character: 0 } } }] };
    return item;
  }
}

/** A warning under a function: its triggers overlap another function's, so one message runs both. */
export class OverlapNode {
  constructor(
    readonly definition: ValidFunction,
    readonly overlap: TriggerOverlap,
  ) {}

  toTreeItem(): TreeItem {
    const o = this.overlap;
    const where = [o.local ? 'local' : '', o.deployedOn.length > 0 ? `deployed on ${o.deployedOn.join(', ')}` : ''].filter(Boolean).join(', ');
    const item = new TreeItem(`triggers overlap ${o.other} (${where})`, TreeItemCollapsibleState.None);
    item.id = `${this.definition.dir}#overlap:${o.other}`;
    item.description = o.pairs.map(([mine, theirs]) => (mine === theirs ? mine : `${mine} ↔ ${theirs}`)).join(', ');
    item.iconPath = new ThemeIcon('warning', new ThemeColor('problemsWarningIcon.foreground'));
    item.tooltip = `A message that matches ${o.pairs.map(([mine, theirs]) => `${mine} and ${theirs}`).join(', or ')} triggers both ${this.definition.manifest.name} and ${o.other} (${where}): every subscriber gets it.`;
    item.contextValue = 'nexTriggerOverlap';
    item.command = { title: 'Open Manifest', command: 'vscode.open', arguments: [Uri.file(this.definition.manifestPath)] };
    return item;
  }
}

/** A trigger subject of a function. */
export class TriggerNode {
  constructor(
    readonly definition: ValidFunction,
    readonly subject: string,
  ) {}

  toTreeItem(): TreeItem {
    const item = new TreeItem(this.subject, TreeItemCollapsibleState.None);
    item.id = `${this.definition.dir}#trigger:${this.subject}`;
    item.iconPath = new ThemeIcon(/[*>]/.test(this.subject) ? 'symbol-namespace' : 'symbol-event');
    item.description = /[*>]/.test(this.subject) ? 'trigger (wildcard)' : 'trigger';
    item.tooltip = `Messages on ${this.subject} trigger ${this.definition.manifest.name}`;
    item.contextValue = 'nexTrigger';
    return item;
  }
}

/** A trigger file of a function, with how its cases stand; runs them from its inline action. */
export class CaseFileNode {
  /** The function folder and the file, as "Run Trigger Cases" takes them. */
  readonly function: string;
  readonly file: string;

  constructor(
    readonly definition: ValidFunction,
    readonly summary: TriggerFileSummary,
  ) {
    this.function = definition.dir;
    this.file = summary.file;
  }

  toTreeItem(): TreeItem {
    const s = this.summary;
    const item = new TreeItem(path.basename(s.file), TreeItemCollapsibleState.None);
    item.id = `${this.definition.dir}#cases:${s.file}`;
    item.resourceUri = Uri.file(s.file);
    item.description = caseCountText(s);
    const [icon, color] = s.failed > 0 || s.problems > 0 ? ['error', 'testing.iconFailed'] : s.cases > 0 && s.passed === s.cases ? ['pass', 'testing.iconPassed'] : ['beaker', undefined];
    item.iconPath = new ThemeIcon(icon, color ? new ThemeColor(color) : undefined);
    item.tooltip = `${path.relative(this.definition.dir, s.file)}: ${caseCountText(s)}${s.cases > 0 && s.passed + s.failed < s.cases ? ` (${s.cases - s.passed - s.failed} not run yet)` : ''}`;
    item.contextValue = 'nexCaseFile';
    item.command = { title: 'Open', command: 'vscode.open', arguments: [Uri.file(s.file)] };
    return item;
  }
}

export type FunctionsViewNode = FunctionNode | ProblemNode | OverlapNode | TriggerNode | CaseFileNode;

/** What the Functions view needs of the trigger cases: each function's summary, and when they change. */
export interface CaseSource {
  functionCases(def: FunctionDefinition): FunctionCaseSummary | undefined;
  readonly onDidChangeCases: Event<void>;
}

/** What the Functions view needs of the Deployed view: the nodes it shows now, and when that changes. */
export interface DeployedSource {
  readonly snapshot: DeployedSnapshot | undefined;
  readonly onDidChange: Event<DeployedSnapshot | undefined>;
}

/** A node as a mark names it: its node_name, else the start of its id. */

/** The marks of every valid function: where it is deployed, and the overlaps of its triggers. */
export function functionMarks(functions: readonly FunctionDefinition[], snapshot: DeployedSnapshot | undefined): Map<string, FunctionMarks> {
  const valid = functions.filter(isValid);
  const marks = new Map<string, FunctionMarks>(valid.map((f) => [f.dir, {}]));
  const overlapsOf = new Map<string, Map<string, TriggerOverlap>>();
  const overlap = (fn: ValidFunction, other: string): TriggerOverlap => {
    const byOther = overlapsOf.get(fn.dir) ?? new Map<string, TriggerOverlap>();
    overlapsOf.set(fn.dir, byOther);
    const found = byOther.get(other) ?? { other, pairs: [], local: false, deployedOn: [] };
    byOther.set(other, found);
    return found;
  };
  const addPair = (o: TriggerOverlap, mine: string, theirs: string) => {
    if (!o.pairs.some(([a, b]) => a === mine && b === theirs)) {
      o.pairs.push([mine, theirs]);
    }
  };
  const deployed: DeployedTriggers[] = snapshot ? deployedFunctions(snapshot) : [];
  const found = triggerOverlaps(valid, deployed);
  for (const { first, second } of found.local) {
    const a = overlap(first.fn, second.fn.manifest.name);
    a.local = true;
    addPair(a, first.trigger, second.trigger);
    const b = overlap(second.fn, first.fn.manifest.name);
    b.local = true;
    addPair(b, second.trigger, first.trigger);
  }
  for (const { local, deployed: d } of found.deployed) {
    const o = overlap(local.fn, d.fn.name);
    addPair(o, local.trigger, d.trigger);
    if (!o.deployedOn.includes(nodeLabel(d.fn.nodeName, d.fn.node))) {
      o.deployedOn.push(nodeLabel(d.fn.nodeName, d.fn.node));
    }
  }
  for (const fn of valid) {
    const m = marks.get(fn.dir)!;
    const nodes = (snapshot?.nodes ?? []).filter((n) => n.workloads.some((w) => w.name === fn.manifest.name));
    if (nodes.length > 0) {
      m.deployedNodes = nodes.length;
      m.deployedOn = nodes.map((n) => nodeLabel(n.name, n.id));
      const copies = nodes.flatMap((n) => n.workloads.filter((w) => w.name === fn.manifest.name));
      const namespaces = [...new Set(copies.map((w) => w.namespace))].filter((ns) => ns !== DEFAULT_NAMESPACE);
      if (namespaces.length > 0) {
        m.namespaces = namespaces;
      }
      const local = localArtifactHash(fn);
      const notes = [...new Set(copies.flatMap((w) => driftNotes({ sourceChanged: local !== undefined && w.hash !== local, triggers: triggerDrift(w.triggers, fn.manifest.triggers) })))];
      if (notes.length > 0) {
        m.drift = notes;
      }
    }
    const overlaps = [...(overlapsOf.get(fn.dir)?.values() ?? [])];
    if (overlaps.length > 0) {
      m.overlaps = overlaps.sort((x, y) => x.other.localeCompare(y.other));
    }
  }
  return marks;
}

export class FunctionsViewProvider implements TreeDataProvider<FunctionsViewNode>, Disposable {
  private readonly changed = new EventEmitter<void>();
  readonly onDidChangeTreeData: Event<void> = this.changed.event;
  private readonly subscriptions: Disposable[];
  /** The marks the tree shows, as JSON: a deployed change that leaves them as they are (an uptime, a heartbeat) redraws nothing. */
  private shownMarks = '';

  constructor(
    private readonly catalog: FunctionCatalog,
    private readonly deployed?: DeployedSource,
    private readonly cases?: CaseSource,
  ) {
    this.subscriptions = [this.changed, catalog.onDidChange(() => this.changed.fire())];
    if (cases) {
      this.subscriptions.push(cases.onDidChangeCases(() => this.changed.fire()));
    }
    if (deployed) {
      this.subscriptions.push(
        deployed.onDidChange((snapshot) => {
          if (JSON.stringify([...functionMarks(catalog.functions, snapshot)]) !== this.shownMarks) {
            this.changed.fire();
          }
        }),
      );
    }
  }

  dispose(): void {
    this.subscriptions.forEach((d) => d.dispose());
  }

  getTreeItem(node: FunctionsViewNode): TreeItem {
    return node.toTreeItem();
  }

  getChildren(node?: FunctionsViewNode): FunctionsViewNode[] {
    if (!node) {
      const marks = functionMarks(this.catalog.functions, this.deployed?.snapshot);
      this.shownMarks = JSON.stringify([...marks]);
      return this.catalog.functions.map((f) => new FunctionNode(f, marks.get(f.dir), isValid(f) ? this.cases?.functionCases(f) : undefined));
    }
    if (node instanceof FunctionNode) {
      const def = node.definition;
      return isValid(def)
        ? [
            ...(node.marks.overlaps ?? []).map((o) => new OverlapNode(def, o)),
            ...(def.manifest.triggers ?? []).map((t) => new TriggerNode(def, t)),
            ...(node.cases?.files ?? []).map((f) => new CaseFileNode(def, f)),
          ]
        : def.problems.map((p) => new ProblemNode(p));
    }
    return [];
  }
}

/** The "Functions" tree view and its context keys; in Restricted Mode it says why nothing runs. */
export class FunctionsView extends DisposableObject {
  /** The tree's provider (the test API reads what it shows). */
  readonly provider: FunctionsViewProvider;

  /**
   * @param deployed the Deployed view, for the marks of deployed functions and overlapping triggers
   * @param cases the trigger cases, for each function's case summary and its case files
   */
  constructor(catalog: FunctionCatalog, deployed?: DeployedSource, cases?: CaseSource) {
    super();
    const provider = this.register(new FunctionsViewProvider(catalog, deployed, cases));
    this.provider = provider;
    const view = this.register(Window.createTreeView('nex.functions', { treeDataProvider: provider, showCollapseAll: false }));
    // An empty view shows its welcome content instead of a message.
    const explainTrust = () => {
      view.message =
        Workspace.isTrusted || catalog.functions.length === 0
          ? undefined
          : 'Restricted Mode: functions are listed but do not run, on save or otherwise, until you trust this workspace (Manage Workspace Trust in the Command Palette).';
    };
    this.register(Workspace.onDidGrantWorkspaceTrust(explainTrust));
    this.register(catalog.onDidChange(explainTrust));
    // Context keys for the view's welcome content and menus.
    this.register(
      catalog.onDidChange(() => {
        void Commands.executeCommand('setContext', 'nex.functionsLoaded', catalog.loaded);
        void Commands.executeCommand('setContext', 'nex.functionCount', catalog.functions.length);
      }),
    );
  }
}

