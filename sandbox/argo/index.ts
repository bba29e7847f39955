export {
  ArgoSim,
  DEFAULT_TIMINGS,
  REFRESH_ANNOTATION,
  startArgoSim,
  type ArgoSimApplication,
  type ArgoSimEvent,
  type ArgoSimOptions,
  type ArgoSimProject,
  type ArgoSimTimings,
  type SimSyncWindow,
} from "./controller.js";
export { rolloutHealth, type Health, type HealthStatus } from "./objects.js";
export {
  bundledSchemas,
  loadCrdSchema,
  validateAgainstSchema,
  validateCustomResource,
  type SchemaNode,
} from "./openapi-validate.js";
export type { ApplicationView, RolloutView } from "./types.js";
export { startArgoApiServer, type ArgoApiServer, type ArgoApiServerOptions } from "./api-server.js";
export { LEASE_TYPE, startLeaseServer, type LeaseServer } from "./leases.js";
