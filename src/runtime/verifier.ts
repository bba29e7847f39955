// The verification loop: every tracked (service, environment) change is re-judged whenever Argo
// CD reports a change to its Application, and on a short tick for deadlines and soak. The
// decision itself is core/verdict/; what to do about it is the outcomes interface. Sync windows
// of the app's AppProject go into the decision too: while one holds the app, the wait is said on
// the Deployment (once per hold), and when it ends Argo CD is asked to refresh, so that auto-sync
// starts at once instead of at Argo CD's next periodic refresh.
import type { Application } from "../core/argo-types.js";
import { syncWindowState, type SyncWindowRef, type SyncWindowState } from "../core/sync-windows.js";
import {
  focusOnResources,
  observe,
  verdictFor,
  type Observation,
  type Verdict,
  type VerdictInput,
} from "../core/verdict/index.js";
import type { ArgoSource } from "../core/argo-source.js";
import type { Verification } from "../core/verification.js";

export interface VerificationOutcomes {
  verified(v: Verification, verdict: Extract<Verdict, { kind: "verified" }>): Promise<void>;
  failed(v: Verification, verdict: Extract<Verdict, { kind: "failed" }>): Promise<void>;
  superseded(v: Verification, by: string): Promise<void>;
  /**
   * The verification is still in progress, and what it waits for changed in a way people should
   * see (a sync window holds the app; the hold ended): update the Deployment's in_progress status
   * description. Called only when the description changes, never twice in a row with the same one.
   */
  waiting?(v: Verification, description: string): Promise<void>;
}

export interface VerifierOptions {
  source: ArgoSource;
  outcomes: VerificationOutcomes;
  /** Is `ancestor` contained in `descendant`? Resolved through the repo's git workspace. */
  isAncestor(v: Verification, ancestor: string, descendant: string): Promise<boolean>;
  now?: () => number;
  tickMs?: number;
  log: {
    info: (obj: object, msg?: string) => void;
    warn: (obj: object, msg?: string) => void;
    error: (obj: object, msg?: string) => void;
  };
  onDecision?: (v: Verification, verdict: Verdict, latencyMs: number) => void;
}

interface Tracked {
  v: Verification;
  history: Observation[];
  ancestry: Map<string, boolean>;
  busy: boolean;
  again: boolean;
  done: boolean;
  /** When the Application last changed (as seen by the watch), for decision latency. */
  changedAt: number;
  /** A sync window held the app at the last evaluation. */
  held: boolean;
  /**
   * The last time windows were seen holding the app, and which: a window removed from the
   * AppProject before it ended leaves no trace in the project, yet the sync timeout counts from it.
   */
  lastHeld?: { at: number; windows: SyncWindowRef[] };
  /** The unparseable windows last warned about (once per verification, and when they change). */
  invalidWindows?: string;
  /** The in_progress description last written by waiting(), or being written. */
  shown?: string;
  pending?: string;
  /** After a failed write, no new attempt before this time. */
  retryAt?: number;
  /** Status writes in order; the final verdict waits for them, so it is never overtaken. */
  writes: Promise<void>;
}

const SHA = /^[0-9a-f]{40}$/;
const MAX_HISTORY = 500;
const STATUS_RETRY_MS = 30_000;
/** Verifications judged in one go by the periodic sweep before Argo CD's events get their turn. */
const SWEEP_SLICE = 50;

export class Verifier {
  private readonly tracked = new Map<string, Tracked>();
  private timer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  private readonly now: () => number;
  private sweeping = false;

  constructor(private readonly options: VerifierOptions) {
    this.now = options.now ?? Date.now;
  }

  /** True while this replica runs the watch loop (it is the leader, or there is no election). */
  get running(): boolean {
    return this.timer !== undefined;
  }

  start(): void {
    this.unsubscribe = this.options.source.onApplication((app) => this.onApplication(app));
    this.timer = setInterval(() => void this.evaluateAll(), this.options.tickMs ?? 1_000);
    this.timer.unref();
  }

