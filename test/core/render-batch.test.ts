import { describe, expect, it } from "vitest";
import {
  batchableKustomization,
  batchKustomization,
  entangled,
  plainPath,
  splitBatch,
} from "../../src/core/render-batch.js";

const doc = (name: string, origin: string, extra = "") =>
  `apiVersion: v1
kind: ConfigMap
metadata:
  annotations:
${extra}    config.kubernetes.io/origin: |
      path: ${origin}
  name: ${name}
`;

describe("which overlays may share a kustomize run", () => {
  it("refuses kustomizations whose effect reaches past their own resources", () => {
    expect(batchableKustomization(["resources: [a.yaml]\nimages: []\n", "namePrefix: x-\n"])).toBe(true);
    for (const text of [
      "vars:\n- name: X\n",
      "Vars: []\n",
      "buildMetadata: [originAnnotations]\n",
      "sortOptions:\n  order: fifo\n",
      "openapi:\n  path: schema.json\n",
      "configurations: [nameref.yaml]\n",
      "crds: [crd.json]\n",
    ])
      expect(batchableKustomization(["resources: []\n", text]), text).toBe(false);
  });

  it("lists only plain paths", () => {
    expect(batchKustomization(["../conveyor-render-a/base/services/x/overlays/prod"])).toBe(
      "buildMetadata: [originAnnotations]\nresources:\n- ../conveyor-render-a/base/services/x/overlays/prod\n",
    );
    expect(() => batchKustomization(["../a\n- /etc"])).toThrow(/not a plain path/);
    expect(plainPath("services/x/overlays/prod")).toBe(true);
    expect(plainPath("services/../../etc")).toBe(false);
    expect(plainPath("services/x y")).toBe(false);
  });
});

describe("splitting a shared run's output", () => {
  it("gives each tree its resources, without the annotation", () => {
    const output = [
      doc("a", "../t1/o/r.yaml"),
      doc("b", "../t2/o/r.yaml", "    alpha: x\n"),
      doc("c", "../t1/base/r.yaml"),
    ].join("---\n");
    expect(splitBatch(output, ["../t1", "../t2", "../t3"])).toEqual([
      "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n",
      "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  annotations:\n    alpha: x\n  name: b\n",
      "",
    ]);
  });

  it("gives up when a resource cannot be placed", () => {
    expect(splitBatch(doc("a", "../t9/o/r.yaml"), ["../t1"])).toBeUndefined();
    expect(splitBatch("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n", ["../t1"])).toBeUndefined();
    // A tree's name that is the start of another's is not that tree.
    expect(splitBatch(doc("a", "../t10/o/r.yaml"), ["../t1"])).toBeUndefined();
  });
});

describe("overlays another overlay's resources may have changed", () => {
  const object = (name: string, namespace?: string, body = "") =>
    `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n${namespace ? `  namespace: ${namespace}\n` : ""}${body}`;

  it("are those that hold another's resource name in its namespace, or without one", () => {
    const outputs = [
      object("a", "team", "data:\n  ref: b-config\n"),
      object("b-config", "team"),
      object("c", "other", "data:\n  ref: b-config\n"),
      object("d", undefined, "data:\n  ref: cluster-thing\n"),
      object("cluster-thing"),
      object("e", "team", "data:\n  ref: b-config-2\n"),
    ];
    expect(entangled(outputs)).toEqual([true, false, false, true, false, false]);
  });
});
