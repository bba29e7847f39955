import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  checkReferences,
  effectiveRef,
  isRemote,
  MAX_PROBLEMS,
  type ReferenceProblem,
} from "../../src/core/kustomization-references.js";

const DIR = "services/x/overlays/y";
const FILE = `${DIR}/kustomization.yaml`;
const SHA = "0123456789abcdef0123456789abcdef01234567";
const y = (...lines: string[]) => `${lines.join("\n")}\n`;
const check = (text: string, allowRemote: string[] = []) =>
  checkReferences({ dir: DIR, file: FILE, text, allowRemote });
/** line, field and value of each problem, and a fragment of its reason. */
const brief = (problems: ReferenceProblem[]) => problems.map((p) => [p.line, p.field, p.value, p.reason]);

type Row = [name: string, text: string, line: number, field: string, value: string, reason: string];

describe("the attacks that got through", () => {
  it.each<Row>([
    [
      "an internal service fetched over http",
      y("resources:", "  - ../../base", "  - http://127.0.0.1:18081/cm.yaml"),
      3,
      "resources[1]",
      "http://127.0.0.1:18081/cm.yaml",
      "remote references are not rendered",
    ],
    [
      "another tenant's clone through a file:// git URL",
      y(
        "resources:",
        `  - file:///var/lib/conveyor/workspaces/victim%252Fprivate-manifests//services/billing/overlays/staging?ref=${SHA}`,
      ),
      2,
      "resources[0]",
      `file:///var/lib/conveyor/workspaces/victim%252Fprivate-manifests//services/billing/overlays/staging?ref=${SHA}`,
      "file:// URL reads a repository from Conveyor's own disk",
    ],
    [
      "a host directory through ../ (the load restrictor confines files, not kustomization directories)",
      y(
        "apiVersion: kustomize.config.k8s.io/v1beta1",
        "kind: Kustomization",
        "resources:",
        "- ../../../../../../../../tmp/x",
      ),
      4,
      "resources[0]",
      "../../../../../../../../tmp/x",
      'leaves the repository: "../../../../../../../../tmp/x" from services/x/overlays/y resolves to "../../../../tmp/x"',
    ],
  ])("%s", (_name, text, line, field, value, reason) => {
    const problems = check(text);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ file: FILE, line, field, value });
    expect(problems[0]?.reason).toContain(reason);
  });

  it("stays refused when render.allowRemote lists other sources", () => {
    const text = y("resources:", "  - http://127.0.0.1:18081/cm.yaml", "  - file:///var/lib/conveyor/workspaces/x//y");
    expect(check(text, ["github.com/acme/"]).map((p) => p.reason)).toEqual([
      expect.stringContaining("is not under any prefix in render.allowRemote"),
      expect.stringContaining("file:// URL"),
    ]);
  });
});

