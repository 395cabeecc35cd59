// The Go scan: servers and signal.Notify calls found in code, not in
// comments or strings.
import { describe, expect, it } from 'vitest';
import { auditService } from '../../supervisor/audit/index.ts';
import { blankGo } from '../../supervisor/audit/go/scan.ts';

function audit(text: string): string[] {
  return auditService([{ path: 'svc/main.go', text }]).map((f) => `${f.rule}@${f.file}:${f.line}`);
}

const serve = (notify: string): string => `package main\n\nfunc main() {\n\t${notify}\n\tsrv.ListenAndServe()\n}\n`;

describe('go scan', () => {
  it('blanks comments, strings, runes and raw strings, keeping lines', () => {
    const source = 'a := "x // y" // SIGTERM\n/* ListenAndServe(\n */ b := `raw\nListenAndServe(` + \'"\'\n';
    const blank = blankGo(source);
    expect(blank).toHaveLength(source.length);
    expect(blank.split('\n')).toHaveLength(source.split('\n').length);
    expect(blank).not.toMatch(/SIGTERM|ListenAndServe|raw/);
  });

  it.each([
    ['signal.Notify with SIGTERM', 'signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)'],
    ['signal.Notify with no signals (all of them)', 'signal.Notify(stop)'],
    ['a spread list that names SIGTERM', 'signals := []os.Signal{os.Interrupt, syscall.SIGTERM}\n\tsignal.Notify(stop, signals...)'],
    ['NotifyContext over lines', 'ctx, cancel := signal.NotifyContext(\n\t\tcontext.Background(),\n\t\tunix.SIGTERM,\n\t)'],
  ])('accepts %s', (_name, notify) => {
    expect(audit(serve(notify))).toEqual([]);
  });

  it('flags a gRPC or listener Serve without SIGTERM', () => {
    expect(audit('package main\n\nfunc main() {\n\tgrpcServer.Serve(lis)\n}\n')).toEqual(['go-no-sigterm-handler@svc/main.go:4']);
  });
});
