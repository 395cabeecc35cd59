/**
 * Combines the probes into one Platform: every probe runs, the highest kind
 * that fired wins, and each lower kind that also fired is reported as a
 * conflict saying why it lost. Facts of every fired probe are kept, so a
 * restart strategy can still honour, say, PID 1 when Termux won.
 */
import type { Finding, Platform, PlatformKind, SystemdFacts } from './platform.ts';
import { probeContainer } from './probes/container.ts';
import { probeSystemd } from './probes/systemd.ts';
import { probeTermux } from './probes/termux.ts';
import type { PlatformSnapshot } from './snapshot.ts';

type FiredKind = Exclude<PlatformKind, 'bare'>;

const UNIT_WINS =
  'INVOCATION_ID and a .service cgroup: a systemd manager started this process as a unit, so its stop timeout and cgroup kill are the window that matters; the container markers stay as facts';

// Precedence: termux > container > systemd > bare (anything beats nothing),
// except that a systemd unit we run in beats the container (see unitWins).
// Why each pair is ordered so, in the words a conflict reports:
const WHY_WINS: Partial<Record<`${FiredKind}>${FiredKind}`, string>> = {
  // Android's killer (phantom processes, a swiped-away app) hits every process
  // under the Termux app whatever its rootfs looks like, and PRoot guests and
  // udocker images carry marker files (/.dockerenv) that no runtime wrote.
  // When Termux's env merely leaks into a real container, the container facts
  // are still reported for the strategy to honour.
  'termux>container':
    'Android kills Termux processes whatever rootfs they see, and PRoot guests carry container markers no runtime wrote; the container facts stand in case the Termux env was copied in',
  // systemd cannot run as a manager on Android: INVOCATION_ID or a .service
  // path there was copied in from elsewhere.
  'termux>systemd': 'no systemd manages processes on Android: its traces were copied in, and nothing would restart us',
  // A systemd inside a container lives only as long as the container: the
  // runtime's restart policy and PID 1's exit decide our fate first.
  'container>systemd': 'the runtime owns the container, so its rules bind before the inner systemd unit',
  'systemd>container': UNIT_WINS,
};

interface Candidate {
  kind: FiredKind;
  finding: Finding<unknown>;
  /** Names the losing side in a conflict, e.g. the runtime or the unit. */
  label?: string;
}

/** Detects the platform from a snapshot. Never throws. */
export function detectPlatform(snapshot: PlatformSnapshot): Platform {
  try {
    return combine(snapshot);
  } catch (err) {
    // Only a malformed (hand-edited or truncated) snapshot gets here.
    const message = err instanceof Error ? err.message : String(err);
    return {
      kind: 'bare',
      evidence: [`detection failed on a malformed snapshot: ${message}`],
      conflicts: [],
      execve: snapshot.execve === true,
      node: typeof snapshot.node === 'string' ? snapshot.node : 'unknown',
    };
  }
}

function combine(snapshot: PlatformSnapshot): Platform {
  const termux = probeTermux(snapshot);
  const container = probeContainer(snapshot);
  const systemd = probeSystemd(snapshot);
  const base = {
    ...(termux.facts === undefined ? {} : { termux: termux.facts }),
    ...(container.facts === undefined ? {} : { container: container.facts }),
    ...(systemd.facts === undefined ? {} : { systemd: systemd.facts }),
    execve: snapshot.execve,
    node: snapshot.node,
  };
  const containerCandidate: Candidate = { kind: 'container', finding: container, label: container.facts?.runtime };
  const systemdCandidate: Candidate = { kind: 'systemd', finding: systemd, label: systemd.facts?.unit ?? undefined };
  const unit = unitWins(systemd.facts);
  // In precedence order.
  const candidates: Candidate[] = [
    { kind: 'termux', finding: termux },
    ...(unit ? [systemdCandidate, containerCandidate] : [containerCandidate, systemdCandidate]),
  ];
  const fired = candidates.filter(({ finding }) => finding.facts !== undefined);
  const [winner, ...losers] = fired;
  if (winner === undefined) {
    return { kind: 'bare', evidence: ['no Termux, container or systemd marker found'], conflicts: [], ...base };
  }
  const conflicts = fired.flatMap(({ finding }) => finding.conflicts);
  for (const { kind, label } of losers) {
    const why = WHY_WINS[`${winner.kind}>${kind}`] ?? 'higher precedence';
    conflicts.push(`${winner.kind} over ${kind}${label === undefined ? '' : ` (${label})`}: ${why}`);
  }
  const evidence = fired.flatMap(({ kind, finding }) => finding.evidence.map((line) => `${kind}: ${line}`));
  if (winner.kind === 'systemd' && container.facts !== undefined) evidence.push(`systemd over container: ${UNIT_WINS}`);
  return { kind: winner.kind, evidence, conflicts, ...base };
}

/**
 * Whether systemd runs us as a unit for certain: its per-run INVOCATION_ID
 * and a `.service` in our cgroup path. Both are set by the manager that
 * spawned us, whereas container markers such as /.dockerenv can be baked into
 * an image or left on a VM's root; a systemd inside a container still kills
 * the unit's cgroup at the unit's TimeoutStopSec, whatever the runtime does.
 */
function unitWins(facts: SystemdFacts | undefined): boolean {
  return facts?.invocationId !== undefined && facts.unit?.endsWith('.service') === true;
}
