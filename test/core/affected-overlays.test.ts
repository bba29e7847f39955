import { describe, expect, it } from "vitest";
import { parseConfig, type Config } from "../../src/core/config.js";
import {
  affectedOverlays,
  dependencyClosure,
  kustomizationReferences,
  overlaysAffected,
  textView,
  type ReferenceView,
  type TreeSnapshot,
} from "../../src/core/affected-overlays.js";
import { MAX_YAML_BYTES, MAX_YAML_DEPTH } from "../../src/core/yaml-limits.js";

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

  it("a kustomization larger than the cap refers to nothing (the render reports it)", () => {
    const text = `${k("../base")}${"# padding\n".repeat(MAX_YAML_BYTES / 10 + 1)}`;
    expect(text.length).toBeGreaterThan(MAX_YAML_BYTES);
    expect(kustomizationReferences("a", text)).toEqual({ local: [], remote: [] });
    // The same text once it fits is read normally.
    expect(kustomizationReferences("a", text.slice(0, MAX_YAML_BYTES))).toEqual({ local: ["base"], remote: [] });
  });

  it("a 5 MB kustomization of many keys refers to nothing, and is not parsed", () => {
    const keys = Array.from({ length: 500_000 }, (_, i) => `key${i}: ${i}\n`).join("");
    expect(kustomizationReferences("a", `${k("../base")}${keys}`)).toEqual({ local: [], remote: [] });
  });

  it("a kustomization nested deeper than the limit refers to nothing", () => {
    const deep = (levels: number) => `${k("../base")}x: ${"[".repeat(levels)}${"]".repeat(levels)}\n`;
    expect(kustomizationReferences("a", deep(MAX_YAML_DEPTH - 1))).toEqual({ local: ["base"], remote: [] });
    expect(kustomizationReferences("a", deep(MAX_YAML_DEPTH))).toEqual({ local: [], remote: [] });
    expect(kustomizationReferences("a", deep(5_000))).toEqual({ local: [], remote: [] });
  });

  it("a kustomization with an alias bomb refers to nothing; a few aliases are fine", () => {
    const levels = ["l0: &l0 [x,x,x,x,x,x,x,x,x,x]"];
    for (let i = 1; i < 9; i++)
      levels.push(
        `l${i}: &l${i} [${Array(10)
          .fill(`*l${i - 1}`)
          .join(",")}]`,
      );
    expect(kustomizationReferences("a", `${k("../base")}${levels.join("\n")}\n`)).toEqual({ local: [], remote: [] });
    const shared = "base: &b ../base\nresources:\n  - *b\n  - deploy.yaml\n";
    expect(kustomizationReferences("a", shared)).toEqual({ local: ["base", "a/deploy.yaml"], remote: [] });
  });

  it("reads references from a kustomization just under the cap made of many keys", () => {
    let text = `${k("../base")}labels:\n`;
    for (let i = 0; text.length + 12 <= MAX_YAML_BYTES; i++) text += `  x${i.toString(36)}: v\n`;
    expect(text.split("\n").length).toBeGreaterThan(20_000);
    expect(kustomizationReferences("a", text)).toEqual({ local: ["base"], remote: [] });
    // A duplicate key is still a syntax error the render reports.
    expect(kustomizationReferences("a", `${text}  x0: again\n`)).toEqual({ local: [], remote: [] });
  });

  it("follows a kustomization that lists the same bases and remotes thousands of times", () => {
    const entries = Array.from({ length: 5_000 }, (_, i) => (i % 2 ? "../b" : `https://example.com/r${i % 10}.yaml`));
    const map = new Map([
      ["a", k(...entries)],
      ["b", k("../c")],
      ["c", k("https://example.com/r0.yaml")],
    ]);
    expect(dependencyClosure("a", map)).toEqual({
      dirs: ["a", "b", "c"],
      remote: [0, 2, 4, 6, 8].map((i) => `https://example.com/r${i}.yaml`),
    });
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

  it("a change reached only through a cycle of kustomizations still finds the overlays that read it", () => {
    const cyclic = tree({
      "components/probes/kustomization.yaml": "kind: Component\ncomponents:\n  - ../checks\n",
      "components/checks/kustomization.yaml": "kind: Component\ncomponents:\n  - ../probes\n",
      "components/checks/liveness.yaml": "",
    });
    const affected = affectedOverlays({
      config,
      changedFiles: ["components/checks/liveness.yaml"],
      before: cyclic,
      after: cyclic,
    });
    expect(affected.map((o) => [o.dir, o.because])).toEqual([
      ["services/order-service/overlays/staging", ["components/checks"]],
      ["services/user-service/overlays/staging", ["components/checks"]],
    ]);
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

  it("a head's view made from its base's, with only kustomizations' contents changed, finds what a fresh view finds", () => {
    const before = tree();
    const beforeView = textView(before);
    const staging = "services/order-service/overlays/staging/kustomization.yaml";
    const probes = "components/probes/kustomization.yaml";
    const cases: Array<Record<string, string>> = [
      // A new image tag: references unchanged.
      {
        [staging]: `${before.kustomizations.get("services/order-service/overlays/staging")}images:\n  - name: x\n    newTag: "2"\n`,
      },
      // The staging overlay stops reading the component, and the component changes too.
      { [staging]: k("../../base"), [probes]: "kind: Component\npatches:\n  - path: other.yaml\n" },
      // The production overlay starts reading the component, which changes.
      {
        "services/order-service/overlays/production/kustomization.yaml": `${k("../../base")}components:\n  - ../../../../components/probes\n`,
        [probes]: "kind: Component\n",
      },
    ];
    for (const change of cases) {
      const after = tree(change);
      const changedFiles = Object.keys(change);
      // Both sides list the same files: the derived view shares the base's list, as render-changes does.
      const derived: ReferenceView = {
        ...textView({ files: before.files, kustomizations: after.kustomizations }),
        derivedFrom: { view: beforeView, dirs: changedFiles.map((f) => f.slice(0, f.lastIndexOf("/"))) },
      };
      // The base's own answer first: what it works out is then at hand for the derived view.
      overlaysAffected({ config, changedFiles: [], before: beforeView, after: beforeView });
      expect(overlaysAffected({ config, changedFiles, before: beforeView, after: derived })).toEqual(
        affectedOverlays({ config, changedFiles, before, after }),
      );
    }
  });
});
