import { describe, expect, it } from "vitest";
import { goldenFiles } from "../helpers/golden.js";
import { diffLines, unifiedDiff } from "../../src/core/line-diff.js";
import {
  analyzeOverlay,
  CHECK_OUTPUT_LIMIT,
  renderReport,
  type OverlayRender,
  type RenderSide,
} from "../../src/core/render-report.js";

const GOLDEN = new URL("../fixtures/render-report/", import.meta.url);

const golden = goldenFiles(GOLDEN);

function deployment(
  opts: { name?: string; image?: string; replicas?: number; env?: Record<string, string> } = {},
): string {
  const env = Object.entries(opts.env ?? {}).map(
    ([name, value]) => `            - name: ${name}\n              value: "${value}"`,
  );
  return [
    "apiVersion: apps/v1",
    "kind: Deployment",
    "metadata:",
    `  name: ${opts.name ?? "order-service"}`,
    "  namespace: order-service-staging",
    "spec:",
    `  replicas: ${opts.replicas ?? 1}`,
    "  template:",
    "    spec:",
    "      containers:",
    "        - name: app",
    `          image: ${opts.image ?? "ghcr.io/acme/order-service:1.4.0"}`,
    ...(env.length ? ["          env:", ...env] : []),
  ].join("\n");
}

const service =
  "apiVersion: v1\nkind: Service\nmetadata:\n  name: order-service\n  namespace: order-service-staging\nspec:\n  ports:\n    - port: 80\n";
const rendered = (...docs: string[]): RenderSide => ({ kind: "rendered", yaml: `${docs.join("\n---\n")}\n` });

function overlay(
  before: RenderSide,
  after: RenderSide,
  dir = "services/order-service/overlays/staging",
): OverlayRender {
  return {
    dir,
    service: "order-service",
    env: dir.split("/").pop() as string,
    because: ["the overlay"],
    before,
    after,
    ms: { before: 120, after: 0 },
  };
}

describe("line diff", () => {
  it("is minimal and reproduces both sides", () => {
    const a = "a b c a b b a".split(" ");
    const b = "c b a b a c".split(" ");
    const ops = diffLines(a, b);
    expect(ops.filter((o) => o.op !== "+").map((o) => o.line)).toEqual(a);
    expect(ops.filter((o) => o.op !== "-").map((o) => o.line)).toEqual(b);
    expect(ops.filter((o) => o.op !== " ")).toHaveLength(5);
  });

  it("writes hunks with three lines of context and merges nearby changes", () => {
    const a = Array.from({ length: 20 }, (_, i) => `l${i}`);
    const b = a.map((l, i) => (i === 2 || i === 5 ? `${l}!` : i === 17 ? `${l}?` : l));
    const { text, added, removed } = unifiedDiff(diffLines(a, b));
    expect([added, removed]).toEqual([3, 3]);
    expect(text.split("\n").filter((l) => l.startsWith("@@"))).toEqual(["@@ -1,9 +1,9 @@", "@@ -15,6 +15,6 @@"]);
  });

  it("falls back to a whole replacement past the edit bound, still a correct diff", () => {
    const a = Array.from({ length: 300 }, (_, i) => `a${i}`);
    const b = Array.from({ length: 300 }, (_, i) => `b${i}`);
    const ops = diffLines(a, b, 10);
    expect(ops.filter((o) => o.op === "-")).toHaveLength(300);
    expect(ops.filter((o) => o.op === "+")).toHaveLength(300);
  });
});

