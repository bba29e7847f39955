// Signing people in with GitHub for the web dashboard: the App's own OAuth client (its client id
// and secret), the web flow (authorize, then exchange the code for a user token), and what that
// user token may read: the user, and the repositories of this App's installations the user can
// access (GitHub answers those with the user's own permissions). Tokens and the client secret are
// registered with the redactor and never put into an error message.
import { registerSecret } from "../redact.js";

export interface OAuthClient {
  clientId: string;
  clientSecret: string;
}

export interface ReadableRepo {
  installationId: number;
  owner: string;
  repo: string;
  fullName: string;
  cloneUrl: string;
  defaultBranch: string;
  htmlUrl: string;
}

export class OAuthError extends Error {}

export class GitHubOAuth {
  constructor(
    private readonly client: OAuthClient,
    /** github.com, or a GitHub Enterprise Server's address (https://HOST). */
    private readonly webBase: string,
    /** api.github.com, or https://HOST/api/v3. */
    private readonly apiBase: string,
  ) {
    registerSecret(client.clientSecret);
  }

  /** Where to send the browser; `login` suggests an account (GitHub's own parameter). */
  authorizeUrl(input: { state: string; redirectUri: string; login?: string }): string {
    const url = new URL(`${this.webBase}/login/oauth/authorize`);
    url.searchParams.set("client_id", this.client.clientId);
    url.searchParams.set("redirect_uri", input.redirectUri);
    url.searchParams.set("state", input.state);
    url.searchParams.set("allow_signup", "false");
    if (input.login) url.searchParams.set("login", input.login);
    return url.toString();
  }

  /** Exchanges the code GitHub sent back for a user token (1 call). */
  async exchange(code: string, redirectUri: string): Promise<string> {
    const res = await fetch(`${this.webBase}/login/oauth/access_token`, {
      method: "POST",
      headers: { accept: "application/json", "content-type": "application/json" },
      body: JSON.stringify({
        client_id: this.client.clientId,
        client_secret: this.client.clientSecret,
        code,
        redirect_uri: redirectUri,
      }),
      signal: AbortSignal.timeout(15_000),
    });
    const body = (await res.json().catch(() => ({}))) as { access_token?: unknown; error?: unknown };
    if (!res.ok || typeof body.access_token !== "string" || !body.access_token) {
      const reason =
        typeof body.error === "string" ? body.error.replace(/[^a-z_]/g, "").slice(0, 60) : `HTTP ${res.status}`;
      throw new OAuthError(`GitHub did not sign you in (${reason})`);
    }
    registerSecret(body.access_token);
    return body.access_token;
  }

  /** The signed-in user's login (1 call). */
  async login(token: string): Promise<string> {
    const user = (await this.get(token, "/user")) as { login?: unknown };
    if (typeof user.login !== "string") throw new OAuthError("GitHub did not say who you are");
    return user.login;
  }

  /**
   * Repositories the user can read in this App's installations (1 call per 100 installations,
   * plus 1 per 100 repositories of each).
   */
  async readableRepos(token: string): Promise<ReadableRepo[]> {
    const repos: ReadableRepo[] = [];
    for (let page = 1; ; page++) {
      const list = (await this.get(token, `/user/installations?per_page=100&page=${page}`)) as {
        installations?: Array<{ id: number }>;
      };
      const installations = list.installations ?? [];
      for (const installation of installations) {
        for (let repoPage = 1; ; repoPage++) {
          const data = (await this.get(
            token,
            `/user/installations/${installation.id}/repositories?per_page=100&page=${repoPage}`,
          )) as {
            repositories?: Array<{
              name: string;
              full_name: string;
              owner: { login: string };
              clone_url: string;
              default_branch: string;
              html_url: string;
            }>;
          };
          const batch = data.repositories ?? [];
          for (const r of batch)
            repos.push({
              installationId: installation.id,
              owner: r.owner.login,
              repo: r.name,
              fullName: r.full_name,
              cloneUrl: r.clone_url,
              defaultBranch: r.default_branch,
              htmlUrl: r.html_url,
            });
          if (batch.length < 100) break;
        }
      }
      if (installations.length < 100) return repos;
    }
  }

  private async get(token: string, path: string): Promise<unknown> {
    const res = await fetch(`${this.apiBase}${path}`, {
      headers: {
        accept: "application/vnd.github+json",
        authorization: `token ${token}`,
        "x-github-api-version": "2022-11-28",
        "user-agent": "conveyor-dashboard",
      },
      signal: AbortSignal.timeout(15_000),
    });
    if (res.status === 401) throw new OAuthError("your GitHub sign-in has expired");
    if (!res.ok) throw new OAuthError(`GitHub answered ${res.status} to ${path.split("?")[0]}`);
    return res.json();
  }
}

/** The OAuth client and GitHub's addresses from the environment; undefined when no client is configured. */
export function oauthFromEnv(env: NodeJS.ProcessEnv): GitHubOAuth | undefined {
  const clientId = env.GITHUB_CLIENT_ID?.trim();
  const clientSecret = env.GITHUB_CLIENT_SECRET?.trim();
  if (!clientId || !clientSecret) return undefined;
  const host = env.GHE_HOST?.trim();
  const protocol = env.GHE_PROTOCOL?.trim() || "https";
  return host
    ? new GitHubOAuth({ clientId, clientSecret }, `${protocol}://${host}`, `${protocol}://${host}/api/v3`)
    : new GitHubOAuth({ clientId, clientSecret }, "https://github.com", "https://api.github.com");
}
