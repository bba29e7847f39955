// Leader election over a coordination.k8s.io/v1 Lease, so that of several replicas only one runs
// the watch loop. Every write is a conditional replace (the resourceVersion that was read), so two
// replicas racing for an expired Lease cannot both win: the loser gets 409 Conflict.
import { CoordinationV1Api, V1MicroTime, type KubeConfig, type V1Lease } from "@kubernetes/client-node";

export interface LeaseLog {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

export interface LeaseElectorOptions {
  kubeConfig: KubeConfig;
  namespace: string;
  /** Lease name (default conveyor-leader). */
  name?: string;
  /** This replica, e.g. the pod name; must differ between replicas. */
  identity: string;
  /** How long a Lease stays valid after its last renewal (default 15 s; whole seconds on the wire). */
  leaseDurationMs?: number;
  /** How often the leader renews (default 5 s). */
  renewEveryMs?: number;
  /** A leader that failed to renew for this long steps down, before anyone else may take over (default 2/3 of the lease). */
  renewDeadlineMs?: number;
  /** How often a follower checks whether it can take over (default renewEveryMs, with jitter). */
  retryEveryMs?: number;
  onStartedLeading(): void;
  onStoppedLeading(): void;
  log?: LeaseLog;
}

type Attempt = "leading" | "following";

function errorCode(err: unknown): number | undefined {
  const code = typeof err === "object" && err !== null ? (err as { code?: unknown }).code : undefined;
  return typeof code === "number" ? code : undefined;
}

function describe(err: unknown): string {
  const code = errorCode(err);
  const message = err instanceof Error ? err.message.split("\n")[0] : String(err);
  return code === undefined ? String(message) : `${code}: ${message}`;
}

/** MicroTime fields arrive as strings (client-node does not revive them) or Dates. */
function timeOf(value: unknown): number | undefined {
  if (value instanceof Date) return value.getTime();
  if (typeof value === "string") {
    const ms = Date.parse(value);
    return Number.isNaN(ms) ? undefined : ms;
  }
  return undefined;
}

export class LeaseElector {
  private readonly api: CoordinationV1Api;
  private readonly name: string;
  private readonly durationMs: number;
  private readonly renewEveryMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryEveryMs: number;
  private leader = false;
  /** The last write to the Lease was ours (true even when stop() came before we started leading). */
  private holding = false;
  private running = false;
  private lastRenewedAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private inflight: Promise<void> | undefined;

  constructor(private readonly options: LeaseElectorOptions) {
    this.api = options.kubeConfig.makeApiClient(CoordinationV1Api);
    this.name = options.name ?? "conveyor-leader";
    this.durationMs = Math.max(1_000, Math.ceil((options.leaseDurationMs ?? 15_000) / 1_000) * 1_000);
    this.renewEveryMs = options.renewEveryMs ?? 5_000;
    this.renewDeadlineMs = options.renewDeadlineMs ?? Math.floor((this.durationMs * 2) / 3);
    this.retryEveryMs = options.retryEveryMs ?? this.renewEveryMs;
  }

  get isLeader(): boolean {
    return this.leader;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.schedule(0);
  }

  /** Stops campaigning; a leader steps down and, unless `release: false`, frees the Lease at once. */
  async stop(options: { release?: boolean } = {}): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    await this.inflight;
    if (options.release === false) {
      if (this.leader) this.stepDown("stopped");
      return;
    }
    await this.release();
  }

  /** Steps down and marks the Lease free (no holder, renewed long ago) so another replica takes over now. */
  async release(): Promise<void> {
    this.stepDown("released");
    if (!this.holding) return;
    this.holding = false;
    try {
      const lease = await this.api.readNamespacedLease({ name: this.name, namespace: this.options.namespace });
      if (lease.spec?.holderIdentity !== this.options.identity) return;
      const past = Date.now() - this.durationMs - 1_000;
      const body: V1Lease = {
        ...lease,
        spec: { ...lease.spec, holderIdentity: "", leaseDurationSeconds: 1, renewTime: new V1MicroTime(past) },
      };
      await this.api.replaceNamespacedLease({ name: this.name, namespace: this.options.namespace, body });
    } catch (err) {
      // The Lease simply expires instead.
      this.options.log?.warn({ lease: this.name, err: describe(err) }, "lease: release failed");
    }
  }

