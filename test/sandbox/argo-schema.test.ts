import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import {
  loadCrdSchema,
  rolloutHealth,
  validateAgainstSchema,
  validateCustomResource,
  type SchemaNode,
} from "../../sandbox/argo/index.js";
import { isObject, type JsonObject } from "../../sandbox/argo/json.js";

const fixtures = new URL("../fixtures/argo/", import.meta.url);
const applicationSchema = loadCrdSchema(new URL("application-crd.yaml", fixtures));
const rolloutSchema = loadCrdSchema(new URL("rollout-crd.yaml", fixtures));

function fixture(name: string): JsonObject {
  const doc: unknown = parse(readFileSync(new URL(name, fixtures), "utf8"));
  if (!isObject(doc)) throw new Error(`${name} is not an object`);
  return doc;
}

describe("structural schema validator", () => {
  it("accepts the real fixtures and flags exactly what a real apiserver would reject or prune", () => {
    // app-03/04/05 are Go test constants that never went through an apiserver (required fields are
    // missing); rollout-03/04 were written by older controllers and carry fields today's CRD prunes.
    const pruned = (field: string) => `${field}: unknown field (the apiserver would prune it)`;
    const expectedErrors: Record<string, string[]> = {
      "app-03-progressing-operation-running.yaml": [".status.operationState.operation: Required value"],
      "app-04-synced-healthy-operation-succeeded.yaml": [".status.operationState.operation: Required value"],
      "app-05-multisource-operation-succeeded.yaml": [
        ".status.operationState.syncResult.revision: Required value",
        ".status.operationState.syncResult.resources[0].group: Required value",
        ".status.operationState.syncResult.resources[0].version: Required value",
      ],
      "rollout-03-aborted-analysis-failed.yaml": [pruned(".spec.template.metadata.creationTimestamp")],
      "rollout-04-aborted-legacy-degraded.yaml": [
        pruned(".spec.strategy.canary.analysis.name"),
        pruned(".spec.strategy.canary.analysis.templateName"),
        pruned(".spec.template.metadata.creationTimestamp"),
        pruned(".status.canary.stableRS"),
      ],
    };
    const files = readdirSync(fixtures).filter((f) => /^(app|rollout)-\d+.*\.yaml$/.test(f));
    expect(files.length).toBeGreaterThanOrEqual(10);
    for (const file of files) {
      const schema = file.startsWith("app-") ? applicationSchema : rolloutSchema;
      expect({ file, errors: validateCustomResource(fixture(file), schema) }).toEqual({
        file,
        errors: expectedErrors[file] ?? [],
      });
    }
  });

  it("rejects wrong types, unknown fields, missing required fields and bad timestamps", () => {
    const app = fixture("app-04-synced-healthy-operation-succeeded.yaml");
    const broken = structuredClone(app) as JsonObject & { status: JsonObject; spec: JsonObject };
    (broken.status.sync as JsonObject).status = 3;
    (broken.status.health as JsonObject).colour = "green";
    (broken.status.operationState as JsonObject).finishedAt = "yesterday";
    delete (broken.status.operationState as JsonObject).startedAt;
    delete broken.spec.destination;
    const errors = validateCustomResource(broken, applicationSchema);
    expect(errors).toEqual(
      expect.arrayContaining([
        ".status.sync.status: must be of type string, got 3",
        ".status.health.colour: unknown field (the apiserver would prune it)",
        ".status.operationState.finishedAt: yesterday is not an RFC 3339 date-time",
        ".status.operationState.startedAt: Required value",
        ".spec.destination: Required value",
      ]),
    );
  });

  it("knows int-or-string, preserve-unknown-fields, additionalProperties and enums", () => {
    const schema: SchemaNode = {
      type: "object",
      properties: {
        port: { "x-kubernetes-int-or-string": true, anyOf: [{ type: "integer" }, { type: "string" }] },
        free: { type: "object", "x-kubernetes-preserve-unknown-fields": true },
        labels: { type: "object", additionalProperties: { type: "string" } },
        mode: { type: "string", enum: ["a", "b"] },
        list: { type: "array", items: { type: "integer" } },
      },
    };
    expect(
      validateAgainstSchema({ port: 80, free: { x: { y: 1 } }, labels: { a: "b" }, mode: "a", list: [1] }, schema),
    ).toEqual([]);
    expect(validateAgainstSchema({ port: "http" }, schema)).toEqual([]);
    expect(validateAgainstSchema({ port: true, labels: { a: 1 }, mode: "c", list: ["x"] }, schema)).toEqual([
      ".port: must be an integer or a string",
      ".labels.a: must be of type string, got 1",
      '.mode: "c" is not one of ["a","b"]',
      ".list[0]: must be of type integer",
    ]);
  });
});

describe("Argo CD's Rollout health rules", () => {
  it.each([
    ["rollout-01-healthy.yaml", { status: "Healthy" }],
    ["rollout-02-paused-canary-step.yaml", { status: "Suspended", message: "CanaryPauseStep" }],
    [
      "rollout-03-aborted-analysis-failed.yaml",
      { status: "Degraded", message: 'metric "web" assessed Failed due to failed (1) > failureLimit (0)' },
    ],
    ["rollout-04-aborted-legacy-degraded.yaml", { status: "Degraded", message: "Rollout is aborted" }],
  ])("%s -> %o", (file, expected) => {
    expect(rolloutHealth(fixture(file))).toEqual(expected);
  });

  it("waits while the spec change is not observed yet", () => {
    const rollout = fixture("rollout-01-healthy.yaml");
    (rollout.metadata as JsonObject).generation = 4;
    expect(rolloutHealth(rollout)).toEqual({
      status: "Progressing",
      message: "Waiting for rollout spec update to be observed",
    });
  });
});
