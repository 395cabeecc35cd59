/**
 * The one error class of outlast. Every failure that crosses a module boundary
 * carries a stable `code`; the HTTP status and the CLI exit code are derived
 * from that code here, and nowhere else.
 */

/** Each stable error code with the HTTP status and CLI exit code it maps to. */
export const ERROR_CODES = {
  // Bad input from a person or a client: sysexits EX_USAGE / EX_CONFIG.
  BAD_REQUEST: { http: 400, exit: 64 },
  CONFIG_INVALID: { http: 400, exit: 78 },
  UNAUTHORIZED: { http: 401, exit: 77 },
  // A credential that is good but not from here: the session cookie on a
  // request whose Origin is another site's (cross-site request forgery).
  FORBIDDEN: { http: 403, exit: 77 },
  NOT_FOUND: { http: 404, exit: 66 },
  PAYLOAD_TOO_LARGE: { http: 413, exit: 64 },
  // Requests the HTTP parser refuses before routing.
  HEADERS_TOO_LARGE: { http: 431, exit: 64 },
  EXPECTATION_FAILED: { http: 417, exit: 64 },
  REQUEST_TIMEOUT: { http: 408, exit: 79 },
  // Busy, try again: exit 76 (never 75, which only asks a service manager for a restart).
  CONFLICT: { http: 409, exit: 76 },
  // Too many wrong logins from one address in the window: wait and retry.
  TOO_MANY_REQUESTS: { http: 429, exit: 76 },
  NOT_SUPPORTED: { http: 501, exit: 69 },
  // The supervisor is not there to talk to: EX_UNAVAILABLE.
  NOT_RUNNING: { http: 503, exit: 69 },
  API_UNREACHABLE: { http: 503, exit: 69 },
  // The command given to `outlast run` cannot be started, as a shell reports it.
  COMMAND_NOT_FOUND: { http: 500, exit: 127 },
  COMMAND_NOT_EXECUTABLE: { http: 500, exit: 126 },
  // The API port or another resource is taken: EX_UNAVAILABLE.
  ADDRESS_IN_USE: { http: 500, exit: 69 },
  STATE_DIR_UNUSABLE: { http: 500, exit: 73 },
  // Another supervisor holds this state dir. A unit lists 80 under
  // RestartPreventExitStatus=, so a duplicate start fails once, never loops.
  ALREADY_RUNNING: { http: 409, exit: 80 },
  // Updates.
  UPDATE_IN_PROGRESS: { http: 409, exit: 76 },
  RESTART_BLOCKED: { http: 409, exit: 76 },
  DOWNGRADE_REFUSED: { http: 409, exit: 65 },
  VERSION_MARKED_BAD: { http: 409, exit: 65 },
  // A version in a staged rollout that this device is not in (yet): the
  // scheduled updater waits; a person may name it to install it anyway.
  NOT_IN_ROLLOUT: { http: 409, exit: 65 },
  // A named version that updates.range does not allow; force installs it anyway.
  VERSION_OUT_OF_RANGE: { http: 409, exit: 65 },
  // Two git tags name one version on different commits: which one is meant is unknowable.
  VERSION_AMBIGUOUS: { http: 409, exit: 65 },
  UPDATES_NOT_CONFIGURED: { http: 501, exit: 69 },
  NOTHING_TO_ROLL_BACK: { http: 409, exit: 65 },
  // Why a release was refused or rolled back, one code per check.
  SIGNATURE_INVALID: { http: 422, exit: 65 },
  // A signed manifest whose serial is below the highest one accepted (or
  // equal with other content): an older edition replayed, a rollback attack.
  MANIFEST_REPLAYED: { http: 409, exit: 65 },
  MANIFEST_EXPIRED: { http: 409, exit: 65 },
  DIGEST_MISMATCH: { http: 422, exit: 65 },
  INSTALL_FAILED: { http: 422, exit: 65 },
  PREFLIGHT_FAILED: { http: 422, exit: 65 },
  HANDOFF_FAILED: { http: 422, exit: 65 },
  // A self-update whose new supervisor could not start (its start probe failed): caught before the re-exec.
  START_PROBE_FAILED: { http: 422, exit: 65 },
  HEALTH_GATE_FAILED: { http: 422, exit: 65 },
  // A release that downloads or unpacks to more than the configured limit
  // (422 like every refusal of a release: the request itself is not too large).
  TOO_LARGE: { http: 422, exit: 65 },
  // A release tarball with an entry that cannot be extracted as written.
  ARCHIVE_INVALID: { http: 422, exit: 65 },
  VERSION_NOT_FOUND: { http: 404, exit: 66 },
  SOURCE_UNAVAILABLE: { http: 502, exit: 69 },
  TIMEOUT: { http: 504, exit: 79 },
  // The machine's disk, not the request: full (507 Insufficient Storage), or
  // not writable; EX_IOERR. Retried once the disk is fixed, with nothing left held.
  NO_SPACE: { http: 507, exit: 74 },
  READ_ONLY: { http: 503, exit: 74 },
  // Journal only: the supervisor died during an operation, and start-up settled it.
  INTERRUPTED: { http: 500, exit: 70 },
  INTERNAL: { http: 500, exit: 70 },
} as const satisfies Record<string, { http: number; exit: number }>;

