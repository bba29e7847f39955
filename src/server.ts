// `npm start`: the GitHub App server. With APP_ID, PRIVATE_KEY and WEBHOOK_SECRET set it serves
// webhooks; without them Probot opens its setup flow, which registers the app from app.yml.
import { run } from "probot";
import conveyor from "./app.js";

await run(conveyor);
