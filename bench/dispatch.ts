// Benchmark 1: repository_dispatch -> PR on a generated manifests repo (1,000 services x 3
// environments, 5,000 commits), against a CI step that clones, edits, commits and pushes itself.
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ForgeRequest } from "../sandbox/forge/index.js";
import { GIT_ENV, load1m, log, machine, run, sleep, summary, table, writeResult } from "./lib/common.js";
import { imageOf, overlayDir, serviceName } from "./lib/repo.js";
import {
  BENCH_CONFIG,
  BOT,
  conveyorRevision,
  dispatch,
  isBotApi,
  OWNER,
  prOpened,
  quiescent,
  REPO,
  settled,
  startGeneratedWorld,
} from "./lib/world.js";

export interface DispatchParams {
  services: number;
  envs: string[];
  commits: number;
  /** Measured Conveyor dispatches (after one warm-up), and baseline runs. */
  samples: number;
}

export const DEFAULT_DISPATCH: DispatchParams = {
  services: 1000,
  envs: ["staging", "qa", "production"],
  commits: 5000,
  samples: 30,
};

const BACKGROUND = /^GET (\/installation\/repositories|\/repos\/[^/]+\/[^/]+\/deployments(\/\d+\/statuses)?)$/;

const endpoint = (r: ForgeRequest) =>
  `${r.method} ${r.path.replace(/\/repos\/[^/]+\/[^/]+/, "/repos/{o}/{r}").replace(/\/\d+(?=\/|$)/g, "/{n}")}`;

export const QUICK_DISPATCH: DispatchParams = {
  services: 50,
  envs: ["staging", "qa", "production"],
  commits: 200,
  samples: 3,
};

