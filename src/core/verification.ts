// A verification: one merged change of one (service, environment), watched in Argo CD until a
// verdict. It is built in one place from whatever started it (a push, `/retry`, a restart that
// reads it back from its GitHub Deployment), and the Deployment's payload is its durable record.
import type { AppKey } from "./argo-source.js";
import { applicationName, type Config, type EnvironmentConfig } from "./config.js";
import { hasSource, sourceFromRecord, sourceRecord, type DispatchSource } from "./source.js";
import type { SlotStep } from "./plan-blue-green.js";
import { trackStepFrom, type TrackStep } from "./plan-canary.js";
import { isValidName } from "./names.js";

export interface VerificationPolicy {
  soakMs: number;
  syncMs: number;
  healthMs: number;
  suspendedMs: number;
  degradedGraceMs: number;
}

export interface Verification {
  repo: { owner: string; repo: string; installationId: number; cloneUrl: string; defaultBranch: string };
  service: string;
  env: string;
  app: AppKey;
  /** The commit on the default branch that carries the change. */
  revision: string;
  /** The default branch before the change (for reverts). */
  base?: string;
  deploymentId: number;
  pr?: { number: number; author?: string; labels: string[] };
  from?: string;
  to?: string;
  /** Where the image `to` came from (the deploy event, carried through PRs and Deployments). */
  source?: DispatchSource;
  file: string;
  /** A blue-green change: the slot it moved, whose Deployment alone is judged. */
  slot?: SlotStep;
  /** A canary change: the track it moved (canary, stable), whose Deployment alone is judged. */
  track?: TrackStep;
  startedAt: string;
  policy: VerificationPolicy;
}

/** What a change carries, as recorded before its Deployment exists. */
export interface ChangeRecord {
  service: string;
  env: string;
  file: string;
  revision: string;
  base?: string;
  from?: string;
  to?: string;
  /** Where the image `to` came from, when the PR that made the change said so. */
  source?: DispatchSource;
  pr?: number;
  /** Set when this record re-verifies an earlier, failed Deployment. */
  retryOf?: number;
  /** The change undoes a failed one (a revert PR's merge): never promoted. */
  revert?: boolean;
  /** A blue-green change: the slot it moved. */
  slot?: SlotStep;
  /** A canary change: the track it moved. */
  track?: TrackStep;
}

export function policyOf(env: EnvironmentConfig): VerificationPolicy {
  return {
    soakMs: env.soak,
    syncMs: env.timeouts.sync,
    healthMs: env.timeouts.health,
    suspendedMs: env.timeouts.suspended,
    degradedGraceMs: env.timeouts.degradedGrace,
  };
}

/** The Deployment Conveyor records for a change: its environment, description and payload. */
export function deploymentFor(
  config: Config,
  change: ChangeRecord,
): { environment: string; description: string; production: boolean; payload: Record<string, unknown> } {
  const last = config.environments[config.environments.length - 1]?.name;
  return {
    environment: change.env,
    description: `${change.service}: ${change.to ?? "overlay change"}${change.retryOf !== undefined ? " (retry)" : ""}`,
    production: change.env === last,
    payload: {
      conveyor: true,
      service: change.service,
      from: change.from ?? null,
      to: change.to ?? null,
      pr: change.pr ?? null,
      application: applicationName(config, change.service, change.env),
      file: change.file,
      base: change.base ?? null,
      revert: change.revert ?? false,
      ...(hasSource(change.source) ? { source: sourceRecord(change.source) } : {}),
      ...(change.slot ? { slot: change.slot } : {}),
      ...(change.track ? { track: change.track } : {}),
      ...(change.retryOf !== undefined ? { retryOf: change.retryOf } : {}),
    },
  };
}

/** The verification of a change whose Deployment was just created (or found in progress). */
export function verificationOf(input: {
  config: Config;
  env: EnvironmentConfig;
  repo: Verification["repo"];
  change: ChangeRecord;
  deploymentId: number;
  startedAt: string;
  pr?: Verification["pr"];
  /** The Application name recorded in the Deployment, when reading one back. */
  application?: string;
}): Verification {
  const { change } = input;
  return {
    repo: input.repo,
    service: change.service,
    env: input.env.name,
    app: {
      namespace: input.config.argocd.namespace,
      name: input.application ?? applicationName(input.config, change.service, input.env.name),
    },
    revision: change.revision,
    base: change.base,
    deploymentId: input.deploymentId,
    pr: input.pr,
    from: change.from,
    to: change.to,
    ...(hasSource(change.source) ? { source: change.source } : {}),
    file: change.file,
    ...(change.slot ? { slot: change.slot } : {}),
    ...(change.track ? { track: change.track } : {}),
    startedAt: input.startedAt,
    policy: policyOf(input.env),
  };
}

/** Reads a Deployment's payload back; undefined when it is not one of Conveyor's. */
export function changeFromDeployment(d: {
  sha: string;
  environment: string;
  payload: Record<string, unknown>;
}): (ChangeRecord & { application?: string }) | undefined {
  const p = d.payload;
  if (p.conveyor !== true || typeof p.service !== "string" || typeof p.file !== "string") return undefined;
  const text = (value: unknown) => (typeof value === "string" ? value : undefined);
  const source = sourceFromRecord(p.source);
  return {
    service: p.service,
    env: d.environment,
    file: p.file,
    revision: d.sha,
    base: text(p.base),
    from: text(p.from),
    to: text(p.to),
    pr: typeof p.pr === "number" ? p.pr : undefined,
    revert: p.revert === true,
    ...(source ? { source } : {}),
    application: text(p.application),
    ...strategyStepOf(p),
  };
}

/** The strategy step a Deployment's payload recorded (slot or track), believed only in its exact shape. */
export function strategyStepOf(p: Record<string, unknown>): { slot?: SlotStep; track?: TrackStep } {
  const track = trackStepFrom(p.track);
  return { ...slotOf(p.slot), ...(track ? { track } : {}) };
}

/** A recorded slot step, believed only in its exact shape. */
function slotOf(value: unknown): { slot?: SlotStep } {
  if (typeof value !== "object" || value === null) return {};
  const { kind, slot, deployment } = value as Record<string, unknown>;
  if ((kind !== "idle" && kind !== "live") || (slot !== "blue" && slot !== "green")) return {};
  if (typeof deployment !== "string" || !isValidName(deployment)) return {};
  return { slot: { kind, slot, deployment } };
}

/** The person to tell about a change: its author, or whoever merged (pushed) a bot's PR. */
export function humanOf(...logins: Array<string | undefined>): string | undefined {
  return logins.find((login) => login !== undefined && login !== "" && !login.endsWith("[bot]"));
}