describe("what an overlay change does", () => {
  it("an image change: one resource changed, the image before -> after, a one-line diff", () => {
    const o = analyzeOverlay(
      overlay(
        rendered(deployment(), service),
        rendered(deployment({ image: "ghcr.io/acme/order-service:1.5.0" }), service),
      ),
    );
    expect(o).toMatchObject({
      added: [],
      removed: [],
      changed: ["Deployment order-service-staging/order-service"],
      diffAdded: 1,
      diffRemoved: 1,
    });
    expect(o.images).toEqual([
      {
        name: "ghcr.io/acme/order-service",
        before: ["ghcr.io/acme/order-service:1.4.0"],
        after: ["ghcr.io/acme/order-service:1.5.0"],
      },
    ]);
    expect(o.diff).toContain(
      "-          image: ghcr.io/acme/order-service:1.4.0\n+          image: ghcr.io/acme/order-service:1.5.0",
    );
    golden(
      "image-change.md",
      renderReport({ renderer: "kubectl kustomize (kustomize v5.5.0)", overlays: [o], violations: [] }).summary,
    );
  });

  it("a replica change: changed resource, no image line", () => {
    const o = analyzeOverlay(overlay(rendered(deployment()), rendered(deployment({ replicas: 3 }))));
    expect(o.changed).toEqual(["Deployment order-service-staging/order-service"]);
    expect(o.images).toEqual([]);
    expect(o.diff).toContain("-  replicas: 1\n+  replicas: 3");
  });

  it("resources added and removed, and a new overlay (nothing before) adds everything", () => {
    const o = analyzeOverlay(
      overlay(
        rendered(deployment(), service),
        rendered(deployment(), deployment({ name: "worker", image: "ghcr.io/acme/worker:2" })),
      ),
    );
    expect(o.added).toEqual(["Deployment order-service-staging/worker"]);
    expect(o.removed).toEqual(["Service order-service-staging/order-service"]);
    expect(o.images).toEqual([{ name: "ghcr.io/acme/worker", before: [], after: ["ghcr.io/acme/worker:2"] }]);
    const fresh = analyzeOverlay(overlay({ kind: "absent" }, rendered(deployment(), service)));
    expect(fresh.added).toHaveLength(2);
    expect(fresh.diffRemoved).toBe(0);
  });

  it("an identical render says nothing changes", () => {
    const o = analyzeOverlay(overlay(rendered(deployment()), rendered(deployment())));
    expect(o.diff).toBe("");
    expect(renderReport({ renderer: "r", overlays: [o], violations: [] }).summary).toContain(
      "The rendered output does not change.",
    );
  });

  it("a failed render carries the renderer's message and fails the report", () => {
    const o = analyzeOverlay(
      overlay(rendered(deployment()), { kind: "failed", error: "accumulating resources: missing.yaml: no such file" }),
    );
    expect(o.failure).toEqual({ side: "head", error: "accumulating resources: missing.yaml: no such file" });
    const report = renderReport({ renderer: "r", overlays: [o], violations: [] });
    expect(report.conclusion).toBe("failure");
    expect(report.title).toBe("1 overlay rendered, 1 failed");
    expect(report.summary).toContain("Conveyor will not merge this pull request automatically");
    expect(report.summary).toContain("accumulating resources: missing.yaml: no such file");
  });

  it("never shows a Secret's values, only whether each changed", () => {
    const secret = (password: string) =>
      `apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\ndata:\n  password: ${Buffer.from(password).toString("base64")}\n  user: ${Buffer.from("app").toString("base64")}\n`;
    const o = analyzeOverlay(overlay(rendered(secret("hunter2-old")), rendered(secret("hunter2-new"))));
    const report = renderReport({ renderer: "r", overlays: [o], violations: [] }).summary;
    expect(o.changed).toEqual(["Secret db"]);
    expect(report).not.toContain(Buffer.from("hunter2-old").toString("base64"));
    expect(report).not.toContain(Buffer.from("hunter2-new").toString("base64"));
    expect(report).not.toContain(Buffer.from("app").toString("base64"));
    expect(o.diff).toContain('-  password: "[redacted]"\n+  password: "[redacted, changed]"');
    expect(o.diff).toContain('  user: "[redacted]"');
  });
});

