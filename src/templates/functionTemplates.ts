/**
 * New function folders from the templates shipped in templates/<kind>/ (data files, with
 * {{name}}, {{subject}} and {{caseSubject}} placeholders). Planning is separate from writing, so
 * a caller can show or test what would be created; nothing existing is ever overwritten.
 */
import * as fs from 'fs';
import * as path from 'path';
import { WORKLOAD_NAME_PATTERN } from '../core/manifest';
import { triggerSubjectProblem } from '../core/subject';

export const TEMPLATE_KINDS = ['js', 'js-kv', 'js-messaging', 'js-http', 'rust', 'c', 'assemblyscript', 'tinygo'] as const;
export type TemplateKind = (typeof TEMPLATE_KINDS)[number];

export interface TemplateInfo {
  kind: TemplateKind;
  label: string;
  description: string;
  /** The file to open after creation (with placeholders). */
  open: string;
  /** Which host-service typings a JavaScript template gets as nex.d.ts. */
  typings?: '0.2' | '0.3';
}

export interface NewFunctionOptions {
  name: string;
  /** The trigger subject (wildcards allowed). */
  subject: string;
}

export interface PlannedFile {
  path: string;
  content: string;
}

export interface FunctionPlan {
  dir: string;
  files: PlannedFile[];
  /** The file to open once created. */
  open: string;
  /** Files that exist already: the plan must not be carried out. */
  conflicts: string[];
}

/** The extension's root (holding templates/ and types/): beside dist/ or the compiled sources. */
export function extensionRoot(from: string = __dirname): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'templates', 'js', 'template.json'))) {
      return dir;
    }
    if (path.dirname(dir) === dir) {
      throw new Error(`the function templates were not found above ${from} (is the extension installed completely?)`);
    }
  }
}

export function listTemplates(root = extensionRoot()): TemplateInfo[] {
  return TEMPLATE_KINDS.map((kind) => ({ kind, ...(JSON.parse(fs.readFileSync(path.join(root, 'templates', kind, 'template.json'), 'utf8')) as Omit<TemplateInfo, 'kind'>) }));
}

export function isTemplateKind(value: string): value is TemplateKind {
  return (TEMPLATE_KINDS as readonly string[]).includes(value);
}

/** Why a function name cannot be used, or undefined. */
export function functionNameProblem(name: string): string | undefined {
  if (name.trim() === '') {
    return 'give the function a name';
  }
  if (!WORKLOAD_NAME_PATTERN.test(name)) {
    return 'use letters, digits, "_" and "-" only (Nex 0.2.4+ refuses other workload names)';
  }
  if (name.length > 64) {
    return 'keep the name under 64 characters';
  }
  return undefined;
}

/** A concrete subject matching a trigger subject, for the template's trigger case. */
export function exampleSubject(trigger: string): string {
  return trigger
    .split('.')
    .map((t) => (t === '*' || t === '>' ? 'test' : t))
    .join('.');
}

export function planNewFunction(kind: TemplateKind, dir: string, options: NewFunctionOptions, root = extensionRoot()): FunctionPlan {
  const problem = functionNameProblem(options.name) ?? triggerSubjectProblem(options.subject);
  if (problem) {
    throw new Error(problem);
  }
  const info = listTemplates(root).find((t) => t.kind === kind)!;
  const values: Record<string, string> = { name: options.name, subject: options.subject, caseSubject: exampleSubject(options.subject) };
  const fill = (text: string) => text.replace(/\{\{(\w+)\}\}/g, (whole, key: string) => values[key] ?? whole);
  const templateDir = path.join(root, 'templates', kind);
  const files: PlannedFile[] = [];
  const walk = (rel: string) => {
    for (const entry of fs.readdirSync(path.join(templateDir, rel), { withFileTypes: true })) {
      const relPath = path.join(rel, entry.name);
      if (entry.isDirectory()) {
        walk(relPath);
      } else if (relPath !== 'template.json') {
        // Dotfiles are stored without their dot, so packaging tools keep them.
        const target = relPath === 'gitignore' ? '.gitignore' : fill(relPath);
        files.push({ path: path.join(dir, target), content: fill(fs.readFileSync(path.join(templateDir, relPath), 'utf8')) });
      }
    }
  };
  walk('');
  if (info.typings) {
    files.push({ path: path.join(dir, 'nex.d.ts'), content: fs.readFileSync(path.join(root, 'types', `nex-${info.typings}.d.ts`), 'utf8') });
  }
  files.sort((a, b) => a.path.localeCompare(b.path));
  return { dir, files, open: path.join(dir, fill(info.open)), conflicts: files.filter((f) => fs.existsSync(f.path)).map((f) => f.path) };
}

/** Writes a plan. Refuses, writing nothing, when any of its files exists. */
export function writeFunctionPlan(plan: FunctionPlan): void {
  if (plan.conflicts.length > 0) {
    throw new Error(`not creating the function: ${plan.conflicts.map((c) => path.relative(plan.dir, c) || c).join(', ')} already exist${plan.conflicts.length === 1 ? 's' : ''} in ${plan.dir}`);
  }
  for (const file of plan.files) {
    fs.mkdirSync(path.dirname(file.path), { recursive: true });
    fs.writeFileSync(file.path, file.content, { flag: 'wx' });
  }
}
