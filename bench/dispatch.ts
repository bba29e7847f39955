// Benchmark 1: repository_dispatch -> PR, side by side with the floor any git-based PR bot pays on
// the same transport (a warm clone: fetch, edit, commit, push, one pulls.create), on two repos:
// the sandbox's seed repository and a generated one (1,000 services x 3 environments, 5,000
// commits). A fresh `clone --depth 1` per event (a CI step) is kept as a second reference.
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ForgeRequest } from "../sandbox/forge/index.js";
import { ENVIRONMENTS, SERVICES, startWorld, type World } from "../sandbox/world.js";
import { GIT_ENV, load1m, log, machine, run, summary, table, writeResult } from "./lib/common.js";
import { WarmFloor, type FloorSample } from "./lib/floor.js";
import { imageOf, overlayDir, serviceName } from "./lib/repo.js";
import {
  BENCH_CONFIG,
  BOT,
  closeWorld,
  conveyorRevision,
  dispatch,
  isBotApi,
  OWNER,
  prOpened,
  quiescent,
  REPO,
  runsBuilt,
  settled,
  startGeneratedWorld,
} from "./lib/world.js";

export interface DispatchParams {
  services: number;
  envs: string[];
  commits: number;
  /** Measured pairs (Conveyor, then the floor) on the generated repo, after one warm-up each. */
  samples: number;
  /** Measured pairs on the seed repo (its 6 overlays, reused: each PR is closed and its branch deleted). */
  seedSamples: number;
  /** Fresh-clone (CI step) runs on each repo. */
  baselineSamples: number;
}

export const DEFAULT_DISPATCH: DispatchParams = {
  services: 1000,
  envs: ["staging", "qa", "production"],
  commits: 5000,
  samples: 20,
  seedSamples: 12,
  baselineSamples: 5,
};

export const QUICK_DISPATCH: DispatchParams = {
  services: 50,
  envs: ["staging", "qa", "production"],
  commits: 200,
  samples: 3,
  seedSamples: 3,
  baselineSamples: 2,
};

/** The seed repo's config for the benchmark: no environment merges automatically; both take deploy events. */
const SEED_CONFIG = `environments:
  - name: staging
  - name: production
    directDeploy: true
    approvers: [reviewer]
`;

const BACKGROUND = /^GET (\/installation\/repositories|\/repos\/[^/]+\/[^/]+\/deployments(\/\d+\/statuses)?)$/;

const endpoint = (r: ForgeRequest) =>
  `${r.method} ${r.path.replace(/\/repos\/[^/]+\/[^/]+/, "/repos/{o}/{r}").replace(/\/\d+(?=\/|$)/g, "/{n}")}`;

interface Target {
  service: string;
  env: string;
  tag: string;
}

interface Sample {
  service: string;
  env: string;
  ms: number;
  pr: number;
  dispatchPathCalls: number;
  triggeredCalls: number;
  gitRequests: number;
  endpoints: string[];
  otherEndpoints: string[];
}

const retag = (tag: string) => (text: string) => text.replace(/newTag: "[^"]*"/, `newTag: "${tag}"`);

/** One dispatch, timed from the POST to the forge's pull_request.opened; then its render check settles. */
async function conveyorSample(world: World, token: string, target: Target): Promise<Sample> {
  const { service, env } = target;
  const branch = `conveyor/${env}/${service}`;
  const start = world.forge.requests.length;
  const opened = world.forge.waitForEvent(prOpened(branch, world), 120_000).then((d) => ({ at: performance.now(), d }));
  const t0 = performance.now();
  const res = await dispatch(world, token, service, `${imageOf(service)}:${target.tag}`, env);
  if (res.status !== 204) throw new Error(`dispatch for ${service} answered ${res.status}`);
  const { at, d } = await opened;
  const { number: pr, head } = (d.payload as { pull_request: { number: number; head: { sha: string } } }).pull_request;
  await settled(world, head.sha);
  const requests = world.forge.requests.slice(start);
  // Token creation (app JWT) and the background rescan for Deployments are not the flow's calls.
  // In order of arrival: the forge lists requests as they finish, and the PR's own webhooks set
  // off calls that finish before pulls.create's answer does.
  const bot = requests
    .filter((r) => isBotApi(r) && !/\/access_tokens$/.test(r.path) && !BACKGROUND.test(`${r.method} ${r.path}`))
    .sort((a, b) => a.startedAt - b.startedAt);
  // The dispatch handler's calls: everything up to pulls.create, then its addLabels.
  const create = bot.findIndex(
    (r) => r.method === "POST" && /\/repos\/[^/]+\/[^/]+\/pulls$/.test(r.path) && r.status < 300,
  );
  if (create < 0) throw new Error(`no pulls.create for ${service}`);
  const labels = bot.findIndex((r, i) => i > create && r.method === "POST" && r.path.endsWith(`/issues/${pr}/labels`));
  const path = [...bot.slice(0, create + 1), ...(labels >= 0 ? [bot[labels] as ForgeRequest] : [])];
  const other = bot.filter((r, i) => i > create && i !== labels);
  return {
    service,
    env,
    ms: at - t0,
    pr,
    dispatchPathCalls: path.length,
    triggeredCalls: bot.length,
    gitRequests: requests.filter((r) => r.kind === "git" && r.actor === BOT).length,
    endpoints: path.map(endpoint),
    otherEndpoints: other.map(endpoint),
  };
}

