// The long-lived parts every flow may use, made once per process by app.ts.
import type { GitHubApp } from "../adapters/github/app.js";
import type { Renderer } from "../adapters/renderer.js";
import type { Signer } from "../adapters/signing.js";
import type { Workspaces } from "../adapters/workspaces.js";
import type { Background } from "../runtime/background.js";
import type { CorePool } from "../runtime/core-pool.js";
import type { KeyedQueue } from "../runtime/keyed-queue.js";
import type { Later } from "../runtime/later.js";
import type { Metrics } from "../runtime/metrics.js";
import type { OncePer, Quota } from "../runtime/once-per.js";
import type { Verifier } from "../runtime/verifier.js";
import type { GateWaits } from "../runtime/gate-waits.js";
import type { Owed } from "../core/owed.js";
import type { Verification } from "../core/verification.js";

export interface Services {
  /** The app's own GitHub client: installations, and a client per installation. */
  github: GitHubApp;
  workspaces: Workspaces;
  queue: KeyedQueue;
  /** Work that continues after its webhook was answered. */
  background: Background;
  /** kustomize, with its render cache. */
  renderer: Renderer;
  /** Worker threads for the core decisions that parse repository YAML, off the event loop. */
  cpu: CorePool;
  metrics: Metrics;
  /** Signs the state Conveyor keeps in its PR bodies, so edits by others are recognised. */
  signer: Signer;
  /** Answers someone could make Conveyor repeat (refused or malformed commands): once an hour each. */
  answers: OncePer;
  /** Render checks of fork PRs, per author: anyone can open those. */
  forkRenders: Quota;
  /** Accepted deploy events whose PR could not be made yet, tried again after a while. */
  later: Later;
  /** Present when an Argo CD source is configured; without it merges are not verified. */
  verifier?: Verifier;
  /** E2E gates being waited for (with a verifier): looked at again on a webhook, a poll or the deadline. */
  gateWaits?: GateWaits<{ v: Verification; owed: Extract<Owed, { kind: "verified" }> }>;
}

export interface Log {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  child(bindings: object): Log;
}
