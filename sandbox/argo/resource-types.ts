import { LEASE_TYPE } from "./leases.js";
import { bundledSchemas, validateCustomResource } from "./openapi-validate.js";
import type { ResourceType } from "./store.js";

/** The CRD files sit next to the sources; a build that did not copy them runs without validation. */
function loadSchemas(required: boolean): ReturnType<typeof bundledSchemas> | undefined {
  try {
    return bundledSchemas();
  } catch (err) {
    if (required) throw err;
    console.warn(
      `argo-sim: CRD schemas unavailable, objects are not validated (${err instanceof Error ? err.message : String(err)})`,
    );
    return undefined;
  }
}

/** What the simulated cluster serves. `validate` as in ArgoSimOptions: undefined means "if the schemas are there". */
export function argoResourceTypes(validate: boolean | undefined): ResourceType[] {
  const schemas = validate === false ? undefined : loadSchemas(validate === true);
  return [
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
    {
      group: "argoproj.io",
      version: "v1alpha1",
      plural: "appprojects",
      singular: "appproject",
      kind: "AppProject",
      listKind: "AppProjectList",
      shortNames: ["appproj", "appprojs"],
      statusSubresource: false,
      validate: schemas && ((o) => validateCustomResource(o, schemas.appProject)),
    },
    // For leader election between Conveyor replicas, as on a real cluster.
    LEASE_TYPE,
  ];
}
