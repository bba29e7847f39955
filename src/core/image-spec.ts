/**
 * The argument syntax of `kustomize edit set image`:
 *
 *   name:tag   name@digest   name:tag@digest
 *   name=newName   name=newName:tag   name=newName@digest   name=newName:tag@digest
 *
 * "*" in place of newName, tag or digest means "keep what the file has" (e.g. `app=*:v2`).
 * Unlike kustomize, every part is validated against the image reference grammar, so a typo is
 * reported here rather than written into the file. A bare `name` sets nothing and is rejected,
 * as kustomize does.
 *
 * The `name` being matched is checked only loosely: real files match placeholders such as
 * `gcr.io/PROJECT_ID/IMAGE` that are not valid references but are what the manifests contain.
 */
import { checkDigest, checkTag, parseImageName, quote, type ParseResult } from "./image-ref.js";

export const KEEP = "*";

export interface ImageChange {
  /** The `name` of the images entry to change or add; matched exactly. */
  name: string;
  newName?: string | typeof KEEP;
  newTag?: string | typeof KEEP;
  digest?: string | typeof KEEP;
}

/** The `name` of an images entry: any non-blank word a manifest's `image:` could start with. */
export function checkEntryName(name: string): ParseResult<string> {
  if (name.length === 0) return { ok: false, reason: "image name is empty" };
  if (name.length > 255) return { ok: false, reason: `image name ${quote(name)} is longer than 255 characters` };
  if (/[\s\p{Cc}@=]/u.test(name) || name === KEEP) {
    return { ok: false, reason: `image name ${quote(name)} may not contain whitespace, "@" or "=", or be "*"` };
  }
  return { ok: true, value: name };
}

export function parseImageSpec(spec: string): ParseResult<ImageChange> {
  const fail = (why: string): { ok: false; reason: string } => ({
    ok: false,
    reason: `image spec ${quote(spec)} ${why}`,
  });
  if (spec.trim().length === 0) return { ok: false, reason: "image spec is empty" };
  if (/\s/.test(spec)) return fail("contains whitespace");

  const parts = spec.split("=");
  if (parts.length > 2) return fail(`has more than one "="`);
  const [left = "", right] = parts;

  let name: string;
  let target: string;
  if (right === undefined) {
    target = left;
    name = "";
  } else {
    name = left;
    target = right;
    if (target.length === 0) return fail(`has nothing after "="`);
  }

  let rest = target;
  let digest: string | undefined;
  const at = rest.indexOf("@");
  if (at !== -1) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (digest !== KEEP) {
      const checked = checkDigest(digest);
      if (!checked.ok) return fail(`has an invalid digest: ${checked.reason}`);
    }
  }

  let newTag: string | undefined;
  const colon = rest.lastIndexOf(":");
  if (colon > rest.lastIndexOf("/")) {
    newTag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (newTag !== KEEP) {
      const checked = checkTag(newTag);
      if (!checked.ok) return fail(`has an invalid tag: ${checked.reason}`);
    }
  }

  let newName: string | undefined;
  if (right === undefined) {
    name = rest;
    if (newTag === undefined && digest === undefined) {
      return fail(`sets nothing: add ":<tag>", "@<digest>" or "=<newName>"`);
    }
  } else {
    if (rest.length === 0) return fail(`has no new name after "="; use "*" to keep the current one`);
    newName = rest;
    if (newName !== KEEP) {
      const checked = parseImageName(newName);
      if (!checked.ok) return fail(`has an invalid new name: ${checked.reason}`);
    }
  }

  if (name.length === 0) return fail("has no image name");
  const checkedName = checkEntryName(name);
  if (!checkedName.ok) return fail(`has an invalid image name: ${checkedName.reason}`);

  return {
    ok: true,
    value: {
      name,
      ...(newName !== undefined ? { newName } : {}),
      ...(newTag !== undefined ? { newTag } : {}),
      ...(digest !== undefined ? { digest } : {}),
    },
  };
}