/** A stable error code. */
export type ErrorCode = keyof typeof ERROR_CODES;

/** Options for {@link OutlastError}. */
export interface OutlastErrorOptions {
  cause?: unknown;
  /** Structured facts a client may act on (the holder of a lock, the bad key…). */
  details?: Record<string, unknown>;
}

/** An error with a stable code, a human message, and optional details. */
export class OutlastError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, options: OutlastErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'OutlastError';
    this.code = code;
    this.details = options.details;
  }

  /** The HTTP status this error is answered with. */
  get httpStatus(): number {
    return ERROR_CODES[this.code].http;
  }

  /** The exit code the CLI ends with for this error. */
  get exitCode(): number {
    return ERROR_CODES[this.code].exit;
  }

  /** The wire shape shared by the API and `--json` output. */
  toJSON(): { error: { code: ErrorCode; message: string; details?: Record<string, unknown> } } {
    return {
      error: {
        code: this.code,
        message: this.message,
        ...(this.details === undefined ? {} : { details: this.details }),
      },
    };
  }
}

/** Whether `value` is a known error code. */
export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_CODES, value);
}

/** An error as another process wrote it: the `error` of {@link OutlastError.toJSON}. */
export interface ErrorAnswer {
  code: string;
  message: string;
  details?: Record<string, unknown>;
}

/** `value` read as an {@link ErrorAnswer}, or undefined when it is not one (the code need not be known here). */
export function readErrorAnswer(value: unknown): ErrorAnswer | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { code, message, details } = value as Record<string, unknown>;
  if (typeof code !== 'string' || typeof message !== 'string') return undefined;
  return { code, message, ...(typeof details === 'object' && details !== null ? { details: details as Record<string, unknown> } : {}) };
}

/** The OutlastError an answer describes, as it was raised where it was written (a code unknown here reads as INTERNAL). */
export function raiseAnswer(answer: ErrorAnswer): OutlastError {
  const { code, message, details } = answer;
  return new OutlastError(isErrorCode(code) ? code : 'INTERNAL', message, details === undefined ? {} : { details });
}

/** File-system errnos that describe the machine's disk, with the code and the words for them. */
const DISK_ERRNOS: Record<string, { code: ErrorCode; what: string }> = {
  ENOSPC: { code: 'NO_SPACE', what: 'no space is left on the device' },
  EDQUOT: { code: 'NO_SPACE', what: 'the disk quota is used up' },
  EROFS: { code: 'READ_ONLY', what: 'the file system is read-only' },
  EACCES: { code: 'READ_ONLY', what: 'permission is denied' },
  EPERM: { code: 'READ_ONLY', what: 'the operation is not permitted' },
};

/** The calls whose EACCES/EPERM say the state dir is not writable. */
const FS_SYSCALLS: ReadonlySet<string> = new Set(['open', 'write', 'mkdir', 'rename', 'unlink', 'rmdir', 'rm', 'symlink', 'link', 'chmod', 'fchmod', 'utime', 'futime', 'fsync', 'copyfile', 'ftruncate', 'scandir', 'lstat', 'mkdtemp']);

/**
 * The error for a disk-level failure (full, read-only, no permission), or
 * undefined for anything else. The message names the errno and the call,
 * never the path: paths are the machine's business, and the log has them.
 */
export function diskError(err: unknown): OutlastError | undefined {
  const { code: errno, syscall } = (err ?? {}) as { code?: unknown; syscall?: unknown };
  if (typeof errno !== 'string') return undefined;
  const disk = DISK_ERRNOS[errno];
  if (disk === undefined) return undefined;
  // Permission errors are the disk's only from a file-system call (not a kill or a spawn).
  if (disk.code === 'READ_ONLY' && errno !== 'EROFS' && (typeof syscall !== 'string' || !FS_SYSCALLS.has(syscall))) return undefined;
  const during = typeof syscall === 'string' ? ` (${errno} in ${syscall})` : ` (${errno})`;
  return new OutlastError(disk.code, `the disk refused: ${disk.what}${during}`, {
    cause: err,
    details: { errno },
  });
}

/** Wraps anything thrown into an OutlastError, keeping the original as `cause`; disk failures get their own codes. */
export function toOutlastError(err: unknown, fallback: ErrorCode = 'INTERNAL'): OutlastError {
  if (err instanceof OutlastError) return err;
  const disk = diskError(err);
  if (disk !== undefined) return disk;
  const message = err instanceof Error ? err.message : String(err);
  return new OutlastError(fallback, message, { cause: err });
}
