/** Real outbound HTTP for host services, shaped as a node returns it to JavaScript. */
import { HttpMethod, HttpResult } from './types';

/** A node's HTTP host service gives up after 2.5 s. */
export const HTTP_TIMEOUT_MS = 2500;

export async function realHttp(method: HttpMethod, url: string, body?: Uint8Array): Promise<HttpResult> {
  const response = await fetch(url, {
    method: method.toUpperCase(),
    body: body && method !== 'get' && method !== 'head' ? (body as Uint8Array<ArrayBuffer>) : undefined,
    headers: body && ['post', 'put', 'patch'].includes(method) ? { 'content-type': 'text/plain' } : undefined,
    signal: AbortSignal.timeout(HTTP_TIMEOUT_MS),
    redirect: 'follow',
  });
  const headers: Record<string, string> = {};
  response.headers.forEach((value, name) => {
    headers[name] = headers[name] ? `${headers[name]}, ${value}` : value;
  });
  const result: HttpResult = { status: response.status, headers };
  if (method !== 'head') {
    result.response = await response.text();
  }
  return result;
}
