// Property-based tests over what Conveyor reads from kustomization files anyone can put in a pull
// request: the image entries it edits (readImages/setImages), the references the render check
// refuses (checkReferences), and which overlays a change touches (affectedOverlays). Files come
// from a YAML grammar (yaml-grammar.ts) and from arbitrary text. Seeds and run counts: README.md.
import { posix } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import {
  affectedOverlays,
  dependencyClosure,
  kustomizationReferences,
  type TreeSnapshot,
} from "../../src/core/affected-overlays.js";
import { parseConfig, type Config } from "../../src/core/config.js";
import { KEEP, type ImageChange } from "../../src/core/image-spec.js";
import { checkReferences, MAX_PROBLEMS, type ReferenceProblem } from "../../src/core/kustomization-references.js";
import { readImages, setImages, type ImageFields } from "../../src/core/set-image.js";
import { MAX_YAML_BYTES, MAX_YAML_DEPTH } from "../../src/core/yaml-limits.js";
import {
  anyString,
  hostileString,
  isWellFormed,
  settings,
  sha256Digest,
  straddlingString,
  timeoutFor,
  validImageName,
  validTag,
} from "./arbitraries.js";
import { ENTRY_NAMES, kustomizationText } from "./yaml-grammar.js";

const kustomization = kustomizationText();
const anyText = fc.oneof(
  { weight: 6, arbitrary: kustomization },
  { weight: 2, arbitrary: anyString(30) },
  { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 500 }) },
);

// ---------------------------------------------------------------------------------------------
// readImages / setImages

const changeValue = <T>(valid: fc.Arbitrary<T>) =>
  fc.oneof(
    { weight: 2, arbitrary: fc.constant(undefined) },
    { weight: 4, arbitrary: valid },
    { weight: 1, arbitrary: fc.constant(KEEP) },
    { weight: 1, arbitrary: hostileString(3) },
  );

/** Changes as `kustomize edit set image` would be asked for them: mostly valid, some not. */
const imageChange: fc.Arbitrary<ImageChange> = fc
  .record({
    name: fc.oneof({ weight: 6, arbitrary: fc.constantFrom(...ENTRY_NAMES) }, { weight: 1, arbitrary: anyString(3) }),
    newName: changeValue(validImageName),
    newTag: changeValue(validTag),
    digest: changeValue(sha256Digest),
  })
  .map(({ name, newName, newTag, digest }) => ({
    name,
    ...(newName !== undefined ? { newName } : {}),
    ...(newTag !== undefined ? { newTag } : {}),
    ...(digest !== undefined ? { digest } : {}),
  }));

const FIELDS = ["newName", "newTag", "digest"] as const;

/** What an entry's fields become after `changes`, as set-image.ts documents it. */
function expectedFields(before: ImageFields, changes: ImageChange[]): ImageFields {
  const after: ImageFields = { ...before };
  for (const change of changes) {
    const sets = (value: string | undefined) => value !== undefined && value !== KEEP;
    if (sets(change.newName)) after.newName = change.newName;
    if (sets(change.newTag)) after.newTag = change.newTag;
    else if (change.newTag === undefined && sets(change.digest)) delete after.newTag;
    if (sets(change.digest)) after.digest = change.digest;
    else if (change.digest === undefined && sets(change.newTag)) delete after.digest;
  }
  return after;
}

const fieldsOf = (entry: ImageFields): ImageFields =>
  Object.fromEntries(FIELDS.filter((f) => entry[f] !== undefined).map((f) => [f, entry[f]]));

/** The file as data, independently of set-image.ts (aliases are refused before an edit). */
function asData(text: string): Record<string, unknown> {
  const [doc] = parseAllDocuments(text, { uniqueKeys: false, logLevel: "error" }) as ReturnType<
    typeof parseAllDocuments
  > &
    unknown[];
  return (doc?.toJS({ maxAliasCount: 100 }) ?? {}) as Record<string, unknown>;
}

function withoutFields(entry: unknown): unknown {
  if (typeof entry !== "object" || entry === null) return entry;
  return Object.fromEntries(Object.entries(entry).filter(([key]) => !(FIELDS as readonly string[]).includes(key)));
}

function checkFailure(result: { ok: false; kind: string; reason: string }): void {
  expect(["not-kustomization", "invalid"]).toContain(result.kind);
  expect(result.reason.trim().length).toBeGreaterThan(0);
  expect(result.reason.length).toBeLessThanOrEqual(1000);
  expect(result.reason).not.toMatch(/[\r\n]/);
}

