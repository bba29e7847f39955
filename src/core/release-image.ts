// The image a strategy release (blue-green, canary) puts on its first Deployment: the service's
// own image repository with the requested tag or digest, never an older version than what serves.
import type { Config } from "./config.js";
import type { DeployRequest } from "./dispatch.js";
import { compareSemver, formatImageRef, parseImageRef } from "./image-ref.js";
import { quote } from "./names.js";

export type ReleaseImage =
  { ok: true; image: string } | { ok: false; code: "image-mismatch" | "older-version"; reason: string };

export function releaseImage(input: {
  config: Config;
  service: string;
  /** The image that serves now, and where (for the refusal), e.g. "the live slot (blue)". */
  serving: string | undefined;
  servingWhere: string;
  /** Says where no image is set, when neither the service nor its Deployments name one. */
  noImage: string;
  request: Pick<DeployRequest, "image" | "tag" | "digest">;
}): ReleaseImage {
  const { request } = input;
  const serving = input.serving ? parseImageRef(input.serving) : undefined;
  const repository = input.config.services[input.service]?.image ?? (serving?.ok ? serving.value.name : undefined);
  const wanted = request.image?.name;
  if (repository === undefined && wanted === undefined)
    return { ok: false, code: "image-mismatch", reason: `${input.noImage}; send the full image` };
  if (repository !== undefined && wanted !== undefined && wanted !== repository)
    return {
      ok: false,
      code: "image-mismatch",
      reason: `image ${quote(wanted)} is not this service's image; ${input.service} deploys ${quote(repository)}`,
    };
  const tag = request.image?.tag ?? request.tag;
  const image = formatImageRef({
    name: (repository ?? wanted) as string,
    tag,
    digest: request.image?.digest ?? request.digest,
  });
  const servingTag = serving?.ok ? serving.value.tag : undefined;
  const order = tag !== undefined && servingTag !== undefined ? compareSemver(tag, servingTag) : undefined;
  if (order !== undefined && order < 0)
    return {
      ok: false,
      code: "older-version",
      reason: `${image} is older than ${input.serving} on ${input.servingWhere}; an older version never replaces a newer one (send a rollback instead)`,
    };
  return { ok: true, image };
}

/** The tag (or digest) of an image, for PR titles. */
export const shortTag = (image: string) => image.slice(image.lastIndexOf("/") + 1).replace(/^[^:@]*[:@]/, "");
