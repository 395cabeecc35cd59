/**
 * The minisign parser and verifier on fixed vectors: keys and signatures
 * made once by minisign 0.11 (`minisign -G -W`, `minisign -S [-l] -t …`)
 * over MESSAGE, so this runs wherever minisign is not installed.
 */
import { describe, expect, it } from 'vitest';
import { OutlastError } from '../../supervisor/errors.ts';
import { isMinisignKey, keyIdHex, LEGACY_MAX_BYTES, minisigCheck, parseMinisig, parseMinisignKey, verifyMinisig, verifyMinisigHeader } from '../../supervisor/update/minisign.ts';

const MESSAGE = Buffer.from('outlast minisign test vector\n');

const KEY_A = 'untrusted comment: minisign public key D778D84AEBAED541\nRWRB1a7rSth41+M5rOUf2Mynrk25XrX5/0/xa9B/eoGpPnqm8yZgqbbe\n';
const KEY_B = 'untrusted comment: minisign public key DD172F55EC8C3433\nRWQzNIzsVS8X3Vy7Ya71eeUdZJowy2BW+W+HA7aEJSurFGyFRtk59QZo\n';

/** `minisign -S -s a.key -m vector.txt -t 'version 1.2.3 of vector.txt'`: prehashed ("ED"). */
const PREHASHED = [
  'untrusted comment: signature from minisign secret key',
  'RURB1a7rSth413FtQky9FsKcR/qcu+JM9S55r/p9x396k6LJOv0YZXh5tlzGME/RuhtbHhyXQ/iyb438zXRPEuwZ/u8UvQXUPA4=',
  'trusted comment: version 1.2.3 of vector.txt',
  '5qYz3taM6f54n0pz7AZJNRGq0ck75MbKxRsTfeUoBDK+0aLB7cw46+AnnV4PIHXRAQ+cE781NtB82JeptuVLAw==',
  '',
].join('\n');

/** `minisign -S -l -s a.key -m vector.txt -t 'legacy vector'`: legacy ("Ed"). */
const LEGACY = [
  'untrusted comment: signature from minisign secret key',
  'RWRB1a7rSth419ytE8/wdX+AP7ct0b/V7BXpkmElfckxBkxAVrq4iDz6dldMiSL5h2JQtjdX0Q6IgxDmNHQmEoQBnGJZCpJH7AE=',
  'trusted comment: legacy vector',
  '/yIne1WRpz8qX3/LZxiy2942LRig+nW3Kum2yuv/ZA+hH/UhkBqoe9OIc9INSIa+IdRyqhBLDLL4e4++yFfVBA==',
  '',
].join('\n');

/** The same message signed by key B. */
const BY_B = [
  'untrusted comment: signature from minisign secret key',
  'RUQzNIzsVS8X3QNwehcRMmtOIKuOgiB0DWwP7wMmI4T3b93eBsJkJxKr/xbpFiN9gB1wWYLYMf9xKO2hOMtecVsVqLzTgpZg2A4=',
  'trusted comment: by b',
  'DrS/hYXQMVlKEOIBsdRnCT7vm5NnBnVsXuIzbWslE7pJCnJhe+YNJ4oi9jpAQH2Suc7l/0YwmS3qrtzyhNV0AQ==',
  '',
].join('\n');

/** The SIGNATURE_INVALID reason `fn` fails with; throws on anything else. */
function reason(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    if (err instanceof OutlastError && err.code === 'SIGNATURE_INVALID') return err.details?.reason;
    throw err;
  }
  return 'passed';
}

/** `text` with line `index` replaced by `edit(line)`. */
function editLine(text: string, index: number, edit: (line: string) => string): string {
  const lines = text.split('\n');
  lines[index] = edit(lines[index]!);
  return lines.join('\n');
}