function checkEdit(text: string, changes: ImageChange[]): void {
  const before = readImages(text);
  const result = setImages(text, changes);
  if (!result.ok) {
    checkFailure(result);
    return;
  }
  expect(before.ok).toBe(true);
  if (!before.ok) return;
  expect(result.changed).toBe(result.text !== text);
  // Bounded: at most one new entry per change, none longer than its four validated values.
  expect(result.text.length).toBeLessThanOrEqual(2 * text.length + 2_000 * changes.length);

  // The result re-parses, and its image entries hold exactly what the changes asked for.
  const after = readImages(result.text);
  expect(after.ok).toBe(true);
  if (!after.ok) return;
  const touched = [...new Set(changes.map((c) => c.name))];
  for (const name of touched) {
    const was = before.images.find((e) => e.name === name);
    const now = after.images.filter((e) => e.name === name);
    expect(now).toHaveLength(1);
    expect(fieldsOf(now[0] as ImageFields)).toEqual(
      fieldsOf(
        expectedFields(
          was ?? {},
          changes.filter((c) => c.name === name),
        ),
      ),
    );
  }
  // Nothing else differs: other keys, other entries, the rest of each touched entry.
  const oldData = asData(text);
  const newData = asData(result.text);
  const { images: oldImages, ...oldRest } = oldData;
  const { images: newImages, ...newRest } = newData;
  expect(newRest).toEqual(oldRest);
  const oldList = Array.isArray(oldImages) ? oldImages : [];
  const newList = Array.isArray(newImages) ? newImages : [];
  const added = touched.filter((name) => !before.images.some((e) => e.name === name));
  expect(newList).toHaveLength(oldList.length + added.length);
  oldList.forEach((entry, i) => {
    const name = (entry as { name?: unknown }).name;
    if (typeof name === "string" && touched.includes(name))
      expect(withoutFields(newList[i])).toEqual(withoutFields(entry));
    else expect(newList[i]).toEqual(entry);
  });
  for (const entry of newList.slice(oldList.length))
    for (const key of Object.keys(entry as object)) expect(["name", ...FIELDS]).toContain(key);
}

describe("readImages and setImages on hostile kustomizations", () => {
  it(
    "readImages never throws; it reads named entries or refuses with a reason",
    () => {
      fc.assert(
        fc.property(anyText, (text) => {
          const result = readImages(text);
          if (!result.ok) return checkFailure(result);
          for (const entry of result.images) {
            expect(typeof entry.name).toBe("string");
            expect(entry.name.length).toBeGreaterThan(0);
            for (const field of FIELDS) if (entry[field] !== undefined) expect(typeof entry[field]).toBe("string");
          }
        }),
        settings(400),
      );
    },
    timeoutFor(400),
  );

  it(
    "setImages never throws; it refuses with a reason or changes only the image values",
    () => {
      fc.assert(fc.property(anyText, fc.array(imageChange, { maxLength: 3 }), checkEdit), settings(400));
    },
    timeoutFor(400),
  );

  it(
    "applying the same change twice changes nothing the second time",
    () => {
      fc.assert(
        fc.property(kustomization, imageChange, (text, change) => {
          const first = setImages(text, [change]);
          if (!first.ok) return;
          const second = setImages(first.text, [change]);
          expect(second).toMatchObject({ ok: true, changed: false, text: first.text });
        }),
        settings(200),
      );
    },
    timeoutFor(200),
  );

  it("keeps refusal reasons well-formed UTF-16 (quoted fragments are JSON-escaped)", () => {
    fc.assert(
      fc.property(kustomization, straddlingString, (text, name) => {
        const result = setImages(text, [{ name, newTag: "1.0.0" }]);
        if (!result.ok) expect(isWellFormed(result.reason)).toBe(true);
      }),
      settings(300),
    );
  });

  describe("at and over the caps", () => {
    const head =
      "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nimages:\n- name: app\n  newTag: 1.0.0\n";
    const tooLarge = /larger than 256 KiB/;
    const tooDeep = `YAML nests deeper than ${MAX_YAML_DEPTH} levels`;
    // Nesting inside the file's own root mapping: `levels` collections in all, the root included.
    const nested = (levels: number) =>
      `${head}commonAnnotations: ${"[".repeat(levels - 1)}x${"]".repeat(levels - 1)}\n`;

    it("edits a file of exactly 256 KiB and refuses one byte more, naming the cap", () => {
      const filler = (total: number) => `${head}# ${"x".repeat(total - head.length - 3)}\n`;
      const atCap = filler(MAX_YAML_BYTES);
      expect(Buffer.byteLength(atCap)).toBe(MAX_YAML_BYTES);
      expect(setImages(atCap, [{ name: "app", newTag: "2.0.0" }])).toMatchObject({ ok: true, changed: true });
      for (const over of [filler(MAX_YAML_BYTES + 1), `${head}# ${"é".repeat(MAX_YAML_BYTES / 2)}\n`]) {
        expect(readImages(over)).toEqual({ ok: false, kind: "invalid", reason: expect.stringMatching(tooLarge) });
        expect(setImages(over, [{ name: "app", newTag: "2.0.0" }])).toEqual({
          ok: false,
          kind: "invalid",
          reason: expect.stringMatching(tooLarge),
        });
      }
    });

    it(`reads a file nested ${MAX_YAML_DEPTH} levels deep and refuses ${MAX_YAML_DEPTH + 1}`, () => {
      expect(readImages(nested(MAX_YAML_DEPTH))).toEqual({ ok: true, images: [{ name: "app", newTag: "1.0.0" }] });
      expect(readImages(nested(MAX_YAML_DEPTH + 1))).toEqual({ ok: false, kind: "invalid", reason: tooDeep });
      expect(setImages(nested(40_000), [{ name: "app", newTag: "2.0.0" }])).toEqual({
        ok: false,
        kind: "invalid",
        reason: tooDeep,
      });
    });

    it("refuses an alias bomb without expanding it", () => {
      const bomb = [
        head.trimEnd(),
        "commonLabels:",
        '  a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
        ...Array.from({ length: 8 }, (_, i) => {
          const name = String.fromCharCode(98 + i);
          const prev = String.fromCharCode(97 + i);
          return `  ${name}: &${name} [${Array(9).fill(`*${prev}`).join(",")}]`;
        }),
      ].join("\n");
      expect(setImages(bomb, [{ name: "app", newTag: "2.0.0" }])).toEqual({
        ok: false,
        kind: "invalid",
        reason: expect.stringContaining("YAML aliases are not supported"),
      });
    });
  });
});

