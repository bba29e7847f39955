import { writeFile } from "node:fs/promises";
import { stringify } from "yaml";
import { newAppRuntime, type AppRuntime } from "./app-runtime.js";
import { AppStatusWriter } from "./app-status.js";
import { AutoSync } from "./auto-sync.js";
import type { SimContext } from "./context.js";
import { clone, deepEqual, isObject, type JsonObject } from "./json.js";
import { KubeApiServer } from "./kube-server.js";
import type { HealthStatus } from "./objects.js";
import { DEFAULT_TIMINGS, type ArgoSimOptions, type ArgoSimTimings } from "./options.js";
import { Refresher, REFRESH_ANNOTATION } from "./refresh.js";
import { RepoServer } from "./repo-server.js";
import { argoResourceTypes } from "./resource-types.js";
import { Scheduler } from "./scheduler.js";
import { ObjectStore, type StoredEvent, type WriteSource } from "./store.js";
import { SyncOperations } from "./sync-operation.js";
import { canSync, projectWindows, windowedApp, type SimSyncWindow } from "./sync-windows.js";
import type { ApplicationView, RolloutView } from "./types.js";
import { Workloads } from "./workloads.js";

export {
  DEFAULT_TIMINGS,
  type ArgoSimApplication,
  type ArgoSimOptions,
  type ArgoSimProject,
  type ArgoSimTimings,
} from "./options.js";
export type { SimSyncWindow } from "./sync-windows.js";
export { REFRESH_ANNOTATION } from "./refresh.js";

export type ArgoSimEvent = "state" | "rollout" | "watch-event" | "error";

