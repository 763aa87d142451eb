import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { driveLoopback } from './loopback.warmup';

/** A loopback server answering with `answer(url, body)`; closed by the returned function. */
async function server(answer: (req: http.IncomingMessage, body: string, res: http.ServerResponse) => void): Promise<{ port: number; close: () => Promise<void> }> {
  const s = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => answer(req, body, res));
  });
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  return {
    port: (s.address() as AddressInfo).port,
    close: async () => {
      s.closeAllConnections();
      await new Promise<void>((resolve) => s.close(() => resolve()));
    },
  };
}

describe('driveLoopback', () => {
  it('sends every request once, with its path, body and headers, and counts the answers that are not 200', async () => {
    const seen: string[] = [];
    const s = await server((req, body, res) => {
      seen.push(`${req.url} ${body} ${req.headers.authorization} ${req.headers['content-type']}`);
      res.statusCode = Number(body) % 5 === 0 ? 401 : 200;
      res.end('{}');
    });
    try {
      const r = await driveLoopback(s.port, { connections: 4, requests: 23, timeoutMs: 5_000, request: (i) => ({ path: `/p${i % 2}`, body: Buffer.from(String(i)), headers: { authorization: `Bearer t${i}` } }) });
      expect(r).toEqual({ answered: 23, notOk: 5 });
      expect(seen.sort()).toEqual(Array.from({ length: 23 }, (_, i) => `/p${i % 2} ${i} Bearer t${i} application/json`).sort());
    } finally {
      await s.close();
    }
  });

  it('a server that does not answer fails the drive after the bound, and no connection sends further', async () => {
    let received = 0;
    const s = await server(() => void (received += 1));
    try {
      await expect(driveLoopback(s.port, { connections: 3, requests: 100, timeoutMs: 200, request: () => ({ path: '/', body: Buffer.from('{}') }) })).rejects.toThrow(/took over 200 ms/);
      // Each connection sent its first request and no other.
      expect(received).toBe(3);
    } finally {
      await s.close();
    }
  });
});