  stop(): void {
    this.unsubscribe?.();
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Verifications in flight, for /status, metrics and tests. */
  inFlight(): Verification[] {
    return [...this.tracked.values()].filter((t) => !t.done).map((t) => t.v);
  }

  isTracking(deploymentId: number): boolean {
    return [...this.tracked.values()].some((t) => t.v.deploymentId === deploymentId && !t.done);
  }

  /** Starts verifying a change; a later change to the same overlay supersedes an earlier one. */
  track(v: Verification): void {
    const key = keyOf(v);
    const previous = this.tracked.get(key);
    if (previous && !previous.done) {
      if (previous.v.deploymentId === v.deploymentId) return;
      previous.done = true;
      void this.settle(previous, { kind: "superseded", by: v.revision });
    }
    const tracked: Tracked = {
      v,
      history: [],
      ancestry: new Map(),
      busy: false,
      again: false,
      done: false,
      changedAt: this.now(),
      held: false,
      writes: Promise.resolve(),
    };
    this.tracked.set(key, tracked);
    void this.options.source
      .refresh(v.app)
      .catch((error: unknown) =>
        this.options.log.warn({ err: String(error), app: v.app.name }, "refresh request failed"),
      );
    void this.evaluate(tracked);
  }

  private onApplication(app: Application): void {
    const at = this.now();
    for (const tracked of this.tracked.values()) {
      if (
        tracked.done ||
        tracked.v.app.name !== app.metadata?.name ||
        tracked.v.app.namespace !== (app.metadata?.namespace ?? tracked.v.app.namespace)
      )
        continue;
      tracked.changedAt = at;
      void this.evaluate(tracked);
    }
  }

  /**
   * Judges every verification in flight again (deadlines and soak move with the clock), a slice
   * at a time: with 2,000 in flight, one uninterrupted sweep would keep the Application events
   * that arrive meanwhile waiting for all of it. A sweep still running when the next tick comes
   * is not started twice.
   */
  private async evaluateAll(): Promise<void> {
    if (this.sweeping) return;
    this.sweeping = true;
    try {
      let slice = 0;
      for (const tracked of [...this.tracked.values()]) {
        if (!this.running) return;
        if (tracked.done) continue;
        void this.evaluate(tracked);
        if (++slice < SWEEP_SLICE) continue;
        slice = 0;
        await new Promise((resolve) => setImmediate(resolve));
      }
    } finally {
      this.sweeping = false;
    }
  }

  private async evaluate(tracked: Tracked): Promise<void> {
    if (tracked.busy) {
      tracked.again = true;
      return;
    }
    tracked.busy = true;
    try {
      do {
        tracked.again = false;
        await this.evaluateOnce(tracked);
      } while (tracked.again && !tracked.done);
    } catch (error) {
      this.options.log.error(
        { err: String(error), service: tracked.v.service, env: tracked.v.env },
        "verification step failed; retrying on the next tick",
      );
    } finally {
      tracked.busy = false;
    }
  }

  private async evaluateOnce(tracked: Tracked): Promise<void> {
    if (tracked.done) return;
    const { v } = tracked;
    const app = this.options.source.getApplication(v.app);
    const nowMs = this.now();
    const now = new Date(nowMs).toISOString();
    if (!app) {
      const deadline = Date.parse(v.startedAt) + v.policy.syncMs;
      if (nowMs > deadline) {
        await this.settle(tracked, {
          kind: "failed",
          code: "sync-deadline",
          reason: `Argo CD application ${v.app.namespace}/${v.app.name} does not exist`,
          evidence: {
            app: v.app.name,
            observedAt: now,
            syncRevisions: [],
            operationRevisions: [],
            rollouts: [],
            conditions: [],
            images: [],
          },
        });
      }
      return;
    }
    await this.resolveAncestry(tracked, app);
    const rollouts = this.options.source.rolloutsFor(app);
    // A blue-green change is judged by the slot it moved: the other slot and the Service are
    // healthy whatever the new image does, and the app's own health would hide a failed slot.
    // A canary change likewise by the track it moved (the canary, or stable once it took the image).
    const moved = (v.slot ?? v.track)?.deployment;
    const judged = moved ? focusOnResources(app, [{ kind: "Deployment", name: moved, group: "apps" }]) : app;
    const isAncestor = (a: string, d: string) => (a === d ? true : tracked.ancestry.get(`${a}..${d}`));
    const input: VerdictInput = {
      app: judged,
      rollouts,
      target: { revision: v.revision },
      isAncestor,
      startedAt: v.startedAt,
      now,
      deadlines: { syncMs: v.policy.syncMs, healthMs: v.policy.healthMs, suspendedMs: v.policy.suspendedMs },
      soakMs: v.policy.soakMs,
      history: tracked.history,
      degradedGraceMs: v.policy.degradedGraceMs,
      syncWindow: this.windowsFor(tracked, app, nowMs),
    };
    const verdict = verdictFor(input);
    tracked.history.push(observe(input));
    if (tracked.history.length > MAX_HISTORY) tracked.history.splice(0, tracked.history.length - MAX_HISTORY);
    if (verdict.kind === "waiting") {
      this.progress(tracked, verdict, nowMs);
      return;
    }
    await this.settle(tracked, verdict, nowMs - Math.max(tracked.changedAt, this.decidableAt(tracked, verdict)));
  }

  /**
   * When the verdict became decidable: the end of the soak for a verification, the end of the
   * grace period for a Degraded that persisted, else the Application change that showed it. The
   * decision latency (reported, and a benchmark target) is measured from there.
   */
  private decidableAt(tracked: Tracked, verdict: Verdict): number {
    if (verdict.kind === "verified" && verdict.evidence.healthySince)
      return Date.parse(verdict.evidence.healthySince) + tracked.v.policy.soakMs;
    if (verdict.kind === "failed" && verdict.code === "degraded") {
      let start: string | undefined;
      for (let i = tracked.history.length - 1; i >= 0 && tracked.history[i]?.health === "Degraded"; i--)
        start = tracked.history[i]?.at;
      if (start) return Date.parse(start) + tracked.v.policy.degradedGraceMs;
    }
    return tracked.changedAt;
  }

  /**
   * The app's sync windows, judged since the later of the merge and two sync timeouts ago (a
   * window that ended before that cannot move the deadline past now; one that ended a little
   * more than one timeout ago is still named when the deadline passes). Undefined when the source
   * cannot read AppProjects or does not have the app's.
   */
  private windowsFor(tracked: Tracked, app: Application, nowMs: number): SyncWindowState | undefined {
    const { v } = tracked;
    const project = this.options.source.projectFor?.(app);
    if (!project) return undefined;
    const since = Math.max(Date.parse(v.startedAt), nowMs - 2 * v.policy.syncMs);
    const state = syncWindowState({
      project,
      app,
      now: new Date(nowMs).toISOString(),
      since: Number.isNaN(since) ? undefined : new Date(since).toISOString(),
    });
    const invalid = JSON.stringify(state.invalid ?? []);
    if (state.invalid && invalid !== tracked.invalidWindows) {
      this.options.log.warn(
        { app: v.app.name, project: app.spec?.project || "default", invalid: state.invalid },
        "sync windows Argo CD cannot parse are ignored",
      );
    }
    tracked.invalidWindows = invalid;
    if (state.denied) {
      tracked.lastHeld = { at: nowMs, windows: state.windows };
      return state;
    }
    const seen = tracked.lastHeld;
    if (seen && seen.at > since && (!state.lastDenial || Date.parse(state.lastDenial.endedAt) < seen.at))
      return { ...state, lastDenial: { endedAt: new Date(seen.at).toISOString(), windows: seen.windows } };
    return state;
  }

  /** Says on the Deployment that a sync window holds the app, and that the hold ended, once each. */
  private progress(tracked: Tracked, verdict: Extract<Verdict, { kind: "waiting" }>, nowMs: number): void {
    const { v } = tracked;
    const held = verdict.code === "sync-window";
    if (tracked.held && !held) {
      // Argo CD looks at the windows again on its next refresh of the app: ask for it now.
      void this.options.source
        .refresh(v.app)
        .catch((error: unknown) =>
          this.options.log.warn({ err: String(error), app: v.app.name }, "refresh request failed"),
        );
    }
    tracked.held = held;
    const description = held
      ? verdict.reason
      : tracked.shown !== undefined
        ? `Watching Argo CD application ${v.app.name}; the sync window has ended`
        : undefined;
    if (description === undefined || description === tracked.shown || description === tracked.pending) return;
    if (tracked.retryAt !== undefined && nowMs < tracked.retryAt) return;
    const fields = { service: v.service, env: v.env, deployment: v.deploymentId, status: description };
    this.options.log.info(fields, held ? "verification held by a sync window" : "sync window hold ended");
    const write = this.options.outcomes.waiting;
    if (!write) {
      tracked.shown = description;
      return;
    }
    tracked.pending = description;
    tracked.writes = tracked.writes.then(async () => {
      try {
        await write(v, description);
        tracked.shown = description;
        tracked.retryAt = undefined;
      } catch (error) {
        tracked.retryAt = this.now() + STATUS_RETRY_MS;
        this.options.log.warn({ ...fields, err: String(error) }, "updating the Deployment status failed");
      } finally {
        tracked.pending = undefined;
      }
    });
  }

  private async settle(tracked: Tracked, verdict: Verdict, latencyMs = 0): Promise<void> {
    tracked.done = true;
    const { v } = tracked;
    if (this.tracked.get(keyOf(v)) === tracked) this.tracked.delete(keyOf(v));
    // An in_progress status still being written must not land after the final one.
    await tracked.writes;
    this.options.onDecision?.(v, verdict, latencyMs);
    this.options.log.info(
      { service: v.service, env: v.env, deployment: v.deploymentId, verdict: verdict.kind, latencyMs },
      `verification ${verdict.kind}`,
    );
    try {
      if (verdict.kind === "verified") await this.options.outcomes.verified(v, verdict);
      else if (verdict.kind === "failed") await this.options.outcomes.failed(v, verdict);
      else if (verdict.kind === "superseded") await this.options.outcomes.superseded(v, verdict.by);
    } catch (error) {
      this.options.log.error(
        { err: String(error), service: v.service, env: v.env, deployment: v.deploymentId },
        `acting on verdict ${verdict.kind} failed`,
      );
    }
  }

  /** Fills the ancestry cache for every revision Argo CD mentions, so the verdict can stay pure. */
  private async resolveAncestry(tracked: Tracked, app: Application): Promise<void> {
    const status = app.status;
    const candidates = new Set<string>([
      status?.sync?.revision ?? "",
      ...(status?.sync?.revisions ?? []),
      status?.operationState?.syncResult?.revision ?? "",
      ...(status?.operationState?.syncResult?.revisions ?? []),
      status?.operationState?.operation?.sync?.revision ?? "",
    ]);
    for (const candidate of candidates) {
      if (!SHA.test(candidate) || candidate === tracked.v.revision) continue;
      const key = `${tracked.v.revision}..${candidate}`;
      if (tracked.ancestry.has(key)) continue;
      tracked.ancestry.set(key, await this.options.isAncestor(tracked.v, tracked.v.revision, candidate));
    }
  }
}

function keyOf(v: Verification): string {
  return `${v.repo.owner}/${v.repo.repo}#${v.service}/${v.env}`;
}
