// The local HTTP front: turns each request into the API Gateway HTTP API (payload 2.0)
// event the Lambda functions receive and calls the same handlers, so `stripe listen
// --forward-to localhost:3000/webhook` exercises exactly the deployed code path.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';

export type ApiHandler = (
  event: APIGatewayProxyEventV2,
) => Promise<APIGatewayProxyStructuredResultV2>;

export interface FrontRoutes {
  verifier: ApiHandler;
  statusApi: ApiHandler | null;
  ready: () => boolean;
}

/** Bodies beyond this are refused without reading them all (the verifier's limit is lower). */
const HARD_READ_LIMIT = 4 * 1024 * 1024;

function readBody(req: IncomingMessage): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > HARD_READ_LIMIT) {
        resolve(null);
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** Text stays text when it round-trips as UTF-8 (as API Gateway does for JSON); else base64. */
export function toApiGatewayEvent(req: IncomingMessage, body: Buffer): APIGatewayProxyEventV2 {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) {
    if (v !== undefined) headers[k.toLowerCase()] = Array.isArray(v) ? v.join(',') : v;
  }
  const text = body.toString('utf8');
  const isText = Buffer.from(text, 'utf8').equals(body);
  const now = new Date();
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: url.pathname,
    rawQueryString: url.search.replace(/^\?/, ''),
    headers,
    requestContext: {
      accountId: '123456789012',
      apiId: 'local',
      domainName: headers.host ?? 'localhost',
      domainPrefix: 'local',
      http: {
        method: req.method ?? 'GET',
        path: url.pathname,
        protocol: `HTTP/${req.httpVersion}`,
        sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: crypto.randomUUID(),
      routeKey: '$default',
      stage: '$default',
      time: now.toISOString(),
      timeEpoch: now.getTime(),
    },
    body: isText ? text : body.toString('base64'),
    isBase64Encoded: !isText,
  };
}

function send(res: ServerResponse, result: APIGatewayProxyStructuredResultV2) {
  res.writeHead(result.statusCode ?? 200, {
    'content-type': 'application/json',
    ...(result.headers as Record<string, string> | undefined),
  });
  res.end(result.body ?? '');
}

const json = (statusCode: number, body: unknown): APIGatewayProxyStructuredResultV2 => ({
  statusCode,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
});

export function createFront(routes: FrontRoutes, onError: (err: unknown) => void): Server {
  return createServer((req, res) => {
    void (async () => {
      const path = new URL(req.url ?? '/', 'http://localhost').pathname;
      if (path === '/healthz') {
        return send(res, routes.ready() ? json(200, { ok: true }) : json(503, { ok: false }));
      }
      const handler =
        path === '/webhook'
          ? routes.verifier
          : path.startsWith('/customers/') && routes.statusApi
            ? routes.statusApi
            : null;
      if (!handler) return send(res, json(404, { error: 'not found' }));
      if (!routes.ready()) return send(res, json(503, { error: 'starting' }));
      const body = await readBody(req);
      if (body === null) return send(res, json(413, { error: 'payload too large' }));
      send(res, await handler(toApiGatewayEvent(req, body)));
    })().catch((err: unknown) => {
      onError(err);
      if (!res.headersSent) send(res, json(500, { error: 'internal error' }));
      else res.destroy();
    });
  });
}
