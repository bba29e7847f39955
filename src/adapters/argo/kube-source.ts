// ArgoSource over the Kubernetes API: list+watch of argoproj.io Applications (and Rollouts when
// the cluster serves them, and AppProjects for their sync windows when readable), through a
// kubeconfig or the in-cluster service account.
import { CustomObjectsApi, PatchStrategy, setHeaderOptions, Watch, type KubeConfig } from "@kubernetes/client-node";
import type { Application, AppProject, Rollout } from "../../core/argo-types.js";
import {
  DEFAULT_BACKOFF,
  DEFAULT_RELIST_MS,
  DEFAULT_STALE_MS,
  Reflector,
  ResourceExpiredError,
  silentLog,
  type Backoff,
  type ListResult,
  type ReflectorCounters,
  type SourceLog,
  type Transport,
  type WatchSink,
} from "./reflector.js";
import { objectKey, projectName, rolloutRefs, type KubeObject } from "./refs.js";
import { trimApplication } from "./trim.js";
import type { AppKey, ArgoSource, ArgoSourceStats } from "../../core/argo-source.js";

export const REFRESH_ANNOTATION = "argocd.argoproj.io/refresh";
const GROUP = "argoproj.io";
const VERSION = "v1alpha1";
const PAGE_SIZE = 500;

export interface KubeArgoSourceOptions {
  kubeConfig: KubeConfig;
  /** Namespace of the Application objects (usually argocd). */
  namespace: string;
  /** Namespace of the AppProjects (Argo CD's own; default: `namespace`). */
  projectNamespace?: string;
  /** Where to watch Rollouts: cluster-wide (default), these namespaces, or not at all. */
  rolloutNamespaces?: "all" | string[] | "none";
  relistIntervalMs?: number;
  /** A watch that delivered nothing (not even a BOOKMARK) for this long is re-established. */
  staleAfterMs?: number;
  backoff?: Backoff;
  log?: SourceLog;
}

interface KubeStatus {
  kind?: string;
  code?: number;
  message?: string;
  reason?: string;
}

function errorCode(err: unknown): number | undefined {
  if (typeof err !== "object" || err === null) return undefined;
  const { code, statusCode } = err as { code?: unknown; statusCode?: unknown };
  if (typeof code === "number") return code;
  if (typeof statusCode === "number") return statusCode;
  return undefined;
}

/**
 * One kube list+watch endpoint (a plural, cluster-wide or in one namespace). `keep` cuts each
 * object down as it arrives, page by page, before anything holds on to it.
 */
class KubeTransport<T extends KubeObject> implements Transport<T> {
  constructor(
    private readonly kubeConfig: KubeConfig,
    private readonly api: CustomObjectsApi,
    private readonly plural: string,
    private readonly namespace: string | undefined,
    private readonly keep: (object: T) => T,
  ) {}

  async list(): Promise<ListResult<T>> {
    const items: T[] = [];
    let resourceVersion: string | undefined;
    let token: string | undefined;
    do {
      const base = { group: GROUP, version: VERSION, plural: this.plural, limit: PAGE_SIZE, _continue: token };
      const page = (
        this.namespace === undefined
          ? await this.api.listClusterCustomObject(base)
          : await this.api.listNamespacedCustomObject({ ...base, namespace: this.namespace })
      ) as { items?: T[]; metadata?: { resourceVersion?: string; continue?: string } };
      for (const item of page.items ?? []) items.push(this.keep(item));
      resourceVersion = page.metadata?.resourceVersion;
      token = page.metadata?.continue || undefined;
    } while (token);
    return { items, resourceVersion };
  }

  watch(resourceVersion: string | undefined, sink: WatchSink<T>, signal: AbortSignal): Promise<void> {
    const path =
      this.namespace === undefined
        ? `/apis/${GROUP}/${VERSION}/${this.plural}`
        : `/apis/${GROUP}/${VERSION}/namespaces/${this.namespace}/${this.plural}`;
    // Servers end watches after timeoutSeconds; spreading it keeps replicas from reconnecting in step.
    const params = {
      allowWatchBookmarks: true,
      resourceVersion,
      timeoutSeconds: 300 + Math.floor(Math.random() * 300),
    };
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      let failure: Error | undefined;
      let request: AbortController | undefined;
      const settle = (err?: unknown): void => {
        if (settled) return;
        settled = true;
        signal.removeEventListener("abort", onAbort);
        request?.abort();
        if (failure) reject(failure);
        else if (err instanceof Error && !signal.aborted)
          reject(errorCode(err) === 410 ? new ResourceExpiredError(err.message) : err);
        else resolve();
      };
      const onAbort = (): void => settle();
      signal.addEventListener("abort", onAbort, { once: true });
      const onEvent = (type: string, object: unknown): void => {
        if (settled) return;
        if (type === "BOOKMARK") {
          sink.bookmark((object as KubeObject | undefined)?.metadata?.resourceVersion);
        } else if (type === "ADDED" || type === "MODIFIED" || type === "DELETED") {
          sink.event(type, this.keep(object as T));
        } else if (type === "ERROR") {
          const status = (object ?? {}) as KubeStatus;
          failure =
            status.code === 410
              ? new ResourceExpiredError(status.message)
              : new Error(`watch error ${String(status.code)}: ${String(status.message)}`);
          settle();
        }
      };
      new Watch(this.kubeConfig)
        .watch(path, params, onEvent, (err: unknown) => settle(err))
        .then((controller) => {
          request = controller;
          if (settled) controller.abort();
        }, settle);
    });
  }
}

