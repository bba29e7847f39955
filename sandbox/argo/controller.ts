import { writeFile } from "node:fs/promises";
import { stringify } from "yaml";
import { ComparisonError, renderTarget, resolveBranch, resolveRevision, type RenderedTarget } from "./git.js";
import { clone, deepEqual, isObject, rfc3339, type Json, type JsonObject } from "./json.js";
import { KubeApiServer } from "./kube-server.js";
import { LEASE_TYPE } from "./leases.js";
import {
  appDestination,
  appResources,
  appSource,
  canarySteps,
  healthJson,
  newApplication,
  newRollout,
  podTemplateHash,
  removeCondition,
  rolloutHealth,
  rolloutSpec,
  rolloutStatus,
  syncResultResources,
  upsertCondition,
  worstHealth,
  type AppIdentity,
  type Health,
  type HealthStatus,
  type RolloutIdentity,
  type RolloutPhase,
} from "./objects.js";
import { bundledSchemas, validateCustomResource } from "./openapi-validate.js";
import { ObjectStore, type ResourceType, type StoredEvent, type WriteSource } from "./store.js";
import type { ApplicationView, RolloutView } from "./types.js";

export const REFRESH_ANNOTATION = "argocd.argoproj.io/refresh";

export interface ArgoSimTimings {
  /** How often the controller polls the branch head (it also reacts to notifyPush()). */
  pollIntervalMs: number;
  /** Branch moved -> refresh of every app (OutOfSync shows up). Argo CD: webhook or 3 min poll. */
  syncDelayMs: number;
  /** OutOfSync -> auto-sync operation starts (operation set, phase Running). */
  autoSyncDelayMs: number;
  /** Operation Running -> Succeeded (finishedAt, history entry). */
  operationMs: number;
  /** Succeeded -> the post-sync refresh: Synced, reconciledAt >= finishedAt, health Progressing. */
  postSyncRefreshMs: number;
  /** Deployment: Progressing -> Healthy. */
  progressingMs: number;
  /** Deployment with a failing image: Progressing -> Degraded; Rollout: first canary step -> aborted. */
  degradedAfterMs: number;
  /** Rollout: time spent on each setWeight step. Pauses last `rollout.pauseMs` of the app. */
  rolloutStepMs: number;
  /** BOOKMARK interval on watches that ask for them. */
  bookmarkIntervalMs: number;
  /** Periodic full reconcile of every app (updates reconciledAt); 0 disables. Argo CD: 180 s. */
  reconcileIntervalMs: number;
}

export const DEFAULT_TIMINGS: ArgoSimTimings = {
  pollIntervalMs: 1000,
  syncDelayMs: 300,
  autoSyncDelayMs: 100,
  operationMs: 400,
  postSyncRefreshMs: 100,
  progressingMs: 1500,
  degradedAfterMs: 2000,
  rolloutStepMs: 500,
  bookmarkIntervalMs: 5000,
  reconcileIntervalMs: 0,
};

export interface ArgoSimApplication {
  /** Application name, e.g. order-service-staging. */
  name: string;
  /** Overlay directory in the repo, e.g. services/order-service/overlays/staging. */
  path: string;
  /** Deploy through an Argo Rollouts canary instead of a Deployment. */
  rollout?: { canarySteps?: number; pauseMs?: number; replicas?: number };
  /** Per-app override of ArgoSimOptions.autoSync. */
  autoSync?: boolean;
  /** Defaults to the <env> of services/<service>/overlays/<env>, else the app name. */
  destinationNamespace?: string;
  /** Deployment/Rollout/Service name; defaults to the <service> of the path, else the app name. */
  workloadName?: string;
  labels?: Record<string, string>;
  project?: string;
}

export interface ArgoSimOptions {
  port?: number;
  host?: string;
  /** Namespace of the Application objects (default "argocd"). */
  namespace?: string;
  /** Bearer token the API server accepts (default: random). */
  token?: string;
  /** Bare git repository of the manifests repo. */
  repoPath: string;
  branch?: string;
  /** spec.source.repoURL (default file://<repoPath>). */
  repoURL?: string;
  applications: ArgoSimApplication[];
  timings?: Partial<ArgoSimTimings>;
  /** Image tags matching this fail (Degraded / aborted canary). Default /bad/. */
  failurePattern?: RegExp;
  /** syncPolicy.automated for every app unless overridden per app (default true). */
  autoSync?: boolean;
  /** Watch history window in events; older resourceVersions get 410 Expired (default 1000). */
  watchHistorySize?: number;
  /** Validate every stored object against the upstream CRD schemas, as an apiserver does (default true). */
  validate?: boolean;
}

