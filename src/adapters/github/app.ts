// The app's own view of GitHub, outside any one event: its installations, their repositories,
// and a client for a repository of an installation (the verification loop, resuming after a
// restart, reporting on a source repository).
import { statusOf, type Octokit, type RepoRef } from "./client.js";
import { AppDeliveries } from "./deliveries.js";
import { GitHubRepo } from "./repo.js";

export interface InstallationRepo {
  ref: RepoRef;
  cloneUrl: string;
  defaultBranch: string;
}

export class GitHubApp {
  private login?: Promise<string>;
  private readonly installationCache = new Map<string, { id: number | undefined; until: number }>();
  /** The app's webhook deliveries, as GitHub recorded them. */
  readonly deliveries: AppDeliveries;

  /**
   * `auth()` is the app's JWT client; `auth(id)` an installation's (Probot's `app.auth`). The bot
   * login, when known, saves asking GitHub for it.
   */
  constructor(
    private readonly auth: (installationId?: number) => Promise<Octokit>,
    botLogin?: string,
  ) {
    if (botLogin) this.login = Promise.resolve(botLogin);
    this.deliveries = new AppDeliveries(() => this.auth());
  }

  /**
   * The login Conveyor's PRs and comments are made by (`<app slug>[bot]`): its identity, which
   * another app's PR on a look-alike branch does not have. Asked once (1 call), then remembered.
   */
  botLogin(): Promise<string> {
    this.login ??= (async () => {
      const octokit = await this.auth();
      const { data } = await octokit.rest.apps.getAuthenticated();
      if (!data?.slug) throw new Error("GitHub did not say what this app is called");
      return `${data.slug}[bot]`;
    })().catch((error: unknown) => {
      this.login = undefined;
      throw error;
    });
    return this.login;
  }

  async repo(installationId: number, ref: RepoRef): Promise<GitHubRepo> {
    return new GitHubRepo(await this.auth(installationId), ref);
  }

  /** Every installation of the app. */
  async installations(): Promise<number[]> {
    const octokit = await this.auth();
    const installations = await octokit.paginate(octokit.rest.apps.listInstallations, { per_page: 100 });
    return installations.map((i) => i.id);
  }

  /** Every repository an installation can reach (1 call per 100). */
  async repositories(installationId: number): Promise<InstallationRepo[]> {
    const octokit = await this.auth(installationId);
    const repositories = await octokit.paginate(octokit.rest.apps.listReposAccessibleToInstallation, { per_page: 100 });
    return repositories.map((r) => ({
      ref: { owner: r.owner.login, repo: r.name },
      cloneUrl: r.clone_url,
      defaultBranch: r.default_branch,
    }));
  }

  /**
   * The installation that covers a repository, or undefined when the app is not installed there.
   * Remembered for a minute: one deploy asks about its source repository several times.
   */
  async installationOf(ref: RepoRef): Promise<number | undefined> {
    const key = `${ref.owner}/${ref.repo}`.toLowerCase();
    const known = this.installationCache.get(key);
    if (known && known.until > Date.now()) return known.id;
    const id = await this.lookUpInstallation(ref);
    if (this.installationCache.size > 1_000) this.installationCache.clear();
    this.installationCache.set(key, { id, until: Date.now() + 60_000 });
    return id;
  }

  private async lookUpInstallation(ref: RepoRef): Promise<number | undefined> {
    const octokit = await this.auth();
    try {
      const { data } = await octokit.rest.apps.getRepoInstallation({ owner: ref.owner, repo: ref.repo });
      return data.id;
    } catch (error) {
      const status = statusOf(error);
      if (status === 404 || status === 403) return undefined;
      throw error;
    }
  }

  /** Does GitHub accept the app's credentials? (1 call, for readiness.) */
  async authenticated(): Promise<boolean> {
    const octokit = await this.auth();
    await octokit.rest.apps.getAuthenticated();
    return true;
  }
}
