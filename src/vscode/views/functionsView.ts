/** The "Functions" view: one node per function, its problems as children when it has any. */
import * as path from 'path';
import {
  commands as Commands,
  Event,
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
import { FileProblem } from '../../core/problems';
import { FunctionCatalog } from '../functionCatalog';
import { DisposableObject } from '../lifecycle';

export class FunctionNode {
  constructor(readonly definition: FunctionDefinition) {}

  toTreeItem(): TreeItem {
    const def = this.definition;
    const name = def.manifest?.name ?? path.basename(def.dir);
    const hasChildren = !isValid(def) || (def.manifest.triggers?.length ?? 0) > 0;
    const item = new TreeItem(name, hasChildren ? TreeItemCollapsibleState.Expanded : TreeItemCollapsibleState.None);
    item.id = def.dir;
    item.resourceUri = Uri.file(def.dir);
    if (isValid(def)) {
      const m = def.manifest;
      const kind = m.type === 'v8' ? 'JavaScript' : 'WebAssembly';
      const profile = m.compat && m.compat !== 'docs' ? ` · Nex ${m.compat}` : '';
      item.description = `${kind} · ${m.type === 'v8' ? m.source : m.artifact}${profile}`;
      item.iconPath = new ThemeIcon(m.type === 'v8' ? 'symbol-function' : 'file-binary');
      item.contextValue = `nexFunction.${m.type}`;
      // A wasm function opens its manifest: the artifact is binary, the sources are the build's.
      item.command = { title: 'Open', command: 'vscode.open', arguments: [Uri.file(def.sourcePath ?? def.manifestPath)] };
      item.tooltip = new MarkdownString(`**${name}** (${kind}, workload type \`${m.type}\`)${m.description ? `\n\n${m.description}` : ''}\n\n${def.dir}`);
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

export type FunctionsViewNode = FunctionNode | ProblemNode | TriggerNode;

export class FunctionsViewProvider implements TreeDataProvider<FunctionsViewNode> {
  readonly onDidChangeTreeData: Event<void>;

  constructor(private readonly catalog: FunctionCatalog) {
    this.onDidChangeTreeData = catalog.onDidChange;
  }

  getTreeItem(node: FunctionsViewNode): TreeItem {
    return node.toTreeItem();
  }

  getChildren(node?: FunctionsViewNode): FunctionsViewNode[] {
    if (!node) {
      return this.catalog.functions.map((f) => new FunctionNode(f));
    }
    if (node instanceof FunctionNode) {
      const def = node.definition;
      return isValid(def) ? (def.manifest.triggers ?? []).map((t) => new TriggerNode(def, t)) : def.problems.map((p) => new ProblemNode(p));
    }
    return [];
  }
}

/** The "Functions" tree view and its context keys; in Restricted Mode it says why nothing runs. */
export class FunctionsView extends DisposableObject {
  constructor(catalog: FunctionCatalog) {
    super();
    const view = this.register(Window.createTreeView('nex.functions', { treeDataProvider: new FunctionsViewProvider(catalog), showCollapseAll: false }));
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
