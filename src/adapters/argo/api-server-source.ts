// ArgoSource over the Argo CD API server (ARGOCD_SERVER + ARGOCD_TOKEN), for setups where the bot
// cannot read the cluster. Argo CD 3 keeps per-resource health out of the Application object, so
// every app handed out has status.resources[].health filled in from its resource tree, and the
// live Rollouts behind it are fetched through the API server too. AppProjects (for their sync
// windows) are read when an app of theirs is first handed out, and again at most every 30 s
// while someone asks for them; a change to their windows re-announces their apps.
import type { Application, AppProject, HealthStatus, ResourceStatus, Rollout } from "../../core/argo-types.js";
import {
  DEFAULT_BACKOFF,
  DEFAULT_RELIST_MS,
  DEFAULT_STALE_MS,
  describe,
  Reflector,
  silentLog,
  type Backoff,
  type ListResult,
  type ReflectorCounters,
  type SourceLog,
  type Transport,
  type WatchEventType,
  type WatchSink,
} from "./reflector.js";
import { objectKey, projectName, rolloutRefs } from "./refs.js";
import type { AppKey, ArgoSource, ArgoSourceStats } from "../../core/argo-source.js";

export interface ApiServerArgoSourceOptions {
  /** Base URL of the Argo CD API server, e.g. https://argocd.example.com. */
  server: string;
  token: string;
  /** Namespace of the Application objects (appNamespace); default: the server's own. */
  namespace?: string;
  relistIntervalMs?: number;
  /** A stream that delivered nothing for this long is re-established (Argo CD sends no bookmarks). */
  staleAfterMs?: number;
  backoff?: Backoff;
  log?: SourceLog;
  fetch?: typeof fetch;
  /** How long a project read from the API server is used before it is read again (default 30 s). */
  projectRefreshMs?: number;
}

/** An HTTP error from the Argo CD API, with its status as `code` (like client-node's ApiException). */
export class ArgoApiError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
    this.name = "ArgoApiError";
  }
}

const PROJECT_REFRESH_MS = 30_000;

interface ProjectEntry {
  project?: AppProject;
  /** When it was last read (0: never); its sync windows, to notice a change. */
  readAt: number;
  windows?: string;
  /** The last read's error, if it failed. */
  error?: string;
  loading?: Promise<void>;
}

interface TreeNode {
  group?: string;
  kind?: string;
  namespace?: string;
  name?: string;
  health?: HealthStatus;
}

interface StreamLine {
  result?: { type?: string; application?: Application };
  error?: { message?: string; http_code?: number; grpc_code?: number } | string;
  code?: number;
  message?: string;
}

export class ApiServerArgoSource implements ArgoSource {
  private readonly base: string;
  private readonly fetch: typeof fetch;
  private readonly log: SourceLog;
  private readonly counters: ReflectorCounters = { watchConnections: 0, reconnects: 0, relists: 0 };
  private readonly listeners = new Set<(app: Application) => void>();
  private readonly reflector: Reflector<Application>;
  /** What listeners were last given, per app: the object with resource health filled in. */
  private readonly enriched = new Map<string, Application>();
  private readonly rollouts = new Map<string, Rollout>();
  private readonly work = new Map<string, { next?: Application; done: Promise<void> }>();
  private readonly projects = new Map<string, ProjectEntry>();
  private stopped = false;
  /** Aborts enrichment requests still in flight when stop() is called. */
  private readonly aborts = new AbortController();

  constructor(private readonly options: ApiServerArgoSourceOptions) {
    this.base = options.server.replace(/\/+$/, "");
    this.fetch = options.fetch ?? fetch;
    this.log = options.log ?? silentLog;
    const transport: Transport<Application> = {
      list: (signal) => this.list(signal),
      watch: (_rv, sink, signal) => this.stream(sink, signal),
    };
    this.reflector = new Reflector<Application>({
      kind: "applications (Argo CD API)",
      transport,
      keyOf: objectKey,
      versionOf: (app) => (app.metadata as { resourceVersion?: string } | undefined)?.resourceVersion,
      onUpsert: (app) => this.enqueue(app),
      onDelete: (app) => {
        this.enriched.delete(objectKey(app));
      },
      counters: this.counters,
      relistIntervalMs: options.relistIntervalMs ?? DEFAULT_RELIST_MS,
      staleAfterMs: options.staleAfterMs ?? DEFAULT_STALE_MS,
      backoff: options.backoff ?? DEFAULT_BACKOFF,
      log: this.log,
    });
  }

  async start(): Promise<void> {
    await this.reflector.start();
    await this.idle();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.aborts.abort();
    await this.reflector.stop();
    await this.idle();
  }

