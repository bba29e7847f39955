/**
 * OCI image references ("registry:5000/team/app:1.2.3@sha256:..."), following the grammar of the
 * distribution reference package, except that a digest must be sha256. Pure: no I/O, no node
 * built-ins.
 *
 * Every failure carries a short reason that quotes the offending part, because these reasons end
 * up verbatim in PR comments and CLI errors.
 */
import semver from "semver";

export interface ImageRef {
  /** Registry host (with port), present only when the first path component looks like a host. */
  registry?: string;
  /** Path without the registry, e.g. "team/app". */
  repository: string;
  /** registry + "/" + repository, or repository when there is no registry, exactly as written. */
  name: string;
  tag?: string;
  digest?: string;
}

export type ParseResult<T> = { ok: true; value: T } | { ok: false; reason: string };

const MAX_INPUT_LENGTH = 512;
const MAX_NAME_LENGTH = 255;
const MAX_TAG_LENGTH = 128;

const PATH_COMPONENT = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*$/;
const DOMAIN_COMPONENT = /^(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])$/;
const TAG = /^\w[\w.-]*$/;
const DIGEST = /^([a-z0-9]+(?:[+._-][a-z0-9]+)*):([a-zA-Z0-9=_-]+)$/;
/**
 * The one digest algorithm Conveyor accepts (README: "a `sha256:` digest"). The OCI grammar allows
 * others (sha512, unregistered ones), but every image Conveyor reads a version from can end up in
 * an overlay it writes, and a digest nobody else in the pipeline checks is no pin at all.
 */
const DIGEST_ALGORITHM = "sha256";
const DIGEST_HEX_LENGTH = 64;

/** Quote a user-supplied fragment for an error message, shortening very long ones. */
export function quote(part: string): string {
  const shown = part.length > 40 ? `${part.slice(0, 37)}...` : part;
  return JSON.stringify(shown);
}

const fail = (reason: string): { ok: false; reason: string } => ({ ok: false, reason });

export function parseImageRef(input: string): ParseResult<ImageRef> {
  if (input.length === 0) return fail("image reference is empty");
  if (input.length > MAX_INPUT_LENGTH) {
    return fail(`image reference ${quote(input)} is longer than ${MAX_INPUT_LENGTH} characters`);
  }
  if (/\s/.test(input)) return fail(`image reference ${quote(input)} contains whitespace`);

  let rest = input;
  let digest: string | undefined;
  const at = rest.indexOf("@");
  if (at !== -1) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    const checked = checkDigest(digest);
    if (!checked.ok) return checked;
  }

  let tag: string | undefined;
  const colon = rest.lastIndexOf(":");
  if (colon > rest.lastIndexOf("/")) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    const checked = checkTag(tag);
    if (!checked.ok) return checked;
  }

  const name = parseImageName(rest);
  if (!name.ok) return name;
  return {
    ok: true,
    value: {
      ...name.value,
      ...(tag !== undefined ? { tag } : {}),
      ...(digest !== undefined ? { digest } : {}),
    },
  };
}

/** Parse an image name with no tag or digest ("registry/path"). */
export function parseImageName(input: string): ParseResult<{ registry?: string; repository: string; name: string }> {
  if (input.length === 0) return fail("image name is empty");
  if (/\s/.test(input)) return fail(`image name ${quote(input)} contains whitespace`);
  if (input.length > MAX_NAME_LENGTH) {
    return fail(`image name ${quote(input)} is longer than ${MAX_NAME_LENGTH} characters`);
  }

  const slash = input.indexOf("/");
  const first = slash === -1 ? input : input.slice(0, slash);
  const hasRegistry = slash !== -1 && (first.includes(".") || first.includes(":") || first === "localhost");
  const registry = hasRegistry ? first : undefined;
  const repository = hasRegistry ? input.slice(slash + 1) : input;

  if (registry !== undefined) {
    const checked = checkRegistry(registry);
    if (!checked.ok) return checked;
  }
  if (repository.length === 0) return fail(`image name ${quote(input)} has no repository path`);
  if (/[A-Z]/.test(repository)) return fail(`repository ${quote(repository)} must be lowercase`);
  for (const component of repository.split("/")) {
    if (component.length === 0) return fail(`repository ${quote(repository)} has an empty path component`);
    if (!PATH_COMPONENT.test(component)) {
      return fail(
        `path component ${quote(component)} is invalid: use lowercase letters and digits separated by ".", "_", "__" or "-"`,
      );
    }
  }
  return { ok: true, value: { ...(registry !== undefined ? { registry } : {}), repository, name: input } };
}

