import { ConsoleStreamHub, ConsoleStreamsFullError, formatEvent, MAX_UNREAD_BYTES } from './console-streams';

function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    stream.on('data', (c: Buffer) => (text += c.toString()));
    stream.on('end', () => resolve(text));
    stream.on('error', reject);
  });
}

describe('ConsoleStreamHub', () => {
  it('opens at most maxStreams; a closed stream frees its slot', () => {
    const hub = new ConsoleStreamHub(2);
    const a = hub.open();
    hub.open();
    expect(() => hub.open()).toThrow(ConsoleStreamsFullError);
    try {
      hub.open();
    } catch (err) {
      expect(err).toMatchObject({ status: 409, code: 'BUSY', details: { reason: 'console_streams_full', max_streams: 2 } });
    }
    a.end();
    expect(hub.size).toBe(1);
    expect(hub.open().id).toBe(3);
  });

  it('a stream whose body is destroyed (client gone) leaves the hub', async () => {
    const hub = new ConsoleStreamHub(1);
    const s = hub.open();
    s.body.destroy();
    await new Promise((r) => setImmediate(r));
    expect(hub.size).toBe(0);
  });

  it('broadcasts one Server-Sent Events frame to every stream, and closeAll ends them and refuses new ones', async () => {
    const hub = new ConsoleStreamHub(3);
    const streams = [hub.open(), hub.open()];
    const texts = streams.map((s) => readAll(s.body));
    hub.broadcast('summary', '{"a":1}');
    hub.send(streams[0], 'hello', '{}');
    hub.closeAll();
    expect(await texts[0]).toBe('event: summary\ndata: {"a":1}\n\nevent: hello\ndata: {}\n\n');
    expect(await texts[1]).toBe('event: summary\ndata: {"a":1}\n\n');
    expect(hub.size).toBe(0);
    expect(() => hub.open()).toThrow(ConsoleStreamsFullError);
  });

  it('ends a stream that is more than MAX_UNREAD_BYTES behind instead of buffering without bound', async () => {
    const hub = new ConsoleStreamHub(2);
    const slow = hub.open();
    const fast = hub.open();
    fast.body.resume();
    const big = JSON.stringify('x'.repeat(64 * 1024));
    let writes = 0;
    while (!slow.body.writableEnded && writes < 100) {
      hub.broadcast('summary', big);
      writes++;
      // Lets the reading stream drain, as a connected client does between updates.
      await new Promise((r) => setImmediate(r));
    }
    expect(slow.body.writableEnded).toBe(true);
    expect(writes).toBeGreaterThan(MAX_UNREAD_BYTES / (64 * 1024));
    expect(hub.dropped).toBe(1);
    expect(hub.size).toBe(1);
    expect(fast.body.writableEnded).toBe(false);
    hub.closeAll();
  });

  it('refuses an event name or data with a line break (it would split the frame)', () => {
    expect(() => formatEvent('a\nb', '{}')).toThrow();
    expect(() => formatEvent('a', '{"x":\n1}')).toThrow();
    expect(formatEvent('a', JSON.stringify({ s: 'line\nbreak' }))).toBe('event: a\ndata: {"s":"line\\nbreak"}\n\n');
  });
});
