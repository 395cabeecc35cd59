import { describe, expect, it } from 'vitest';
import { clientErrorFor, rawAnswer } from '../../supervisor/api/client-errors.ts';

function parserError(code: string, reason?: string): Error & { code: string; reason?: string } {
  return Object.assign(new Error(`Parse Error: ${reason ?? code}`), { code, ...(reason === undefined ? {} : { reason }) });
}

describe('clientErrorFor', () => {
  it('maps header overflow to HEADERS_TOO_LARGE (431)', () => {
    const error = clientErrorFor(parserError('HPE_HEADER_OVERFLOW', 'Header overflow'));
    expect([error.code, error.httpStatus]).toEqual(['HEADERS_TOO_LARGE', 431]);
  });

  it('maps a request timeout to REQUEST_TIMEOUT (408)', () => {
    const error = clientErrorFor(parserError('ERR_HTTP_REQUEST_TIMEOUT'));
    expect([error.code, error.httpStatus]).toEqual(['REQUEST_TIMEOUT', 408]);
  });

  it('maps any other parser error to BAD_REQUEST, naming the reason and the parser code', () => {
    const error = clientErrorFor(parserError('HPE_INVALID_METHOD', 'Invalid method encountered'));
    expect([error.code, error.httpStatus, error.message]).toEqual(['BAD_REQUEST', 400, 'malformed request: Invalid method encountered (HPE_INVALID_METHOD)']);
  });
});

describe('rawAnswer', () => {
  it('is a complete HTTP/1.1 answer in the error shape that closes the connection', () => {
    const text = rawAnswer(clientErrorFor(parserError('HPE_HEADER_OVERFLOW', 'Header overflow')));
    const [head = '', body = ''] = text.split('\r\n\r\n');
    expect(head.split('\r\n')).toEqual([
      'HTTP/1.1 431 Request Header Fields Too Large',
      'Content-Type: application/json; charset=utf-8',
      `Content-Length: ${Buffer.byteLength(body)}`,
      'Connection: close',
    ]);
    expect(JSON.parse(body)).toEqual({ error: { code: 'HEADERS_TOO_LARGE', message: 'request headers are larger than the server accepts' } });
  });
});