  onApplication(listener: (app: Application) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  getApplication(key: AppKey): Application | undefined {
    const id = `${key.namespace}/${key.name}`;
    return this.enriched.get(id) ?? this.reflector.cache.get(id);
  }

  projectFor(app: Application): AppProject | undefined {
    const name = projectName(app);
    const entry = this.projects.get(name);
    if (
      !entry ||
      (entry.loading === undefined &&
        Date.now() - entry.readAt >= (this.options.projectRefreshMs ?? PROJECT_REFRESH_MS))
    ) {
      void this.loadProject(name);
    }
    return entry?.project;
  }

  rolloutsFor(app: Application): Rollout[] {
    return rolloutRefs(app).flatMap((ref) => this.rollouts.get(`${ref.namespace}/${ref.name}`) ?? []);
  }

  async refresh(key: AppKey): Promise<void> {
    // Argo CD answers once the refresh is done; the stream delivers the refreshed app as well.
    await this.get(`/api/v1/applications/${encodeURIComponent(key.name)}`, {
      refresh: "normal",
      appNamespace: key.namespace,
    });
  }

  stats(): ArgoSourceStats {
    return { ...this.counters };
  }

  /** Resolves when every queued app has been enriched and handed out. */
  private async idle(): Promise<void> {
    while (this.work.size > 0) await Promise.all([...this.work.values()].map((w) => w.done));
  }

  private query(extra: Record<string, string | undefined> = {}): Record<string, string | undefined> {
    return { appNamespace: this.options.namespace, ...extra };
  }

  private async get<T>(path: string, query: Record<string, string | undefined> = {}, signal?: AbortSignal): Promise<T> {
    const res = await this.request(path, query, signal);
    return (await res.json()) as T;
  }

  private async request(
    path: string,
    query: Record<string, string | undefined>,
    signal?: AbortSignal,
  ): Promise<Response> {
    const url = new URL(this.base + path);
    for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== "") url.searchParams.set(k, v);
    const res = await this.fetch(url, {
      headers: { Authorization: `Bearer ${this.options.token}`, Accept: "application/json" },
      signal,
    });
    if (!res.ok) {
      const text = await res.text().catch(() => "");
      let message = text;
      try {
        const body = JSON.parse(text) as { message?: string; error?: string };
        message = body.message ?? body.error ?? text;
      } catch {
        // not JSON: keep the text
      }
      throw new ArgoApiError(res.status, `Argo CD API ${path}: ${res.status} ${message}`.trim());
    }
    return res;
  }

  private async list(signal: AbortSignal): Promise<ListResult<Application>> {
    const body = await this.get<{ items?: Application[] | null; metadata?: { resourceVersion?: string } }>(
      "/api/v1/applications",
      this.query(),
      signal,
    );
    return { items: body.items ?? [], resourceVersion: body.metadata?.resourceVersion };
  }

