import { describe, expect, it } from "vitest";
import { parseDispatch } from "../../src/core/dispatch.js";

const SHA = "0123456789abcdef0123456789abcdef01234567";

describe("parseDispatch: the two payload forms", () => {
  it("deploy-<service> {image}", () => {
    expect(
      parseDispatch("deploy-order-service", { image: "registry.example.com:5000/team/order-service:1.2.3" }),
    ).toEqual({
      kind: "deploy",
      request: {
        service: "order-service",
        source: {},
        image: expect.objectContaining({ name: "registry.example.com:5000/team/order-service", tag: "1.2.3" }),
      },
    });
  });

  it("deploy {service, tag, environment, source}", () => {
    const intent = parseDispatch("deploy", {
      service: "order-service",
      tag: "v2.0.0",
      environment: "staging",
      source: { repository: "acme/order-service", sha: SHA, run_url: "https://ci.example.com/run/1" },
    });
    expect(intent).toEqual({
      kind: "deploy",
      request: {
        service: "order-service",
        tag: "v2.0.0",
        environment: "staging",
        source: { repository: "acme/order-service", sha: SHA, runUrl: "https://ci.example.com/run/1" },
      },
    });
  });

  it("deploy {service, digest}", () => {
    const digest = `sha256:${"f".repeat(64)}`;
    expect(parseDispatch("deploy", { service: "api", digest })).toMatchObject({
      kind: "deploy",
      request: { service: "api", digest },
    });
  });

  it.each(["build-done", "deploy_x", "deployment", ""])("ignores event type %j", (eventType) => {
    expect(parseDispatch(eventType, { image: "x:1" }).kind).toBe("ignore");
  });
});

describe("parseDispatch: refusals", () => {
  const cases: Array<[string, string, unknown, string, string]> = [
    ["no payload", "deploy-api", null, "invalid-payload", "must be a JSON object"],
    ["array payload", "deploy-api", [], "invalid-payload", "must be a JSON object"],
    ["service missing", "deploy", { tag: "1" }, "invalid-payload", "service is required"],
    ["service not a string", "deploy", { service: 5, tag: "1" }, "invalid-service", "must be a string"],
    ["service with a path", "deploy", { service: "a/../b", tag: "1" }, "invalid-service", "not a valid name"],
    ["service upper case", "deploy-API", { tag: "1" }, "invalid-service", "not a valid name"],
    ["service too long", `deploy-${"a".repeat(64)}`, { tag: "1" }, "invalid-service", "not a valid name"],
    [
      "service mismatch",
      "deploy-api",
      { service: "web", tag: "1" },
      "invalid-payload",
      "but client_payload.service is",
    ],
    ["nothing to deploy", "deploy-api", {}, "invalid-payload", "needs one of image, tag or digest"],
    ["two things", "deploy-api", { tag: "1", digest: `sha256:${"a".repeat(64)}` }, "invalid-payload", "only one"],
    ["image not a string", "deploy-api", { image: 1 }, "invalid-image", "must be a string"],
    ["image with space", "deploy-api", { image: "api: 1" }, "invalid-image", "not a valid OCI reference"],
    ["image without version", "deploy-api", { image: "api" }, "invalid-image", "neither a tag nor a digest"],
    ["bad tag", "deploy-api", { tag: "-leading" }, "invalid-image", "not a valid tag"],
    ["yaml in tag", "deploy-api", { tag: "1\nevil: true" }, "invalid-image", "not a valid tag"],
    ["bad digest", "deploy-api", { digest: "sha256:XYZ" }, "invalid-image", "not a sha256 digest"],
    ["sha512 digest", "deploy-api", { digest: `sha512:${"a".repeat(128)}` }, "invalid-image", "not a sha256 digest"],
    [
      "image with a sha512 digest",
      "deploy-api",
      { image: `ghcr.io/acme/api@sha512:${"a".repeat(128)}` },
      "invalid-image",
      'uses "sha512": only sha256 digests are supported',
    ],
    [
      "image with a tag and a sha512 digest",
      "deploy-api",
      { image: `ghcr.io/acme/api:1.2.3@sha512:${"a".repeat(128)}` },
      "invalid-image",
      "only sha256 digests are supported",
    ],
    ["env with path", "deploy-api", { tag: "1", environment: "../prod" }, "invalid-environment", "not a valid name"],
    ["source not object", "deploy-api", { tag: "1", source: "x" }, "invalid-payload", "source must be an object"],
    [
      "source repo",
      "deploy-api",
      { tag: "1", source: { repository: "../../etc" } },
      "invalid-payload",
      "is not owner/name",
    ],
    ["source sha", "deploy-api", { tag: "1", source: { sha: "abc" } }, "invalid-payload", "not a full commit sha"],
    [
      "source url scheme",
      "deploy-api",
      { tag: "1", source: { run_url: "javascript:alert(1)" } },
      "invalid-payload",
      "not an http(s) URL",
    ],
    [
      "source url credentials",
      "deploy-api",
      { tag: "1", source: { run_url: "https://user:pw@ci.example.com" } },
      "invalid-payload",
      "not an http(s) URL",
    ],
    ["too large", "deploy-api", { tag: "1", pad: "x".repeat(9000) }, "invalid-payload", "larger than 8192 bytes"],
  ];
  it.each(cases)("%s", (_name, eventType, payload, code, words) => {
    const intent = parseDispatch(eventType, payload);
    expect(intent.kind).toBe("reject");
    if (intent.kind !== "reject") return;
    expect(intent.code).toBe(code);
    expect(intent.reason).toContain(words);
  });

  it("keeps the sender's source so the refusal reaches their commit", () => {
    const intent = parseDispatch("deploy-api", { image: "api", source: { repository: "acme/api", sha: SHA } });
    expect(intent).toMatchObject({ kind: "reject", service: "api", source: { repository: "acme/api", sha: SHA } });
  });

  it("never echoes a long hostile value in full", () => {
    const intent = parseDispatch("deploy", { service: "x".repeat(5000), tag: "1" });
    expect(intent.kind === "reject" && intent.reason.length).toBeLessThan(300);
  });
});
