import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import {
  readPatch,
  setPatchImage,
  setPatchReplicas,
  setSelectorLabel,
  type PatchEdit,
} from "../../src/core/patch-file.js";
import { expectGolden } from "../helpers/golden.js";

const GOLDEN = new URL("../fixtures/patch-file/", import.meta.url);

type Op = { image: string; container?: string } | { replicas: number } | { selector: string; value: string };

function apply(text: string, op: Op): PatchEdit {
  if ("image" in op) return setPatchImage(text, op.image, op.container);
  if ("replicas" in op) return setPatchReplicas(text, op.replicas);
  return setSelectorLabel(text, op.selector, op.value);
}

function must(result: PatchEdit): string {
  if (!result.ok) throw new Error(result.reason);
  return result.text;
}

describe("patch-file golden files: only the value's bytes change", () => {
  const cases = JSON.parse(readFileSync(new URL("cases.json", GOLDEN), "utf8")) as Record<string, Op[]>;
  const inputs = readdirSync(GOLDEN).filter((file) => file.endsWith(".in.yaml"));

  it("has operations for every input", () => {
    expect(inputs.map((file) => file.replace(".in.yaml", "")).sort()).toEqual(Object.keys(cases).sort());
  });

  it.each(Object.entries(cases))("%s", (name, ops) => {
    const input = readFileSync(new URL(`${name}.in.yaml`, GOLDEN), "utf8");
    const output = ops.reduce((text, op) => must(apply(text, op)), input);
    expectGolden(new URL(`${name}.out.yaml`, GOLDEN), output);
    // Every line that is not the edited value is byte for byte the same (an added replicas line aside).
    const before = input.split("\n");
    const after = output.split("\n").filter((line) => !/^\s*replicas: \d+\r?$/.test(line) || before.includes(line));
    expect(after.length).toBe(before.length);
    const changed = after.filter((line, i) => line !== before[i]);
    expect(changed.length).toBeLessThanOrEqual(ops.length);
  });

  it("keeps CRLF line endings and the missing final newline", () => {
    const out = readFileSync(new URL("canary-crlf.out.yaml", GOLDEN), "utf8");
    expect(
      out
        .split("\n")
        .slice(0, -1)
        .every((line) => line.endsWith("\r")),
    ).toBe(true);
    expect(out.endsWith("\n")).toBe(false);
  });

  it("adds spec.replicas at spec's own indentation when the patch has none", () => {
    const out = readFileSync(new URL("canary-no-replicas.out.yaml", GOLDEN), "utf8");
    expect(out).toContain("spec:\n    replicas: 2\n    # four-space indent, kept\n");
    expect((parse(out) as { spec: { replicas: number } }).spec.replicas).toBe(2);
  });
});

describe("readPatch", () => {
  it("reads a slot Deployment's name, containers and replicas", () => {
    const text = readFileSync(new URL("canary-crlf.in.yaml", GOLDEN), "utf8");
    expect(readPatch(text)).toEqual({
      ok: true,
      kind: "Deployment",
      name: "order-service-canary",
      containers: [{ name: "order-service", image: "ghcr.io/acme/order-service:1.4.0" }],
      replicas: 0,
    });
  });
  it("reads the Service's selector (the live slot)", () => {
    const text = readFileSync(new URL("service-selector.in.yaml", GOLDEN), "utf8");
    expect(readPatch(text)).toMatchObject({
      ok: true,
      kind: "Service",
      selector: { app: "order-service", slot: "blue" },
    });
  });
});

describe("edits that cannot be made losslessly are refused, with the reason", () => {
  const deployment = (containers: string) =>
    `kind: Deployment\nmetadata:\n  name: web-blue\nspec:\n  template:\n    spec:\n      containers:\n${containers}`;
  it.each([
    [
      "two containers, none named",
      setPatchImage(deployment("        - {name: a, image: x:1}\n        - {name: b, image: y:1}\n"), "x:2"),
      "has 2 containers (a, b); name the container",
    ],
    [
      "an unknown container",
      setPatchImage(deployment("        - {name: a, image: x:1}\n"), "x:2", "web"),
      "no container named `web` (it has a)",
    ],
    ["a container without image", setPatchImage(deployment("        - name: a\n"), "x:2"), "has no image to set"],
    [
      "a block scalar image",
      setPatchImage(deployment("        - name: a\n          image: >-\n            x:1\n"), "x:2"),
      "block scalar",
    ],
    [
      "an image with spaces",
      setPatchImage(deployment("        - {name: a, image: x:1}\n"), "x:2\n  evil: true"),
      "is not an image",
    ],
    [
      "an alias",
      setPatchImage(
        `${deployment("        - {name: a, image: &i x:1}\n")}        - {name: b, image: *i}\n`,
        "x:2",
        "a",
      ),
      "aliases",
    ],
    [
      "a JSON 6902 patch",
      setPatchImage("- op: replace\n  path: /spec/template/spec/containers/0/image\n  value: x:1\n", "x:2"),
      "JSON 6902",
    ],
    ["two documents", setPatchImage("kind: Deployment\n---\nkind: Service\n", "x:2"), "2 YAML documents"],
    [
      "a selector without the slot label",
      setSelectorLabel("kind: Service\nmetadata: {name: web}\nspec:\n  selector: {app: web}\n", "slot", "green"),
      "no selector label `slot`",
    ],
    [
      "a selector edit on a Deployment",
      setSelectorLabel(deployment("        - {name: a, image: x:1}\n"), "slot", "green"),
      "is a Deployment, not a Service",
    ],
    [
      "replicas in a flow spec",
      setPatchReplicas("kind: Deployment\nmetadata: {name: w}\nspec: {template: {}}\n", 1),
      "not a block mapping",
    ],
    ["negative replicas", setPatchReplicas(deployment("        - {name: a, image: x:1}\n"), -1), "not a replica count"],
  ])("%s", (_, result, words) => {
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toContain(words);
  });

  it("an edit to the same value changes nothing and reports the value", () => {
    const text = readFileSync(new URL("service-selector.in.yaml", GOLDEN), "utf8");
    expect(setSelectorLabel(text, "slot", "blue")).toEqual({ ok: true, text, changed: false, before: "blue" });
  });
});
