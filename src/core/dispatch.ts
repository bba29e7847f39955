// What a `repository_dispatch` asks for, validated. Two forms arrive in practice:
//   deploy-<service>  {image}                       (what existing pipelines already send)
//   deploy            {service, image|tag|digest, environment?, source?}
// Everything here is untrusted input: names, sizes and image grammar are checked before any of
// it reaches a path, a branch name or a GitHub comment.
import { parseImageRef, type ImageRef } from "./image-ref.js";
import { isValidName, quote } from "./names.js";

/**
 * Where an image came from: the service repository and commit it was built from, the CI run that
 * built it and its digest. A deploy event sends it; Conveyor carries it in its PR markers and
 * Deployment payloads, so every later PR (promotion, revert, command) says the same.
 */
export interface DispatchSource {
  repository?: string;
  sha?: string;
  runUrl?: string;
  /** The image's digest, when the event or the image reference names one. */
  digest?: string;
}

export interface DeployRequest {
  service: string;
  environment?: string;
  /** Exactly one of image, tag or digest describes what to deploy. */
  image?: ImageRef;
  tag?: string;
  digest?: string;
  source: DispatchSource;
}

export type RejectCode =
  | "invalid-payload"
  | "invalid-service"
  | "unknown-service"
  | "invalid-image"
  | "image-mismatch"
  | "invalid-environment"
  | "unknown-environment"
  | "direct-deploy-refused"
  | "older-version"
  | "invalid-overlay"
  | "rollback-in-progress";

export type DispatchIntent =
  | { kind: "ignore"; reason: string }
  | { kind: "reject"; code: RejectCode; reason: string; service?: string; source: DispatchSource }
  | { kind: "deploy"; request: DeployRequest };

const MAX_PAYLOAD_BYTES = 8 * 1024;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^sha256:[a-f0-9]{64}$/;
const REPOSITORY = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})\/[A-Za-z0-9._-]{1,100}$/;
const SHA = /^[a-f0-9]{40}(?:[a-f0-9]{24})?$/;

export function parseDispatch(eventType: unknown, payload: unknown): DispatchIntent {
  if (typeof eventType !== "string") return { kind: "ignore", reason: "event_type is missing" };
  let service: string | undefined;
  if (eventType === "deploy") {
    service = undefined;
  } else if (eventType.startsWith("deploy-")) {
    service = eventType.slice("deploy-".length);
  } else {
    return { kind: "ignore", reason: `event_type ${quote(eventType, 60)} is not a deploy event` };
  }

  const body = isRecord(payload) ? payload : {};
  const source = parseSource(body.source);
  const reject = (code: RejectCode, reason: string, svc?: string): DispatchIntent => ({
    kind: "reject",
    code,
    reason,
    service: svc !== undefined && isValidName(svc) ? svc : undefined,
    source: source.ok ? source.value : {},
  });

  if (!isRecord(payload)) return reject("invalid-payload", "client_payload must be a JSON object", service);
  if (JSON.stringify(payload).length > MAX_PAYLOAD_BYTES) {
    return reject("invalid-payload", `client_payload is larger than ${MAX_PAYLOAD_BYTES} bytes`, service);
  }
  if (!source.ok) return reject("invalid-payload", source.reason, service ?? stringOrUndefined(body.service));

  if (service === undefined) {
    if (body.service === undefined)
      return reject("invalid-payload", "client_payload.service is required for event_type `deploy`");
    if (typeof body.service !== "string") return reject("invalid-service", "client_payload.service must be a string");
    service = body.service;
  } else if (body.service !== undefined && body.service !== service) {
    return reject(
      "invalid-payload",
      `event_type names service ${quote(service)} but client_payload.service is ${quote(body.service)}`,
      service,
    );
  }
  if (!isValidName(service)) {
    return reject(
      "invalid-service",
      `service ${quote(service, 70)} is not a valid name (lowercase a-z, 0-9, '.', '_', '-', at most 63 characters)`,
    );
  }

  const given = (["image", "tag", "digest"] as const).filter((key) => body[key] !== undefined);
  if (given.length !== 1) {
    return reject(
      "invalid-payload",
      given.length === 0
        ? "client_payload needs one of image, tag or digest"
        : `client_payload has ${given.join(" and ")}; send only one of image, tag or digest`,
      service,
    );
  }

  const request: DeployRequest = { service, source: source.value };
  if (body.image !== undefined) {
    if (typeof body.image !== "string")
      return reject("invalid-image", "client_payload.image must be a string", service);
    const parsed = parseImageRef(body.image);
    if (!parsed.ok)
      return reject(
        "invalid-image",
        `image ${quote(body.image)} is not a valid OCI reference: ${parsed.reason}`,
        service,
      );
    if (!parsed.value.tag && !parsed.value.digest) {
      return reject(
        "invalid-image",
        `image ${quote(body.image)} has neither a tag nor a digest; deploys need an exact version`,
        service,
      );
    }
    request.image = parsed.value;
  } else if (body.tag !== undefined) {
    if (typeof body.tag !== "string" || !TAG.test(body.tag))
      return reject(
        "invalid-image",
        `tag ${quote(body.tag)} is not a valid tag (letters, digits, '_', '.', '-'; at most 128 characters)`,
        service,
      );
    request.tag = body.tag;
  } else {
    if (typeof body.digest !== "string" || !DIGEST.test(body.digest))
      return reject(
        "invalid-image",
        `digest ${quote(body.digest)} is not a sha256 digest (sha256: followed by 64 lowercase hex digits)`,
        service,
      );
    request.digest = body.digest;
  }

  if (body.environment !== undefined) {
    if (typeof body.environment !== "string" || !isValidName(body.environment)) {
      return reject("invalid-environment", `environment ${quote(body.environment, 70)} is not a valid name`, service);
    }
    request.environment = body.environment;
  }
  return { kind: "deploy", request };
}

