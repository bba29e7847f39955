// /healthz: the process is alive. /readyz: start-up finished (first Argo CD list loaded,
// in-progress verifications resumed) and GitHub accepts the app's credentials.
import type { IncomingMessage, ServerResponse } from "node:http";

export interface ReadinessProbe {
  started(): boolean;
  /** Checks GitHub auth; cached by the caller so probes stay cheap. */
  github(): Promise<boolean>;
}

export function healthHandler(probe: ReadinessProbe) {
  let lastOk = 0;
  return async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    if (req.method !== "GET") return false;
    const path = (req.url ?? "").split("?")[0];
    if (path === "/healthz") {
      res.writeHead(200, { "content-type": "text/plain" }).end("ok");
      return true;
    }
    if (path !== "/readyz") return false;
    let problem: string | undefined;
    if (!probe.started()) problem = "starting";
    else if (Date.now() - lastOk > 30_000) {
      if (await probe.github().catch(() => false)) lastOk = Date.now();
      else problem = "GitHub rejected the app's credentials or is unreachable";
    }
    res.writeHead(problem ? 503 : 200, { "content-type": "text/plain" }).end(problem ?? "ready");
    return true;
  };
}
