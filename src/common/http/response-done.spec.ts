import { Logger } from '@nestjs/common';
import * as http from 'node:http';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import { until } from '../testing/wait.test-kit';
import { CLIENT_CLOSED_REQUEST, closeWaiterCount, finalStatus, onResponseDone } from './response-done';

/** A server whose handler answers when the test says so; records when each request is done. */
async function server() {
  const done: Array<{ url: string; status: number }> = [];
  const waiting = new Map<string, http.ServerResponse>();
  const sockets = new Set<net.Socket>();
  const srv = http.createServer((req, res) => {
    onResponseDone(req, res, () => done.push({ url: req.url!, status: finalStatus(res) }));
    waiting.set(req.url!, res);
  });
  srv.on('connection', (s: net.Socket) => sockets.add(s));
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as AddressInfo).port;
  return {
    port,
    done,
    sockets,
    answer: (url: string) => waiting.get(url)!.end('ok'),
    seen: (url: string) => waiting.has(url),
    close: () => {
      // A failed test may leave requests unanswered: don't wait on their connections.
      srv.closeAllConnections();
      return new Promise<void>((r) => srv.close(() => r()));
    },
  };
}

async function connect(port: number): Promise<net.Socket> {
  const socket = net.connect(port, '127.0.0.1');
  socket.on('error', () => undefined);
  await new Promise<void>((r) => socket.once('connect', () => r()));
  return socket;
}

const get = (path: string) => `GET ${path} HTTP/1.1\r\nhost: x\r\n\r\n`;

/**
 * Three pipelined requests (/q1, /q2, /q3) on one connection, parsed together and none answered,
 * then the client drops the connection. `register` runs for each request; `fire` records its
 * url. Resolves with what fired once `expected` have.
 */
async function dropPipelined(register: (req: http.IncomingMessage, res: http.ServerResponse, fire: () => void) => void, expected: number): Promise<string[]> {
  const fired: string[] = [];
  const seen: string[] = [];
  const srv = http.createServer((req, res) => {
    seen.push(req.url!);
    register(req, res, () => fired.push(req.url!));
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  try {
    const socket = await connect((srv.address() as AddressInfo).port);
    socket.write(get('/q1') + get('/q2') + get('/q3'));
    await until(() => seen.length === 3);
    socket.destroy();
    await until(() => fired.length === expected, `${expected} waiters ran`);
    return fired;
  } finally {
    srv.closeAllConnections();
    await new Promise<void>((r) => srv.close(() => r()));
  }
}

describe('onResponseDone', () => {
  beforeAll(() => Logger.overrideLogger(false));

  it('fires once per request when its response is sent, with the status sent', async () => {
    const s = await server();
    try {
      const socket = await connect(s.port);
      socket.write(get('/a'));
      await until(() => s.seen('/a'));
      s.answer('/a');
      await until(() => s.done.length === 1);
      socket.write(get('/b'));
      await until(() => s.seen('/b'));
      s.answer('/b');
      await until(() => s.done.length === 2);
      expect(s.done).toEqual([
        { url: '/a', status: 200 },
        { url: '/b', status: 200 },
      ]);
      // Keep-alive: no listener left behind per request on the connection.
      const [conn] = s.sockets;
      const before = conn.listenerCount('close');
      for (const path of ['/c', '/d', '/e']) {
        socket.write(get(path));
        await until(() => s.seen(path));
        s.answer(path);
      }
      await until(() => s.done.length === 5);
      expect(conn.listenerCount('close')).toBe(before);
      socket.destroy();
    } finally {
      await s.close();
    }
  });

  it('fires for a pipelined request queued behind another when the client drops the connection', async () => {
    const s = await server();
    try {
      const socket = await connect(s.port);
      socket.write(get('/first') + get('/queued'));
      await until(() => s.seen('/first') && s.seen('/queued'));
      // The queued one is answered, but its response waits for the first's: it has no socket yet.
      s.answer('/queued');
      socket.destroy();
      await until(() => s.done.length === 2, 'both requests done');
      expect(s.done.map((d) => d.status)).toEqual([CLIENT_CLOSED_REQUEST, CLIENT_CLOSED_REQUEST]);
    } finally {
      await s.close();
    }
  });

  it('can be cancelled, and fires at once for a response already closed', async () => {
    const calls: string[] = [];
    const srv = http.createServer((req, res) => {
      const cancel = onResponseDone(req, res, () => calls.push('cancelled one'));
      cancel();
      cancel();
      res.end('ok', () => {
        setImmediate(() => {
          onResponseDone(req, res, () => calls.push('late one'));
          calls.push('after the call');
        });
      });
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
    try {
      const res = await fetch(`http://127.0.0.1:${(srv.address() as AddressInfo).port}/`);
      expect(await res.text()).toBe('ok');
      await until(() => calls.length === 2, 'late registration handled');
      // Called before onResponseDone returned, not later.
      expect(calls).toEqual(['late one', 'after the call']);
    } finally {
      srv.closeAllConnections();
      await new Promise<void>((r) => srv.close(() => r()));
    }
  });

  it('leaves nothing registered on a keep-alive connection once its requests are done or cancelled', async () => {
    const counts: number[] = [];
    let serverSocket: net.Socket | undefined;
    const srv = http.createServer((req, res) => {
      serverSocket = req.socket;
      onResponseDone(req, res, () => undefined);
      onResponseDone(req, res, () => undefined)();
      res.end('ok', () => setImmediate(() => counts.push(closeWaiterCount(serverSocket!))));
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
    try {
      const socket = await connect((srv.address() as AddressInfo).port);
      for (let i = 0; i < 50; i++) {
        socket.write(get(`/r${i}`));
        await until(() => counts.length === i + 1, `request ${i} done`);
      }
      // One connection, 50 requests, two waiters each: none left behind.
      expect(counts).toEqual(Array.from({ length: 50 }, () => 0));
      socket.destroy();
    } finally {
      srv.closeAllConnections();
      await new Promise<void>((r) => srv.close(() => r()));
    }
  });

  it('does not call a cancelled waiter when its connection drops later, and calls the others', async () => {
    const fired = await dropPipelined((req, res, fire) => {
      const cancel = onResponseDone(req, res, fire);
      if (req.url === '/q2') cancel();
    }, 2);
    // One more turn of the loop: nothing else fires.
    await new Promise((r) => setImmediate(r));
    expect(fired.sort()).toEqual(['/q1', '/q3']);
  });

  it('runs every waiter of a dropped connection even when one throws, without an uncaught error', async () => {
    const fired = await dropPipelined((req, res, fire) => {
      onResponseDone(req, res, () => {
        fire();
        if (req.url === '/q1') throw new Error('observer bug');
      });
    }, 3);
    expect(fired.sort()).toEqual(['/q1', '/q2', '/q3']);
  });
});