describe("every field that names a file, directory or URL", () => {
  it.each<Row>([
    [
      "resources",
      y("resources:", "  - https://evil.example/x.yaml"),
      2,
      "resources[0]",
      "https://evil.example/x.yaml",
      "remote",
    ],
    ["bases (deprecated)", y("bases:", '  - "/etc/kubernetes"'), 2, "bases[0]", "/etc/kubernetes", "absolute path"],
    [
      "components (scp-like git URL)",
      y("components:", "  - git@github.com:evil/c.git//x"),
      2,
      "components[0]",
      "git@github.com:evil/c.git//x",
      "remote",
    ],
    ["crds", y("crds:", "  - https://evil.example/crd.yaml"), 2, "crds[0]", "https://evil.example/crd.yaml", "remote"],
    [
      "generators",
      y("generators:", "  - ../../../../../gen.yaml"),
      2,
      "generators[0]",
      "../../../../../gen.yaml",
      "leaves the repository",
    ],
    ["transformers", y("transformers:", "  - /abs/t.yaml"), 2, "transformers[0]", "/abs/t.yaml", "absolute path"],
    [
      "validators (go-getter style without scheme)",
      y("validators:", "  - github.com/evil/v//x?ref=main"),
      2,
      "validators[0]",
      "github.com/evil/v//x?ref=main",
      "remote",
    ],
    [
      "configurations",
      y("configurations:", "  - ../../../../../etc/c.yaml"),
      2,
      "configurations[0]",
      "../../../../../etc/c.yaml",
      "leaves the repository",
    ],
    [
      "openapi.path",
      y("openapi:", "  path: https://evil.example/s.json"),
      2,
      "openapi.path",
      "https://evil.example/s.json",
      "remote",
    ],
    [
      "patches[].path",
      y("patches:", "  - target:", "      kind: Deployment", "    path: http://evil.example/p.yaml"),
      4,
      "patches[0].path",
      "http://evil.example/p.yaml",
      "remote",
    ],
    [
      "patchesStrategicMerge path entries",
      y("patchesStrategicMerge:", "  - ok.yaml", "  - /etc/passwd"),
      3,
      "patchesStrategicMerge[1]",
      "/etc/passwd",
      "absolute path",
    ],
    [
      "patchesJson6902[].path",
      y("patchesJson6902:", "  - target: {version: v1, kind: Service, name: x}", "    path: ../../../../../p.json"),
      3,
      "patchesJson6902[0].path",
      "../../../../../p.json",
      "leaves the repository",
    ],
    [
      "replacements[].path",
      y("replacements:", "  - path: https://evil.example/r.yaml"),
      2,
      "replacements[0].path",
      "https://evil.example/r.yaml",
      "remote",
    ],
    [
      "configMapGenerator files in key=path form (the path counts)",
      y("configMapGenerator:", "  - name: c", "    files:", "      - ok.txt", "      - passwd=/etc/passwd"),
      5,
      "configMapGenerator[0].files[1]",
      "/etc/passwd",
      "absolute path",
    ],
    [
      "configMapGenerator files as remote URLs",
      y("configMapGenerator:", "  - name: c", "    files: [https://evil.example/f]"),
      3,
      "configMapGenerator[0].files[0]",
      "https://evil.example/f",
      "remote",
    ],
    [
      "secretGenerator envs",
      y("secretGenerator:", "  - name: s", "    envs:", "      - ../../../../../.env"),
      4,
      "secretGenerator[0].envs[0]",
      "../../../../../.env",
      "leaves the repository",
    ],
    [
      "secretGenerator env (deprecated, one file)",
      y("secretGenerator:", "  - name: s", "    env: /run/secrets/token"),
      3,
      "secretGenerator[0].env",
      "/run/secrets/token",
      "absolute path",
    ],
    [
      "helmCharts (refused altogether)",
      y("resources: [a.yaml]", "helmCharts:", "  - name: x", "    repo: https://charts.example"),
      3,
      "helmCharts",
      "helmCharts",
      "helm charts are not rendered",
    ],
    [
      "helmGlobals.chartHome",
      y("helmGlobals:", "  chartHome: /tmp/charts"),
      2,
      "helmGlobals",
      "helmGlobals",
      "helm charts are not rendered",
    ],
    [
      "helmChartInflationGenerator (deprecated)",
      y("helmChartInflationGenerator:", "  - chartName: x"),
      2,
      "helmChartInflationGenerator",
      "helmChartInflationGenerator",
      "helm charts are not rendered",
    ],
    [
      "an inline transformer configuration (lines inside the block count)",
      y(
        "transformers:",
        "  - |",
        "    apiVersion: builtin",
        "    kind: PatchTransformer",
        "    metadata:",
        "      name: p",
        "    path: http://127.0.0.1:18081/cm.yaml",
      ),
      7,
      "transformers[0] (inline config).path",
      "http://127.0.0.1:18081/cm.yaml",
      "remote",
    ],
    [
      "an inline generator configuration in flow style",
      y(
        "generators:",
        "  - '{apiVersion: builtin, kind: ConfigMapGenerator, metadata: {name: c}, files: [k=/etc/passwd]}'",
      ),
      2,
      "generators[0] (inline config).files[0]",
      "/etc/passwd",
      "absolute path",
    ],
    [
      "a builtin PatchStrategicMergeTransformer configuration file",
      y(
        "apiVersion: builtin",
        "kind: PatchStrategicMergeTransformer",
        "metadata: {name: p}",
        "paths:",
        "  - https://evil.example/p.yaml",
      ),
      5,
      "paths[0]",
      "https://evil.example/p.yaml",
      "remote",
    ],
    [
      "a builtin HelmChartInflationGenerator configuration file",
      y("apiVersion: builtin", "kind: HelmChartInflationGenerator", "metadata: {name: h}", "chartName: x"),
      2,
      "kind",
      "HelmChartInflationGenerator",
      "helm charts are not rendered",
    ],
  ])("%s", (_name, text, line, field, value, reason) => {
    const problems = check(text);
    expect(problems, JSON.stringify(problems)).toHaveLength(1);
    expect(problems[0]).toMatchObject({ file: FILE, line, field, value });
    expect(problems[0]?.reason).toContain(reason);
  });
});

