/**
 * How to override a refusal of `POST /updates/apply`. The same message
 * reaches a person at the CLI (`outlast apply --force`) and a script at the
 * API (`{"force": true}`), so it names both.
 */
export const FORCE_HINT = 'with --force (API: "force": true)';