describe("the check run text", () => {
  it("a huge diff is truncated with a note, the report stays under GitHub's limit, and small diffs stay whole", () => {
    const env = Object.fromEntries(
      Array.from({ length: 1500 }, (_, i) => [`VAR_${i}`, `value-${i}-${"x".repeat(20)}`]),
    );
    const bigBefore = rendered(deployment({ env }));
    const bigAfter = rendered(
      deployment({ env: Object.fromEntries(Object.entries(env).map(([k, v]) => [k, `${v}-new`])) }),
    );
    const big = analyzeOverlay(overlay(bigBefore, bigAfter, "services/order-service/overlays/production"));
    const small = analyzeOverlay(overlay(rendered(deployment()), rendered(deployment({ replicas: 2 }))));
    expect(big.diff.length).toBeGreaterThan(CHECK_OUTPUT_LIMIT * 3);
    const report = renderReport({ renderer: "r", overlays: [big, small], violations: [] });
    expect(report.summary.length).toBeLessThanOrEqual(CHECK_OUTPUT_LIMIT);
    expect(report.summary.length).toBeGreaterThan(CHECK_OUTPUT_LIMIT - 2_000);
    expect(report.summary).toMatch(
      /\*\*Diff truncated:\*\* showing \d+ of \d+ lines\. Render it yourself with `kubectl kustomize services\/order-service\/overlays\/production`/,
    );
    expect(report.summary).toContain("-  replicas: 1\n+  replicas: 2");
    // Every code fence that opens also closes.
    expect((report.summary.match(/^```/gm) ?? []).length % 2).toBe(0);
  });

  it("a tight limit cuts the whole report with a note rather than exceeding it", () => {
    const overlays = Array.from({ length: 50 }, (_, i) =>
      analyzeOverlay(
        overlay(rendered(deployment()), rendered(deployment({ replicas: i + 2 })), `services/s${i}/overlays/staging`),
      ),
    );
    const report = renderReport({ renderer: "r", overlays, violations: [], limit: 4_000 });
    expect(report.summary.length).toBeLessThanOrEqual(4_000);
    expect(report.summary).toContain("**Report truncated**");
  });

  it("policy violations fail the check and are listed in a table", () => {
    const o = analyzeOverlay(overlay(rendered(deployment()), rendered(deployment())));
    const report = renderReport({
      renderer: "r",
      overlays: [o],
      violations: [{ rule: "mutable-tag", overlay: o.dir, message: "uses `latest` | bad" }],
    });
    expect(report.conclusion).toBe("failure");
    expect(report.title).toBe("1 overlay rendered, 1 policy violation");
    expect(report.summary).toContain(
      "| mutable-tag | `services/order-service/overlays/staging` | uses `latest` \\| bad |",
    );
  });

  it("backticks inside a diff cannot close its code block", () => {
    const o = analyzeOverlay(
      overlay(
        rendered("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  a: x"),
        rendered('apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  a: "```"'),
      ),
    );
    expect(renderReport({ renderer: "r", overlays: [o], violations: [] }).summary).toContain("````diff");
  });
});

describe("secret values never reach the check run", () => {
  const b64 = (text: string) => Buffer.from(text).toString("base64");
  const OLD = "s3cr3t-value-at-base";
  const NEW = "s3cr3t-value-at-head";
  /** Everything the check run publishes for this overlay: title and summary. */
  const published = (o: ReturnType<typeof analyzeOverlay>) => {
    const report = renderReport({ renderer: "r", overlays: [o], violations: [] });
    return `${report.title}\n${report.summary}`;
  };
  /** Neither value, in plain text or base64, anywhere in `text`. */
  const expectNoValues = (text: string) => {
    for (const value of [OLD, NEW]) {
      expect(text).not.toContain(value);
      expect(text).not.toContain(b64(value));
    }
  };
  const object = (apiVersion: string, kind: string, body: string, name = "db") =>
    `apiVersion: ${apiVersion}\nkind: ${kind}\nmetadata:\n  name: ${name}\n  namespace: app\n${body}`;

  it.each([
    ["a Secret of another group (bitnami.com/v1alpha1)", "bitnami.com/v1alpha1", "Secret"],
    ["a Secret of another version (v2)", "v2", "Secret"],
    ["a Secret without an apiVersion", "", "Secret"],
    ["a kind spelled in lower case", "v1", "secret"],
  ])("%s is masked like a core Secret", (_, apiVersion, kind) => {
    const secret = (value: string) =>
      object(apiVersion, kind, `data:\n  password: ${b64(value)}\nstringData:\n  token: ${value}\n`);
    const o = analyzeOverlay(overlay(rendered(secret(OLD)), rendered(secret(NEW))));
    const text = published(o);
    expectNoValues(text);
    expect(o.changed).toHaveLength(1);
    expect(text).toContain('-  password: "[redacted]"\n+  password: "[redacted, changed]"');
    expect(text).toContain('+  token: "[redacted, changed]"');
  });

  it.each([
    ["to a ConfigMap", "v1", "ConfigMap"],
    ["to a kind of another group", "example.com/v1", "Credentials"],
  ])("a Secret turned %s at the head keeps its values hidden, and says which changed", (_, apiVersion, kind) => {
    const before = object("v1", "Secret", `data:\n  password: ${b64(OLD)}\n  same: ${b64(OLD)}\n`);
    // The same values the Secret held, and one new one, now in an object that is no Secret.
    const after = object(apiVersion, kind, `data:\n  password: ${b64(NEW)}\n  same: ${b64(OLD)}\n`);
    const o = analyzeOverlay(overlay(rendered(before), rendered(after)));
    const text = published(o);
    expectNoValues(text);
    expect(o.removed).toEqual(["Secret app/db"]);
    expect(o.added).toHaveLength(1);
    expect(text).toContain('+  password: "[redacted, changed]"');
    expect(text).toContain('\n   same: "[redacted]"');
  });

  it("a ConfigMap that becomes a Secret at the head does not show its base values either", () => {
    const before = object("v1", "ConfigMap", `data:\n  password: ${OLD}\n`);
    const after = object("v1", "Secret", `stringData:\n  password: ${NEW}\n`);
    const text = published(analyzeOverlay(overlay(rendered(before), rendered(after))));
    expectNoValues(text);
  });

  it("a kind ending in Secret hides its data and stringData at any depth; a SealedSecret's ciphertext shows", () => {
    const sealed = (value: string, cipher: string) =>
      object(
        "bitnami.com/v1alpha1",
        "SealedSecret",
        `spec:\n  encryptedData:\n    password: ${cipher}\n  template:\n    data:\n      user: ${value}\n`,
      );
    const vault = (value: string) => object("vault.example.com/v1", "VaultSecret", `data:\n  key: ${value}\n`, "v");
    const o = analyzeOverlay(
      overlay(
        rendered(sealed(OLD, "AgBy8hCipherTextOld"), vault(OLD)),
        rendered(sealed(NEW, "AgBy8hCipherTextNew"), vault(NEW)),
      ),
    );
    const text = published(o);
    expectNoValues(text);
    expect(text).toContain('+      user: "[redacted, changed]"');
    expect(text).toContain('+  key: "[redacted, changed]"');
    expect(text).toContain("-    password: AgBy8hCipherTextOld\n+    password: AgBy8hCipherTextNew");
  });

  it("a Secret nested in another object (a template) keeps its values hidden", () => {
    const template = (value: string) =>
      object(
        "template.openshift.io/v1",
        "Template",
        `objects:\n  - apiVersion: v1\n    kind: Secret\n    metadata:\n      name: inner\n    stringData:\n      password: ${value}\n`,
        "t",
      );
    const text = published(analyzeOverlay(overlay(rendered(template(OLD)), rendered(template(NEW)))));
    expectNoValues(text);
    expect(text).toContain('+      password: "[redacted, changed]"');
  });

  it("an `image` inside a Secret is no image: the summary and the policy input never see it", () => {
    const secret = (value: string) => object("v1", "Secret", `stringData:\n  image: ${value}\n`);
    const o = analyzeOverlay(overlay(rendered(deployment(), secret(OLD)), rendered(deployment(), secret(NEW))));
    expectNoValues(published(o));
    expect(o.images).toEqual([]);
    expect(o.headImages).toEqual([
      { resource: "Deployment order-service-staging/order-service", image: "ghcr.io/acme/order-service:1.4.0" },
    ]);
    expect(o.changed).toEqual(["Secret app/db"]);
  });

  it("a value copied out of a Secret (a kustomize replacement) is cut out wherever it lands", () => {
    const secret = (value: string) => object("v1", "Secret", `data:\n  password: ${b64(value)}\n`);
    // The head copies the Secret's value into a ConfigMap, an image tag and a name.
    const copies = [
      object(
        "v1",
        "ConfigMap",
        `data:\n  copied: ${b64(NEW)}\n  plain: "${NEW}"\n  url: "postgres://app:${NEW}@db"\n`,
        "c",
      ),
      deployment({ image: `ghcr.io/acme/order-service:${NEW}` }),
      object("v1", "ConfigMap", "data: {}\n", NEW),
    ];
    const o = analyzeOverlay(overlay(rendered(secret(OLD), deployment()), rendered(secret(NEW), ...copies)));
    const text = published(o);
    expectNoValues(text);
    expect(text).toContain('copied: "[redacted]"');
    expect(text).toContain("url: postgres://app:[redacted]@db");
    expect(o.headImages.map((i) => i.image)).toContain("ghcr.io/acme/order-service:[redacted]");
    expect(o.added).toContain("ConfigMap app/[redacted]");
    expect(text).toContain('+  password: "[redacted, changed]"');
  });

  it("output that is not YAML is reported without quoting it", () => {
    // The parser's message quotes the offending line, here one with a Secret's value on it.
    const broken = object("v1", "Secret", `stringData:\n  password: ${NEW}: bad\n`);
    const o = analyzeOverlay(overlay(rendered(deployment()), rendered(broken)));
    expect(o.failure?.error).toMatch(/^the renderer's output is not YAML: /);
    expectNoValues(published(o));
  });
});
