import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { parse as parseYaml } from "yaml";
import { clone, isObject, type Json, type JsonObject } from "./json.js";
import { applyJsonPatch, applyMergePatch, PatchError } from "./patch.js";
import { parseFieldSelector, parseLabelSelector } from "./selectors.js";
import { metadataOf, StoreError, type ObjectStore, type ResourceType, type StoredEvent } from "./store.js";

export interface KubeServerOptions {
  host?: string;
  port?: number;
  token: string;
  /** Read on every tick so tests can change it while watches are open. */
  bookmarkIntervalMs: () => number;
}

interface WatchConnection {
  res: ServerResponse;
  stalled: boolean;
  close(graceful: boolean): void;
}

const MAX_BODY = 3 * 1024 * 1024;

function status(code: number, reason: string, message: string, details?: JsonObject): JsonObject {
  const body: JsonObject = { kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message, reason, code };
  if (details) body.details = details;
  return body;
}

class HttpError extends Error {
  constructor(readonly body: JsonObject) {
    super(String(body.message));
  }
}

function fail(code: number, reason: string, message: string): never {
  throw new HttpError(status(code, reason, message));
}

/**
 * A Kubernetes-API-compatible HTTP server for namespaced custom resources kept in an ObjectStore:
 * discovery, list (with limit/continue), get, create, replace, merge/JSON patch, delete, and
 * chunked watch streams with replay, bookmarks and 410 Expired, behind bearer-token auth.
 */
export class KubeApiServer {
  private server: Server | undefined;
  private readonly watches = new Set<WatchConnection>();
  url = "";

  constructor(
    private readonly store: ObjectStore,
    private readonly options: KubeServerOptions,
  ) {}