export type ArgoSimEvent = "state" | "rollout" | "watch-event" | "error";

interface RolloutRuntime {
  identity: RolloutIdentity;
  pauseMs: number;
  revision: number;
  currentHash: string;
  stableHash: string;
}

interface AppRuntime {
  identity: AppIdentity;
  deployed?: RenderedTarget;
  operating: boolean;
  /** Bumped on each deploy; workload timers of an older deploy stop. */
  epoch: number;
  health: Health;
  syncStatus: string;
  rollout?: RolloutRuntime;
  chain: Promise<void>;
  autoSyncTimer?: NodeJS.Timeout;
  lastSpec?: Json;
  /** The revision the last refresh compared against (status.sync.revision). */
  comparedRevision?: string;
  removed: boolean;
}

/** The CRD files sit next to the sources; a build that did not copy them runs without validation. */
function loadSchemas(required: boolean): ReturnType<typeof bundledSchemas> | undefined {
  try {
    return bundledSchemas();
  } catch (err) {
    if (required) throw err;
    console.warn(`argo-sim: CRD schemas unavailable, objects are not validated (${errorMessage(err)})`);
    return undefined;
  }
}

function randomToken(): string {
  return Array.from({ length: 4 }, () => Math.random().toString(36).slice(2)).join("");
}