async function floorSample(world: World, floor: WarmFloor, target: Target): Promise<FloorSample> {
  const sample = await floor.run({
    branch: `floor/${target.env}/${target.service}`,
    file: `${overlayDir(target.service, target.env)}/kustomization.yaml`,
    edit: retag(target.tag),
    title: `Deploy ${target.service} ${target.tag} to ${target.env}`,
  });
  // The push and the PR reach Conveyor as webhooks too (it render-checks the PR): let them be
  // handled so runs do not overlap, nor the check's calls count as the next dispatch's.
  await settled(world, sample.head);
  return sample;
}

/** A CI step per event: `clone --depth 1`, edit, commit, push (the first benchmark's reference). */
async function freshCloneSample(
  world: World,
  token: string,
  target: Target,
  index: number,
): Promise<{ service: string; pushMs: number; cloneMs: number }> {
  const url = world.forge.authedGitUrl(OWNER, REPO, token);
  const dir = await mkdtemp(join(tmpdir(), "bench-ci-"));
  try {
    const t0 = performance.now();
    await run("git", [
      "clone",
      "--quiet",
      "--depth",
      "1",
      "--single-branch",
      "--branch",
      "main",
      "--no-tags",
      url,
      dir,
    ]);
    const cloneMs = performance.now() - t0;
    const file = join(dir, overlayDir(target.service, target.env), "kustomization.yaml");
    await writeFile(file, retag(target.tag)(await readFile(file, "utf8")));
    const env = {
      ...GIT_ENV,
      GIT_AUTHOR_NAME: "ci",
      GIT_AUTHOR_EMAIL: "ci@example.com",
      GIT_COMMITTER_NAME: "ci",
      GIT_COMMITTER_EMAIL: "ci@example.com",
    };
    const message = `Deploy ${target.service} ${target.tag} to ${target.env}`;
    await run("git", ["-C", dir, "commit", "--quiet", "-a", "-m", message], { env });
    await run(
      "git",
      ["-C", dir, "push", "--quiet", "origin", `HEAD:refs/heads/ci/${target.env}/${target.service}-${index}`],
      {
        env,
      },
    );
    const pushMs = performance.now() - t0;
    await quiescent(world, 1500, 120_000);
    return { service: target.service, cloneMs, pushMs };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Closes a PR and deletes its branch, so the same overlay can be proposed again. */
async function retire(world: World, token: string, pr: number, branch: string): Promise<void> {
  const api = `${world.forge.url}/repos/${OWNER}/${REPO}`;
  const headers = { authorization: `token ${token}`, "content-type": "application/json" };
  for (const [method, url, body] of [
    ["PATCH", `${api}/pulls/${pr}`, JSON.stringify({ state: "closed" })],
    ["DELETE", `${api}/git/refs/heads/${branch}`, undefined],
  ] as const) {
    const res = await fetch(url, { method, headers, body });
    await res.arrayBuffer();
    if (!res.ok) throw new Error(`${method} ${url} answered ${res.status}`);
  }
  await quiescent(world, 1500, 120_000);
}

interface Measured {
  conveyor: Sample[];
  floor: FloorSample[];
  baseline: Array<{ service: string; pushMs: number; cloneMs: number }>;
  warmUpMs: number;
  loads: number[];
}

/**
 * Conveyor and the floor alternate, one sample each, so both see the same load. `targets(i)` gives
 * the overlays of pair i (Conveyor's, the floor's); with `reuse`, each PR is closed and its branch
 * deleted afterwards.
 */
async function sideBySide(
  world: World,
  count: number,
  targets: (i: number) => { conveyor: Target; floor: Target; baseline: Target },
  baselineCount: number,
  reuse: boolean,
  what: string,
): Promise<Measured> {
  const ci = world.tokens.admin;
  const floor = await WarmFloor.clone(world, ci);
  try {
    log(`dispatch/${what}: warm-up (Conveyor's first dispatch clones its workspace; the floor's first run)`);
    const warmTarget = targets(0);
    const warm = await conveyorSample(world, ci, warmTarget.conveyor);
    if (reuse) await retire(world, ci, warm.pr, `conveyor/${warmTarget.conveyor.env}/${warmTarget.conveyor.service}`);
    const warmFloor = await floorSample(world, floor, warmTarget.floor);
    if (reuse) {
      const branch = `floor/${warmTarget.floor.env}/${warmTarget.floor.service}`;
      await retire(world, ci, warmFloor.pr, branch);
    }
    log(`dispatch/${what}: warm-up took ${warm.ms.toFixed(0)} ms (floor ${warmFloor.ms.toFixed(0)} ms)`);
    const measured: Measured = { conveyor: [], floor: [], baseline: [], warmUpMs: Math.round(warm.ms), loads: [] };
    for (let i = 1; i <= count; i++) {
      const t = targets(i);
      measured.loads.push(load1m());
      const c = await conveyorSample(world, ci, t.conveyor);
      measured.conveyor.push(c);
      if (reuse) await retire(world, ci, c.pr, `conveyor/${t.conveyor.env}/${t.conveyor.service}`);
      const f = await floorSample(world, floor, t.floor);
      measured.floor.push(f);
      if (reuse) await retire(world, ci, f.pr, f.branch);
      if (i % 5 === 0 || i === count)
        log(`dispatch/${what}: ${i}/${count} (last: Conveyor ${c.ms.toFixed(0)} ms, floor ${f.ms.toFixed(0)} ms)`);
    }
    log(`dispatch/${what}: fresh-clone reference (clone --depth 1, edit, commit, push), n=${baselineCount}`);
    for (let i = 0; i < baselineCount; i++)
      measured.baseline.push(await freshCloneSample(world, ci, targets(i).baseline, i));
    return measured;
  } finally {
    await floor.close();
  }
}

function figures(m: Measured) {
  const conveyor = summary(m.conveyor.map((s) => s.ms));
  const floor = summary(m.floor.map((s) => s.ms));
  const push = summary(m.baseline.map((b) => b.pushMs));
  const calls = summary(m.conveyor.map((s) => s.dispatchPathCalls));
  const steps = Object.fromEntries(
    (["fetch", "reset", "commit", "push", "create"] as const).map((k) => [
      k,
      summary(m.floor.map((f) => f.steps[k])).p50,
    ]),
  );
  const ratio = Math.round((conveyor.p50 / floor.p50) * 100) / 100;
  return {
    conveyorMs: conveyor,
    floorMs: floor,
    floorStepsP50Ms: steps,
    ratioP50VsFloor: ratio,
    warmUpMs: m.warmUpMs,
    freshCloneMs: push,
    freshCloneCloneMs: summary(m.baseline.map((b) => b.cloneMs)),
    speedupP50VsFreshClone: Math.round((push.p50 / conveyor.p50) * 10) / 10,
    apiCallsPerNewPr: calls,
    apiCallsTriggeredPerNewPr: summary(m.conveyor.map((s) => s.triggeredCalls)),
    gitRequestsPerNewPr: summary(m.conveyor.map((s) => s.gitRequests)),
    dispatchPathEndpoints: m.conveyor[0]?.endpoints,
    triggeredEndpoints: m.conveyor[0]?.otherEndpoints,
    loadAverage1m: summary(m.loads),
    targets: { p50AtMost1_2xFloor: ratio <= 1.2, atMostFourApiCallsPerNewPr: calls.max <= 4 },
  };
}

async function measureSeed(params: DispatchParams) {
  log("dispatch/seed: the sandbox's seed repository (3 services x 2 environments)");
  const world = await startWorld({
    applications: [],
    logLevel: "info",
    config: SEED_CONFIG,
    appEnv: { CONVEYOR_RESCAN_MS: "3600000" },
    built: runsBuilt(),
  });
  try {
    const overlays = SERVICES.flatMap((service) => ENVIRONMENTS.map((env) => ({ service, env })));
    const at = (i: number, tag: string): Target => ({ ...(overlays[i % overlays.length] as Target), tag });
    const measured = await sideBySide(
      world,
      params.seedSamples,
      (i) => ({ conveyor: at(i, `9.0.${i}`), floor: at(i + 3, `9.1.${i}`), baseline: at(i, `9.2.${i}`) }),
      params.baselineSamples,
      true,
      "seed",
    );
    return { measured, figures: figures(measured) };
  } finally {
    await closeWorld(world);
  }
}

async function measureGenerated(params: DispatchParams) {
  log(`dispatch/generated: ${params.services} services x ${params.envs.length} envs, ${params.commits} commits`);
  const { world, generateMs } = await startGeneratedWorld({
    services: params.services,
    envs: params.envs,
    commits: params.commits,
    config: BENCH_CONFIG,
  });
  try {
    const packed = (await run("git", ["--git-dir", world.repoPath, "count-objects", "-v"])).stdout;
    const repo = {
      services: params.services,
      environments: params.envs,
      commits: Number((await run("git", ["--git-dir", world.repoPath, "rev-list", "--count", "main"])).stdout.trim()),
      files: (await run("git", ["--git-dir", world.repoPath, "ls-tree", "-r", "--name-only", "main"])).stdout
        .split("\n")
        .filter(Boolean).length,
      packKiB: Number(/size-pack: (\d+)/.exec(packed)?.[1] ?? 0),
      generateMs,
    };
    log(`dispatch/generated: repo ready (${repo.files} files, ${repo.commits} commits, fast-import ${generateMs} ms)`);
    const half = Math.floor(params.services / 2);
    const staging = (i: number): Target => ({ service: serviceName(i), env: "staging", tag: "9.0.0" });
    const measured = await sideBySide(
      world,
      params.samples,
      (i) => ({
        conveyor: staging(i),
        floor: staging(half + i),
        baseline: staging(params.services - 1 - i),
      }),
      params.baselineSamples,
      false,
      "generated",
    );
    return { repo, measured, figures: figures(measured) };
  } finally {
    await closeWorld(world);
  }
}

export async function benchDispatch(params: DispatchParams = DEFAULT_DISPATCH, quick = false) {
  const host = await machine();
  const revision = await conveyorRevision();
  const seed = await measureSeed(params);
  const generated = await measureGenerated(params);
  const result = {
    benchmark: "dispatch",
    machine: { ...host, loadAverage1mAtEnd: load1m() },
    conveyor: revision,
    parameters: {
      ...params,
      warmUp: 1,
      sequential: true,
      autoMerge: false,
      argoApplications: 0,
      quietBetweenRunsMs: 1500,
    },
    repo: generated.repo,
    figures: { seed: seed.figures, generated: generated.figures },
    targets: {
      p50AtMost1_2xFloor: seed.figures.targets.p50AtMost1_2xFloor && generated.figures.targets.p50AtMost1_2xFloor,
      atMostFourApiCallsPerNewPr:
        seed.figures.targets.atMostFourApiCallsPerNewPr && generated.figures.targets.atMostFourApiCallsPerNewPr,
    },
    samples: { seed: seed.measured, generated: generated.measured },
  };
  const file = writeResult(quick ? "dispatch.quick" : "dispatch", result);
  console.log(`\nDispatch to PR, side by side with the warm floor -> ${file}`);
  const rows = (name: string, f: ReturnType<typeof figures>, n: number): Array<[string, string | number, string?]> => [
    [`${name} (n=${n}): Conveyor dispatch -> PR p50 / p95 (ms)`, `${f.conveyorMs.p50} / ${f.conveyorMs.p95}`],
    [
      `${name}: warm floor p50 / p95 (ms)`,
      `${f.floorMs.p50} / ${f.floorMs.p95}`,
      "fetch, edit, commit, push, pulls.create",
    ],
    [
      `${name}: Conveyor / floor at p50`,
      `${f.ratioP50VsFloor}x`,
      f.targets.p50AtMost1_2xFloor ? "target <= 1.2x: met" : "target <= 1.2x: MISSED",
    ],
    [
      `${name}: fresh clone+edit+commit+push p50 (ms)`,
      f.freshCloneMs.p50,
      `Conveyor ${f.speedupP50VsFreshClone}x faster`,
    ],
    [
      `${name}: API calls per new PR (dispatch path, max)`,
      f.apiCallsPerNewPr.max,
      f.targets.atMostFourApiCallsPerNewPr ? "target <= 4: met" : "target <= 4: MISSED",
    ],
    [`${name}: 1-min load average during the pairs (p50 / max)`, `${f.loadAverage1m.p50} / ${f.loadAverage1m.max}`],
  ];
  console.log(
    table([...rows("seed", seed.figures, params.seedSamples), ...rows("generated", generated.figures, params.samples)]),
  );
  return result;
}
