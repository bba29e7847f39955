import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { ArgoSim } from "./controller.js";
import { clone, isObject, type JsonObject } from "./json.js";
import { rolloutHealth } from "./objects.js";
import { activeProjectWindows } from "./sync-windows.js";

/**
 * The slice of the Argo CD API server (v3) Conveyor uses, served on top of a running ArgoSim:
 * list, get (with ?refresh=), the application event stream, the resource tree and a live
 * resource's manifest, a project and its active sync windows, behind a bearer token. Like Argo CD 3 by default, per-resource health is
 * not kept on the Application (status.resources[].health); the resource tree carries it.
 */
export interface ArgoApiServerOptions {
  host?: string;
  port?: number;
  token: string;
  /** Keep status.resources[].health on served Applications (Argo CD 2.x behaviour). Default false. */
  resourceHealthInApp?: boolean;
}

export interface ArgoApiServer {
  url: string;
  token: string;
  close(): Promise<void>;
  /** Breaks every open event stream (abruptly unless graceful). Returns how many. */
  dropStreams(options?: { graceful?: boolean }): number;
  /** Open streams stay connected but receive nothing more. Returns how many. */
  stallStreams(): number;
  readonly openStreams: number;
  /** Requests served, by route (list, get, refresh, stream, resource-tree, resource, project, syncwindows), for tests. */
  readonly requests: Record<string, number>;
}

interface Stream {
  res: ServerResponse;
  stalled: boolean;
  close(graceful: boolean): void;
}

class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly grpcCode: number,
    message: string,
  ) {
    super(message);
  }
}

const REFRESH_ANNOTATION = "argocd.argoproj.io/refresh";