// ---------------------------------------------------------------------------------------------
// checkReferences

function checkProblems(problems: ReferenceProblem[], file: string): void {
  expect(problems.length).toBeLessThanOrEqual(MAX_PROBLEMS);
  for (const problem of problems) {
    expect(problem.file).toBe(file);
    expect(Number.isInteger(problem.line) && problem.line >= 1).toBe(true);
    expect(problem.field.length).toBeGreaterThan(0);
    expect(problem.reason.trim().length).toBeGreaterThan(0);
    expect(problem.value.length).toBeLessThanOrEqual(501);
    expect(problem.reason.length).toBeLessThanOrEqual(1200);
  }
}

const dir = fc.constantFrom("", ".", "services/api/overlays/staging", "base", "a/b/c/d/e");
const allowRemote = fc.array(
  fc.oneof(fc.constantFrom("github.com/acme/", "https://gitlab.com/acme", "git@github.com:acme"), anyString(2)),
  { maxLength: 2 },
);

/**
 * Whether the render must refuse `value` read from a kustomization in `from`: anything with a URL
 * scheme; where kustomize may clone ("any"), also scp-like `user@host:path`, scheme-less
 * github.com/... and Azure `_git/` URLs; absolute paths; paths that leave the repository.
 */
function mustRefuse(from: string, value: string, loads: "any" | "file"): boolean {
  if (value === "") return false;
  if (/^[A-Za-z][A-Za-z0-9+.-]*:/.test(value)) return true;
  if (loads === "any") {
    if (/^[^/]*@/.test(value) || /^(github\.com|gitlab\.com|bitbucket\.org)(\/|$)/i.test(value)) return true;
    if (value.includes("_git/")) return true;
  }
  if (value.startsWith("/")) return true;
  const resolved = posix.normalize(posix.join(from === "" ? "." : from, value));
  return resolved === ".." || resolved.startsWith("../");
}

const referencePath = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      "deployment.yaml",
      "../base",
      "../../base",
      "../../../../../../etc",
      "/etc/passwd",
      "//host/share",
      "./../..",
      "a/../../..",
      "https://github.com/acme/base?ref=main",
      "github.com/acme/base",
      "GitHub.com/acme/base",
      "git@github.com:acme/base.git",
      "file:///var/lib/conveyor",
      "ssh://git@github.com/acme/base",
      "dev.azure.com/acme/_git/base",
      "user@host:repo",
      "C:/Windows",
      "base\\..\\..",
      "%2e%2e/%2e%2e",
      "...",
      ".",
    ),
  },
  {
    weight: 2,
    arbitrary: fc.array(fc.constantFrom("..", ".", "a", "b", "", "x.yaml"), { maxLength: 8 }).map((p) => p.join("/")),
  },
  { weight: 1, arbitrary: hostileString(3) },
);