describe("what is allowed", () => {
  const allowRemote = ["github.com/acme/"];
  it.each<[string, string]>([
    [
      "in-tree bases and files",
      y("resources:", "  - ../../base", "  - ./deployment.yaml", "  - ../../../../common/base", "  - ."),
    ],
    [
      "remote references under render.allowRemote, pinned to a commit sha",
      y(
        "resources:",
        `  - https://github.com/acme/platform//base?ref=${SHA}`,
        `  - git@github.com:acme/platform.git//base?ref=${SHA}`,
        `  - github.com/acme/platform/base?ref=${SHA}&timeout=60`,
        `  - git::https://github.com/acme/platform//base?ref=${SHA}`,
        `  - ssh://git@github.com/acme/platform//base?ref=${SHA}`,
        `  - https://GitHub.com/acme/platform//base?version=${SHA}`,
      ),
    ],
    [
      "inline strategic-merge patch text",
      y(
        "patchesStrategicMerge:",
        "  - |-",
        "    apiVersion: apps/v1",
        "    kind: Deployment",
        "    metadata:",
        "      name: web",
        "      annotations:",
        "        see: https://example.com/docs",
        "  - '{apiVersion: v1, kind: ConfigMap, metadata: {name: c}, data: {url: \"http://x\"}}'",
      ),
    ],
    [
      "key=path generator files and envs inside the tree",
      y(
        "configMapGenerator:",
        "  - name: c",
        "    files:",
        "      - config.json=files/config.json",
        "      - ../../common/ca.pem",
        "      - logo@2x.png",
        "    envs: [app.env]",
        "    literals:",
        "      - URL=https://example.com",
        "      - FILE=/etc/passwd",
      ),
    ],
    [
      "inline patches, JSON-patch ops and images are not references",
      y(
        "images:",
        "  - name: nginx",
        "    newName: registry.example.com:5000/nginx",
        "patches:",
        "  - target: {kind: Deployment}",
        "    patch: |-",
        "      - op: replace",
        "        path: /spec/replicas",
        "        value: 3",
        "replicas: [{name: web, count: 2}]",
        "commonAnnotations: {source: 'https://example.com'}",
      ),
    ],
    ["an empty helmCharts list", y("helmCharts: []", "helmGlobals:")],
    ["an empty file", ""],
    ["a comment only", "# nothing here\n"],
  ])("%s", (_name, text) => {
    expect(check(text, allowRemote)).toEqual([]);
  });
});