  /**
   * The application event stream, read line by line as it arrives. It is opened without a
   * resourceVersion on purpose: Argo CD then starts with every app's current state (which the
   * reflector de-duplicates), so nothing that changed while disconnected is missed.
   */
  private async stream(sink: WatchSink<Application>, signal: AbortSignal): Promise<void> {
    const res = await this.request("/api/v1/stream/applications", this.query(), signal);
    if (!res.body) return;
    const decoder = new TextDecoder();
    let buffered = "";
    const reader = res.body.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        buffered += decoder.decode(value, { stream: true });
        let newline = buffered.indexOf("\n");
        while (newline >= 0) {
          const line = buffered.slice(0, newline).trim();
          buffered = buffered.slice(newline + 1);
          if (line !== "") this.onLine(line, sink);
          newline = buffered.indexOf("\n");
        }
      }
      const rest = buffered.trim();
      if (rest !== "") this.onLine(rest, sink);
    } finally {
      reader.releaseLock();
      await res.body.cancel().catch(() => undefined);
    }
  }

  private onLine(line: string, sink: WatchSink<Application>): void {
    let parsed: StreamLine;
    try {
      parsed = JSON.parse(line) as StreamLine;
    } catch {
      this.log.warn({ length: line.length }, "argo source: unparsable line on the application stream");
      return;
    }
    if (parsed.error !== undefined) {
      const error =
        typeof parsed.error === "string"
          ? { message: parsed.message ?? parsed.error, http_code: parsed.code }
          : parsed.error;
      throw new ArgoApiError(error.http_code ?? 500, `Argo CD stream error: ${error.message ?? "unknown"}`);
    }
    const type = parsed.result?.type as WatchEventType | undefined;
    const app = parsed.result?.application;
    if (!app || (type !== "ADDED" && type !== "MODIFIED" && type !== "DELETED")) {
      sink.bookmark(undefined);
      return;
    }
    sink.event(type, app);
  }

  /**
   * Per app, one enrichment at a time; a version that arrives meanwhile replaces any other still
   * waiting (Argo CD's own stream coalesces the same way), so listeners see every app in order.
   */
  private enqueue(app: Application): void {
    const key = objectKey(app);
    const pending = this.work.get(key);
    if (pending) {
      pending.next = app;
      return;
    }
    const entry: { next?: Application; done: Promise<void> } = { done: Promise.resolve() };
    entry.done = (async () => {
      let current: Application | undefined = app;
      while (current) {
        // The first app of a project brings its sync windows along.
        if (!this.projects.has(projectName(current))) await this.loadProject(projectName(current));
        const ready = await this.enrich(current);
        if (!this.stopped) this.hand(key, ready);
        current = entry.next;
        entry.next = undefined;
      }
      this.work.delete(key);
    })();
    this.work.set(key, entry);
  }

  /** Reads a project (once at a time); when its sync windows changed, its apps are handed out again. */
  private loadProject(name: string): Promise<void> {
    if (this.stopped) return Promise.resolve();
    let entry = this.projects.get(name);
    if (entry?.loading) return entry.loading;
    if (!entry) {
      entry = { readAt: 0 };
      this.projects.set(name, entry);
    }
    const current = entry;
    current.loading = (async () => {
      try {
        const path = `/api/v1/projects/${encodeURIComponent(name)}`;
        current.project = await this.get<AppProject>(path, {}, this.aborts.signal);
        current.error = undefined;
      } catch (err) {
        if (this.stopped) return;
        // Missing or not readable (RBAC): no windows known; anything else keeps the last copy.
        if (err instanceof ArgoApiError && (err.code === 404 || err.code === 403)) current.project = undefined;
        // Said once, not at every read while it lasts.
        const error = describe(err);
        if (error !== current.error) {
          this.log.warn({ project: name, err: error }, "argo source: cannot read AppProject, sync windows unknown");
        }
        current.error = error;
      } finally {
        current.readAt = Date.now();
        current.loading = undefined;
      }
      const windows = JSON.stringify(current.project?.spec?.syncWindows ?? []);
      const changed = current.windows !== undefined && windows !== current.windows;
      current.windows = windows;
      if (!changed || this.stopped) return;
      for (const [key, app] of this.enriched) if (projectName(app) === name) this.hand(key, app);
    })();
    return current.loading;
  }

  private hand(key: string, app: Application): void {
    if (!this.reflector.cache.has(key)) return;
    this.enriched.set(key, app);
    for (const listener of [...this.listeners]) {
      try {
        listener(app);
      } catch (err) {
        this.log.warn({ err: describe(err) }, "argo source: listener failed");
      }
    }
  }

  /** Fills in resource health from the resource tree and fetches the live Rollouts. */
  private async enrich(app: Application): Promise<Application> {
    const resources = app.status?.resources ?? [];
    const refs = rolloutRefs(app);
    if (this.stopped || (refs.length === 0 && resources.every((r) => r.health?.status))) return app;
    const name = app.metadata?.name ?? "";
    const query = { appNamespace: app.metadata?.namespace };
    const path = `/api/v1/applications/${encodeURIComponent(name)}`;
    let result = app;
    try {
      const tree = await this.get<{ nodes?: TreeNode[] | null }>(`${path}/resource-tree`, query, this.aborts.signal);
      result = withTreeHealth(app, tree.nodes ?? []);
    } catch (err) {
      if (this.stopped) return app;
      this.log.warn(
        { app: name, err: describe(err) },
        "argo source: resource tree unavailable, resource health unknown",
      );
    }
    await Promise.all(
      refs.map(async (ref) => {
        try {
          const which = {
            ...query,
            namespace: ref.namespace,
            resourceName: ref.name,
            group: "argoproj.io",
            version: "v1alpha1",
            kind: "Rollout",
          };
          const { manifest } = await this.get<{ manifest?: string }>(`${path}/resource`, which, this.aborts.signal);
          if (manifest) this.rollouts.set(`${ref.namespace}/${ref.name}`, JSON.parse(manifest) as Rollout);
        } catch (err) {
          if (this.stopped) return;
          // Without the live object the verdict falls back to the Rollout's health in the tree.
          this.rollouts.delete(`${ref.namespace}/${ref.name}`);
          this.log.warn({ app: name, rollout: ref.name, err: describe(err) }, "argo source: cannot read live Rollout");
        }
      }),
    );
    return result;
  }
}

function sameResource(r: ResourceStatus, node: TreeNode, fallbackNamespace: string): boolean {
  return (
    (node.group ?? "") === (r.group ?? "") &&
    node.kind === r.kind &&
    node.name === r.name &&
    (node.namespace ?? "") === (r.namespace ?? fallbackNamespace)
  );
}

/** A copy of the app whose resources carry the health the resource tree reports. */
function withTreeHealth(app: Application, nodes: TreeNode[]): Application {
  const resources = app.status?.resources;
  if (!resources || !app.status) return app;
  const fallback = (app.spec as { destination?: { namespace?: string } } | undefined)?.destination?.namespace ?? "";
  const filled = resources.map((r) => {
    if (r.health?.status) return r;
    const node = nodes.find((n) => sameResource(r, n, fallback));
    return node?.health ? { ...r, health: { ...node.health } } : r;
  });
  return { ...app, status: { ...app.status, resources: filled } };
}
