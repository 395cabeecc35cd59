/**
 * `outlast run`: binds the real Host, the logger and the sinks, then hands
 * over to runSupervisor.
 */
import type { Host } from '../host/host.ts';
import type { RunFlags } from '../config/load.ts';
import { validateApart } from '../config/validate-apart.ts';
import { createLogFile, type LogFileProblem } from '../log/log-file.ts';
import { createLogger, type Logger } from '../log/logger.ts';
import { safeSink, teeSink, type Sink } from '../log/safe-sink.ts';
import { probeAnswer, START_PROBE_ENV } from '../restart/start-probe.ts';
import { runSupervisor } from '../supervisor.ts';
import { capYoungGeneration } from './young-generation.ts';

/** Flags of `outlast run` beyond the config overrides. */
export interface RunCommandFlags extends RunFlags {
  /** Print a short "where is the API, how do I try it" banner. */
  banner?: boolean;
}

function banner(sink: Sink, info: { name: string; pid: number; apiUrl: string; tokenPath: string; loginLink: () => string }): void {
  const auth = `-H "Authorization: Bearer $(cat ${info.tokenPath})"`;
  sink.write(
    [
      '',
      `  outlast is supervising "${info.name}" (supervisor pid ${info.pid})`,
      `  API:    ${info.apiUrl}`,
      `  token:  ${info.tokenPath}`,
      `  page:   ${info.loginLink()}`,
      '          (a one-time login link, valid 10 min; a new one: outlast status --url)',
      '  try:',
      `    curl -s ${info.apiUrl}/health`,
      `    curl -s ${auth} ${info.apiUrl}/status`,
      '',
      '',
    ].join('\n'),
  );
}

/** Tells stderr (once per episode) what went wrong with the log file; the line cannot reach the file itself. */
function reportLogFileProblem(logger: Logger, problem: LogFileProblem): void {
  if (problem.kind === 'write-failed') {
    logger.warn({ err: problem.err, logFile: problem.path }, 'cannot write the log file: its lines are dropped until the next rotation is due (stdout and stderr still carry them)');
  } else if (problem.kind === 'writing-again') {
    logger.info({ logFile: problem.path }, 'writing the log file again');
  } else {
    logger.warn({ logFile: problem.path, droppedBytes: problem.droppedBytes }, 'the log file fell behind the output: lines were left out of it');
  }
}

/**
 * A self-update's start probe (restart/start-probe.ts): the config loaded,
 * the modules a supervisor runs on loaded too, and nothing touched; answers
 * with the token.
 */
async function answerStartProbe(token: string): Promise<number> {
  await Promise.all([import('../supervisor.ts'), import('../compose.ts'), import('../startup.ts')]);
  process.stdout.write(`${probeAnswer(token)}\n`);
  return 0;
}

/** Runs the supervisor in the foreground and returns its exit code. */
export async function runCommand(host: Host, flags: RunCommandFlags): Promise<number> {
  // Before the config is read: the sooner, the less the nursery has grown.
  capYoungGeneration(host.invocation.execArgv, host.env.NODE_OPTIONS);
  // Validated in a child process, not here nor in a worker thread: the
  // validator would stay resident here, and a worker's start leaves more
  // resident memory behind than it saves.
  const config = await validateApart(host, flags);
  const probeToken = host.env[START_PROBE_ENV];
  if (probeToken !== undefined) return answerStartProbe(probeToken);
  const stdout = safeSink(process.stdout);
  const stderr = safeSink(process.stderr);
  // The file waits (queuing) until runSupervisor knows whether this run has
  // one. It reports only from its drain, which starts after the logger exists.
  const logFile = createLogFile(host.fs, (problem) => reportLogFileProblem(logger, problem));
  const pretty = process.stderr.isTTY === true && host.env.OUTLAST_LOG_FORMAT !== 'json';
  // Our own log lines go to stderr: stdout carries only the service's output.
  const logger = createLogger({
    level: config.log.level,
    sink: stderr,
    file: logFile,
    pid: host.pid,
    pretty,
    now: () => host.clock.now(),
    base: { name: config.name },
  });
  try {
    return await runSupervisor(host, config, {
      logger,
      stdout: teeSink(stdout, logFile),
      stderr: teeSink(stderr, logFile),
      logFile,
      ...(flags.banner === true ? { onStarted: (info) => banner(stderr, info) } : {}),
    });
  } finally {
    await logFile.close();
  }
}
