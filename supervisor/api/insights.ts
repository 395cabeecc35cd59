/**
 * What the status page shows beyond `/status`, computed in the supervisor
 * the way the CLI computes it: `outlast doctor`'s report (the platform, the
 * restart strategy and why, the warnings) and `outlast why`'s verdict on
 * the last restart or death. Both modules load on first use: a supervisor
 * whose page nobody opens never loads them.
 */
import type { Config } from '../config/schema.ts';
import type { DoctorReport } from '../doctor/diagnose.ts';
import { OutlastError } from '../errors.ts';
import type { Verdict } from '../forensics/why.ts';
import type { Host } from '../host/host.ts';

/** The page's read-only views of the doctor and the forensics. */
export interface Insights {
  doctor(): Promise<DoctorReport>;
  why(): Promise<Verdict>;
}

// The doctor runs systemctl and journalctl: a page polling it must not
// spawn them on every load, and two tabs share one run.
const DOCTOR_TTL_MS = 30_000;
// gather.ts bounds every call it makes (well under 2 s in all); this is
// the backstop should a reader it trusts still hang.
const DOCTOR_DEADLINE_MS = 5000;

/** The insights of the supervisor running `config` on `host`. */
export function createInsights(host: Host, config: Config): Insights {
  let cached: { at: number; report: Promise<DoctorReport> } | undefined;
  return {
    doctor() {
      const now = host.clock.monotonic();
      if (cached === undefined || now - cached.at > DOCTOR_TTL_MS) {
        const report = withDeadline(host, runDoctor(host, config), DOCTOR_DEADLINE_MS);
        cached = { at: now, report };
        // A failed run is not kept: the next request tries again.
        void report.catch(() => {
          if (cached?.report === report) cached = undefined;
        });
      }
      return cached.report;
    },
    async why() {
      const [{ readMarkers }, { explain }] = await Promise.all([import('../forensics/markers.ts'), import('../forensics/why.ts')]);
      return explain(await readMarkers(host, config.stateDir), (pid) => host.kill(pid, 0));
    },
  };
}

async function runDoctor(host: Host, config: Config): Promise<DoctorReport> {
  const [{ gatherDoctorInput }, { diagnose }, { hostRunner }, { readPlatformOf }, { outlastEntry }] = await Promise.all([
    import('../doctor/gather.ts'),
    import('../doctor/diagnose.ts'),
    import('../../platform/systemctl-runner.ts'),
    import('../../platform/read-platform.ts'),
    import('../install/paths.ts'),
  ]);
  const input = await gatherDoctorInput(
    {
      host,
      systemctl: hostRunner(host, 'systemctl'),
      journalctl: hostRunner(host, 'journalctl'),
      // The running supervisor the doctor finds in the state dir is this one.
      platformOf: (pid) => (pid === undefined || pid === host.pid ? host.readPlatform() : readPlatformOf(pid)),
      selfEntry: outlastEntry(),
    },
    {
      stateDir: config.stateDir,
      stopBudgetMs: config.service.stopTimeoutMs,
      updates: config.updates !== undefined,
      ...(config.updates?.selfUpdate === undefined ? {} : { selfUpdate: config.updates.selfUpdate }),
      requested: config.selfRestart.strategy,
      force: config.selfRestart.force,
    },
  );
  return diagnose(input);
}

async function withDeadline<T>(host: Host, work: Promise<T>, ms: number): Promise<T> {
  const stop = new AbortController();
  const late = new Promise<never>((_resolve, reject) => {
    void host.clock.sleep(ms, stop.signal).then(
      () => reject(new OutlastError('TIMEOUT', `the doctor did not answer within ${ms} ms`)),
      () => undefined,
    );
  });
  try {
    return await Promise.race([work, late]);
  } finally {
    stop.abort();
  }
}