export function checkTag(tag: string): ParseResult<string> {
  if (tag.length === 0) return fail("tag is empty");
  if (tag.length > MAX_TAG_LENGTH) return fail(`tag ${quote(tag)} is longer than ${MAX_TAG_LENGTH} characters`);
  if (!TAG.test(tag)) {
    return fail(`tag ${quote(tag)} is invalid: use letters, digits, "_", "." and "-", not starting with "." or "-"`);
  }
  return { ok: true, value: tag };
}

export function checkDigest(digest: string): ParseResult<string> {
  if (digest.length === 0) return fail("digest is empty");
  const match = DIGEST.exec(digest);
  if (!match) return fail(`digest ${quote(digest)} is invalid: expected "<algorithm>:<hex>", e.g. "sha256:..."`);
  const algorithm = match[1] ?? "";
  const encoded = match[2] ?? "";
  if (algorithm !== DIGEST_ALGORITHM) {
    return fail(`digest ${quote(digest)} uses ${quote(algorithm)}: only ${DIGEST_ALGORITHM} digests are supported`);
  }
  if (encoded.length !== DIGEST_HEX_LENGTH || !/^[a-f0-9]+$/.test(encoded)) {
    return fail(
      `digest ${quote(digest)} is invalid: ${DIGEST_ALGORITHM} needs exactly ${DIGEST_HEX_LENGTH} lowercase hex characters`,
    );
  }
  return { ok: true, value: digest };
}

function checkRegistry(registry: string): ParseResult<string> {
  let host = registry;
  let port: string | undefined;
  if (registry.startsWith("[")) {
    const close = registry.indexOf("]");
    if (close === -1) return fail(`registry ${quote(registry)} has an unclosed "["`);
    host = registry.slice(0, close + 1);
    const after = registry.slice(close + 1);
    if (after.length > 0) {
      if (!after.startsWith(":")) return fail(`registry ${quote(registry)} is invalid`);
      port = after.slice(1);
    }
    if (!isIPv6(host.slice(1, -1))) return fail(`registry ${quote(registry)} has an invalid IPv6 address`);
  } else {
    const colon = registry.indexOf(":");
    if (colon !== -1) {
      host = registry.slice(0, colon);
      port = registry.slice(colon + 1);
    }
    const components = host.split(".");
    if (components.some((component) => !DOMAIN_COMPONENT.test(component))) {
      return fail(`registry ${quote(registry)} is not a valid host name`);
    }
  }
  if (port !== undefined) {
    if (!/^[0-9]+$/.test(port)) return fail(`registry port ${quote(port)} must be a number`);
    const value = Number(port);
    if (value < 1 || value > 65535) return fail(`registry port ${quote(port)} is out of range`);
  }
  return { ok: true, value: registry };
}

function isIPv6(address: string): boolean {
  if (!/^[0-9a-fA-F:.]+$/.test(address)) return false;
  const halves = address.split("::");
  if (halves.length > 2) return false;
  const groupsOf = (part: string): string[] => (part.length === 0 ? [] : part.split(":"));
  const groups = halves.flatMap(groupsOf);
  let count = 0;
  for (const [index, group] of groups.entries()) {
    if (group.includes(".")) {
      // An embedded IPv4 address may only be the last group and counts as two.
      if (index !== groups.length - 1 || !isIPv4(group)) return false;
      count += 2;
    } else {
      if (!/^[0-9a-fA-F]{1,4}$/.test(group)) return false;
      count += 1;
    }
  }
  return halves.length === 2 ? count < 8 : count === 8;
}

function isIPv4(address: string): boolean {
  const parts = address.split(".");
  return parts.length === 4 && parts.every((part) => /^(?:0|[1-9][0-9]{0,2})$/.test(part) && Number(part) <= 255);
}

export function formatImageRef(ref: { name: string; tag?: string; digest?: string }): string {
  return `${ref.name}${ref.tag !== undefined ? `:${ref.tag}` : ""}${ref.digest !== undefined ? `@${ref.digest}` : ""}`;
}

/**
 * Semver 2.0 precedence, by the `semver` package: -1, 0 or 1; undefined when either side is not a
 * strict semver version (numbers past 2^53 included). A leading "v" is allowed because most image
 * tags carry one. Build metadata does not affect precedence.
 */
export function compareSemver(a: string, b: string): number | undefined {
  const left = semverOf(a);
  const right = semverOf(b);
  if (!left || !right) return undefined;
  return semver.compare(left, right);
}

function semverOf(tag: string): semver.SemVer | undefined {
  // One leading "v" (or "V"); the package would also take "=" and whitespace, which tags cannot hold.
  if (!/^[vV]?[0-9]/.test(tag)) return undefined;
  return semver.parse(tag.replace(/^[vV]/, "")) ?? undefined;
}
