/**
 * "Nex: New Function…": asks for a template, a name and a trigger subject (the prompts), then
 * creates the folder from the template and opens its source (the side effects). Scripted
 * arguments skip the prompts, for tests and keybindings.
 */
import * as fs from 'fs';
import * as path from 'path';
import { Uri, window as Window, workspace as Workspace } from 'vscode';
import { triggerSubjectProblem } from '../../core/subject';
import { functionNameProblem, isTemplateKind, listTemplates, planNewFunction, TemplateKind, writeFunctionPlan } from '../../templates/functionTemplates';
import type { NexExtension } from '../nexExtension';
import { UserInterface } from '../ui';

export interface NewFunctionAnswers {
  kind: TemplateKind;
  name: string;
  subject: string;
  /** The folder the function folder is created in. */
  parentDir: string;
}

/** The prompts: returns the answers, or undefined when the user cancels. */
export async function askNewFunction(ui: UserInterface, root: string, preset: Partial<NewFunctionAnswers> = {}): Promise<NewFunctionAnswers | undefined> {
  const folders = Workspace.workspaceFolders ?? [];
  let parentDir = preset.parentDir;
  if (!parentDir) {
    if (folders.length === 0) {
      await ui.error('Open a folder first: a new Nex function is created inside the workspace.');
      return undefined;
    }
    parentDir =
      folders.length === 1
        ? folders[0].uri.fsPath
        : await ui.pick(
            folders.map((f) => ({ label: f.name, description: f.uri.fsPath, value: f.uri.fsPath })),
            { title: 'New Nex Function: where?' },
          );
    if (!parentDir) {
      return undefined;
    }
  }
  const kind =
    preset.kind ??
    (await ui.pick(
      listTemplates(root).map((t) => ({ label: t.label, description: t.kind, detail: t.description, value: t.kind })),
      { title: 'New Nex Function (1/3): kind', placeHolder: 'Pick a template' },
    ));
  if (!kind) {
    return undefined;
  }
  const dir = parentDir;
  const name =
    preset.name ??
    (await ui.input({
      title: 'New Nex Function (2/3): name',
      prompt: `The workload name; also the name of the folder created in ${dir}`,
      placeHolder: 'e.g. order-created',
      validate: (value) => functionNameProblem(value) ?? (fs.existsSync(path.join(dir, value)) && fs.readdirSync(path.join(dir, value)).length > 0 ? `${value} already exists in ${dir} and is not empty` : undefined),
    }));
  if (name === undefined) {
    return undefined;
  }
  const subject =
    preset.subject ??
    (await ui.input({
      title: 'New Nex Function (3/3): trigger subject',
      prompt: 'The subject that triggers the function; wildcards * (one token) and > (the rest) are allowed',
      value: `${name}.>`,
      validate: triggerSubjectProblem,
    }));
  if (subject === undefined) {
    return undefined;
  }
  return { kind, name, subject, parentDir: dir };
}

/** The side effects: writes the folder (never overwriting), then opens its source. */
export async function createNewFunction(ext: NexExtension, answers: NewFunctionAnswers, root: string): Promise<string> {
  const plan = planNewFunction(answers.kind, path.join(answers.parentDir, answers.name), { name: answers.name, subject: answers.subject }, root);
  writeFunctionPlan(plan);
  ext.log.info(`created ${answers.kind} function ${answers.name} in ${plan.dir} (${plan.files.length} files)`);
  await ext.catalog.refresh();
  await Window.showTextDocument(Uri.file(plan.open), { preview: false });
  return plan.dir;
}

export async function newFunctionCommand(ext: NexExtension, preset?: Partial<NewFunctionAnswers>): Promise<string | undefined> {
  if (preset?.kind !== undefined && !isTemplateKind(preset.kind)) {
    throw new Error(`"${preset.kind}" is not a template kind`);
  }
  const root = ext.context.extensionPath;
  const answers = await askNewFunction(ext.ui, root, preset ?? {});
  return answers && createNewFunction(ext, answers, root);
}