  private schedule(ms: number): void {
    if (!this.running) return;
    this.timer = setTimeout(() => {
      this.inflight = this.tick().finally(() => (this.inflight = undefined));
    }, ms);
  }

  private async tick(): Promise<void> {
    let attempt: Attempt | "error";
    try {
      attempt = await this.tryAcquireOrRenew();
      this.holding = attempt === "leading";
    } catch (err) {
      this.options.log?.warn({ lease: this.name, err: describe(err) }, "lease: acquire/renew failed");
      attempt = "error";
    }
    if (!this.running) return;
    const now = Date.now();
    if (attempt === "leading") {
      this.lastRenewedAt = now;
      if (!this.leader) {
        this.leader = true;
        this.options.log?.info({ lease: this.name, identity: this.options.identity }, "lease: started leading");
        this.options.onStartedLeading();
      }
    } else if (this.leader && (attempt === "following" || now - this.lastRenewedAt >= this.renewDeadlineMs)) {
      this.stepDown(attempt === "following" ? "lost the lease" : "could not renew in time");
    }
    const jitter = this.leader ? 0 : Math.random() * 0.2 * this.retryEveryMs;
    this.schedule(this.leader ? this.renewEveryMs : this.retryEveryMs + jitter);
  }

  private stepDown(reason: string): void {
    if (!this.leader) return;
    this.leader = false;
    this.options.log?.info({ lease: this.name, identity: this.options.identity, reason }, "lease: stopped leading");
    this.options.onStoppedLeading();
  }

  private async tryAcquireOrRenew(): Promise<Attempt> {
    const { namespace, identity } = this.options;
    const seconds = this.durationMs / 1_000;
    const now = Date.now();
    let lease: V1Lease;
    try {
      lease = await this.api.readNamespacedLease({ name: this.name, namespace });
    } catch (err) {
      if (errorCode(err) !== 404) throw err;
      const stamp = new V1MicroTime(now);
      const body: V1Lease = {
        apiVersion: "coordination.k8s.io/v1",
        kind: "Lease",
        metadata: { name: this.name, namespace },
        spec: {
          holderIdentity: identity,
          leaseDurationSeconds: seconds,
          acquireTime: stamp,
          renewTime: stamp,
          leaseTransitions: 0,
        },
      };
      try {
        await this.api.createNamespacedLease({ namespace, body });
        return "leading";
      } catch (createErr) {
        if (errorCode(createErr) === 409) return "following";
        throw createErr;
      }
    }
    const spec = lease.spec ?? {};
    const holder = spec.holderIdentity ?? "";
    const mine = holder === identity;
    const renewedAt = timeOf(spec.renewTime) ?? timeOf(spec.acquireTime);
    const validFor = (spec.leaseDurationSeconds ?? seconds) * 1_000;
    const free = holder === "" || renewedAt === undefined || renewedAt + validFor < now;
    if (!mine && !free) return "following";
    const stamp = new V1MicroTime(now);
    const transitions = spec.leaseTransitions ?? 0;
    const body: V1Lease = {
      ...lease,
      spec: {
        ...spec,
        holderIdentity: identity,
        leaseDurationSeconds: seconds,
        renewTime: stamp,
        acquireTime: mine && spec.acquireTime ? new V1MicroTime(timeOf(spec.acquireTime) ?? now) : stamp,
        leaseTransitions: mine ? transitions : transitions + 1,
      },
    };
    try {
      // Conditional on the resourceVersion just read: of several writers, one wins.
      await this.api.replaceNamespacedLease({ name: this.name, namespace, body });
      return "leading";
    } catch (err) {
      if (errorCode(err) === 409) return "following";
      throw err;
    }
  }
}
