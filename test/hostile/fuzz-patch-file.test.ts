// Property-based tests over the patch files blue-green slots and canary tracks keep their image
// in: anyone who can open a pull request writes them. Reading and editing them never throws; an
// edit either refuses with a reason or changes exactly the one value (re-parsed, all else equal).
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import {
  readPatch,
  setPatchImage,
  setPatchReplicas,
  setSelectorLabel,
  type PatchEdit,
} from "../../src/core/patch-file.js";
import { anyString, hostileString, settings, timeoutFor } from "./arbitraries.js";

const quoted = (value: string, style: string) =>
  style === '"' ? JSON.stringify(value) : style === "'" ? `'${value.replace(/'/g, "''")}'` : value;

/** A slot's Deployment patch, with hostile values, quoting, comments and line endings. */
const deploymentPatch = fc
  .record({
    name: hostileString(4),
    image: anyString(6),
    container: hostileString(3),
    style: fc.constantFrom("", '"', "'"),
    comment: hostileString(4),
    replicas: fc.option(fc.oneof(fc.nat(20).map(String), hostileString(2)), { nil: undefined }),
    crlf: fc.boolean(),
    extra: fc.option(anyString(4), { nil: undefined }),
  })
  .map(({ name, image, container, style, comment, replicas, crlf, extra }) => {
    const lines = [
      "apiVersion: apps/v1",
      "kind: Deployment",
      `metadata: {name: ${quoted(name, style)}}`,
      "spec:",
      ...(replicas !== undefined ? [`  replicas: ${replicas} # ${comment}`] : []),
      "  template:",
      "    spec:",
      "      containers:",
      `        - name: ${quoted(container, style)}`,
      `          image: ${quoted(image, style)} # ${comment}`,
      ...(extra !== undefined ? [extra] : []),
    ];
    return lines.join(crlf ? "\r\n" : "\n");
  });

const servicePatch = fc
  .record({ slot: hostileString(3), style: fc.constantFrom("", '"', "'"), comment: hostileString(4) })
  .map(({ slot, style, comment }) =>
    [
      "kind: Service",
      "metadata: {name: web}",
      "spec:",
      "  selector:",
      "    app: web",
      `    slot: ${quoted(slot, style)} # ${comment}`,
      "",
    ].join("\n"),
  );

const anyPatch = fc.oneof(
  { weight: 4, arbitrary: deploymentPatch },
  { weight: 2, arbitrary: servicePatch },
  { weight: 1, arbitrary: anyString(30) },
);

type Js = Record<string, unknown>;
function parsed(text: string): Js {
  return parse(text, { uniqueKeys: false }) as Js;
}

/** A refusal has a reason; a change re-parses to the old file with exactly `set` applied. */
function checkEdit(before: string, result: PatchEdit, set: (js: Js) => void): void {
  if (!result.ok) {
    expect(typeof result.reason).toBe("string");
    expect(result.reason.length).toBeGreaterThan(0);
    return;
  }
  if (!result.changed) return expect(result.text).toBe(before);
  const want = parsed(before);
  set(want);
  expect(parsed(result.text)).toEqual(want);
}

const spec = (js: Js) => js.spec as Js;
const containers = (js: Js) => (spec(js).template as Js).spec as { containers: Js[] };

describe("patch files from hostile pull requests", () => {
  it(
    "readPatch never throws; it reads a kind and a name or refuses with a reason",
    () => {
      fc.assert(
        fc.property(anyPatch, (text) => {
          const read = readPatch(text);
          if (read.ok) expect(typeof read.name).toBe("string");
          else expect(read.reason.length).toBeGreaterThan(0);
        }),
        settings(300),
      );
    },
    timeoutFor(300),
  );

  it(
    "setPatchImage, setPatchReplicas and setSelectorLabel change one value or refuse",
    () => {
      fc.assert(
        fc.property(anyPatch, anyString(6), fc.nat(50), hostileString(3), (text, image, replicas, slot) => {
          checkEdit(text, setPatchImage(text, image), (js) => {
            (containers(js).containers[0] as Js).image = image;
          });
          checkEdit(text, setPatchReplicas(text, replicas), (js) => {
            spec(js).replicas = replicas;
          });
          checkEdit(text, setSelectorLabel(text, "slot", slot), (js) => {
            (spec(js).selector as Js).slot = slot;
          });
        }),
        settings(300),
      );
    },
    timeoutFor(300),
  );
});