function pathParts(path: string): { service?: string; env?: string } {
  const m = path.match(/(?:^|\/)services\/([^/]+)\/overlays\/([^/]+)\/?$/);
  return m ? { service: m[1], env: m[2] } : {};
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function statusOf(object: JsonObject): JsonObject {
  if (!isObject(object.status)) object.status = {};
  return object.status as JsonObject;
}

/**
 * A simulated Argo CD: the Kubernetes API server that serves Applications and Rollouts, and an
 * application controller that follows a branch of a bare git repo and moves every Application
 * through the states real Argo CD reports (see README.md next to this file).
 */
export class ArgoSim {
  readonly namespace: string;
  readonly token: string;
  readonly branch: string;
  private readonly repoPath: string;
  private readonly repoURL: string;
  private readonly failurePattern: RegExp;
  private readonly timings: ArgoSimTimings;
  private readonly store: ObjectStore;
  private readonly server: KubeApiServer;
  private readonly apps = new Map<string, AppRuntime>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly listeners = new Map<ArgoSimEvent, Set<(value: never) => void>>();
  private head: string | undefined;
  /** Rendering a commit is pure, so results are kept (bounded) by sha and path. */
  private readonly rendered = new Map<string, Promise<RenderedTarget>>();
  private headCheck: Promise<void> = Promise.resolve();
  private closed = false;
  url = "";

  constructor(private readonly options: ArgoSimOptions) {
    this.namespace = options.namespace ?? "argocd";
    this.token = options.token ?? randomToken();
    this.branch = options.branch ?? "main";
    this.repoPath = options.repoPath;
    this.repoURL = options.repoURL ?? `file://${options.repoPath}`;
    const pattern = options.failurePattern ?? /bad/;
    this.failurePattern = new RegExp(pattern.source, pattern.flags.replace(/[gy]/g, ""));
    this.timings = { ...DEFAULT_TIMINGS, ...options.timings };
    const schemas = options.validate === false ? undefined : loadSchemas(options.validate === true);
    const types: ResourceType[] = [
      {
        group: "argoproj.io",
        version: "v1alpha1",
        plural: "applications",
        singular: "application",
        kind: "Application",
        listKind: "ApplicationList",
        shortNames: ["app", "apps"],
        statusSubresource: false,
        validate: schemas && ((o) => validateCustomResource(o, schemas.application)),
      },
      {
        group: "argoproj.io",
        version: "v1alpha1",
        plural: "rollouts",
        singular: "rollout",
        kind: "Rollout",
        listKind: "RolloutList",
        shortNames: ["ro"],
        statusSubresource: true,
        validate: schemas && ((o) => validateCustomResource(o, schemas.rollout)),
      },
      // For leader election between Conveyor replicas, as on a real cluster.
      LEASE_TYPE,
    ];
    this.store = new ObjectStore(types, options.watchHistorySize ?? 1000);
    this.server = new KubeApiServer(this.store, {
      host: options.host,
      port: options.port,
      token: this.token,
      bookmarkIntervalMs: () => this.timings.bookmarkIntervalMs,
    });
  }

  // ------------------------------------------------------------------------------------------
  // Public API

  /** Starts the API server, creates every Application at the branch head, and starts polling. */
  async start(): Promise<this> {
    this.store.subscribe((event, source) => this.onWrite(event, source));
    const names = new Set<string>();
    for (const app of this.options.applications) {
      if (names.has(app.name)) throw new Error(`duplicate application ${app.name}`);
      names.add(app.name);
      this.apps.set(app.name, this.runtimeFor(app));
    }
    this.head = await resolveBranch(this.repoPath, this.branch);
    for (const rt of this.apps.values()) await this.createInitial(rt);
    this.url = await this.server.start();
    this.schedulePoll();
    this.scheduleReconcile();
    return this;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const rt of this.apps.values()) if (rt.autoSyncTimer) clearTimeout(rt.autoSyncTimer);
    await this.server.close();
  }

  /** A kubeconfig (YAML) for this server: token user, context namespace = the Argo CD namespace. */
  kubeconfig(): string {
    return stringify({
      apiVersion: "v1",
      kind: "Config",
      // client-node 1.x refuses plain http unless TLS verification is explicitly skipped.
      clusters: [{ name: "argo-sim", cluster: { server: this.url, "insecure-skip-tls-verify": true } }],
      users: [{ name: "argo-sim", user: { token: this.token } }],
      contexts: [{ name: "argo-sim", context: { cluster: "argo-sim", user: "argo-sim", namespace: this.namespace } }],
      "current-context": "argo-sim",
      preferences: {},
    });
  }

  async writeKubeconfig(path: string): Promise<void> {
    await writeFile(path, this.kubeconfig(), { mode: 0o600 });
  }

  /** The branch may have moved: check now instead of waiting for the next poll. */
  notifyPush(): Promise<void> {
    return this.checkHead();
  }

  get(name: string): ApplicationView | undefined {
    return this.store.get("applications", this.namespace, name) as unknown as ApplicationView | undefined;
  }

  list(): ApplicationView[] {
    return this.store.list("applications", this.namespace) as unknown as ApplicationView[];
  }

  /** A Lease as stored: who leads among Conveyor replicas. */
  lease(namespace: string, name: string): { spec?: { holderIdentity?: string } } | undefined {
    return this.store.get("leases", namespace, name) as { spec?: { holderIdentity?: string } } | undefined;
  }

  getRollout(appName: string): RolloutView | undefined {
    const rt = this.apps.get(appName);
    const r = rt?.rollout?.identity;
    return r && (this.store.get("rollouts", r.namespace, r.name) as unknown as RolloutView | undefined);
  }

  /** Current resourceVersion of the whole store. */
  get resourceVersion(): string {
    return String(this.store.resourceVersion);
  }

  setTimings(timings: Partial<ArgoSimTimings>): void {
    Object.assign(this.timings, timings);
  }

  /** Manual sync (like `argocd app sync`): resolves once the operation and its refresh are done. */
  async sync(name: string, options: { revision?: string } = {}): Promise<void> {
    const rt = this.runtime(name);
    await this.runOperation(rt, options.revision ?? this.branch, { username: "admin" });
  }

  /** Asks for a refresh the way users do: the refresh annotation, through the API. */
  refresh(name: string, kind: "normal" | "hard" = "normal"): void {
    const app = this.store.get("applications", this.namespace, this.runtime(name).identity.name);
    if (!app || !isObject(app.metadata)) return;
    app.metadata.annotations = { ...(isObject(app.metadata.annotations) ? app.metadata.annotations : {}), [REFRESH_ANNOTATION]: kind };
    this.store.update("applications", app, "api");
  }

  /** Forces the workload's health (flaps, outages); the next deploy takes over again. */
  setHealth(name: string, status: HealthStatus, message?: string): void {
    const rt = this.runtime(name);
    rt.health = message ? { status, message } : { status };
    this.publishHealth(rt);
  }

  /** Breaks every open watch (abruptly unless graceful), to exercise reconnects. Returns how many. */
  dropWatches(options: { graceful?: boolean } = {}): number {
    return this.server.dropWatches(options);
  }

  /** Open watches stay connected but silently receive nothing more. Returns how many. */
  stallWatches(): number {
    return this.server.stallWatches();
  }

  /** Forgets the watch history: every older resourceVersion now gets 410 Expired. */
  compactHistory(): void {
    this.store.compact();
  }

  get openWatches(): number {
    return this.server.openWatches;
  }

  on(event: "state", listener: (app: ApplicationView) => void): () => void;
  on(event: "rollout", listener: (rollout: RolloutView) => void): () => void;
  on(event: "watch-event", listener: (event: { type: string; resource: string; object: JsonObject }) => void): () => void;
  on(event: "error", listener: (error: Error) => void): () => void;
  on(event: ArgoSimEvent, listener: (value: never) => void): () => void {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(listener);
    return () => set.delete(listener);
  }

  /** Resolves with the Application once `predicate` holds (checked now and on every change). */
  waitFor(name: string, predicate: (app: ApplicationView) => boolean, timeoutMs = 10_000): Promise<ApplicationView> {
    return new Promise((resolve, reject) => {
      const check = (app: ApplicationView | undefined): boolean => {
        if (app && app.metadata.name === name && predicate(app)) {
          clearTimeout(timer);
          off();
          resolve(app);
          return true;
        }
        return false;
      };
      const timer = setTimeout(() => {
        off();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${name}; last state: ${JSON.stringify(this.get(name)?.status)}`));
      }, timeoutMs);
      const off = this.on("state", (app) => void check(app));
      check(this.get(name));
    });
  }

  // ------------------------------------------------------------------------------------------
  // Setup

  private runtimeFor(app: ArgoSimApplication): AppRuntime {
    const parts = pathParts(app.path);
    const destinationNamespace = app.destinationNamespace ?? parts.env ?? app.name;
    const workloadName = app.workloadName ?? parts.service ?? app.name;
    const identity: AppIdentity = {
      name: app.name,
      namespace: this.namespace,
      project: app.project ?? "default",
      repoURL: this.repoURL,
      path: app.path,
      branch: this.branch,
      destinationNamespace,
      workloadName,
      workloadKind: app.rollout ? "Rollout" : "Deployment",
      labels: app.labels ?? {},
      autoSync: app.autoSync ?? this.options.autoSync ?? true,
    };
    const rt: AppRuntime = { identity, operating: false, epoch: 0, health: { status: "Healthy" }, syncStatus: "Unknown", chain: Promise.resolve(), removed: false };
    if (app.rollout) {
      const pauseMs = app.rollout.pauseMs ?? 1000;
      rt.rollout = {
        identity: {
          name: workloadName,
          namespace: destinationNamespace,
          replicas: app.rollout.replicas ?? 3,
          steps: canarySteps(app.rollout.canarySteps ?? 2, pauseMs),
          labels: {},
        },
        pauseMs,
        revision: 0,
        currentHash: "",
        stableHash: "",
      };
    }
    return rt;
  }

  private async createInitial(rt: AppRuntime): Promise<void> {
    const id = rt.identity;
    const app = newApplication(id);
    const status = statusOf(app);
    const now = rfc3339();
    let target: RenderedTarget | undefined;
    let error: string | undefined;
    rt.comparedRevision = this.head;
    if (this.head === undefined) error = `unable to resolve '${this.branch}' to a commit SHA`;
    else {
      try {
        target = await this.render(this.head, id.path);
      } catch (err) {
        error = errorMessage(err);
      }
    }
    if (target && this.head) {
      rt.deployed = target;
      const bad = this.isBad(target);
      const operation: JsonObject = { sync: { revision: this.head, syncOptions: ["CreateNamespace=true"] }, initiatedBy: { automated: true }, retry: { limit: 5 } };
      status.operationState = {
        operation,
        phase: "Succeeded",
        message: "successfully synced (all tasks run)",
        startedAt: now,
        finishedAt: now,
        syncResult: { resources: syncResultResources(id), revision: this.head, source: appSource(id) },
      };
      status.history = [{ id: 0, revision: this.head, deployStartedAt: now, deployedAt: now, source: appSource(id), initiatedBy: { automated: true } }];
      rt.syncStatus = "Synced";
      if (rt.rollout) {
        const r = rt.rollout;
        r.revision = 1;
        r.currentHash = podTemplateHash(target.images);
        r.stableHash = bad ? podTemplateHash(["<previous>"]) : r.currentHash;
        this.store.create("rollouts", newRollout(r.identity, target.images, r.revision), "controller");
        this.writeRollout(rt, bad ? { kind: "aborted", revision: r.revision } : { kind: "healthy" }, false);
      } else {
        rt.health = bad ? { status: "Degraded", message: `Deployment "${id.workloadName}" exceeded its progress deadline` } : { status: "Healthy" };
      }
    }
    if (error) rt.syncStatus = "Unknown";
    this.writeStatus(rt, status, error);
    rt.lastSpec = clone(app.spec);
    this.store.create("applications", app, "controller");
  }

  // ------------------------------------------------------------------------------------------
  // Following the branch

  private later(ms: number, fn: () => void): NodeJS.Timeout {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (!this.closed) fn();
    }, ms);
    this.timers.add(timer);
    return timer;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.later(ms, resolve));
  }

  private run(task: Promise<unknown>): void {
    task.catch((err: unknown) => {
      if (this.closed) return;
      const error = err instanceof Error ? err : new Error(String(err));
      const listeners = this.listeners.get("error");
      if (listeners && listeners.size > 0) this.emit("error", error);
      else console.error("argo-sim:", error);
    });
  }

  private emit(event: ArgoSimEvent, value: unknown): void {
    for (const listener of [...(this.listeners.get(event) ?? [])]) (listener as (v: unknown) => void)(value);
  }

  private schedulePoll(): void {
    this.later(this.timings.pollIntervalMs, () => {
      this.run(this.checkHead());
      this.schedulePoll();
    });
  }

  private scheduleReconcile(): void {
    const interval = this.timings.reconcileIntervalMs;
    this.later(interval > 0 ? interval : 1000, () => {
      if (this.timings.reconcileIntervalMs > 0) for (const rt of this.apps.values()) this.run(this.reconcile(rt, this.head));
      this.scheduleReconcile();
    });
  }

  private checkHead(): Promise<void> {
    const next = this.headCheck.then(async () => {
      const sha = await resolveBranch(this.repoPath, this.branch);
      if (this.closed || sha === this.head) return;
      this.head = sha;
      this.later(this.timings.syncDelayMs, () => {
        if (this.head !== sha) return; // a newer head has its own refresh coming
        for (const rt of this.apps.values()) this.run(this.reconcile(rt, sha));
      });
    });
    this.headCheck = next.catch(() => undefined);
    return next;
  }

  private runtime(name: string): AppRuntime {
    const rt = this.apps.get(name);
    if (!rt || rt.removed) throw new Error(`unknown application ${name}`);
    return rt;
  }

  private render(sha: string, path: string): Promise<RenderedTarget> {
    const key = `${sha}:${path}`;
    let found = this.rendered.get(key);
    if (!found) {
      found = renderTarget(this.repoPath, sha, path);
      this.rendered.set(key, found);
      found.catch(() => this.rendered.delete(key));
      if (this.rendered.size > 500) this.rendered.delete(this.rendered.keys().next().value as string);
    }
    return found;
  }

  private isBad(target: RenderedTarget): boolean {
    return target.tags.some((tag) => this.failurePattern.test(tag));
  }

  private autoSyncEnabled(rt: AppRuntime): boolean {
    const app = this.store.get("applications", this.namespace, rt.identity.name);
    const spec = app && isObject(app.spec) ? app.spec : {};
    const policy = isObject(spec.syncPolicy) ? spec.syncPolicy : {};
    return isObject(policy.automated) && policy.automated.enabled !== false;
  }

  /** Read-modify-write of the live Application, so fields written through the API survive. */
  private updateApp(rt: AppRuntime, mutate: (app: JsonObject, status: JsonObject) => void): void {
    if (this.closed || rt.removed) return;
    const app = this.store.get("applications", this.namespace, rt.identity.name);
    if (!app) return;
    mutate(app, statusOf(app));
    this.store.update("applications", app, "controller");
  }

  /** Writes what a reconcile computes: sync status, resources, images, health, reconciledAt. */
  private writeStatus(rt: AppRuntime, status: JsonObject, comparisonError?: string): void {
    const id = rt.identity;
    const sync: JsonObject = { comparedTo: { source: appSource(id), destination: appDestination(id) }, status: comparisonError ? "Unknown" : rt.syncStatus };
    const revision = this.headForStatus(rt);
    if (revision) sync.revision = revision;
    status.sync = sync;
    if (comparisonError) {
      status.conditions = upsertCondition(
        status.conditions,
        "ComparisonError",
        `Failed to load target state: failed to generate manifest for source 1 of 1: rpc error: code = Unknown desc = ${comparisonError}`,
      );
    } else status.conditions = removeCondition(status.conditions, "ComparisonError");
    if ((status.conditions as Json[]).length === 0) delete status.conditions;
    status.reconciledAt = rfc3339();
    this.writeLive(rt, status);
  }

  private headForStatus(rt: AppRuntime): string | undefined {
    return rt.comparedRevision ?? this.head;
  }

  private writeLive(rt: AppRuntime, status: JsonObject): void {
    const health: Health = rt.deployed ? worstHealth([{ status: "Healthy" }, rt.health]) : { status: rt.syncStatus === "Unknown" ? "Unknown" : "Missing" };
    const previous = isObject(status.health) ? status.health : undefined;
    const since = previous && previous.status === health.status && typeof previous.lastTransitionTime === "string" ? previous.lastTransitionTime : rfc3339();
    status.health = { ...healthJson(health), lastTransitionTime: since };
    const workloadSync = rt.syncStatus === "Synced" ? "Synced" : "OutOfSync";
    status.resources = appResources(rt.identity, workloadSync, rt.health, rt.deployed !== undefined);
    status.summary = rt.deployed ? { images: [...new Set(rt.deployed.images)].sort() } : {};
  }

  private publishHealth(rt: AppRuntime): void {
    this.updateApp(rt, (_app, status) => {
      status.reconciledAt = rfc3339();
      this.writeLive(rt, status);
    });
  }

  /** A refresh: compare the desired state at `revision` with what is deployed. */
  private reconcile(rt: AppRuntime, revision: string | undefined, options: { clearAnnotation?: boolean } = {}): Promise<void> {
    const task = rt.chain.then(async () => {
      let target: RenderedTarget | undefined;
      let error: string | undefined;
      if (revision === undefined) error = `unable to resolve '${this.branch}' to a commit SHA`;
      else {
        try {
          target = await this.render(revision, rt.identity.path);
        } catch (err) {
          if (!(err instanceof ComparisonError)) throw err;
          error = err.message;
        }
      }
      if (this.closed) return;
      rt.comparedRevision = revision;
      rt.syncStatus = error ? "Unknown" : target && rt.deployed?.fingerprint === target.fingerprint ? "Synced" : "OutOfSync";
      this.updateApp(rt, (app, status) => {
        if (options.clearAnnotation && isObject(app.metadata) && isObject(app.metadata.annotations)) {
          delete app.metadata.annotations[REFRESH_ANNOTATION];
          if (Object.keys(app.metadata.annotations).length === 0) delete app.metadata.annotations;
        }
        this.writeStatus(rt, status, error);
      });
      if (rt.syncStatus === "OutOfSync" && !rt.operating && this.autoSyncEnabled(rt)) this.scheduleAutoSync(rt);
    });
    rt.chain = task.catch(() => undefined);
    return task;
  }

  private scheduleAutoSync(rt: AppRuntime): void {
    if (rt.autoSyncTimer) return;
    rt.autoSyncTimer = this.later(this.timings.autoSyncDelayMs, () => {
      rt.autoSyncTimer = undefined;
      if (rt.operating || rt.syncStatus !== "OutOfSync" || !this.autoSyncEnabled(rt) || !rt.comparedRevision) return;
      this.run(this.runOperation(rt, rt.comparedRevision, { automated: true }));
    });
  }

  // ------------------------------------------------------------------------------------------
  // Sync operations

  private async runOperation(rt: AppRuntime, revision: string, initiatedBy: JsonObject, requested?: JsonObject): Promise<void> {
    if (rt.operating) throw new Error(`another operation is already in progress for ${rt.identity.name}`);
    rt.operating = true;
    if (rt.autoSyncTimer) {
      clearTimeout(rt.autoSyncTimer);
      this.timers.delete(rt.autoSyncTimer);
      rt.autoSyncTimer = undefined;
    }
    const id = rt.identity;
    let previousImages: string[] | undefined;
    let target: RenderedTarget | undefined;
    let epoch = rt.epoch;
    try {
      const operation: JsonObject = requested ?? {
        sync: { revision, ...(initiatedBy.automated ? { prune: true } : {}), syncOptions: ["CreateNamespace=true"] },
        initiatedBy,
        ...(initiatedBy.automated ? { retry: { limit: 5 } } : {}),
      };
      if (!isObject(operation.initiatedBy)) operation.initiatedBy = initiatedBy;
      const startedAt = rfc3339();
      this.updateApp(rt, (app, status) => {
        app.operation = operation;
        status.operationState = { operation, phase: "Running", message: "one or more tasks are running", startedAt };
      });
      await this.sleep(this.timings.operationMs);
      let failure: string | undefined;
      const sha = await resolveRevision(this.repoPath, revision);
      if (!sha) failure = `ComparisonError: unable to resolve '${revision}' to a commit SHA`;
      else {
        try {
          target = await this.render(sha, id.path);
        } catch (err) {
          if (!(err instanceof ComparisonError)) throw err;
          failure = `ComparisonError: rpc error: code = Unknown desc = ${err.message}`;
        }
      }
      if (this.closed) return;
      const finishedAt = rfc3339();
      if (failure || !target || !sha) {
        const message = failure ?? "one or more synchronization tasks completed unsuccessfully";
        this.updateApp(rt, (app, status) => {
          delete app.operation;
          status.operationState = { operation, phase: "Failed", message, startedAt, finishedAt, syncResult: { revision: sha ?? revision, source: appSource(id) } };
          status.conditions = upsertCondition(status.conditions, "SyncError", `Failed sync attempt to ${sha ?? revision}: ${message}`);
        });
        return;
      }
      previousImages = rt.deployed?.images;
      rt.deployed = target;
      rt.epoch += 1;
      epoch = rt.epoch;
      const deployedSha = sha;
      this.updateApp(rt, (app, status) => {
        delete app.operation;
        status.operationState = {
          operation,
          phase: "Succeeded",
          message: "successfully synced (all tasks run)",
          startedAt,
          finishedAt,
          syncResult: { resources: syncResultResources(id), revision: deployedSha, source: appSource(id) },
        };
        const history = Array.isArray(status.history) ? status.history.filter(isObject) : [];
        const nextId = history.reduce((max, h) => Math.max(max, typeof h.id === "number" ? h.id : -1), -1) + 1;
        history.push({ id: nextId, revision: deployedSha, deployStartedAt: startedAt, deployedAt: finishedAt, source: appSource(id), initiatedBy });
        status.history = history.slice(-10);
        status.conditions = removeCondition(status.conditions, "SyncError");
        if ((status.conditions as Json[]).length === 0) delete status.conditions;
      });
    } finally {
      rt.operating = false;
    }
    if (!target) return;
    // The controller refreshes the app right after a sync; by then the new pods are rolling out.
    await this.sleep(this.timings.postSyncRefreshMs);
    // Health is only ever re-assessed by a reconcile, so the workload moves on after this one.
    const proceed = this.applyWorkload(rt, previousImages, target, epoch);
    await this.reconcile(rt, this.head ?? target.revision);
    proceed();
  }

  /** The sync changed the pod template: new pods start. Returns what happens next, to run later. */
  private applyWorkload(rt: AppRuntime, previousImages: string[] | undefined, target: RenderedTarget, epoch: number): () => void {
    if (previousImages && deepEqual(previousImages, target.images)) return () => undefined;
    const bad = this.isBad(target);
    if (rt.rollout) {
      this.startRollout(rt, target);
      return () => this.run(this.driveRollout(rt, bad, epoch));
    }
    const name = rt.identity.workloadName;
    rt.health = { status: "Progressing", message: `Waiting for rollout to finish: 0 of 1 updated replicas are available...` };
    return () =>
      this.later(bad ? this.timings.degradedAfterMs : this.timings.progressingMs, () => {
        if (rt.epoch !== epoch) return;
        rt.health = bad ? { status: "Degraded", message: `Deployment "${name}" exceeded its progress deadline` } : { status: "Healthy" };
        this.publishHealth(rt);
      });
  }

  private startRollout(rt: AppRuntime, target: RenderedTarget): void {
    const r = rt.rollout;
    if (!r) return;
    r.revision += 1;
    r.currentHash = podTemplateHash(target.images);
    const existing = this.store.get("rollouts", r.identity.namespace, r.identity.name);
    if (existing && isObject(existing.metadata)) {
      existing.spec = rolloutSpec(r.identity, target.images);
      existing.metadata.annotations = { ...(isObject(existing.metadata.annotations) ? existing.metadata.annotations : {}), "rollout.argoproj.io/revision": String(r.revision) };
      this.store.update("rollouts", existing, "controller");
    } else {
      this.store.create("rollouts", newRollout(r.identity, target.images, r.revision), "controller");
    }
    // The first status is picked up by the post-sync refresh, not published on its own.
    this.writeRollout(rt, { kind: "progressing", stepIndex: 0 }, false);
  }

  private async driveRollout(rt: AppRuntime, bad: boolean, epoch: number): Promise<void> {
    const r = rt.rollout;
    if (!r) return;
    const current = (): boolean => !this.closed && rt.epoch === epoch;
    const steps = r.identity.steps;
    for (let i = 0; i < steps.length; i++) {
      const step = steps[i];
      if (step?.setWeight !== undefined) {
        if (i > 0) this.writeRollout(rt, { kind: "progressing", stepIndex: i });
        await this.sleep(bad ? this.timings.degradedAfterMs : this.timings.rolloutStepMs);
        if (!current()) return;
        if (bad) {
          this.writeRollout(rt, { kind: "aborted", revision: r.revision });
          return;
        }
      } else {
        this.writeRollout(rt, { kind: "paused", stepIndex: i });
        await this.sleep(r.pauseMs);
        if (!current()) return;
      }
    }
    if (steps.length === 0) {
      await this.sleep(bad ? this.timings.degradedAfterMs : this.timings.rolloutStepMs);
      if (!current()) return;
      if (bad) {
        this.writeRollout(rt, { kind: "aborted", revision: r.revision });
        return;
      }
    }
    r.stableHash = r.currentHash;
    this.writeRollout(rt, { kind: "healthy" });
  }

  private writeRollout(rt: AppRuntime, phase: RolloutPhase, publish = true): void {
    const r = rt.rollout;
    if (!r || this.closed) return;
    const rollout = this.store.get("rollouts", r.identity.namespace, r.identity.name);
    if (!rollout || !isObject(rollout.metadata)) return;
    const previous = isObject(rollout.status) ? rollout.status : undefined;
    rollout.status = rolloutStatus(r.identity, previous, Number(rollout.metadata.generation ?? 1), r.currentHash, r.stableHash, phase);
    const stored = this.store.update("rollouts", rollout, "controller");
    rt.health = rolloutHealth(stored);
    if (publish) this.publishHealth(rt);
  }

  // ------------------------------------------------------------------------------------------
  // Reacting to API writes (refresh annotation, operation, spec edits, deletion)

  private onWrite(event: StoredEvent, source: WriteSource): void {
    const resource = event.plural;
    this.emit("watch-event", { type: event.type, resource, object: event.object });
    if (resource === "applications") this.emit("state", event.object);
    if (resource === "rollouts") this.emit("rollout", event.object);
    if (source !== "api" || resource !== "applications" || this.closed) return;
    const metadata = isObject(event.object.metadata) ? event.object.metadata : {};
    if (metadata.namespace !== this.namespace || typeof metadata.name !== "string") return;
    const rt = this.apps.get(metadata.name);
    if (!rt || rt.removed) return;
    if (event.type === "DELETED") {
      rt.removed = true;
      return;
    }
    const app = event.object;
    const annotations = isObject(metadata.annotations) ? metadata.annotations : {};
    const specChanged = !deepEqual(app.spec, rt.lastSpec);
    rt.lastSpec = clone(app.spec ?? null);
    if (isObject(app.operation) && !rt.operating) {
      const op = app.operation;
      const sync = isObject(op.sync) ? op.sync : {};
      const revisions = Array.isArray(sync.revisions) ? sync.revisions : [];
      const revision = typeof sync.revision === "string" && sync.revision !== "" ? sync.revision : typeof revisions[0] === "string" ? revisions[0] : this.branch;
      const initiatedBy = isObject(op.initiatedBy) ? op.initiatedBy : { username: "admin" };
      this.run(this.runOperation(rt, revision, initiatedBy, clone(op)));
    }
    if (annotations[REFRESH_ANNOTATION] !== undefined) {
      this.run(
        (async () => {
          // A refresh resolves the branch again, so it also notices new commits.
          await this.checkHead();
          await this.reconcile(rt, this.head, { clearAnnotation: true });
        })(),
      );
    } else if (specChanged) {
      this.run(this.reconcile(rt, this.head));
    }
  }
}

/** Starts a simulated Argo CD (API server + application controller) and resolves once it serves. */
export async function startArgoSim(options: ArgoSimOptions): Promise<ArgoSim> {
  const sim = new ArgoSim(options);
  try {
    return await sim.start();
  } catch (err) {
    await sim.close();
    throw err;
  }
}
