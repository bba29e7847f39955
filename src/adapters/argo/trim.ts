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

/**
 * A value of an unexpected type (a string where an object belongs) is kept as it came: the
 * readers already cope with such input, and trimming must not change what they conclude.
 */
function pick(value: unknown, shape: Shape): unknown {
  if (shape === true) return value;
  if (Array.isArray(shape)) return Array.isArray(value) ? value.map((item) => pick(item, shape[0] as Shape)) : value;
  if (!isRecord(value)) return value;
  const kept: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(shape as { readonly [key: string]: Shape })) {
    if (Object.hasOwn(value, key) && value[key] !== undefined) kept[key] = pick(value[key], inner);
  }
  return kept;
}

/** The Application as the sources keep it (a new object; the input is left as it is). */
export function trimApplication<T extends object>(app: T): T {
  const kept = pick(app, APPLICATION) as T & { metadata?: { annotations?: Record<string, unknown> } };
  const annotations = kept.metadata?.annotations;
  if (isRecord(annotations) && Object.hasOwn(annotations, LAST_APPLIED)) {
    const { [LAST_APPLIED]: _dropped, ...rest } = annotations;
    (kept.metadata as { annotations?: Record<string, unknown> }).annotations = rest;
  }
  return kept;
}
