import type { RenderedTarget } from "./git.js";
import type { Json } from "./json.js";
import { canarySteps, type AppIdentity, type Health, type RolloutIdentity } from "./objects.js";
import type { ArgoSimApplication } from "./options.js";

export interface RolloutRuntime {
  identity: RolloutIdentity;
  pauseMs: number;
  revision: number;
  currentHash: string;
  stableHash: string;
}

/**
 * What the controller knows about one Application beyond the stored object: the stored object
 * can be edited through the API, so the controller's own view of what it deployed lives here.
 */
export interface AppRuntime {
  identity: AppIdentity;
  deployed?: RenderedTarget;
  operating: boolean;
  /** Bumped on each deploy; workload timers of an older deploy stop. */
  epoch: number;
  health: Health;
  /** Per Deployment set by a patch file (blue-green slots, canary tracks): its health and images. */
  workloadHealth?: Map<string, Health>;
  workloadImages?: Map<string, string>;
  syncStatus: string;
  rollout?: RolloutRuntime;
  /** Refreshes of one app run one after the other, so an older comparison never lands last. */
  chain: Promise<void>;
  autoSyncTimer?: NodeJS.Timeout;
  lastSpec?: Json;
  /** The revision the last refresh compared against (status.sync.revision). */
  comparedRevision?: string;
  /** The last refresh found the app OutOfSync and sync windows kept auto-sync from starting. */
  syncPrevented?: boolean;
  removed: boolean;
}

/** What every app inherits from the simulator's options. */
export interface RuntimeDefaults {
  namespace: string;
  repoURL: string;
  branch: string;
  autoSync: boolean | undefined;
}

function pathParts(path: string): { service?: string; env?: string } {
  const m = path.match(/(?:^|\/)services\/([^/]+)\/overlays\/([^/]+)\/?$/);
  return m ? { service: m[1], env: m[2] } : {};
}

export function newAppRuntime(app: ArgoSimApplication, defaults: RuntimeDefaults): AppRuntime {
  const parts = pathParts(app.path);
  const destinationNamespace = app.destinationNamespace ?? parts.env ?? app.name;
  const workloadName = app.workloadName ?? parts.service ?? app.name;
  const identity: AppIdentity = {
    name: app.name,
    namespace: defaults.namespace,
    project: app.project ?? "default",
    repoURL: defaults.repoURL,
    path: app.path,
    branch: defaults.branch,
    destinationNamespace,
    workloadName,
    workloadKind: app.rollout ? "Rollout" : "Deployment",
    labels: app.labels ?? {},
    autoSync: app.autoSync ?? defaults.autoSync ?? true,
  };
  const rt: AppRuntime = {
    identity,
    operating: false,
    epoch: 0,
    health: { status: "Healthy" },
    syncStatus: "Unknown",
    chain: Promise.resolve(),
    removed: false,
  };
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
