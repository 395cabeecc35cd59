/**
 * Answers the control API gives before a request reaches a route, over raw
 * TCP on loopback: what the HTTP parser refuses (request line, header syntax,
 * header size), what routing refuses (URL encoding), body parse errors, and
 * HEAD with `Expect`. Every answer with a body has the {error:{code,message}}
 * shape; every HEAD answer has a status line and no body.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { rawConnect, type RawConnection } from '../support/raw-http.ts';
import { cleanup, serviceStatus, startCli, supervisorInfo, token, type RunningCli } from '../support/supervisor.ts';
import { waitFor } from '../support/wait.ts';

let cli: RunningCli;
let port: number;
let auth: string;
const open: RawConnection[] = [];

beforeAll(async () => {
  cli = startCli(['run', '--api-port', '0', '--', process.execPath, 'test/fixtures/services/svc.mjs']);
  await waitFor(async () => (await serviceStatus(cli)).state === 'ready', 'service ready');
  port = Number(new URL((await supervisorInfo(cli)).apiUrl).port);
  auth = `Authorization: Bearer ${token(cli.stateDir)}\r\n`;
});
afterEach(() => {
  while (open.length > 0) open.pop()?.socket.destroy();
});
afterAll(cleanup);

interface Answer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Sends `request` on a new connection and returns the final (non-1xx) answer once the server closes. */
async function send(request: string): Promise<Answer> {
  const connection = await rawConnect(port);
  open.push(connection);
  connection.send(request);
  await waitFor(() => connection.isClosed(), 'the server to close the connection');
  const text = connection.received().replace(/^(HTTP\/1\.1 1\d\d [^\r\n]*\r\n\r\n)+/, '');
  const split = text.indexOf('\r\n\r\n');
  if (split < 0) throw new Error(`no complete answer: ${JSON.stringify(text)}`);
  const [statusLine = '', ...headerLines] = text.slice(0, split).split('\r\n');
  const headers = Object.fromEntries(headerLines.map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]));
  return { status: Number(/^HTTP\/1\.1 (\d{3})/.exec(statusLine)?.[1]), headers, body: text.slice(split + 4) };
}

function expectShape(answer: Answer, status: number, code: string): void {
  expect(answer.status).toBe(status);
  expect(answer.headers['content-type']).toMatch(/^application\/json/);
  const json = JSON.parse(answer.body) as { error: { code: string; message: string } };
  expect(Object.keys(json)).toEqual(['error']);
  expect(json.error).toEqual({ code, message: expect.any(String) as unknown });
  expect(Number(answer.headers['content-length'])).toBe(Buffer.byteLength(answer.body));
}

describe('refused by the HTTP parser', () => {
  it('a malformed request line: 400 in the error shape', async () => {
    expectShape(await send('GARBAGE\r\n\r\n'), 400, 'BAD_REQUEST');
  });

  it('an unknown HTTP version: 400 in the error shape', async () => {
    expectShape(await send('GET /health HTTP/9.9\r\nHost: x\r\n\r\n'), 400, 'BAD_REQUEST');
  });

  it('a header name with a space in it: 400 in the error shape', async () => {
    expectShape(await send('GET /health HTTP/1.1\r\nHost: x\r\nBad Header: y\r\n\r\n'), 400, 'BAD_REQUEST');
  });

  it('a Content-Length that is not a number: 400 in the error shape', async () => {
    expectShape(await send(`POST /restart HTTP/1.1\r\nHost: x\r\n${auth}Content-Length: abc\r\n\r\n`), 400, 'BAD_REQUEST');
  });

  it('headers over the size limit: 431 in the error shape', async () => {
    expectShape(await send(`GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`), 431, 'HEADERS_TOO_LARGE');
  });
});

describe('refused while routing or parsing the body', () => {
  it('a path with a bad percent-encoding: 400 in the error shape', async () => {
    expectShape(await send(`GET /%zz HTTP/1.1\r\nHost: x\r\n${auth}Connection: close\r\n\r\n`), 400, 'BAD_REQUEST');
  });

  it('a body that is not the JSON its content-type says: 400 in the error shape', async () => {
    const request = `POST /restart HTTP/1.1\r\nHost: x\r\n${auth}Connection: close\r\nContent-Type: application/json\r\nContent-Length: 3\r\n\r\n{x}`;
    expectShape(await send(request), 400, 'BAD_REQUEST');
  });

  it('a body of an unsupported media type: 400 in the error shape', async () => {
    const request = `POST /restart HTTP/1.1\r\nHost: x\r\n${auth}Connection: close\r\nContent-Type: text/weird\r\nContent-Length: 3\r\n\r\nabc`;
    expectShape(await send(request), 400, 'BAD_REQUEST');
  });
});

describe('Expect', () => {
  it('HEAD /events with Expect: 100-continue gets a status line and no body', async () => {
    const answer = await send(`HEAD /events HTTP/1.1\r\nHost: x\r\n${auth}Expect: 100-continue\r\nConnection: close\r\n\r\n`);
    expect(answer.status).toBe(200);
    expect(answer.body).toBe('');
  });

  it('HEAD /health with Expect: 100-continue gets a status line and no body', async () => {
    const answer = await send('HEAD /health HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n');
    expect(answer.status).toBe(200);
    expect(answer.body).toBe('');
  });

  it('an unsupported expectation: 417 in the error shape, and no body for HEAD', async () => {
    expectShape(await send('GET /health HTTP/1.1\r\nHost: x\r\nExpect: bogus\r\nConnection: close\r\n\r\n'), 417, 'EXPECTATION_FAILED');
    const head = await send('HEAD /health HTTP/1.1\r\nHost: x\r\nExpect: bogus\r\nConnection: close\r\n\r\n');
    expect(head.status).toBe(417);
    expect(head.body).toBe('');
  });
});