export class KubeArgoSource implements ArgoSource {
  private readonly api: CustomObjectsApi;
  private readonly counters: ReflectorCounters = { watchConnections: 0, reconnects: 0, relists: 0 };
  private readonly listeners = new Set<(app: Application) => void>();
  private readonly apps: Reflector<Application>;
  private rollouts: Reflector<Rollout>[] = [];
  /** AppProjects, for sync windows; undefined when they cannot be listed. */
  private projects: Reflector<AppProject> | undefined;
  private readonly log: SourceLog;

  constructor(private readonly options: KubeArgoSourceOptions) {
    this.api = options.kubeConfig.makeApiClient(CustomObjectsApi);
    this.log = options.log ?? silentLog;
    this.apps = this.reflector<Application>("applications", options.namespace, (app) => this.emit(app), {
      keep: trimApplication,
    });
    const where = options.rolloutNamespaces ?? "all";
    const namespaces = where === "none" ? [] : where === "all" ? [undefined] : where;
    this.rollouts = namespaces.map((ns) =>
      this.reflector<Rollout>("rollouts", ns, (rollout) => this.rolloutChanged(rollout)),
    );
    this.projects = this.reflector<AppProject>(
      "appprojects",
      options.projectNamespace ?? options.namespace,
      (project) => this.projectChanged(project),
      { onDelete: (project) => this.projectChanged(project) },
    );
  }

  async start(): Promise<void> {
    await this.apps.start();
    if (this.projects) {
      try {
        await this.projects.start();
      } catch (err) {
        const code = errorCode(err);
        if (code !== 404 && code !== 403) {
          await this.apps.stop();
          throw err;
        }
        this.log.warn({ code }, "argo source: cannot list AppProjects, verifying without sync windows");
        this.projects = undefined;
      }
    }
    const started: Reflector<Rollout>[] = [];
    for (const reflector of this.rollouts) {
      try {
        await reflector.start();
        started.push(reflector);
      } catch (err) {
        const code = errorCode(err);
        if (code !== 404 && code !== 403) {
          await Promise.all([this.apps.stop(), this.projects?.stop(), ...started.map((r) => r.stop())]);
          throw err;
        }
        this.log.warn({ code }, "argo source: cannot list Rollouts, verifying without them");
      }
    }
    this.rollouts = started;
  }

  async stop(): Promise<void> {
    await Promise.all([this.apps.stop(), this.projects?.stop(), ...this.rollouts.map((r) => r.stop())]);
  }

  onApplication(listener: (app: Application) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  getApplication(key: AppKey): Application | undefined {
    return this.apps.cache.get(`${key.namespace}/${key.name}`);
  }

  projectFor(app: Application): AppProject | undefined {
    const namespace = this.options.projectNamespace ?? this.options.namespace;
    return this.projects?.cache.get(`${namespace}/${projectName(app)}`);
  }

  rolloutsFor(app: Application): Rollout[] {
    const found: Rollout[] = [];
    for (const ref of rolloutRefs(app)) {
      for (const reflector of this.rollouts) {
        const rollout = reflector.cache.get(`${ref.namespace}/${ref.name}`);
        if (rollout) {
          found.push(rollout);
          break;
        }
      }
    }
    return found;
  }

  async refresh(key: AppKey): Promise<void> {
    await this.api.patchNamespacedCustomObject(
      {
        group: GROUP,
        version: VERSION,
        plural: "applications",
        namespace: key.namespace,
        name: key.name,
        body: { metadata: { annotations: { [REFRESH_ANNOTATION]: "normal" } } },
      },
      setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
    );
  }

  stats(): ArgoSourceStats {
    return { ...this.counters };
  }

  private reflector<T extends KubeObject>(
    plural: string,
    namespace: string | undefined,
    onUpsert: (object: T) => void,
    { onDelete, keep = (object) => object }: { onDelete?: (object: T) => void; keep?: (object: T) => T } = {},
  ): Reflector<T> {
    return new Reflector<T>({
      kind: namespace === undefined ? plural : `${plural} in ${namespace}`,
      transport: new KubeTransport<T>(this.options.kubeConfig, this.api, plural, namespace, keep),
      keyOf: objectKey,
      versionOf: (o) => o.metadata?.resourceVersion,
      onUpsert,
      ...(onDelete ? { onDelete } : {}),
      counters: this.counters,
      relistIntervalMs: this.options.relistIntervalMs ?? DEFAULT_RELIST_MS,
      staleAfterMs: this.options.staleAfterMs ?? DEFAULT_STALE_MS,
      backoff: this.options.backoff ?? DEFAULT_BACKOFF,
      log: this.log,
    });
  }

  private emit(app: Application): void {
    for (const listener of [...this.listeners]) listener(app);
  }

  /**
   * Rollouts and Applications arrive on separate streams, so an app event can overtake the
   * Rollout change behind it; re-announcing the owning apps lets listeners re-judge with both.
   */
  private rolloutChanged(rollout: Rollout): void {
    const key = objectKey(rollout);
    for (const app of this.apps.cache.values()) {
      if (rolloutRefs(app).some((ref) => `${ref.namespace}/${ref.name}` === key)) this.emit(app);
    }
  }

  /** The windows of a project changed (or it went away): its apps are judged again. */
  private projectChanged(project: AppProject): void {
    const name = project.metadata?.name;
    for (const app of this.apps.cache.values()) if (projectName(app) === name) this.emit(app);
  }
}
