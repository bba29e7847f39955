// What the sources keep of each Application: the slice core/argo-types.ts declares (the fields
// the verdict, the sync windows and the Rollout lookup read), and nothing else. A real
// Application carries far more (metadata.managedFields, spec.source, status.history with every
// past sync, operationState.syncResult.source, per-resource sync phases...); at 10,000
// Applications keeping all of it costs more memory than the verifier's whole budget.

/** Which fields to keep: `true` keeps a value whole; an object keeps those keys; `[shape]` each array item. */
type Shape = true | { readonly [key: string]: Shape } | readonly [Shape];

const HEALTH = { status: true, message: true } as const;
const SYNC_OPERATION = { sync: { revision: true, revisions: true }, initiatedBy: true } as const;

const APPLICATION: Shape = {
  apiVersion: true,
  kind: true,
  metadata: {
    name: true,
    namespace: true,
    // The reflector compares versions; it is not part of the verdict's slice.
    resourceVersion: true,
    generation: true,
    annotations: true,
    labels: true,
  },
  spec: {
    project: true,
    destination: { server: true, name: true, namespace: true },
    syncPolicy: { automated: true },
  },
  operation: SYNC_OPERATION,
  status: {
    sync: { status: true, revision: true, revisions: true },
    health: HEALTH,
    operationState: {
      operation: SYNC_OPERATION,
      phase: true,
      message: true,
      syncResult: {
        revision: true,
        revisions: true,
        resources: [
          { group: true, kind: true, name: true, namespace: true, status: true, message: true, hookPhase: true },
        ],
      },
      startedAt: true,
      finishedAt: true,
      retryCount: true,
    },
    reconciledAt: true,
    conditions: [{ type: true, message: true, lastTransitionTime: true }],
    resources: [{ group: true, version: true, kind: true, namespace: true, name: true, status: true, health: HEALTH }],
    summary: { images: true, externalURLs: true },
  },
};

/** kubectl's copy of the whole object as last applied: as large as the spec, and never read. */
const LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration";

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

type Keep = (value: unknown) => unknown;

/**
 * Turns a shape into the function that applies it (once, here, not at every object: the list of
 * 10,000 Applications passes through it). A value of an unexpected type (a string where an
 * object belongs) is kept as it came: the readers already cope with such input, and trimming
 * must not change what they conclude.
 */
function compile(shape: Shape): Keep {
  if (shape === true) return (value) => value;
  if (Array.isArray(shape)) {
    const item = compile(shape[0] as Shape);
    return (value) => (Array.isArray(value) ? value.map((v) => item(v)) : value);
  }
  const fields = Object.entries(shape as { readonly [key: string]: Shape }).map(
    ([key, inner]) => [key, compile(inner)] as const,
  );
  return (value) => {
    if (!isRecord(value)) return value;
    const kept: Record<string, unknown> = {};
    for (const [key, keep] of fields) {
      const inner = value[key];
      if (inner !== undefined && Object.hasOwn(value, key)) kept[key] = keep(inner);
    }
    return kept;
  };
}

const keepApplication = compile(APPLICATION);

/** The Application as the sources keep it (a new object; the input is left as it is). */
export function trimApplication<T extends object>(app: T): T {
  const kept = keepApplication(app) as T & { metadata?: { annotations?: Record<string, unknown> } };
  const annotations = kept.metadata?.annotations;
  if (isRecord(annotations) && Object.hasOwn(annotations, LAST_APPLIED)) {
    const { [LAST_APPLIED]: _dropped, ...rest } = annotations;
    (kept.metadata as { annotations?: Record<string, unknown> }).annotations = rest;
  }
  return kept;
}