describe('minisign public keys', () => {
  it('reads the RW… line alone and the whole .pub file, CRLF or not', () => {
    const line = KEY_A.split('\n')[1]!;
    for (const text of [line, KEY_A, KEY_A.replaceAll('\n', '\r\n'), `  ${line}  \n`]) {
      expect(parseMinisignKey(text).keyIdHex, JSON.stringify(text)).toBe('D778D84AEBAED541');
    }
    expect(parseMinisignKey(KEY_B).keyIdHex).toBe('DD172F55EC8C3433');
    expect(keyIdHex(Buffer.from('41d5aeeb4ad878d7', 'hex'))).toBe('D778D84AEBAED541');
  });

  it('refuses what is not one: garbage, a signature line, two keys, a PEM, a non-Ed algorithm', () => {
    const line = KEY_A.split('\n')[1]!;
    const notEd = Buffer.from(line, 'base64');
    notEd.write('Xx', 0, 'latin1');
    const cases = ['', 'RWRB', PREHASHED.split('\n')[1]!, `${KEY_A}${KEY_B}`, '-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA\n-----END PUBLIC KEY-----', notEd.toString('base64'), `${line.slice(0, -1)}!`];
    for (const text of cases) {
      expect(isMinisignKey(text), text).toBe(false);
      expect(() => parseMinisignKey(text)).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }) as Error);
    }
  });
});