export async function benchDispatch(params: DispatchParams = DEFAULT_DISPATCH, quick = false) {
  const host = await machine();
  const revision = await conveyorRevision();
  log(`dispatch: generating ${params.services} services x ${params.envs.length} envs, ${params.commits} commits`);
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
    log(
      `dispatch: repo ready (${repo.files} files, ${repo.commits} commits, ${repo.packKiB} KiB packed, fast-import ${generateMs} ms)`,
    );
    const ci = world.tokens.admin;

    interface Sample {
      service: string;
      ms: number;
      pr: number;
      dispatchPathCalls: number;
      triggeredCalls: number;
      gitRequests: number;
      endpoints: string[];
      otherEndpoints: string[];
    }
    const one = async (index: number, tag: string): Promise<Sample> => {
      const service = serviceName(index);
      const branch = `conveyor/staging/${service}`;
      const start = world.forge.requests.length;
      const opened = world.forge.waitForEvent(prOpened(branch), 120_000).then((d) => ({ at: performance.now(), d }));
      const t0 = performance.now();
      const res = await dispatch(world, ci, service, `${imageOf(service)}:${tag}`);
      if (res.status !== 204) throw new Error(`dispatch for ${service} answered ${res.status}`);
      const { at, d } = await opened;
      const { number: pr, head } = (d.payload as { pull_request: { number: number; head: { sha: string } } })
        .pull_request;
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
      const labels = bot.findIndex(
        (r, i) => i > create && r.method === "POST" && r.path.endsWith(`/issues/${pr}/labels`),
      );
      const path = [...bot.slice(0, create + 1), ...(labels >= 0 ? [bot[labels] as ForgeRequest] : [])];
      const other = bot.filter((r, i) => i > create && i !== labels);
      return {
        service,
        ms: at - t0,
        pr,
        dispatchPathCalls: path.length,
        triggeredCalls: bot.length,
        gitRequests: requests.filter((r) => r.kind === "git" && r.actor === BOT).length,
        endpoints: path.map(endpoint),
        otherEndpoints: other.map(endpoint),
      };
    };

    log("dispatch: warm-up (first dispatch clones the repo)");
    const warm = await one(0, "9.0.0");
    log(`dispatch: warm-up took ${warm.ms.toFixed(0)} ms`);
    const samples: Sample[] = [];
    for (let i = 1; i <= params.samples; i++) {
      samples.push(await one(i, "9.0.0"));
      if (i % 10 === 0) log(`dispatch: ${i}/${params.samples} (last ${samples[samples.length - 1]?.ms.toFixed(0)} ms)`);
    }

    log("dispatch: baseline (clone --depth 1, edit, commit, push)");
    const baseline: Array<{ service: string; pushMs: number; cloneMs: number }> = [];
    const url = world.forge.authedGitUrl(OWNER, REPO, ci);
    for (let i = 0; i < params.samples; i++) {
      const service = serviceName(params.services - 1 - i);
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
        const file = join(dir, overlayDir(service, "staging"), "kustomization.yaml");
        await writeFile(file, (await readFile(file, "utf8")).replace(/newTag: "[^"]*"/, `newTag: "9.0.0"`));
        const env = {
          ...GIT_ENV,
          GIT_AUTHOR_NAME: "ci",
          GIT_AUTHOR_EMAIL: "ci@example.com",
          GIT_COMMITTER_NAME: "ci",
          GIT_COMMITTER_EMAIL: "ci@example.com",
        };
        await run("git", ["-C", dir, "commit", "--quiet", "-a", "-m", `Deploy ${service} 9.0.0 to staging`], { env });
        await run("git", ["-C", dir, "push", "--quiet", "origin", `HEAD:refs/heads/ci/staging/${service}`], { env });
        const pushMs = performance.now() - t0;
        baseline.push({ service, cloneMs, pushMs });
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
      // The push reaches Conveyor as a webhook too; let it be handled so runs do not overlap.
      await quiescent(world, 1500, 120_000);
    }

    const conveyor = summary(samples.map((s) => s.ms));
    const push = summary(baseline.map((b) => b.pushMs));
    const calls = summary(samples.map((s) => s.dispatchPathCalls));
    const triggered = summary(samples.map((s) => s.triggeredCalls));
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
      repo,
      figures: {
        conveyorMs: conveyor,
        warmUpMs: Math.round(warm.ms),
        baselinePushMs: push,
        baselineCloneMs: summary(baseline.map((b) => b.cloneMs)),
        speedupP50VsPush: Math.round((push.p50 / conveyor.p50) * 10) / 10,
        apiCallsPerNewPr: calls,
        apiCallsTriggeredPerNewPr: triggered,
        gitRequestsPerNewPr: summary(samples.map((s) => s.gitRequests)),
        dispatchPathEndpoints: samples[0]?.endpoints,
        triggeredEndpoints: samples[0]?.otherEndpoints,
      },
      targets: {
        p50AtLeast5xFaster: push.p50 / conveyor.p50 >= 5,
        atMostFourApiCallsPerNewPr: calls.max <= 4,
      },
      samples,
      baseline,
    };
    const file = writeResult(quick ? "dispatch.quick" : "dispatch", result);
    console.log(
      `\nDispatch to PR (${params.services} services x ${params.envs.length} envs, ${repo.commits} commits, n=${params.samples}) -> ${file}`,
    );
    console.log(
      table([
        ["Conveyor dispatch -> PR p50 / p95 (ms)", `${conveyor.p50} / ${conveyor.p95}`, "warm workspace"],
        ["baseline clone+edit+commit+push p50 / p95 (ms)", `${push.p50} / ${push.p95}`],
        [
          "speed-up at p50 (vs push)",
          `${result.figures.speedupP50VsPush}x`,
          result.targets.p50AtLeast5xFaster ? "target >= 5x: met" : "target >= 5x: MISSED",
        ],
        [
          "API calls per new PR (dispatch path, max)",
          calls.max,
          result.targets.atMostFourApiCallsPerNewPr ? "target <= 4: met" : "target <= 4: MISSED",
        ],
        ["API calls incl. what the new PR triggers (p50)", triggered.p50, "render check, auto-merge look"],
      ]),
    );
    return result;
  } finally {
    // Bounded: a close that hangs (queued webhook deliveries to a stopped app) must not hold the run.
    await Promise.race([world.close(), sleep(30_000)]);
  }
}