/** Key as written, field as reported, and whether kustomize may build/clone it ("any") or only read a file. */
const REFERENCE_FIELDS: Array<[key: string, field: string, loads: "any" | "file"]> = [
  ["resources", "resources", "any"],
  ["Resources", "resources", "any"],
  ["RESOURCES", "resources", "any"],
  ["reſources", "resources", "any"],
  ["bases", "bases", "any"],
  ["components", "components", "any"],
  ["crds", "crds", "file"],
  ["patchesStrategicMerge", "patchesStrategicMerge", "file"],
];

describe("checkReferences on hostile kustomizations", () => {
  it(
    "never throws; problems are bounded and explained",
    () => {
      fc.assert(
        fc.property(anyText, dir, allowRemote, (text, from, allow) => {
          checkProblems(checkReferences({ dir: from, file: "k.yaml", text, allowRemote: allow }), "k.yaml");
        }),
        settings(500),
      );
    },
    timeoutFor(500),
  );

  it(
    "reports every absolute, escaping or remote reference, however the list is written",
    () => {
      const list = fc.record({
        field: fc.constantFrom(...REFERENCE_FIELDS),
        values: fc.array(referencePath, { minLength: 1, maxLength: 5 }),
        style: fc.constantFrom("block", "flow", "alias", "single-scalar"),
        noise: fc.array(fc.constantFrom("namePrefix: x-", "commonLabels: {a: b}", "kind: Kustomization"), {
          maxLength: 2,
        }),
      });
      fc.assert(
        fc.property(list, dir, ({ field: [key, canonical, loads], values, style, noise }, from) => {
          const q = (v: string) => JSON.stringify(v);
          let text: string;
          if (style === "block") text = `${key}:\n${values.map((v) => `- ${q(v)}`).join("\n")}\n`;
          else if (style === "flow") text = `${key}: [${values.map(q).join(", ")}]\n`;
          else if (style === "alias")
            text = `x-paths:\n${values.map((v, i) => `- &p${i} ${q(v)}`).join("\n")}\n${key}:\n${values.map((_, i) => `- *p${i}`).join("\n")}\n`;
          else text = `${key}: ${q(values[0] as string)}\n`;
          text = [...noise, text].join("\n");
          const problems = checkReferences({ dir: from, file: "k.yaml", text, allowRemote: [] });
          checkProblems(problems, "k.yaml");
          const checked = style === "single-scalar" ? values.slice(0, 1) : values;
          checked.forEach((value, i) => {
            const at = style === "single-scalar" ? canonical : `${canonical}[${i}]`;
            const reported = problems.some((p) => p.field === at);
            if (mustRefuse(from, value, loads)) expect(reported, `${at} = ${q(value)} from ${q(from)}`).toBe(true);
            else if (/^[\w.-]+(\/[\w.-]+)*$/.test(value) && !value.split("/").includes(".."))
              expect(reported, `${at} = ${q(value)}`).toBe(false);
          });
        }),
        settings(600),
      );
    },
    timeoutFor(600),
  );

  it("refuses a file over 256 KiB as a whole, with one problem that says so", () => {
    const text = `resources:\n- ok.yaml\n# ${"x".repeat(256 * 1024)}\n`;
    expect(checkReferences({ dir: ".", file: "k.yaml", text, allowRemote: [] })).toEqual([
      { file: "k.yaml", line: 1, field: "(file)", value: "", reason: expect.stringContaining("too large to check") },
    ]);
  });

  it("follows aliases and merge keys without expanding a bomb, and still refuses", () => {
    // 30,000 aliases of one absolute path: each is followed and counted, none copied.
    const aliases = `a: &a /etc/passwd\nresources: [${Array(30_000).fill("*a").join(", ")}]\n`;
    // Merge keys ten deep, ten wide: 10^10 entries if expanded.
    const merges = ["m0: &m0 {resources: [/etc/passwd]}"];
    for (let i = 1; i <= 10; i++)
      merges.push(
        `m${i}: &m${i} {<<: [${Array(10)
          .fill(`*m${i - 1}`)
          .join(", ")}]}`,
      );
    merges.push("<<: *m10");
    for (const text of [aliases, merges.join("\n")]) {
      expect(Buffer.byteLength(text)).toBeLessThanOrEqual(256 * 1024);
      const problems = checkReferences({ dir: ".", file: "k.yaml", text, allowRemote: [] });
      checkProblems(problems, "k.yaml");
      expect(problems.length).toBeGreaterThan(0);
    }
  });

  it("still reads references after nesting the yaml package cannot compose", () => {
    for (const levels of [MAX_YAML_DEPTH, MAX_YAML_DEPTH + 1, 5_000, 20_000]) {
      const text = `commonAnnotations: ${"[".repeat(levels)}${"]".repeat(levels)}\nresources:\n- /etc/passwd\n`;
      const problems = checkReferences({ dir: ".", file: "k.yaml", text, allowRemote: [] });
      expect(problems.length).toBeGreaterThan(0);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// affectedOverlays

const DEFAULT_CONFIG: Config = (() => {
  const result = parseConfig(null);
  if (!result.ok) throw new Error("default config");
  return result.config;
})();

const TREE_DIRS = [
  "services/api/overlays/staging",
  "services/api/overlays/production",
  "services/web/overlays/staging",
  "services/api/base",
  "services/Bad/overlays/staging",
  "common/base",
  ".",
];

const kustomizationFor = fc.oneof(
  {
    weight: 4,
    arbitrary: fc
      .array(
        fc.oneof(
          fc.constantFrom(...TREE_DIRS).map((d) => ({ target: d })),
          referencePath.map((p) => ({ raw: p })),
        ),
        { maxLength: 4 },
      )
      .map((refs) => (from: string) => {
        const entries = refs.map((r) => ("target" in r ? posix.relative(from, r.target) || "." : r.raw));
        return `resources:\n${entries.map((e) => `- ${JSON.stringify(e)}`).join("\n")}\n`;
      }),
  },
  { weight: 1, arbitrary: kustomization.map((text) => () => text) },
);

const tree: fc.Arbitrary<TreeSnapshot> = fc
  .tuple(
    fc.subarray(TREE_DIRS, { minLength: 1 }),
    fc.array(kustomizationFor, { minLength: TREE_DIRS.length, maxLength: TREE_DIRS.length }),
    fc.array(fc.constantFrom("README.md", "services/api/overlays/staging/patch.yaml", "../escape", ""), {
      maxLength: 3,
    }),
  )
  .map(([dirs, texts, extra]) => {
    const kustomizations = new Map<string, string>();
    const files: string[] = [...extra];
    dirs.forEach((d, i) => {
      kustomizations.set(d, (texts[i] as (from: string) => string)(d));
      files.push(d === "." ? "kustomization.yaml" : `${d}/kustomization.yaml`);
    });
    return { files, kustomizations };
  });

describe("affectedOverlays on hostile trees", () => {
  it(
    "never throws; terminates on cycles; reports only overlays, closures inside the tree",
    () => {
      fc.assert(
        fc.property(
          tree,
          tree,
          fc.array(
            fc.oneof(
              fc.constantFrom(...TREE_DIRS).map((d) => `${d}/x.yaml`),
              anyString(2),
            ),
            { maxLength: 4 },
          ),
          (before, after, changedFiles) => {
            const result = affectedOverlays({ config: DEFAULT_CONFIG, changedFiles, before, after });
            const dirs = result.map((o) => o.dir);
            expect(new Set(dirs).size).toBe(dirs.length);
            for (const overlay of result) {
              expect(overlay.dir).toMatch(/^services\/[a-z0-9._-]+\/overlays\/(staging|production)$/);
              expect(overlay.because.length).toBeGreaterThan(0);
              for (const [side, snapshot] of [
                ["before", before],
                ["after", after],
              ] as const) {
                const closure = overlay.closure[side];
                if (closure === undefined) continue;
                expect(closure[0]).toBe(overlay.dir);
                for (const d of closure) expect(snapshot.kustomizations.has(d)).toBe(true);
              }
            }
            for (const [d, text] of after.kustomizations) {
              const refs = kustomizationReferences(d, text);
              for (const local of refs.local) {
                expect(local === ".." || local.startsWith("../") || local.startsWith("/")).toBe(false);
              }
              const closure = dependencyClosure(d, after.kustomizations);
              expect(new Set(closure.dirs).size).toBe(closure.dirs.length);
            }
          },
        ),
        settings(300),
      );
    },
    timeoutFor(300),
  );

  it("reads no references from a kustomization over 256 KiB", () => {
    const text = `resources:\n- ../base\n# ${"x".repeat(MAX_YAML_BYTES)}\n`;
    expect(kustomizationReferences("services/api/overlays/staging", text)).toEqual({ local: [], remote: [] });
  });
});