describe('minisign signatures', () => {
  const a = parseMinisignKey(KEY_A);
  const b = parseMinisignKey(KEY_B);

  it('parses both algorithms and the trusted comment as bytes', () => {
    const prehashed = parseMinisig(PREHASHED, 'm');
    expect(prehashed).toMatchObject({ algorithm: 'ED' });
    expect(prehashed.trustedComment.toString()).toBe('version 1.2.3 of vector.txt');
    expect(keyIdHex(prehashed.keyId)).toBe('D778D84AEBAED541');
    expect(prehashed.signature).toHaveLength(64);
    expect(prehashed.globalSignature).toHaveLength(64);
    expect(parseMinisig(LEGACY, 'm')).toMatchObject({ algorithm: 'Ed' });
    // CRLF as a Windows editor might save it, and no final newline.
    expect(parseMinisig(PREHASHED.replaceAll('\n', '\r\n'), 'm').trustedComment.toString()).toBe('version 1.2.3 of vector.txt');
    expect(parseMinisig(PREHASHED.trimEnd(), 'm').algorithm).toBe('ED');
  });

  it('verifies the prehashed and the legacy form over the message', () => {
    expect(reason(() => verifyMinisig(a, PREHASHED, MESSAGE, 'm'))).toBe('passed');
    expect(reason(() => verifyMinisig(a, LEGACY, MESSAGE, 'm'))).toBe('passed');
    expect(reason(() => verifyMinisig(b, BY_B, MESSAGE, 'm'))).toBe('passed');
    expect(reason(() => verifyMinisig(a, Buffer.from(PREHASHED.replaceAll('\n', '\r\n')), MESSAGE, 'm'))).toBe('passed');
  });

  it('verifies streamed in chunks as in one piece', () => {
    for (const text of [PREHASHED, LEGACY]) {
      const sig = parseMinisig(text, 'm');
      verifyMinisigHeader(a, sig, 'm');
      const check = minisigCheck(a, sig, 'm');
      for (let at = 0; at < MESSAGE.length; at += 5) check.update(MESSAGE.subarray(at, at + 5));
      expect(() => check.verify()).not.toThrow();
    }
  });

  it('refuses a changed message, another key, a forged key id and an edited trusted comment', () => {
    const tampered = Buffer.from(MESSAGE);
    tampered[0] = tampered[0]! ^ 1;
    expect(reason(() => verifyMinisig(a, PREHASHED, tampered, 'm'))).toBe('bad-signature');
    expect(reason(() => verifyMinisig(a, LEGACY, tampered, 'm'))).toBe('bad-signature');
    expect(reason(() => verifyMinisig(a, PREHASHED, Buffer.concat([MESSAGE, Buffer.from('x')]), 'm'))).toBe('bad-signature');
    expect(reason(() => verifyMinisig(a, BY_B, MESSAGE, 'm'))).toBe('wrong-key');
    expect(reason(() => verifyMinisig(b, PREHASHED, MESSAGE, 'm'))).toBe('wrong-key');

    // B's signature relabelled with A's key id: the global signature is B's.
    const relabelled = editLine(BY_B, 1, (line) => {
      const raw = Buffer.from(line, 'base64');
      Buffer.from(KEY_A.split('\n')[1]!, 'base64').copy(raw, 2, 2, 10);
      return raw.toString('base64');
    });
    expect(reason(() => verifyMinisig(a, relabelled, MESSAGE, 'm'))).toBe('trusted-comment');

    for (const edit of [(l: string) => `${l}!`, (l: string) => l.replace('1.2.3', '9.9.9'), (l: string) => `${l} `]) {
      expect(reason(() => verifyMinisig(a, editLine(PREHASHED, 2, edit), MESSAGE, 'm'))).toBe('trusted-comment');
    }
    // The algorithm byte flipped: the same signature over the other message form.
    const flipped = editLine(PREHASHED, 1, (line) => {
      const raw = Buffer.from(line, 'base64');
      raw.write('Ed', 0, 'latin1');
      return raw.toString('base64');
    });
    expect(reason(() => verifyMinisig(a, flipped, MESSAGE, 'm'))).toBe('bad-signature');
  });

  it('accepts any untrusted comment: it is signed by nothing', () => {
    expect(reason(() => verifyMinisig(a, editLine(PREHASHED, 0, () => 'untrusted comment: edited freely'), MESSAGE, 'm'))).toBe('passed');
  });

  it('calls anything but the four lines malformed', () => {
    const cases: Array<[string, string]> = [
      ['empty', ''],
      ['no untrusted comment', PREHASHED.split('\n').slice(1).join('\n')],
      ['a bad first line', editLine(PREHASHED, 0, (l) => l.replace('untrusted', 'trusted'))],
      ['a short signature', editLine(PREHASHED, 1, (l) => l.slice(0, 40))],
      ['a non-base64 signature', editLine(PREHASHED, 1, (l) => `*${l.slice(1)}`)],
      ['an unknown algorithm', editLine(PREHASHED, 1, (l) => Buffer.concat([Buffer.from('Zz'), Buffer.from(l, 'base64').subarray(2)]).toString('base64'))],
      ['no trusted comment', editLine(PREHASHED, 2, (l) => l.replace('trusted comment: ', 'comment: '))],
      ['a missing global signature', PREHASHED.split('\n').slice(0, 3).join('\n')],
      ['a short global signature', editLine(PREHASHED, 3, (l) => l.slice(0, 20))],
      ['more after the fourth line', `${PREHASHED}extra\n`],
      ['too long', `${PREHASHED}${'\n'.repeat(20_000)}`],
    ];
    for (const [what, text] of cases) expect(reason(() => parseMinisig(text, 'm')), what).toBe('malformed');
  });

  it('caps the legacy form, which must be held in memory, and not the prehashed one', () => {
    const chunk = Buffer.alloc(1024 * 1024);
    const legacy = minisigCheck(a, parseMinisig(LEGACY, 'm'), 'm');
    const prehashed = minisigCheck(a, parseMinisig(PREHASHED, 'm'), 'm');
    for (let fed = 0; fed < LEGACY_MAX_BYTES; fed += chunk.length) {
      legacy.update(chunk);
      prehashed.update(chunk);
    }
    expect(reason(() => legacy.update(Buffer.alloc(1)))).toBe('legacy-too-large');
    prehashed.update(Buffer.alloc(1));
    expect(reason(() => prehashed.verify())).toBe('bad-signature');
  });
});
