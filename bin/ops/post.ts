// The one way the trigger commands send an event over HTTP: a JSON POST with a deadline,
// answered with its status and body (printed as `HTTP <status> <body>`), or a TargetError
// naming why the URL could not be reached.

import type { CommandIo } from './command';
import { TargetError } from './target';

export async function postEvent(
  fetchFn: typeof fetch,
  url: string,
  headers: Record<string, string>,
  body: string,
  io: Pick<CommandIo, 'out'>,
): Promise<{ status: number; ok: boolean; text: string }> {
  let response: Response;
  try {
    response = await fetchFn(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
      body,
      signal: AbortSignal.timeout(30_000),
    });
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    throw new TargetError(
      `could not reach ${url}: ${cause?.code ?? cause?.message ?? (err as Error).message}`,
    );
  }
  const text = await response.text();
  io.out(`HTTP ${response.status} ${text.trim()}`);
  return { status: response.status, ok: response.ok, text };
}