  async start(): Promise<string> {
    const server = createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        if (res.headersSent) res.destroy();
        else send(res, 500, status(500, "InternalError", err instanceof Error ? err.message : String(err)));
      });
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.options.port ?? 0, this.options.host ?? "127.0.0.1", () => resolve());
    });
    const { address, port } = server.address() as AddressInfo;
    this.url = `http://${address}:${port}`;
    return this.url;
  }

  async close(): Promise<void> {
    for (const watch of [...this.watches]) watch.close(false);
    const server = this.server;
    if (!server) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  /** Breaks every open watch stream; graceful ends it cleanly (like a server-side timeout). */
  dropWatches(options: { graceful?: boolean } = {}): number {
    const open = [...this.watches];
    for (const watch of open) watch.close(options.graceful ?? false);
    return open.length;
  }

  /** Open watch streams stay connected but receive nothing more (no events, no bookmarks). */
  stallWatches(): number {
    let count = 0;
    for (const watch of this.watches) {
      if (!watch.stalled) count += 1;
      watch.stalled = true;
    }
    return count;
  }

  get openWatches(): number {
    return this.watches.size;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://localhost");
    const segments = url.pathname.split("/").filter(Boolean);
    try {
      if (["/healthz", "/livez", "/readyz"].includes(url.pathname)) {
        res.writeHead(200, { "Content-Type": "text/plain" }).end("ok");
        return;
      }
      if (req.headers.authorization !== `Bearer ${this.options.token}`) fail(401, "Unauthorized", "Unauthorized");
      if (url.pathname === "/version")
        return send(res, 200, { major: "1", minor: "30", gitVersion: "v1.30.0-argo-sim", platform: "linux/amd64" });
      if (url.pathname === "/api")
        return send(res, 200, { kind: "APIVersions", versions: ["v1"], serverAddressByClientCIDRs: [] });
      if (segments[0] !== "apis") fail(404, "NotFound", "the server could not find the requested resource");
      const groups = [...new Set(this.store.types.map((t) => `${t.group}/${t.version}`))];
      if (segments.length === 1) return send(res, 200, this.groupList(groups));
      if (segments.length === 2) {
        const group = this.groupList(groups).groups;
        const found = Array.isArray(group) ? group.find((g) => isObject(g) && g.name === segments[1]) : undefined;
        if (!isObject(found)) fail(404, "NotFound", "the server could not find the requested resource");
        return send(res, 200, { kind: "APIGroup", apiVersion: "v1", ...found });
      }
      const [, group, version, ...rest] = segments;
      const served = this.store.types.filter((t) => t.group === group && t.version === version);
      if (served.length === 0) fail(404, "NotFound", "the server could not find the requested resource");
      if (rest.length === 0) return send(res, 200, this.resourceList(`${group}/${version}`, served));
      let namespace: string | undefined;
      let tail = rest;
      if (rest[0] === "namespaces" && rest.length >= 3) {
        namespace = rest[1];
        tail = rest.slice(2);
      }
      const [plural, name, subresource, ...extra] = tail;
      const type = served.find((t) => t.plural === plural);
      if (
        !type ||
        extra.length > 0 ||
        (subresource !== undefined && (subresource !== "status" || !type.statusSubresource))
      ) {
        fail(404, "NotFound", "the server could not find the requested resource");
      }
      const method = req.method ?? "GET";
      if (name === undefined) {
        if (method === "GET") {
          const watch = url.searchParams.get("watch");
          if (watch === "true" || watch === "1") return this.watch(res, type, namespace, url.searchParams);
          return send(res, 200, this.list(type, namespace, url.searchParams));
        }
        if (method === "POST" && namespace !== undefined) {
          const body = await readJson(req);
          if (!isObject(body)) fail(400, "BadRequest", "body must be a JSON object");
          const metadata = isObject(body.metadata) ? body.metadata : (body.metadata = {});
          metadata.namespace ??= namespace;
          if (metadata.namespace !== namespace)
            fail(
              400,
              "BadRequest",
              "the namespace of the provided object does not match the namespace sent on the request",
            );
          return send(res, 201, this.store.create(type.plural, body, "api"));
        }
        fail(405, "MethodNotAllowed", `the server does not allow this method on the requested resource`);
      }
      if (namespace === undefined) fail(404, "NotFound", "the server could not find the requested resource");
      return await this.object(req, res, type, namespace, name, subresource === "status");
    } catch (err) {
      if (err instanceof HttpError) return send(res, Number(err.body.code), err.body);
      if (err instanceof StoreError) return send(res, err.code, status(err.code, err.reason, err.message));
      throw err;
    }
  }

  private groupList(groups: string[]): JsonObject {
    return {
      kind: "APIGroupList",
      apiVersion: "v1",
      groups: groups.map((gv) => {
        const [name = "", version = ""] = gv.split("/");
        const entry = { groupVersion: gv, version };
        return { name, versions: [entry], preferredVersion: entry };
      }),
    };
  }

  private resourceList(groupVersion: string, types: ResourceType[]): JsonObject {
    const resources: Json[] = [];
    for (const t of types) {
      resources.push({
        name: t.plural,
        singularName: t.singular,
        namespaced: true,
        kind: t.kind,
        verbs: ["delete", "deletecollection", "get", "list", "patch", "create", "update", "watch"],
        shortNames: t.shortNames,
        storageVersionHash: "",
      });
      if (t.statusSubresource)
        resources.push({
          name: `${t.plural}/status`,
          singularName: "",
          namespaced: true,
          kind: t.kind,
          verbs: ["get", "patch", "update"],
        });
    }
    return { kind: "APIResourceList", apiVersion: "v1", groupVersion, resources };
  }

  private filter(
    type: ResourceType,
    namespace: string | undefined,
    params: URLSearchParams,
  ): (o: JsonObject) => boolean {
    let byLabel: (o: JsonObject) => boolean = () => true;
    let byField: (o: JsonObject) => boolean = () => true;
    const labelSelector = params.get("labelSelector");
    const fieldSelector = params.get("fieldSelector");
    if (labelSelector) byLabel = parseLabelSelector(labelSelector);
    try {
      if (fieldSelector) byField = parseFieldSelector(fieldSelector);
    } catch (err) {
      fail(400, "BadRequest", err instanceof Error ? err.message : String(err));
    }
    return (o) => (namespace === undefined || metadataOf(o).namespace === namespace) && byLabel(o) && byField(o);
  }

  private list(type: ResourceType, namespace: string | undefined, params: URLSearchParams): JsonObject {
    const matches = this.filter(type, namespace, params);
    // Only the page is copied: a paged list of 10,000 objects must not copy all of them for each page.
    let items = this.store.view(type.plural, namespace).filter(matches);
    let listRevision = this.store.resourceVersion;
    const token = params.get("continue");
    if (token) {
      let decoded: { rv?: unknown; start?: unknown };
      try {
        decoded = JSON.parse(Buffer.from(token, "base64").toString("utf8")) as { rv?: unknown; start?: unknown };
      } catch {
        fail(
          400,
          "BadRequest",
          "continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)",
        );
      }
      if (typeof decoded.rv !== "number" || typeof decoded.start !== "string")
        fail(400, "BadRequest", "continue key is not valid");
      if (decoded.rv < this.store.oldestReplayableRevision) {
        fail(
          410,
          "Expired",
          "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.",
        );
      }
      listRevision = decoded.rv;
      const start = decoded.start;
      items = items.filter((o) => objectKey(o) >= start);
    }
    const metadata: JsonObject = { resourceVersion: String(listRevision) };
    const limit = Number(params.get("limit") ?? 0);
    if (limit > 0 && items.length > limit) {
      const next = items[limit];
      if (next)
        metadata.continue = Buffer.from(JSON.stringify({ rv: listRevision, start: objectKey(next) })).toString(
          "base64",
        );
      metadata.remainingItemCount = items.length - limit;
      items = items.slice(0, limit);
    }
    return { apiVersion: `${type.group}/${type.version}`, kind: type.listKind, metadata, items: items.map(clone) };
  }

  private watch(res: ServerResponse, type: ResourceType, namespace: string | undefined, params: URLSearchParams): void {
    const matches = this.filter(type, namespace, params);
    const requested = params.get("resourceVersion");
    const bookmarks = params.get("allowWatchBookmarks") === "true";
    const timeoutSeconds = Number(params.get("timeoutSeconds") ?? 0);
    res.writeHead(200, { "Content-Type": "application/json", "Cache-Control": "no-cache, private" });
    res.flushHeaders();
    res.socket?.setNoDelay(true);

    const timers: NodeJS.Timeout[] = [];
    let unsubscribe: () => void = () => undefined;
    const connection: WatchConnection = {
      res,
      stalled: false,
      close: (graceful) => {
        cleanup();
        if (graceful) res.end();
        else res.destroy();
      },
    };
    const cleanup = (): void => {
      timers.forEach((t) => clearTimeout(t));
      unsubscribe();
      this.watches.delete(connection);
    };
    const write = (type: string, object: JsonObject): void => {
      if (!connection.stalled && !res.writableEnded && !res.destroyed)
        res.write(`${JSON.stringify({ type, object })}\n`);
    };
    const deliver = (event: StoredEvent): void => {
      if (event.plural === type.plural && matches(event.object)) write(event.type, event.object);
    };

    if (requested === null || requested === "" || requested === "0") {
      for (const object of this.store.list(type.plural, namespace).filter(matches)) write("ADDED", object);
    } else {
      const since = Number(requested);
      const replay = Number.isInteger(since) ? this.store.eventsSince(since) : "expired";
      if (replay === "expired") {
        write(
          "ERROR",
          status(410, "Expired", `too old resource version: ${requested} (${this.store.oldestReplayableRevision})`),
        );
        res.end();
        return;
      }
      replay.forEach(deliver);
    }
    this.watches.add(connection);
    unsubscribe = this.store.subscribe((event) => deliver(event));
    res.on("close", cleanup);

    if (bookmarks) {
      const tick = (): void => {
        write("BOOKMARK", {
          kind: type.kind,
          apiVersion: `${type.group}/${type.version}`,
          metadata: { resourceVersion: String(this.store.resourceVersion) },
        });
        timers.push(setTimeout(tick, Math.max(5, this.options.bookmarkIntervalMs())));
      };
      timers.push(setTimeout(tick, Math.max(5, this.options.bookmarkIntervalMs())));
    }
    if (timeoutSeconds > 0) timers.push(setTimeout(() => connection.close(true), timeoutSeconds * 1000));
  }

  private async object(
    req: IncomingMessage,
    res: ServerResponse,
    type: ResourceType,
    namespace: string,
    name: string,
    statusOnly: boolean,
  ): Promise<void> {
    const method = req.method ?? "GET";
    const notFound = (): never => {
      throw new HttpError(
        status(404, "NotFound", `${type.plural}.${type.group} "${name}" not found`, {
          name,
          group: type.group,
          kind: type.plural,
        }),
      );
    };
    const current = this.store.get(type.plural, namespace, name) ?? notFound();
    if (method === "GET") return send(res, 200, current);
    if (method === "DELETE") return send(res, 200, this.store.delete(type.plural, namespace, name, "api"));
    if (method !== "PUT" && method !== "PATCH")
      fail(405, "MethodNotAllowed", "the server does not allow this method on the requested resource");

    const body = await readBody(req);
    let next: Json;
    let precondition: string | undefined;
    if (method === "PUT") {
      next = parseJson(body);
      if (!isObject(next)) fail(400, "BadRequest", "body must be a JSON object");
      const rv = isObject(next.metadata) ? next.metadata.resourceVersion : undefined;
      if (typeof rv === "string" && rv !== "") precondition = rv;
    } else {
      const contentType = (req.headers["content-type"] ?? "").split(";")[0]?.trim();
      try {
        if (contentType === "application/merge-patch+json") {
          const patch = parseJson(body);
          const rv = isObject(patch) && isObject(patch.metadata) ? patch.metadata.resourceVersion : undefined;
          if (typeof rv === "string") precondition = rv;
          next = applyMergePatch(current, patch);
        } else if (contentType === "application/json-patch+json") {
          next = applyJsonPatch(current, parseJson(body));
        } else if (contentType === "application/apply-patch+yaml") {
          // Server-side apply approximated as a merge of the applied configuration.
          next = applyMergePatch(current, parseYaml(body) as Json);
        } else if (contentType === "application/strategic-merge-patch+json") {
          fail(415, "UnsupportedMediaType", "strategic merge patch is not supported for custom resources");
        } else {
          fail(
            415,
            "UnsupportedMediaType",
            `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml`,
          );
        }
      } catch (err) {
        if (err instanceof PatchError) fail(422, "Invalid", err.message);
        throw err;
      }
    }
    if (!isObject(next)) fail(422, "Invalid", "the patched object is not a JSON object");
    const meta = isObject(next.metadata) ? next.metadata : (next.metadata = {});
    if (meta.name !== undefined && meta.name !== name)
      fail(400, "BadRequest", "the name of the object does not match the name on the URL");
    if (meta.namespace !== undefined && meta.namespace !== namespace)
      fail(400, "BadRequest", "the namespace of the object does not match the namespace on the URL");
    meta.name = name;
    meta.namespace = namespace;
    if (type.statusSubresource) {
      // Status and spec are written through different endpoints when a status subresource exists.
      if (statusOnly) next = { ...current, status: next.status ?? null };
      else if (current.status !== undefined) next.status = current.status;
      else delete next.status;
      if (!isObject(next)) fail(422, "Invalid", "invalid object");
    }
    send(res, 200, this.store.update(type.plural, next, "api", precondition));
  }
}

function objectKey(o: JsonObject): string {
  const m = metadataOf(o);
  return `${String(m.namespace)}/${String(m.name)}`;
}

function send(res: ServerResponse, code: number, body: JsonObject): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(text) });
  res.end(text);
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > MAX_BODY) fail(413, "RequestEntityTooLarge", "request entity too large");
    chunks.push(buf);
  }
  return Buffer.concat(chunks).toString("utf8");
}

async function readJson(req: IncomingMessage): Promise<Json> {
  return parseJson(await readBody(req));
}

function parseJson(text: string): Json {
  try {
    return JSON.parse(text) as Json;
  } catch {
    fail(400, "BadRequest", "the request body is not valid JSON");
  }
}
