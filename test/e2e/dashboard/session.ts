// Signs a forge user in to the dashboard the way a browser does, following the redirects and
// keeping cookies; for tests that read the pages over HTTP.
import type { World } from "../../../sandbox/world.js";

export async function signIn(world: World, user: string): Promise<string> {
  let res = await fetch(world.signInUrl(user), { redirect: "manual" });
  const state = (res.headers.getSetCookie()[0] ?? "").split(";")[0] as string;
  res = await fetch(res.headers.get("location") as string, { redirect: "manual" });
  res = await fetch(res.headers.get("location") as string, { redirect: "manual", headers: { cookie: state } });
  if (res.status !== 303) throw new Error(`sign-in as ${user} failed: ${res.status} ${await res.text()}`);
  const session = res.headers.getSetCookie().find((c) => c.startsWith("conveyor_session="));
  if (!session) throw new Error(`sign-in as ${user} set no session cookie`);
  return session.split(";")[0] as string;
}

export async function page(world: World, path: string, cookie?: string): Promise<{ status: number; html: string }> {
  const res = await fetch(`${world.appUrl}${path}`, { headers: cookie ? { cookie } : {}, redirect: "manual" });
  return { status: res.status, html: await res.text() };
}
