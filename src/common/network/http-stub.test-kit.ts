import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

/** What a stub handler gets: the parsed request, and `res` to answer (or never answer). */
export interface StubRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  res: http.ServerResponse;
}

export interface HttpStub {
  url: string;
  /** Requests received so far (bodies read). */
  readonly requests: StubRequest[];
  /** TCP connections accepted so far (keep-alive reuse keeps this low). */
  readonly connections: number;
  /** Replaces the handler. */
  handle(handler: (req: StubRequest) => void): void;
  close(): Promise<void>;
}

/**
 * A local HTTP server on 127.0.0.1 for tests of outbound clients (no internet): the handler
 * decides per request whether to answer, fail or hang. `close()` drops every connection, so a
 * hanging handler never keeps a test alive.
 */
export async function startHttpStub(handler: (req: StubRequest) => void = (r) => r.res.end()): Promise<HttpStub> {
  let current = handler;
  const requests: StubRequest[] = [];
  let connections = 0;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const stubReq: StubRequest = { method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), res };
      requests.push(stubReq);
      current(stubReq);
    });
  });
  server.on('connection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    get connections() {
      return connections;
    },
    handle(next) {
      current = next;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Answers with a JSON body. */
export function replyJson(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
