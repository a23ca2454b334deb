/** Commands on the Deployed view's items: refresh, Show Node Info, copy an id, reveal the local function. */
import { env as Env, Uri, window as Window, workspace as Workspace } from 'vscode';
import { DeployedSnapshot } from '../../explorer/deployedModel';
import type { NexExtension } from '../nexExtension';
import { DeployedNamespaceItem, DeployedNodeItem, DeployedWorkloadItem, Node04Item, Workload04Item } from '../views/deployedView';
import { showNode04InfoCommand } from './deployed04';
import { namespaceProblem } from '../../core/subject';

export async function refreshDeployedCommand(ext: NexExtension): Promise<DeployedSnapshot | undefined> {
  if (!ext.connections.connection) {
    void ext.ui.info('Not connected: Nex: Connect… (or Start Local Node) first.');
    return undefined;
  }
  return ext.deployed.refresh();
}

/** A read-only JSON document with everything the node said about itself (INFO and PING). */
export async function showNodeInfoCommand(ext: NexExtension, item?: DeployedNodeItem | Node04Item): Promise<string | undefined> {
  if (item instanceof Node04Item) {
    return showNode04InfoCommand(ext, item.node);
  }
  const node = item?.node ?? (await pickNode(ext));
  if (!node) {
    return undefined;
  }
  const doc = await Workspace.openTextDocument({ language: 'json', content: JSON.stringify(node, null, 2) + '\n' });
  await Window.showTextDocument(doc, { preview: true });
  return node.id;
}

async function pickNode(ext: NexExtension) {
  const nodes = ext.deployed.snapshot?.nodes ?? [];
  if (nodes.length === 0) {
    void ext.ui.info('No Nex node is known on this connection.');
    return undefined;
  }
  return ext.ui.pick(
    nodes.map((n) => ({ label: n.name ?? n.id, description: `Nex ${n.version} · ${n.id}`, value: n })),
    { title: 'Show the info of which node?' },
  );
}

/** Copies a node's or a workload's id. */
export async function copyDeployedIdCommand(_ext: NexExtension, item?: DeployedNodeItem | DeployedWorkloadItem | Node04Item | Workload04Item): Promise<string | undefined> {
  const id = item instanceof DeployedNodeItem || item instanceof Node04Item ? item.node.id : item?.workload.id;
  if (id) {
    await Env.clipboard.writeText(id);
  }
  return id;
}

/** Opens the workspace function whose name the workload has. */
export async function revealLocalFunctionCommand(ext: NexExtension, item?: DeployedWorkloadItem | Workload04Item): Promise<void> {
  const local = item?.local;
  if (!local) {
    void ext.ui.info(`No function of the workspace is named ${item?.workload.name ?? 'so'}.`);
    return;
  }
  await Window.showTextDocument(Uri.file(local.sourcePath ?? local.manifestPath));
}

/** Shows one more namespace in the Deployed view (kept for the workspace), besides the connection's and the manifests'. */
export async function addDeployedNamespaceCommand(ext: NexExtension, arg?: { namespace?: string }): Promise<string | undefined> {
  const scripted = arg && typeof arg === 'object' && typeof arg.namespace === 'string' ? arg.namespace : undefined;
  const namespace =
    scripted ??
    (await ext.ui.input({
      title: 'Show which namespace in the Deployed view?',
      prompt: 'A Nex namespace: one subject token',
      placeHolder: 'e.g. team-a',
      validate: (value) => namespaceProblem(value),
    }));
  if (namespace === undefined) {
    return undefined;
  }
  const problem = namespaceProblem(namespace);
  if (problem) {
    void ext.ui.error(`Nex: ${problem}`);
    return undefined;
  }
  await ext.deployed.addNamespace(namespace);
  return namespace;
}

/** Stops showing a namespace the user added (the connection's and the manifests' stay). */
export async function removeDeployedNamespaceCommand(ext: NexExtension, item?: DeployedNamespaceItem | { namespace?: string }): Promise<string | undefined> {
  const namespace = item?.namespace ?? (await ext.ui.pick(ext.deployed.addedNamespaces.map((ns) => ({ label: ns, value: ns })), { title: 'Stop showing which namespace?' }));
  if (!namespace) {
    return undefined;
  }
  if (!ext.deployed.addedNamespaces.includes(namespace)) {
    void ext.ui.info(`The namespace ${namespace} is shown because it is the connection's or a workspace manifest's deploy.namespace; only namespaces you added can be removed.`);
    return undefined;
  }
  await ext.deployed.removeNamespace(namespace);
  return namespace;
}