function randomToken(): string {
  return Array.from({ length: 4 }, () => Math.random().toString(36).slice(2)).join("");
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
  private readonly timings: ArgoSimTimings;
  private readonly store: ObjectStore;
  private readonly server: KubeApiServer;
  private readonly scheduler: Scheduler;
  private readonly status: AppStatusWriter;
  private readonly refresher: Refresher;
  private readonly autoSync: AutoSync;
  private readonly operations: SyncOperations;
  private readonly repo: RepoServer;
  private readonly apps = new Map<string, AppRuntime>();
  private readonly listeners = new Map<ArgoSimEvent, Set<(value: never) => void>>();
  url = "";

  constructor(private readonly options: ArgoSimOptions) {
    this.namespace = options.namespace ?? "argocd";
    this.token = options.token ?? randomToken();
    this.branch = options.branch ?? "main";
    this.timings = { ...DEFAULT_TIMINGS, ...options.timings };
    this.store = new ObjectStore(argoResourceTypes(options.validate), options.watchHistorySize ?? 1000);
    this.server = new KubeApiServer(this.store, {
      host: options.host,
      port: options.port,
      token: this.token,
      bookmarkIntervalMs: () => this.timings.bookmarkIntervalMs,
    });
    this.scheduler = new Scheduler((error) => this.reportError(error));
    this.status = new AppStatusWriter(this.store, this.namespace, this.scheduler, () => this.refresher.head);
    this.repo = new RepoServer(options.repoPath, options.applications.length);
    const ctx: SimContext = {
      namespace: this.namespace,
      branch: this.branch,
      timings: this.timings,
      store: this.store,
      scheduler: this.scheduler,
      repo: this.repo,
      status: this.status,
      canSync: (rt, manual) => this.windowsAllow(rt, manual),
    };
    // A refresh may start an auto-sync whose operation ends in a refresh: the arrows defer the
    // references to parts that do not exist yet.
    this.refresher = new Refresher(ctx, this.apps, (rt) => this.autoSync.afterRefresh(rt));
    this.autoSync = new AutoSync(ctx, (rt, revision) => this.operations.run(rt, revision, { automated: true }));
    this.operations = new SyncOperations(
      ctx,
      new Workloads(ctx, options.failurePattern),
      this.autoSync,
      this.refresher,
    );
  }

  // ------------------------------------------------------------------------------------------
  // Public API

  /** Starts the API server, creates every Application at the branch head, and starts polling. */
  async start(): Promise<this> {
    this.store.subscribe((event, source) => this.onWrite(event, source));
    const defaults = {
      namespace: this.namespace,
      repoURL: this.options.repoURL ?? `file://${this.options.repoPath}`,
      branch: this.branch,
      autoSync: this.options.autoSync,
    };
    this.createProjects();
    const names = new Set<string>();
    for (const app of this.options.applications) {
      if (names.has(app.name)) throw new Error(`duplicate application ${app.name}`);
      names.add(app.name);
      this.apps.set(app.name, newAppRuntime(app, defaults));
    }
    await this.refresher.resolveHead();
    for (const rt of this.apps.values()) await this.operations.createSynced(rt, this.refresher.head);
    this.url = await this.server.start();
    this.refresher.start();
    return this;
  }

  async close(): Promise<void> {
    this.scheduler.close();
    for (const rt of this.apps.values()) if (rt.autoSyncTimer) clearTimeout(rt.autoSyncTimer);
    this.repo.close();
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
    return this.refresher.checkHead();
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

  /**
   * Manual sync (like `argocd app sync`): resolves once the operation and its refresh are done.
   * Refused while sync windows deny manual syncs, with the API server's message (server/application,
   * Sync: PermissionDenied "cannot sync: blocked by sync window").
   */
  async sync(name: string, options: { revision?: string } = {}): Promise<void> {
    const rt = this.runtime(name);
    if (!this.windowsAllow(rt, true)) throw new Error("cannot sync: blocked by sync window");
    await this.operations.run(rt, options.revision ?? this.branch, { username: "admin" });
  }

  /** An AppProject as stored. */
  project(name: string): JsonObject | undefined {
    return this.store.get("appprojects", this.namespace, name);
  }

  /**
   * Replaces a project's spec.syncWindows through the API (as `kubectl apply` or `argocd proj
   * windows` would), creating the project if needed. Like Argo CD, nothing happens to the apps
   * until their next refresh or operation retry looks at the windows.
   */
  setSyncWindows(project: string, windows: SimSyncWindow[]): void {
    const current = this.store.get("appprojects", this.namespace, project);
    const object = current ?? defaultProject(this.namespace, project);
    object.spec = {
      ...(isObject(object.spec) ? object.spec : {}),
      syncWindows: clone(windows) as unknown as JsonObject[],
    };
    if (current) this.store.update("appprojects", object, "api");
    else this.store.create("appprojects", object, "api");
  }

  /**
   * Adds a deny window to a project (default "default") that holds its apps (every one, or those
   * named) from now for `ms`, as `argocd proj windows add` would. Schedules have whole minutes,
   * so the window starts at this minute's start ("7 9 1 12 *") and lasts the time gone since
   * plus `ms` ("33250ms"). Returns the window and when it ends.
   */
  denySyncFor(
    ms: number,
    options: { project?: string; applications?: string[]; manualSync?: boolean } = {},
  ): { window: SimSyncWindow; endsAt: Date } {
    const now = Date.now();
    const minute = new Date(Math.floor(now / 60_000) * 60_000);
    const window: SimSyncWindow = {
      kind: "deny",
      schedule: `${minute.getUTCMinutes()} ${minute.getUTCHours()} ${minute.getUTCDate()} ${minute.getUTCMonth() + 1} *`,
      duration: `${now - minute.getTime() + Math.round(ms)}ms`,
      applications: options.applications ?? ["*"],
      ...(options.manualSync ? { manualSync: true } : {}),
    };
    const project = options.project ?? "default";
    const spec = this.project(project)?.spec;
    const stored = isObject(spec) && Array.isArray(spec.syncWindows) ? spec.syncWindows : [];
    this.setSyncWindows(project, [...(stored as unknown as SimSyncWindow[]), window]);
    return { window, endsAt: new Date(now + Math.round(ms)) };
  }

  /** The last refresh found the app OutOfSync, and sync windows kept auto-sync from starting. */
  syncPrevented(name: string): boolean {
    return this.runtime(name).syncPrevented === true;
  }

  /** Asks for a refresh the way users do: the refresh annotation, through the API. */
  refresh(name: string, kind: "normal" | "hard" = "normal"): void {
    const app = this.store.get("applications", this.namespace, this.runtime(name).identity.name);
    if (!app || !isObject(app.metadata)) return;
    app.metadata.annotations = {
      ...(isObject(app.metadata.annotations) ? app.metadata.annotations : {}),
      [REFRESH_ANNOTATION]: kind,
    };
    this.store.update("applications", app, "api");
  }

  /** Forces the workload's health (flaps, outages); the next deploy takes over again. */
  setHealth(name: string, status: HealthStatus, message?: string): void {
    const rt = this.runtime(name);
    rt.health = message ? { status, message } : { status };
    this.status.publishHealth(rt);
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
  on(
    event: "watch-event",
    listener: (event: { type: string; resource: string; object: JsonObject }) => void,
  ): () => void;
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
        reject(
          new Error(
            `timed out after ${timeoutMs} ms waiting for ${name}; last state: ${JSON.stringify(this.get(name)?.status)}`,
          ),
        );
      }, timeoutMs);
      const off = this.on("state", (app) => void check(app));
      check(this.get(name));
    });
  }

  /** Argo CD's own "default" project, and the ones the options ask for. */
  private createProjects(): void {
    const projects = new Map((this.options.projects ?? []).map((p) => [p.name, p]));
    if (!projects.has("default")) projects.set("default", { name: "default" });
    for (const p of projects.values()) {
      const object = defaultProject(this.namespace, p.name);
      if (p.syncWindows) (object.spec as JsonObject).syncWindows = clone(p.syncWindows) as unknown as JsonObject[];
      this.store.create("appprojects", object, "controller");
    }
  }

  private windowsAllow(rt: AppRuntime, manual: boolean): boolean {
    const app = this.store.get("applications", this.namespace, rt.identity.name);
    if (!app) return true;
    const spec = isObject(app.spec) ? app.spec : {};
    const projectName = typeof spec.project === "string" && spec.project !== "" ? spec.project : "default";
    const windows = projectWindows(this.store.get("appprojects", this.namespace, projectName));
    return canSync(windows, windowedApp(app), manual, Date.now());
  }

  private runtime(name: string): AppRuntime {
    const rt = this.apps.get(name);
    if (!rt || rt.removed) throw new Error(`unknown application ${name}`);
    return rt;
  }

  private emit(event: ArgoSimEvent, value: unknown): void {
    for (const listener of [...(this.listeners.get(event) ?? [])]) (listener as (v: unknown) => void)(value);
  }

  /** Background failures go to "error" listeners; without any, they must not pass silently. */
  private reportError(error: Error): void {
    const listeners = this.listeners.get("error");
    if (listeners && listeners.size > 0) this.emit("error", error);
    else console.error("argo-sim:", error);
  }

  // ------------------------------------------------------------------------------------------
  // Reacting to API writes (refresh annotation, operation, spec edits, deletion)

  private onWrite(event: StoredEvent, source: WriteSource): void {
    const resource = event.plural;
    this.emit("watch-event", { type: event.type, resource, object: event.object });
    if (resource === "applications") this.emit("state", event.object);
    if (resource === "rollouts") this.emit("rollout", event.object);
    if (source !== "api" || resource !== "applications" || this.scheduler.closed) return;
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
      const revision =
        typeof sync.revision === "string" && sync.revision !== ""
          ? sync.revision
          : typeof revisions[0] === "string"
            ? revisions[0]
            : this.branch;
      const initiatedBy = isObject(op.initiatedBy) ? op.initiatedBy : { username: "admin" };
      this.scheduler.run(this.operations.run(rt, revision, initiatedBy, clone(op)));
    }
    if (annotations[REFRESH_ANNOTATION] !== undefined) {
      this.scheduler.run(
        (async () => {
          // A refresh resolves the branch again, so it also notices new commits.
          await this.refresher.checkHead();
          await this.refresher.reconcile(rt, this.refresher.head, { clearAnnotation: true });
        })(),
      );
    } else if (specChanged) {
      this.scheduler.run(this.refresher.reconcile(rt, this.refresher.head));
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

/** An AppProject as `argocd` creates the default one: any repository, destination and cluster resource. */
function defaultProject(namespace: string, name: string): JsonObject {
  return {
    apiVersion: "argoproj.io/v1alpha1",
    kind: "AppProject",
    metadata: { name, namespace },
    spec: {
      sourceRepos: ["*"],
      destinations: [{ server: "*", namespace: "*" }],
      clusterResourceWhitelist: [{ group: "*", kind: "*" }],
    },
  };
}
