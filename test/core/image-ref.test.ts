import { describe, expect, it } from "vitest";
import { compareSemver, formatImageRef, parseImageRef, type ImageRef } from "../../src/core/image-ref.js";

const sha = (c: string): string => `sha256:${c.repeat(64)}`;

describe("parseImageRef accepts", () => {
  const cases: Array<[string, ImageRef]> = [
    ["nginx", { repository: "nginx", name: "nginx" }],
    ["nginx:1.25", { repository: "nginx", name: "nginx", tag: "1.25" }],
    ["library/nginx:latest", { repository: "library/nginx", name: "library/nginx", tag: "latest" }],
    [
      "ghcr.io/org/team/app:v1.2.3",
      { registry: "ghcr.io", repository: "org/team/app", name: "ghcr.io/org/team/app", tag: "v1.2.3" },
    ],
    ["localhost/app", { registry: "localhost", repository: "app", name: "localhost/app" }],
    [
      "localhost:5000/app:dev",
      { registry: "localhost:5000", repository: "app", name: "localhost:5000/app", tag: "dev" },
    ],
    [
      "registry.example.com:8443/a/b/c",
      { registry: "registry.example.com:8443", repository: "a/b/c", name: "registry.example.com:8443/a/b/c" },
    ],
    ["192.168.1.10:5000/app", { registry: "192.168.1.10:5000", repository: "app", name: "192.168.1.10:5000/app" }],
    ["[::1]:5000/app:v1", { registry: "[::1]:5000", repository: "app", name: "[::1]:5000/app", tag: "v1" }],
    [
      "[2001:db8::8a2e:370:7334]/team/app",
      { registry: "[2001:db8::8a2e:370:7334]", repository: "team/app", name: "[2001:db8::8a2e:370:7334]/team/app" },
    ],
    ["my-app.v2/x", { registry: "my-app.v2", repository: "x", name: "my-app.v2/x" }],
    ["a__b/c--d/e.f_g", { repository: "a__b/c--d/e.f_g", name: "a__b/c--d/e.f_g" }],
    [`app@${sha("a")}`, { repository: "app", name: "app", digest: sha("a") }],
    [
      `quay.io/x/app:v1@${sha("0")}`,
      { registry: "quay.io", repository: "x/app", name: "quay.io/x/app", tag: "v1", digest: sha("0") },
    ],
    [`app:${"t".repeat(128)}`, { repository: "app", name: "app", tag: "t".repeat(128) }],
    ["app:_Under.score-OK", { repository: "app", name: "app", tag: "_Under.score-OK" }],
    // Without a dot, colon or "localhost" the first component is part of the path, as in Docker.
    ["myregistry/app", { repository: "myregistry/app", name: "myregistry/app" }],
  ];
  it.each(cases)("%s", (input, expected) => {
    expect(parseImageRef(input)).toEqual({ ok: true, value: expected });
  });
});

