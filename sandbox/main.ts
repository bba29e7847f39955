// `npm run sandbox`: a local GitHub, a simulated Argo CD and the real Conveyor server, with a
// narrated demo. `--no-demo` starts the world without the scenario; `--json` prints one line of
// connection details when ready, for scripts. Conveyor is restarted when it crashes, as a
// Deployment would: kill `appPid` and it is back a second later (said on stderr with --json).
import { runScenario } from "./scenario.js";
import { DEMO_CONFIG, OWNER, REPO, startWorld } from "./world.js";

const args = new Set(process.argv.slice(2));
const json = args.has("--json");
const demo = !args.has("--no-demo");
const say = (text: string) => {
  if (!json) console.log(text);
};

say("Starting a local GitHub (forge), a simulated Argo CD and Conveyor...");
const world = await startWorld({
  config: DEMO_CONFIG,
  leaderElection: true,
  serviceRepos: true,
  onSupervisorLog: (line) => (json ? console.error(line) : console.log(`  [supervisor] ${line}`)),
});
const details = {
  apiUrl: world.forge.url,
  gitUrl: world.forge.gitUrl(OWNER, REPO),
  webhookUrl: world.webhookUrl,
  tokens: world.tokens,
  repo: `${OWNER}/${REPO}`,
  kubeconfig: world.kubeconfig,
  appUrl: world.appUrl,
  appPid: world.appPid(),
  serviceRepos: Object.values(world.serviceRepos).map((r) => r.repository),
  dashboardUrl: world.dashboardUrl,
};
if (json) console.log(JSON.stringify(details));
else {
  say(
    `  GitHub API   ${details.apiUrl}   (tokens: admin ${details.tokens.admin}, reviewer ${details.tokens.reviewer}, outsider ${details.tokens.outsider})`,
  );
  say(`  manifests    ${details.gitUrl}`);
  say(`  services     ${details.serviceRepos.join(", ")}   (each with a history of commits and merged PRs)`);
  say(
    `  Conveyor     ${details.appUrl}   (webhooks at ${details.webhookUrl}; pid ${details.appPid}, restarted if it crashes)`,
  );
  say(`  Dashboard    ${details.dashboardUrl}   one-click sign-in:`);
  for (const user of ["reviewer", "admin", "outsider"])
    say(`               ${user.padEnd(9)} ${world.signInUrl(user)}`);
  say(`  Argo CD      ${world.argo.url}   (kubeconfig ${details.kubeconfig})`);
  say(
    `               curl -s -H "Authorization: Bearer ${world.argo.token}" ${world.argo.url}/apis/argoproj.io/v1alpha1/namespaces/argocd/applications`,
  );
  say("");
}

const shutdown = async () => {
  await world.close();
  process.exit(0);
};
process.once("SIGINT", () => void shutdown());
process.once("SIGTERM", () => void shutdown());

if (demo) {
  try {
    await runScenario(world, say);
  } catch (error) {
    console.error(`The demo did not finish: ${error instanceof Error ? error.message : String(error)}`);
    console.error(world.appLog().slice(-3000));
  }
}
say("");
say("The world keeps running until Ctrl-C. Send another deploy event, as a service's CI would:");
say(
  `  curl -sS -X POST -H "Authorization: Bearer ${world.tokens.admin}" ${world.forge.url}/repos/${OWNER}/${REPO}/dispatches \\\n` +
    `    -d '{"event_type":"deploy-user-service","client_payload":{"image":"ghcr.io/acme/user-service:2.0.0"}}'`,
);
