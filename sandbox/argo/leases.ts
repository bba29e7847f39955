import { stringify } from "yaml";
import { isObject, type JsonObject } from "./json.js";
import { KubeApiServer } from "./kube-server.js";
import { ObjectStore, type ResourceType } from "./store.js";

/** metav1.MicroTime as the apiserver parses it: exactly six fractional digits (RFC3339Micro). */
const MICRO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}(Z|[+-]\d\d:\d\d)$/;

function validateLease(lease: JsonObject): string[] {
  const errors: string[] = [];
  const spec = lease.spec;
  if (spec === undefined || spec === null) return errors;
  if (!isObject(spec)) return ["spec: Invalid value: must be an object"];
  for (const field of ["acquireTime", "renewTime"]) {
    const value = spec[field];
    if (value === undefined || value === null) continue;
    if (typeof value !== "string" || !MICRO_TIME.test(value)) {
      errors.push(
        `spec.${field}: Invalid value: ${JSON.stringify(value)}: parsing time as "2006-01-02T15:04:05.000000Z07:00"`,
      );
    }
  }
  const duration = spec.leaseDurationSeconds;
  if (
    duration !== undefined &&
    duration !== null &&
    (typeof duration !== "number" || !Number.isInteger(duration) || duration <= 0)
  ) {
    errors.push("spec.leaseDurationSeconds: Invalid value: must be greater than 0");
  }
  const transitions = spec.leaseTransitions;
  if (
    transitions !== undefined &&
    transitions !== null &&
    (typeof transitions !== "number" || !Number.isInteger(transitions) || transitions < 0)
  ) {
    errors.push("spec.leaseTransitions: Invalid value: must be greater than or equal to 0");
  }
  if (spec.holderIdentity !== undefined && spec.holderIdentity !== null && typeof spec.holderIdentity !== "string") {
    errors.push("spec.holderIdentity: Invalid value: must be a string");
  }
  return errors;
}

/** coordination.k8s.io/v1 Lease, served like any other namespaced type (PUT with a stale resourceVersion -> 409). */
export const LEASE_TYPE: ResourceType = {
  group: "coordination.k8s.io",
  version: "v1",
  plural: "leases",
  singular: "lease",
  kind: "Lease",
  listKind: "LeaseList",
  shortNames: [],
  statusSubresource: false,
  validate: validateLease,
};

export interface LeaseServer {
  url: string;
  token: string;
  store: ObjectStore;
  /** A kubeconfig (YAML) for this server, default namespace `namespace`. */
  kubeconfig(namespace?: string): string;
  close(): Promise<void>;
}

/**
 * A Kubernetes API server that serves only Leases, for leader-election tests and the sandbox
 * (the Argo simulator's own server serves argoproj.io types only).
 */
export async function startLeaseServer(options: { token: string; host?: string; port?: number }): Promise<LeaseServer> {
  const store = new ObjectStore([LEASE_TYPE]);
  const server = new KubeApiServer(store, {
    token: options.token,
    host: options.host,
    port: options.port,
    bookmarkIntervalMs: () => 60_000,
  });
  const url = await server.start();
  return {
    url,
    token: options.token,
    store,
    kubeconfig: (namespace = "default") =>
      stringify({
        apiVersion: "v1",
        kind: "Config",
        clusters: [{ name: "lease-sim", cluster: { server: url, "insecure-skip-tls-verify": true } }],
        users: [{ name: "lease-sim", user: { token: options.token } }],
        contexts: [{ name: "lease-sim", context: { cluster: "lease-sim", user: "lease-sim", namespace } }],
        "current-context": "lease-sim",
      }),
    close: () => server.close(),
  };
}
