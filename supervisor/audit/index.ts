export { auditCommand, auditPaths, auditService, type AuditOptions } from './audit.ts';
export { RULES, type Finding, type RuleId, type RuleSpec, type Severity } from './finding.ts';
export { formatFindings, hasHigh } from './format.ts';
export { nodeAuditFs } from './node-fs.ts';
export type { AuditFs, EntryKind, SourceFile } from './sources.ts';
