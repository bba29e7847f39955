// `npm start`: the GitHub App server. With APP_ID, PRIVATE_KEY and WEBHOOK_SECRET set it serves
// webhooks (and /healthz, /readyz); without them Probot opens its setup flow, which registers the
// app from app.yml. Argo CD is read through KUBECONFIG / the in-cluster service account, or
// ARGOCD_SERVER + ARGOCD_TOKEN; without either, merges are not verified.
import { run } from "probot";
import { createConveyor, type ConveyorHandle } from "./app.js";
import { createArgoSource } from "./adapters/argo/create-source.js";

let handle: ConveyorHandle | undefined;
const argo = createArgoSource(process.env);
const tickMs = process.env.CONVEYOR_TICK_MS ? Number(process.env.CONVEYOR_TICK_MS) : undefined;
const server = await run(createConveyor({ argo, tickMs }, (h) => (handle = h)));

process.once("SIGTERM", () => {
  void (async () => {
    await handle?.stop();
    await server.stop();
    process.exit(0);
  })();
});