describe("remote references and render.allowRemote", () => {
  it.each<[value: string, allowRemote: string[], reason: string | null]>([
    [`https://github.com/acme/x//base?ref=${SHA}`, ["github.com/acme/"], null],
    [`https://github.com/acme/x//base?ref=${SHA}`, ["https://github.com/acme"], null],
    [`https://github.com/acme/x//base?ref=${SHA}`, ["git@github.com:acme/"], null],
    [`git@github.com:acme/x.git//base?ref=${SHA}`, ["git::https://github.com/acme/"], null],
    [`https://github.com/acme/x//base?ref=${SHA}`, ["github.com/acme/x"], null],
    [`https://github.com/acme/x.git//base?ref=${SHA}`, ["git@github.com:acme/x.git"], null],
    [`https://github.com/acme/xy//base?ref=${SHA}`, ["github.com/acme/x"], "not under any prefix"],
    [`https://github.com/acme/x//base?ref=${SHA}`, [], "render.allowRemote and pinned to a commit"],
    [`https://github.com/acme-evil/x//base?ref=${SHA}`, ["github.com/acme"], "not under any prefix"],
    [`https://github.com/acme/x//base?ref=v1.2.3`, ["github.com/acme/"], 'not pinned (ref "v1.2.3")'],
    [`https://github.com/acme/x//base?ref=main`, ["github.com/acme/"], "a branch cannot be told from a tag"],
    [`https://github.com/acme/x//base`, ["github.com/acme/"], "not pinned: add ?ref=<full 40-character commit sha>"],
    [`https://github.com/acme/x//base?ref=${SHA.toUpperCase()}`, ["github.com/acme/"], "not pinned"],
    [`https://github.com/acme/x//base?ref=${SHA.slice(0, 12)}`, ["github.com/acme/"], "not pinned"],
    // Go's url.ParseQuery refuses these, and kustomize then clones the default branch.
    [`https://github.com/acme/x//base?ref=${SHA};x=1`, ["github.com/acme/"], "not pinned"],
    [`https://github.com/acme/x//base?ref=${SHA}&x=%zz`, ["github.com/acme/"], "not pinned"],
    [`https://github.com@evil.example/acme/x?ref=${SHA}`, ["github.com/acme/"], "credentials, percent-encoding"],
    [`https://github.com/acme/../evil/x?ref=${SHA}`, ["github.com/acme/"], "'.' or '..' segments"],
    [`https://github.com/acme/%2e%2e/evil/x?ref=${SHA}`, ["github.com/acme/"], "percent-encoding"],
    [`http://github.com/acme/x//base?ref=${SHA}`, ["github.com/acme/"], "plain http"],
    [`file://github.com/acme/x?ref=${SHA}`, ["github.com/acme/"], "file:// URL"],
    [`git::file:///srv/git/acme/x?ref=${SHA}`, ["github.com/acme/"], "file:// URL"],
    [`oci://ghcr.io/acme/x:1`, ["ghcr.io/acme/"], "only https:// and ssh git references can be allowed"],
    [`gh:acme/x?ref=${SHA}`, ["github.com/acme/"], "not under any prefix"],
    [`ssh://git@github.com:22/acme/x?ref=${SHA}`, ["github.com/acme/"], "not under any prefix"],
    [`https://dev.azure.com/acme/p/_git/x?ref=${SHA}`, ["github.com/acme/"], "not under any prefix"],
  ])("%s with %j", (value, allowRemote, reason) => {
    const problems = check(y("resources:", `  - "${value}"`), allowRemote);
    if (reason === null) expect(problems).toEqual([]);
    else {
      expect(problems).toHaveLength(1);
      expect(problems[0]?.reason).toContain(reason);
    }
  });

  it("a file name that only looks like a git spec is a file where only files are read", () => {
    expect(brief(check(y("resources:", "  - logo@2x.png", "configMapGenerator:", "  - files: [logo@2x.png]")))).toEqual(
      [[2, "resources[0]", "logo@2x.png", expect.stringContaining("remote references are not rendered")]],
    );
  });

  it.each<[string, boolean]>([
    ["https://x.example/y", true],
    ["HTTPS://x.example/y", true],
    ["git::https://x.example/y", true],
    ["gh:org/repo", true],
    ["git@host:org/repo", true],
    ["github.com/org/repo", true],
    ["GitHub.com/org/repo", true],
    ["host/_git/repo", true],
    ["oci://ghcr.io/x", true],
    ["../../base", false],
    ["deployment.yaml", false],
    ["istio-1.20/base", false],
    ["example.com/base", false],
  ])("isRemote(%j) is %s", (value, remote) => {
    expect(isRemote(value)).toBe(remote);
  });

  it("reasons quote long hostile values shortened", () => {
    const value = `https://evil.example/${"a".repeat(5_000)}`;
    const [problem] = check(y("resources:", `  - ${value}`));
    expect(problem?.value.length).toBeLessThan(510);
    expect(problem?.reason.length).toBeLessThan(400);
  });

  it.each<[string | undefined, string]>([
    [undefined, ""],
    [`ref=${SHA}`, SHA],
    [`version=v1`, "v1"],
    [`version=v1&ref=${SHA}`, SHA],
    [`ref=&version=v1`, "v1"],
    [`ref=${SHA}&ref=main`, SHA],
    [`r%65f=${SHA}`, SHA],
    [`ref=${SHA};`, ""],
    [`ref=${SHA}&bad=%g0`, ""],
  ])("effectiveRef(%j) is %j, as kustomize reads it", (query, ref) => {
    expect(effectiveRef(query)).toBe(ref);
  });
});