/**
 * A source as sent (client_payload.source) or as Conveyor recorded it (a PR marker, a Deployment
 * payload): every field is checked again, because any of those places can be edited by others.
 */
export function parseSource(value: unknown): { ok: true; value: DispatchSource } | { ok: false; reason: string } {
  if (value === undefined || value === null) return { ok: true, value: {} };
  if (!isRecord(value)) return { ok: false, reason: "client_payload.source must be an object" };
  const source: DispatchSource = {};
  if (value.repository !== undefined) {
    if (typeof value.repository !== "string" || !REPOSITORY.test(value.repository) || value.repository.includes("..")) {
      return { ok: false, reason: `source.repository ${quote(value.repository)} is not owner/name` };
    }
    source.repository = value.repository;
  }
  if (value.sha !== undefined) {
    if (typeof value.sha !== "string" || !SHA.test(value.sha))
      return { ok: false, reason: `source.sha ${quote(value.sha)} is not a full commit sha` };
    source.sha = value.sha;
  }
  const runUrl = value.run_url ?? value.runUrl;
  if (runUrl !== undefined) {
    if (typeof runUrl !== "string" || runUrl.length > 500 || !isHttpUrl(runUrl))
      return { ok: false, reason: `source.run_url ${quote(runUrl)} is not an http(s) URL` };
    source.runUrl = runUrl;
  }
  if (value.digest !== undefined) {
    if (typeof value.digest !== "string" || !DIGEST.test(value.digest))
      return { ok: false, reason: `source.digest ${quote(value.digest)} is not a sha256 digest` };
    source.digest = value.digest;
  }
  return { ok: true, value: source };
}

/**
 * An http(s) URL written out plainly: no credentials, and only characters a URL can carry
 * unescaped (no whitespace or control characters, which the URL parser would quietly drop, and
 * none of `<>"'\`{}|\\^`): it ends up in commit messages and PR bodies as written.
 */
function isHttpUrl(value: string): boolean {
  if (!/^[A-Za-z0-9\-._~:/?#[\]@!$&()*+,;=%]+$/.test(value)) return false;
  try {
    const url = new URL(value);
    return (url.protocol === "https:" || url.protocol === "http:") && !url.username && !url.password;
  } catch {
    return false;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function stringOrUndefined(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}
