import { describe, expect, it } from "vitest";
import { parseConfig, type Config } from "../../src/core/config.js";
import {
  affectedOverlays,
  dependencyClosure,
  kustomizationReferences,
  type TreeSnapshot,
} from "../../src/core/affected-overlays.js";

const config = (parseConfig(null) as { ok: true; config: Config }).config;

const k = (...resources: string[]) => `resources:\n${resources.map((r) => `  - ${r}`).join("\n")}\n`;

/** The seed layout plus a shared component that two order-service overlays use. */
function tree(overrides: Record<string, string | null> = {}): TreeSnapshot {
  const files: Record<string, string> = {
    "services/order-service/base/kustomization.yaml": k("deployment.yaml", "service.yaml"),
    "services/order-service/base/deployment.yaml": "",
    "services/order-service/base/service.yaml": "",
    "services/order-service/overlays/staging/kustomization.yaml": `${k("../../base")}components:\n  - ../../../../components/probes\n`,
    "services/order-service/overlays/production/kustomization.yaml": k("../../base"),
    "services/user-service/base/kustomization.yaml": k("deployment.yaml"),
    "services/user-service/base/deployment.yaml": "",
    "services/user-service/overlays/staging/kustomization.yaml": `${k("../../base", "https://github.com/acme/shared//netpol?ref=v1")}components:\n  - ../../../../components/probes\n`,
    "components/probes/kustomization.yaml": "kind: Component\npatches:\n  - path: probes.yaml\n",
    "components/probes/probes.yaml": "",
    "README.md": "",
  };
  for (const [path, text] of Object.entries(overrides)) {
    if (text === null) delete files[path];
    else files[path] = text;
  }
  const kustomizations = new Map<string, string>();
  for (const [path, text] of Object.entries(files))
    if (path.endsWith("/kustomization.yaml")) kustomizations.set(path.slice(0, path.lastIndexOf("/")), text);
  return { files: Object.keys(files), kustomizations };
}

const dirsOf = (changedFiles: string[], before = tree(), after = tree()) =>
  affectedOverlays({ config, changedFiles, before, after }).map((o) => o.dir);

describe("kustomization references", () => {
  it("resolves local entries against the directory, keeps remote ones, drops paths that leave the repo", () => {
    const text =
      "resources:\n  - ../../base\n  - deploy.yaml\n  - github.com/acme/x//y\n  - ../../../../../outside\nbases: [../legacy/]\ncomponents:\n  - https://example.com/c.yaml\n";
    expect(kustomizationReferences("services/a/overlays/staging", text)).toEqual({
      local: ["services/a/base", "services/a/overlays/staging/deploy.yaml", "services/a/overlays/legacy"],
      remote: ["github.com/acme/x//y", "https://example.com/c.yaml"],
    });
  });

  it("a kustomization that is not YAML refers to nothing (the render reports it)", () => {
    expect(kustomizationReferences("a", "resources: [\n")).toEqual({ local: [], remote: [] });
  });

  it("follows kustomizations transitively and survives cycles", () => {
    const map = new Map([
      ["a", k("../b")],
      ["b", k("../c", "x.yaml")],
      ["c", k("../a")],
    ]);
    expect(dependencyClosure("a", map).dirs).toEqual(["a", "b", "c"]);
  });
});

describe("which overlays a change affects", () => {
  it("an image change in one overlay affects that overlay only", () => {
    const [only, ...rest] = affectedOverlays({
      config,
      changedFiles: ["services/order-service/overlays/staging/kustomization.yaml"],
      before: tree(),
      after: tree(),
    });
    expect(rest).toEqual([]);
    expect(only).toMatchObject({
      dir: "services/order-service/overlays/staging",
      service: "order-service",
      env: "staging",
      because: ["the overlay"],
    });
    expect(only?.closure.after).toEqual([
      "services/order-service/overlays/staging",
      "services/order-service/base",
      "components/probes",
    ]);
  });

  it("a base change affects every overlay built on it", () => {
    expect(dirsOf(["services/order-service/base/deployment.yaml"])).toEqual([
      "services/order-service/overlays/production",
      "services/order-service/overlays/staging",
    ]);
  });

  it("a shared component change reaches overlays of different services, naming the directory", () => {
    const affected = affectedOverlays({
      config,
      changedFiles: ["components/probes/probes.yaml"],
      before: tree(),
      after: tree(),
    });
    expect(affected.map((o) => [o.dir, o.because])).toEqual([
      ["services/order-service/overlays/staging", ["components/probes"]],
      ["services/user-service/overlays/staging", ["components/probes"]],
    ]);
    expect(affected[1]?.remote).toEqual(["https://github.com/acme/shared//netpol?ref=v1"]);
  });

  it("files outside every overlay's closure affect nothing", () => {
    expect(dirsOf(["README.md", "services/payment-service/notes.txt"])).toEqual([]);
  });

  it("a deleted overlay is affected, with no closure on the head side", () => {
    const path = "services/order-service/overlays/production/kustomization.yaml";
    const [gone] = affectedOverlays({ config, changedFiles: [path], before: tree(), after: tree({ [path]: null }) });
    expect(gone).toMatchObject({
      dir: "services/order-service/overlays/production",
      closure: { before: ["services/order-service/overlays/production", "services/order-service/base"] },
    });
    expect(gone?.closure.after).toBeUndefined();
  });

  it("a new overlay is affected, with no closure on the base side", () => {
    const path = "services/user-service/overlays/production/kustomization.yaml";
    const [added] = affectedOverlays({
      config,
      changedFiles: [path],
      before: tree(),
      after: tree({ [path]: k("../../base") }),
    });
    expect(added?.closure).toEqual({
      after: ["services/user-service/overlays/production", "services/user-service/base"],
    });
  });

  it("an overlay that stops using a changed base is affected through its base-side closure", () => {
    const overlay = "services/order-service/overlays/production/kustomization.yaml";
    const after = tree({ [overlay]: k("deployment.yaml"), "services/order-service/base/deployment.yaml": "changed" });
    const affected = affectedOverlays({
      config,
      changedFiles: [overlay, "services/order-service/base/deployment.yaml"],
      before: tree(),
      after,
    });
    expect(affected.find((o) => o.dir.endsWith("production"))?.because).toEqual([
      "the overlay",
      "services/order-service/base",
    ]);
  });
});