describe("read the way kustomize reads it (go-yaml to JSON, encoding/json)", () => {
  it.each<Row>([
    ["keys match case-insensitively", y("Resources:", "  - /etc/passwd"), 2, "resources[0]", "/etc/passwd", "absolute"],
    [
      "keys match with Unicode folding (ſ is s to Go)",
      y("reſources:", "  - /etc/passwd"),
      2,
      "resources[0]",
      "/etc/passwd",
      "absolute",
    ],
    [
      "a repeated key: the last one wins in kustomize, all are checked",
      y("resources:", "  - ok.yaml", "resources:", "  - /etc/passwd"),
      4,
      "resources[0]",
      "/etc/passwd",
      "absolute",
    ],
    [
      "an alias, reported where it is used",
      y("namePrefix: &u http://127.0.0.1:18081/cm.yaml", "resources:", "  - ok.yaml", "  - *u"),
      4,
      "resources[1]",
      "http://127.0.0.1:18081/cm.yaml",
      "remote",
    ],
    [
      "a merge key bringing a path from another field",
      y("commonAnnotations: &a", "  path: /etc/passwd", "openapi:", "  <<: *a"),
      2,
      "openapi.path",
      "/etc/passwd",
      "absolute",
    ],
    ["a !!binary key", y("!!binary cmVzb3VyY2Vz:", "  - /etc/passwd"), 2, "resources[0]", "/etc/passwd", "absolute"],
    ["JSON", '{"resources": ["/etc/passwd"]}', 1, "resources[0]", "/etc/passwd", "absolute"],
    [
      "a second YAML document",
      y("resources: []", "---", "resources:", "  - /etc/passwd"),
      4,
      "resources[0]",
      "/etc/passwd",
      "absolute",
    ],
    ["CRLF line endings", "resources:\r\n  - ok\r\n  - /etc/passwd\r\n", 3, "resources[1]", "/etc/passwd", "absolute"],
    [
      "a syntax error elsewhere (what the parser recovers is still checked)",
      y("resources:", "  - /etc/passwd", "namePrefix: [unclosed"),
      2,
      "resources[0]",
      "/etc/passwd",
      "absolute",
    ],
  ])("%s", (_name, text, line, field, value, reason) => {
    const problems = check(text);
    expect(problems, JSON.stringify(problems)).toHaveLength(1);
    expect(problems[0]).toMatchObject({ line, field, value });
    expect(problems[0]?.reason).toContain(reason);
  });

  it("decodes a !!binary reference and reports the tag too", () => {
    const encoded = "aHR0cDovLzEyNy4wLjAuMToxODA4MS9jbS55YW1s"; // http://127.0.0.1:18081/cm.yaml
    expect(brief(check(y("resources:", `  - !!binary ${encoded}`)))).toEqual([
      [2, "resources[0]", encoded, expect.stringContaining("explicit YAML tag tag:yaml.org,2002:binary")],
      [2, "resources[0]", "http://127.0.0.1:18081/cm.yaml", expect.stringContaining("remote references")],
    ]);
  });
});

describe("hostile input stays bounded and never throws", () => {
  it("refuses text over 256 KiB, counted in UTF-8 bytes, without parsing it", () => {
    for (const text of ["a: b\n".repeat(60_000), `namePrefix: ${"é".repeat(140_000)}\n`]) {
      expect(check(text)).toEqual([
        { file: FILE, line: 1, field: "(file)", value: "", reason: expect.stringContaining("too large to check") },
      ]);
    }
  });

  it("refuses an exponential merge-key bomb as too complex", () => {
    let text = "m0: &m0 {k: v}\n";
    for (let i = 1; i < 8; i++)
      text += `m${i}: &m${i} {<<: [${Array(10)
        .fill(`*m${i - 1}`)
        .join(", ")}]}\n`;
    text += "<<: *m7\n";
    expect(check(text)).toEqual([
      expect.objectContaining({ field: "(file)", reason: expect.stringContaining("too complex") }),
    ]);
  });

  it("does not expand a billion-laughs alias bomb", () => {
    let text = 'a0: &a0 ["../../base"]\n';
    for (let i = 1; i < 12; i++)
      text += `a${i}: &a${i} [${Array(9)
        .fill(`*a${i - 1}`)
        .join(", ")}]\n`;
    text += "resources: *a11\ncomponents: [*a11, *a11]\n";
    expect(check(text)).toEqual([]);
  });

  it("caps the number of problems listed", () => {
    const text = `resources:\n${"  - /etc/passwd\n".repeat(10)}${Array.from({ length: 300 }, (_, i) => `  - /x/${i}\n`).join("")}`;
    expect(check(text)).toHaveLength(MAX_PROBLEMS);
  });

  it.each<[string, string]>([
    ["deep flow nesting", `resources: ${"[".repeat(5_000)}${"]".repeat(5_000)}\n`],
    ["deep block nesting", `resources:\n${Array.from({ length: 500 }, (_, i) => `${"  ".repeat(i)}- `).join("\n")}x\n`],
    ["a Liquid template", y("components:", "  {% if flag %}", "  - ../../components/x", "  {% endif %}")],
    ["unbalanced quotes", 'resources: ["/etc/passwd\n'],
    ["tabs and stray indentation", "resources:\n\t- a\n   - b\n  c: d\n"],
    ["a scalar document", "just text\n"],
    ["NUL bytes", "resources:\n  - \u0000\u0000\n"],
    ["an unknown directive", "%YAML 9.9\n---\nresources: [a]\n"],
    ["a self-referencing anchor", "a: &a [*a]\nresources: *a\n"],
    ["nested lists where strings belong", "resources: [[/etc/passwd], {a: /etc/passwd}]\n"],
  ])("%s", (_name, text) => {
    let problems: ReferenceProblem[] | undefined;
    expect(() => (problems = check(text))).not.toThrow();
    expect(Array.isArray(problems)).toBe(true);
  });

  it("survives random YAML-ish noise", () => {
    const pieces = [
      "resources:",
      "\n",
      "  - ",
      "- ",
      "&a ",
      "*a",
      "<<: ",
      "[",
      "]",
      "{",
      "}",
      ": ",
      "'",
      '"',
      "|",
      ">",
      "#",
      "!!binary ",
      "?",
      "---\n",
      "/etc/passwd",
      "https://x/",
      "\t",
      ",",
      "%",
    ];
    let seed = 42;
    const next = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31);
    for (let round = 0; round < 300; round++) {
      const text = Array.from({ length: 5 + (next() % 60) }, () => pieces[next() % pieces.length]).join("");
      expect(() => check(text), JSON.stringify(text)).not.toThrow();
    }
  });
});

