// The local HTTP front of `npm start`: turns each request into the API Gateway HTTP API
// (payload 2.0) event the Lambda functions receive and calls the same handlers, so
// `stripe listen --forward-to localhost:3000/webhook` exercises the deployed code path.
// `POST /eventbridge` stands in for the partner event bus (bin/local/eventbridge-bus.ts).

import { isUtf8 } from 'node:buffer';
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';

export type ApiHandler = (
  event: APIGatewayProxyEventV2,
) => Promise<APIGatewayProxyStructuredResultV2>;

export interface FrontRoutes {
  /** The webhook verifier; null when the webhook is off (404, as in AWS). */
  verifier: ApiHandler | null;
  /** The local partner event bus; null (404) unless EventBridge ingress is on. */
  eventBridge?: ApiHandler | null;
  /** The status API once the pipeline runs; null answers 404 on its routes. */
  statusApi: () => ApiHandler | null;
  /** True once emulators, table, queues and pollers are ready (GET /healthz). */
  ready: () => boolean;
}

/**
 * API Gateway refuses payloads over 10 MB itself; below that the verifier applies its own
 * 1,000,000-byte limit (413 before any other work), exactly as in AWS.
 */
export const GATEWAY_PAYLOAD_LIMIT = 10 * 1024 * 1024;

interface Route {
  routeKey: string;
  handler: ApiHandler | null;
  pathParameters?: Record<string, string>;
}

/** Where the local twin takes EventBridge envelopes (there is no such route in AWS). */
export const EVENTBRIDGE_ROUTE = '/eventbridge';

const CUSTOMER_ROUTE = /^\/customers\/([^/]+)\/(billing-status|events|override)$/;

function decoded(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** The route API Gateway would match (methods are checked by the handlers, as there). */
function routeOf(method: string, path: string, routes: FrontRoutes): Route | null {
  if (path === '/webhook') return { routeKey: 'POST /webhook', handler: routes.verifier };
  if (path === '/customers') return { routeKey: 'GET /customers', handler: routes.statusApi() };
  if (path === EVENTBRIDGE_ROUTE) {
    return { routeKey: `POST ${EVENTBRIDGE_ROUTE}`, handler: routes.eventBridge ?? null };
  }
  const customer = CUSTOMER_ROUTE.exec(path);
  if (customer) {
    return {
      routeKey: `${method} /customers/{customerId}/${customer[2]}`,
      handler: routes.statusApi(),
      pathParameters: { customerId: decoded(customer[1]!) },
    };
  }
  return null;
}

/** Reads the body; null when it is over the gateway's limit (the rest is drained). */
function readBody(req: IncomingMessage): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= GATEWAY_PAYLOAD_LIMIT) chunks.push(chunk);
    });
    req.on('end', () => resolve(size > GATEWAY_PAYLOAD_LIMIT ? null : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/**
 * The event Lambda receives: lower-cased headers, cookies apart, the body as text when it
 * is UTF-8 (as API Gateway passes JSON) and base64 otherwise, so the bytes stay exact.
 */
export function toApiGatewayEvent(
  req: IncomingMessage,
  body: Buffer,
  route: Pick<Route, 'routeKey' | 'pathParameters'>,
): APIGatewayProxyEventV2 {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined && name !== 'cookie') {
      headers[name.toLowerCase()] = Array.isArray(value) ? value.join(',') : value;
    }
  }
  const cookies = req.headers.cookie?.split(';').map((c) => c.trim());
  const query = [...url.searchParams.keys()];
  const text = body.length > 0 && isUtf8(body);
  const now = new Date();
  const method = req.method ?? 'GET';
  return {
    version: '2.0',
    routeKey: route.routeKey,
    rawPath: url.pathname,
    rawQueryString: url.search.replace(/^\?/, ''),
    ...(cookies ? { cookies } : {}),
    headers,
    ...(query.length > 0
      ? {
          queryStringParameters: Object.fromEntries(
            query.map((k) => [k, url.searchParams.getAll(k).join(',')]),
          ),
        }
      : {}),
    ...(route.pathParameters ? { pathParameters: route.pathParameters } : {}),
    requestContext: {
      accountId: '123456789012',
      apiId: 'local',
      domainName: headers.host ?? 'localhost',
      domainPrefix: (headers.host ?? 'localhost').split('.')[0]!,
      http: {
        method,
        path: url.pathname,
        protocol: `HTTP/${req.httpVersion}`,
        sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: randomUUID(),
      routeKey: route.routeKey,
      stage: '$default',
      time: now.toISOString(),
      timeEpoch: now.getTime(),
    },
    ...(body.length > 0 ? { body: text ? body.toString('utf8') : body.toString('base64') } : {}),
    isBase64Encoded: body.length > 0 && !text,
  };
}

function send(res: ServerResponse, result: APIGatewayProxyStructuredResultV2): void {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  for (const [name, value] of Object.entries(result.headers ?? {})) {
    headers[name.toLowerCase()] = String(value);
  }
  const body =
    result.body === undefined
      ? ''
      : result.isBase64Encoded
        ? Buffer.from(result.body, 'base64')
        : result.body;
  res.writeHead(result.statusCode ?? 200, headers);
  res.end(body);
}

const json = (statusCode: number, body: unknown): APIGatewayProxyStructuredResultV2 => ({
  statusCode,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
});

export function createFront(routes: FrontRoutes, onError: (err: unknown) => void): Server {
  const server = createServer((req, res) => {
    void (async () => {
      const method = req.method ?? 'GET';
      const path = new URL(req.url ?? '/', 'http://localhost').pathname;
      if (path === '/healthz') {
        req.resume();
        return send(
          res,
          routes.ready() ? json(200, { status: 'ok' }) : json(503, { status: 'starting' }),
        );
      }
      const route = routeOf(method, path, routes);
      if (!route?.handler) {
        req.resume();
        return send(res, json(404, { message: 'Not Found' }));
      }
      if (!routes.ready()) {
        req.resume();
        return send(res, json(503, { message: 'starting: try again once /healthz answers 200' }));
      }
      const body = await readBody(req);
      if (body === null) return send(res, json(413, { message: 'Request Entity Too Large' }));
      send(res, await route.handler(toApiGatewayEvent(req, body, route)));
    })().catch((err: unknown) => {
      // What API Gateway answers when the function throws.
      onError(err);
      if (!res.headersSent) send(res, json(500, { message: 'Internal Server Error' }));
      else res.destroy();
    });
  });
  // Outlive clients' idle keep-alive sockets, so a request never races a server-side close.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  return server;
}
