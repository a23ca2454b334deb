/**
 * The HTML every Nex webview panel starts from: a strict Content-Security-Policy with a nonce for
 * its scripts, styles, fonts and images from media/ only, codicons, the shared look and DOM helpers
 * (media/shared/) before the panel's own, and the panel's initial state as base64 JSON on the body
 * (read by the script).
 */
import { randomBytes } from 'crypto';
import * as path from 'path';
import { Uri, Webview } from 'vscode';

export interface WebviewShell {
  extensionPath: string;
  /** The panel's folder under media/, holding its script and stylesheet. */
  folder: string;
  script: string;
  stylesheet: string;
  title: string;
  state: unknown;
}

export function webviewHtml(webview: Webview, shell: WebviewShell): string {
  const nonce = randomBytes(16).toString('base64');
  const media = (...p: string[]) => webview.asWebviewUri(Uri.file(path.join(shell.extensionPath, 'media', ...p)));
  const csp = [`default-src 'none'`, `img-src ${webview.cspSource}`, `font-src ${webview.cspSource}`, `style-src ${webview.cspSource}`, `script-src 'nonce-${nonce}'`].join('; ');
  const title = shell.title.replace(/[<>&"]/g, '');
  return `<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="UTF-8">
  <meta http-equiv="Content-Security-Policy" content="${csp}">
  <meta name="viewport" content="width=device-width, initial-scale=1.0">
  <link rel="stylesheet" href="${media('codicons', 'codicon.css')}">
  <link rel="stylesheet" href="${media('shared', 'base.css')}">
  <link rel="stylesheet" href="${media(shell.folder, shell.stylesheet)}">
  <title>${title}</title>
</head>
<body data-state="${Buffer.from(JSON.stringify(shell.state)).toString('base64')}">
  <main id="root" aria-live="polite"><p class="muted">Loading…</p></main>
  <script nonce="${nonce}" src="${media('shared', 'dom.js')}"></script>
  <script nonce="${nonce}" src="${media(shell.folder, shell.script)}"></script>
</body>
</html>`;
}