export async function startArgoApiServer(sim: ArgoSim, options: ArgoApiServerOptions): Promise<ArgoApiServer> {
  const streams = new Set<Stream>();
  const requests: Record<string, number> = {};
  const count = (route: string): void => {
    requests[route] = (requests[route] ?? 0) + 1;
  };

  const served = (app: JsonObject): JsonObject => {
    const copy = clone(app);
    if (!options.resourceHealthInApp && isObject(copy.status) && Array.isArray(copy.status.resources)) {
      for (const r of copy.status.resources) if (isObject(r)) delete r.health;
    }
    return copy;
  };

  const appOrThrow = (name: string, appNamespace: string | null): JsonObject => {
    const app = appNamespace && appNamespace !== sim.namespace ? undefined : sim.get(name);
    if (!app) throw new ApiError(404, 5, `applications.argoproj.io "${name}" not found`);
    return app as unknown as JsonObject;
  };

  const liveRollout = (appName: string, namespace: string | null, name: string | null): JsonObject | undefined => {
    const rollout = sim.getRollout(appName) as unknown as JsonObject | undefined;
    const meta = rollout && isObject(rollout.metadata) ? rollout.metadata : undefined;
    return meta && meta.name === name && (namespace === null || meta.namespace === namespace) ? rollout : undefined;
  };

  const tree = (app: JsonObject): JsonObject => {
    const name = isObject(app.metadata) ? String(app.metadata.name) : "";
    const resources =
      isObject(app.status) && Array.isArray(app.status.resources) ? app.status.resources.filter(isObject) : [];
    const nodes = resources.map((r) => {
      const node: JsonObject = {
        group: r.group ?? "",
        version: r.version ?? "",
        kind: r.kind ?? "",
        namespace: r.namespace ?? "",
        name: r.name ?? "",
      };
      const live =
        r.kind === "Rollout" ? liveRollout(name, String(r.namespace ?? ""), String(r.name ?? "")) : undefined;
      if (live && isObject(live.metadata)) {
        node.uid = live.metadata.uid ?? null;
        node.resourceVersion = live.metadata.resourceVersion ?? null;
        const health = rolloutHealth(live);
        node.health = health.message ? { status: health.status, message: health.message } : { status: health.status };
        const images =
          isObject(live.spec) &&
          isObject(live.spec.template) &&
          isObject(live.spec.template.spec) &&
          Array.isArray(live.spec.template.spec.containers)
            ? live.spec.template.spec.containers.filter(isObject).map((c) => c.image ?? null)
            : [];
        node.images = images;
      } else if (isObject(r.health)) {
        node.health = clone(r.health);
      }
      return node;
    });
    return { nodes };
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? "/", "http://localhost");
    const parts = url.pathname.split("/").filter(Boolean).map(decodeURIComponent);
    if (url.pathname === "/healthz") {
      res.writeHead(200, { "Content-Type": "text/plain" }).end("ok");
      return;
    }
    if (req.headers.authorization !== `Bearer ${options.token}`) throw new ApiError(401, 16, "no session information");
    if ((req.method ?? "GET") !== "GET") throw new ApiError(405, 12, "method not allowed");
    const appNamespace = url.searchParams.get("appNamespace");
    if (parts[0] !== "api" || parts[1] !== "v1") throw new ApiError(404, 5, "Not Found");
    const rest = parts.slice(2);

    if (rest.length === 2 && rest[0] === "stream" && rest[1] === "applications") {
      count("stream");
      return openStream(res, url.searchParams);
    }
    if (rest[0] === "projects" && rest.length >= 2 && rest.length <= 3) {
      // server/project/project.go: Get returns the AppProject; GetSyncWindowsState the windows
      // active now (SyncWindows.Active()), as {"windows": [...]}.
      const project = sim.project(rest[1] ?? "");
      if (!project) throw new ApiError(404, 5, `appprojects.argoproj.io "${rest[1] ?? ""}" not found`);
      if (rest.length === 2) {
        count("project");
        return send(res, 200, project);
      }
      if (rest[2] === "syncwindows") {
        count("syncwindows");
        return send(res, 200, { windows: activeProjectWindows(project, Date.now()) });
      }
      throw new ApiError(404, 5, "Not Found");
    }
    if (rest[0] !== "applications") throw new ApiError(404, 5, "Not Found");
    if (rest.length === 1) {
      count("list");
      const items =
        appNamespace && appNamespace !== sim.namespace ? [] : sim.list().map((a) => served(a as unknown as JsonObject));
      const selected = url.searchParams.get("name");
      return send(res, 200, {
        metadata: { resourceVersion: sim.resourceVersion },
        items: selected ? items.filter((a) => isObject(a.metadata) && a.metadata.name === selected) : items,
      });
    }
    const name = rest[1] ?? "";
    if (rest.length === 2) {
      const refresh = url.searchParams.get("refresh");
      appOrThrow(name, appNamespace);
      if (refresh === "normal" || refresh === "hard") {
        count("refresh");
        // Like Argo CD: ask for the refresh, then answer once the controller has done it.
        sim.refresh(name, refresh);
        const app = await sim.waitFor(name, (a) => a.metadata.annotations?.[REFRESH_ANNOTATION] === undefined, 30_000);
        return send(res, 200, served(app as unknown as JsonObject));
      }
      count("get");
      return send(res, 200, served(appOrThrow(name, appNamespace)));
    }
    if (rest.length === 3 && rest[2] === "resource-tree") {
      count("resource-tree");
      return send(res, 200, tree(appOrThrow(name, appNamespace)));
    }
    if (rest.length === 3 && rest[2] === "resource") {
      count("resource");
      appOrThrow(name, appNamespace);
      const kind = url.searchParams.get("kind");
      const live =
        kind === "Rollout"
          ? liveRollout(name, url.searchParams.get("namespace"), url.searchParams.get("resourceName"))
          : undefined;
      if (!live)
        throw new ApiError(
          404,
          5,
          `${kind ?? "resource"} "${url.searchParams.get("resourceName") ?? ""}" not found as part of application ${name}`,
        );
      return send(res, 200, { manifest: JSON.stringify(live) });
    }
    throw new ApiError(404, 5, "Not Found");
  };

  const openStream = (res: ServerResponse, params: URLSearchParams): void => {
    const onlyName = params.get("name");
    const appNamespace = params.get("appNamespace");
    const wrongNamespace = appNamespace !== null && appNamespace !== "" && appNamespace !== sim.namespace;
    res.writeHead(200, { "Content-Type": "application/json", "Cache-Control": "no-cache" });
    res.flushHeaders();
    res.socket?.setNoDelay(true);
    const stream: Stream = {
      res,
      stalled: false,
      close: (graceful) => {
        cleanup();
        if (graceful) res.end();
        else res.destroy();
      },
    };
    const write = (type: string, app: JsonObject): void => {
      const name = isObject(app.metadata) ? app.metadata.name : undefined;
      if (stream.stalled || wrongNamespace || (onlyName && name !== onlyName) || res.writableEnded || res.destroyed)
        return;
      res.write(`${JSON.stringify({ result: { type, application: served(app) } })}\n`);
    };
    // Argo CD sends every matching app first, unless the client says which version it has.
    if (!params.get("resourceVersion")) for (const app of sim.list()) write("ADDED", app as unknown as JsonObject);
    const off = sim.on("watch-event", (event) => {
      if (event.resource === "applications") write(event.type, event.object);
    });
    const cleanup = (): void => {
      off();
      streams.delete(stream);
    };
    streams.add(stream);
    res.on("close", cleanup);
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      const status = err instanceof ApiError ? err.status : 500;
      const message = err instanceof Error ? err.message : String(err);
      send(res, status, { error: message, code: err instanceof ApiError ? err.grpcCode : 2, message });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => resolve());
  });
  const { address, port } = server.address() as AddressInfo;

  return {
    url: `http://${address}:${port}`,
    token: options.token,
    requests,
    get openStreams() {
      return streams.size;
    },
    dropStreams(drop = {}) {
      const open = [...streams];
      for (const s of open) s.close(drop.graceful ?? false);
      return open.length;
    },
    stallStreams() {
      let n = 0;
      for (const s of streams) {
        if (!s.stalled) n += 1;
        s.stalled = true;
      }
      return n;
    },
    async close() {
      for (const s of [...streams]) s.close(false);
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

function send(res: ServerResponse, status: number, body: JsonObject): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(text) });
  res.end(text);
}