describe("parseImageRef rejects, quoting the offending part", () => {
  const cases: Array<[string, RegExp]> = [
    ["", /empty/],
    [" nginx", /whitespace/],
    ["nginx:1 .2", /whitespace/],
    ["x".repeat(513), /longer than 512/],
    [`${"a".repeat(256)}:v1`, /image name ".*\.\.\." is longer than 255/],
    [`app:${"t".repeat(129)}`, /^tag "t{37}\.\.\." is longer than 128 characters$/],
    ["app:-bad", /tag "-bad" is invalid/],
    ["app:.bad", /tag "\.bad" is invalid/],
    ["app:", /tag is empty/],
    ["Nginx", /repository "Nginx" must be lowercase/],
    ["ghcr.io/Org/app", /repository "Org\/app" must be lowercase/],
    ["app..x", /path component "app\.\.x" is invalid/],
    ["app-", /path component "app-" is invalid/],
    ["_app", /path component "_app" is invalid/],
    ["a___b", /path component "a___b" is invalid/],
    ["a//b", /empty path component/],
    ["ghcr.io/", /has no repository/],
    ["bad_host.io/app", /registry "bad_host\.io" is not a valid host name/],
    ["-host.io/app", /registry "-host\.io"/],
    ["localhost:99999/app", /port "99999" is out of range/],
    ["localhost:abc/app", /port "abc" must be a number/],
    ["[::1/app", /unclosed/],
    ["[zz::1]/app", /invalid IPv6/],
    ["[1:2:3:4:5:6:7:8:9]/app", /invalid IPv6/],
    [`app@sha256:${"a".repeat(63)}`, /sha256 needs exactly 64 lowercase hex/],
    [`app@sha256:${"a".repeat(65)}`, /sha256 needs exactly 64/],
    [`app@sha256:${"A".repeat(64)}`, /sha256 needs exactly 64 lowercase hex/],
    [`app@sha256:${"g".repeat(64)}`, /sha256 needs exactly 64 lowercase hex/],
    // README: "a `sha256:` digest". The OCI grammar allows other algorithms; Conveyor does not.
    [`app@sha512:${"f".repeat(128)}`, /^digest "sha512:f{30}\.\.\." uses "sha512": only sha256 digests are supported$/],
    [`app:v1@sha384:${"f".repeat(96)}`, /uses "sha384": only sha256/],
    [`app@multihash+base58:${"Qm".repeat(20)}`, /uses "multihash\+base58": only sha256/],
    [`app@SHA256:${"a".repeat(64)}`, /expected "<algorithm>:<hex>"/],
    ["app@md5:abc", /uses "md5": only sha256/],
    ["app@sha256", /expected "<algorithm>:<hex>"/],
    ["app@", /digest is empty/],
  ];
  it.each(cases)("%s", (input, reason) => {
    const result = parseImageRef(input);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toMatch(reason);
  });
});

describe("formatImageRef", () => {
  it("joins name, tag and digest the way they are parsed", () => {
    for (const input of ["nginx", "localhost:5000/app:dev", `ghcr.io/a/b:v1@${sha("c")}`, `app@${sha("d")}`]) {
      const parsed = parseImageRef(input);
      if (!parsed.ok) throw new Error(parsed.reason);
      expect(formatImageRef(parsed.value)).toBe(input);
    }
  });
});

describe("compareSemver", () => {
  const cases: Array<[string, string, number | undefined]> = [
    ["1.2.3", "1.2.3", 0],
    ["v1.2.3", "1.2.3", 0],
    ["1.2.3", "1.2.4", -1],
    ["1.10.0", "1.9.0", 1],
    ["2.0.0", "10.0.0", -1],
    ["1.0.0-alpha", "1.0.0", -1],
    ["1.0.0", "1.0.0-rc.1", 1],
    // The precedence chain from the semver 2.0 specification, item 11.
    ["1.0.0-alpha", "1.0.0-alpha.1", -1],
    ["1.0.0-alpha.1", "1.0.0-alpha.beta", -1],
    ["1.0.0-alpha.beta", "1.0.0-beta", -1],
    ["1.0.0-beta", "1.0.0-beta.2", -1],
    ["1.0.0-beta.2", "1.0.0-beta.11", -1],
    ["1.0.0-beta.11", "1.0.0-rc.1", -1],
    ["1.0.0-rc.1", "1.0.0", -1],
    ["1.0.0+build.1", "1.0.0+build.2", 0],
    ["1.0.0-rc.1+x", "1.0.0-rc.1", 0],
    // Past 2^53 the semver package calls a number invalid: no order rather than a wrong one.
    ["99999999999999999999.0.0", "99999999999999999998.0.0", undefined],
    ["V2.0.0", "v1.0.0", 1],
    ["=1.0.0", "1.0.0", undefined],
    [" 1.0.0", "1.0.0", undefined],
    ["1.2", "1.2.0", undefined],
    ["latest", "1.0.0", undefined],
    ["1.0.0", "01.0.0", undefined],
    ["1.0.0-01", "1.0.0", undefined],
    ["vv1.0.0", "1.0.0", undefined],
    ["sha-abc123", "sha-def456", undefined],
  ];
  it.each(cases)("%s vs %s", (a, b, expected) => {
    expect(compareSemver(a, b)).toBe(expected);
    if (expected !== undefined) expect(compareSemver(b, a)).toBe(expected === 0 ? 0 : -expected);
  });
});