describe("the corpus of real kustomizations (test/fixtures/kustomize-corpus)", () => {
  const dir = new URL("../fixtures/kustomize-corpus/files/", import.meta.url);
  const files = readdirSync(dir)
    .filter((f) => f.endsWith(".yaml"))
    .sort();
  const texts = new Map(files.map((f) => [f, readFileSync(new URL(f, dir), "utf8")]));
  const run = (allowRemote: string[]) =>
    Object.fromEntries(
      files
        .map(
          (f) => [f, check(texts.get(f) as string, allowRemote).map((p) => `${p.line} ${p.field} ${p.value}`)] as const,
        )
        .filter(([, problems]) => problems.length > 0),
    );
  const remote = (line: number, index: number, repo: string, sha: string) =>
    `${line} resources[${index}] https://github.com/${repo}?ref=${sha}`;

  // What the guard reports for them, placed at services/x/overlays/y/kustomization.yaml: the
  // remote resources grep finds (all but one pinned to a commit sha, none allowed by default), and
  // one base six directories up, which from four directories deep leaves the repository. Inline
  // strategic-merge patches (067, 079, 155), URLs in literals and comments, the Liquid template
  // (154), Go templates (109), CRLF files and the empty file (059) report nothing.
  const expected: Record<string, string[]> = {
    "041.yaml": ["10 resources[5] https://github.com/kubernetes-sigs/jobset/releases/download/v0.6.0/manifests.yaml"],
    "055.yaml": ["8 resources[0] ../../../../../../kustomize/apps/hello-world/base"],
    "100.yaml": [remote(5, 1, "konflux-ci/build-service/config/default", "547914854b06c8725dc609a872b5c62e2b935663")],
    "101.yaml": [
      remote(4, 2, "konflux-ci/crossplane-control-plane/crossplane", "0ddd632c30dfd7f2bbcf229299f1fe7186d0adb7"),
      remote(5, 3, "konflux-ci/crossplane-control-plane/config", "0ddd632c30dfd7f2bbcf229299f1fe7186d0adb7"),
      remote(
        6,
        4,
        "konflux-ci/crossplane-control-plane/examples/provider-kubernetes-in-cluster",
        "0ddd632c30dfd7f2bbcf229299f1fe7186d0adb7",
      ),
    ],
    "103.yaml": [remote(5, 1, "flacatus/konflux-dummy-deploy//k8s", "508ceb107bc1faba4591dbf10a76c8c317503408")],
    "106.yaml": [
      remote(6, 2, "redhat-appstudio/application-service/config/default", "ad51acd4301639c1e35399f2218671cf17a6e68e"),
    ],
    "107.yaml": [
      remote(6, 2, "konflux-ci/image-controller/config/default", "065a438ce526163906afd53865b2925fbd5337c8"),
    ],
    "109.yaml": [
      remote(6, 2, "konflux-ci/integration-service/config/default", "c228381abd50c3f03a1b1e9f1d9ac95d0df2ede4"),
      remote(7, 3, "konflux-ci/integration-service/config/snapshotgc", "c228381abd50c3f03a1b1e9f1d9ac95d0df2ede4"),
    ],
    "112.yaml": [
      remote(4, 0, "konflux-ci/konflux-ci/operator/config/default", "61df3949abf2e8120505bc1ec05e3b9699566660"),
    ],
    "115.yaml": [
      remote(5, 1, "konflux-ci/kube-shard/operator/config/default", "d0b933b37a30555932fb1f2da737b6e3f5bf7364"),
    ],
    "116.yaml": [remote(4, 0, "konflux-ci/tekton-kueue/config/default", "cec0b3c8a240a289bb7aff4313ea647b292d96cc")],
    "119.yaml": [
      remote(11, 4, "konflux-ci/mintmaker/config/default", "aec0ca5c14dd8d31b95d0ebf00111ec7a365e0ca"),
      remote(12, 5, "konflux-ci/mintmaker/config/renovate", "aec0ca5c14dd8d31b95d0ebf00111ec7a365e0ca"),
    ],
    "121.yaml": [
      remote(
        5,
        3,
        "redhat-appstudio/o11y/config/exporters/monitoring/kaexporter/base",
        "05d2ca5b75e37f9675f0a0eb70649d847cdb8813",
      ),
    ],
    "122.yaml": [
      remote(
        9,
        5,
        "redhat-appstudio/o11y/config/exporters/monitoring/grafana/base",
        "0d3c45516968bffb24196952c3273cebd6df5d4f",
      ),
    ],
    "124.yaml": [
      remote(
        3,
        1,
        "redhat-appstudio/o11y/config/exporters/monitoring/registry/base",
        "65494bbfb32c1dbaa93167c1b99c4957a9a898f2",
      ),
    ],
    "125.yaml": [
      remote(9, 2, "konflux-ci/multi-platform-controller/deploy/operator", "a5285b319d913f46dc0617fa54fb07817dff7593"),
      remote(10, 3, "konflux-ci/multi-platform-controller/deploy/otp", "a5285b319d913f46dc0617fa54fb07817dff7593"),
    ],
    "127.yaml": [
      remote(5, 0, "konflux-ci/notification-service/config/default", "813f902b2df56da644170ecbab5b438fc88dd9be"),
    ],
    "128.yaml": [
      remote(5, 1, "konflux-ci/project-controller/config/default", "55d8d9c84e312e7ffe334661b172b135eec6067a"),
    ],
    "130.yaml": [remote(6, 2, "konflux-ci/release-service/config/default", "0168a88a95b51319a514dedd495cd8fa1e6eaea0")],
    "181.yaml": [remote(4, 0, "conforma/crds/config/crd", "f12d86c29ce48fc3de4a8be977dec2034cc10081")],
  };

  it("has the files the README describes", () => {
    expect(files.length).toBeGreaterThan(100);
  });

  it("reports exactly the remote and out-of-tree references, with their lines", () => {
    expect(run([])).toEqual(expected);
  });

  it("finds every list entry grep takes for a URL", () => {
    const reported = run([]);
    for (const [file, text] of texts) {
      text.split(/\r?\n/).forEach((line, i) => {
        if (/^\s*-\s+["']?(https?:\/\/|git@|github\.com\/)/.test(line))
          expect(reported[file] ?? [], `${file}:${i + 1}`).toContainEqual(
            expect.stringMatching(new RegExp(`^${i + 1} `)),
          );
      });
    }
  });

  it("with the orgs allowed, only the unpinned download and the escaping base remain", () => {
    const allowed = [
      "github.com/konflux-ci/",
      "github.com/redhat-appstudio/",
      "github.com/conforma/",
      "github.com/flacatus/",
    ];
    expect(run(allowed)).toEqual({ "041.yaml": expected["041.yaml"], "055.yaml": expected["055.yaml"] });
    const [unpinned] = check(texts.get("041.yaml") as string, ["github.com/kubernetes-sigs/"]);
    expect(unpinned?.reason).toContain("not pinned");
  });
});
