// `npm run jobs -- <command> [options]`: remote operations on devices through IoT Jobs, against
// a running stand-in (or any endpoint) as any client: @aws-sdk/client-iot, SigV4-signed with the
// keys the stand-in wrote to `<state>/aws/` (its ready line names them). `config` and `reboot`
// create a job with the project's documents; `ota` stages a firmware image as a stream file and
// creates AWS's `afr_ota` job for it, signed with `certs sign-image` unless a signature is given;
// each then follows the execution until it ends (exit 0 only for SUCCEEDED). `status` shows jobs
// and executions. Documents: docs/jobs.md and docs/ota.md.
import { randomBytes } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, realpathSync, statSync } from "node:fs";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  CreateJobCommand, CreateStreamCommand, DescribeJobCommand, DescribeJobExecutionCommand, DescribeThingCommand, DescribeThingGroupCommand, IoTClient, ListJobExecutionsForJobCommand,
  ListJobExecutionsForThingCommand, ListJobsCommand, type JobExecution,
} from "@aws-sdk/client-iot";
import { CODE_SIGNER_NAME, signImageCommand } from "../../certs/commands.js";
import {
  CliError, EXIT_FAILED, EXIT_USAGE, failureReport, parseCommandLine, required, usage, UsageError, wholeNumber,
  type CommandSpec, type OptionSpecs, type Values,
} from "./command-line.js";
import { configDocument, otaDocument, rebootDocument, settingsFrom } from "./job-documents.js";

const PROGRAM = "npm run jobs";
const DEFAULT_STATE = ".state/iotcore";
/** The bucket `ota` stages images in: `<state>/s3/ota/<stream id>/<file name>` (docs/iotcore-compatibility.md). */
const OTA_BUCKET = "ota";
const TERMINAL = new Set(["SUCCEEDED", "FAILED", "REJECTED", "TIMED_OUT", "CANCELED", "REMOVED"]);

const COMMON: OptionSpecs = {
  state: { value: "DIR", help: `the stand-in's state folder: its AWS CLI files (aws/config, aws/credentials) and, for ota, its s3/ folder (default ${DEFAULT_STATE})` },
  "endpoint-url": { value: "URL", help: "the control plane's URL (default: endpoint_url in <state>/aws/config)" },
};
const CREATE: OptionSpecs = {
  ...COMMON,
  "thing-name": { value: "NAME", help: "the thing the job targets (this or --thing-group)" },
  "thing-group": { value: "NAME", help: "the thing group the job targets: its members now, or also later ones with --continuous" },
  continuous: { kind: "flag", help: "with --thing-group: a CONTINUOUS job, which also runs on things added to the group later (not followed)" },
  "job-id": { value: "ID", help: "the job's id (default <operation>-<time>-<random>)" },
  detach: { kind: "flag", help: "create the job and return without following it" },
  timeout: { value: "SECONDS", help: "how long to follow the execution (default 600)" },
  "poll-ms": { value: "MS", help: "how often to ask for the execution's status (default 1000)" },
};

interface JobsCommand { summary: string; options: OptionSpecs; notes?: string[]; run(values: Values<OptionSpecs>, out: Log): Promise<number> }
type Log = (line: string) => void;

const COMMANDS: Record<string, JobsCommand> = {
  config: {
    summary: "changes settings on a device: a job with {\"operation\":\"config\",\"settings\":{...}}, followed until it ends",
    options: { ...CREATE, set: { kind: "list", value: "NAME=VALUE", help: "a setting (repeatable); a value that reads as JSON is that value, e.g. --set telemetryIntervalMs=500" } },
    run: (values, out) => createAndFollow(values, out, "config", () => configDocument(settingsFrom((values.set as string[] | undefined) ?? []))),
  },
  reboot: {
    summary: "restarts a device: a job with {\"operation\":\"reboot\"}, followed until it ends",
    options: CREATE,
    run: (values, out) => createAndFollow(values, out, "reboot", () => rebootDocument()),
  },
  ota: {
    summary: "updates a device's firmware: stages --image as a stream file, creates AWS's afr_ota job for it, follows it until it ends",
    options: {
      ...CREATE,
      image: { value: "FILE", help: "the firmware image (required)" },
      signature: { value: "BASE64", help: "the image's sig-sha256-ecdsa (default: signed now with `certs sign-image`)" },
      certfile: { value: "NAME", help: `the code-signing certificate's name on the device (default ${CODE_SIGNER_NAME}, or the --cert file's name)` },
      "signing-key": { value: "FILE", help: "PEM code-signing key for signing now (default <out-dir>/code-signing/code-signing.key.pem)" },
      cert: { value: "FILE", help: "its certificate (default <out-dir>/code-signing/code-signing.pem)" },
      "out-dir": { value: "DIR", help: "the certs folder the default key and certificate are in (default .dev)" },
      filepath: { value: "PATH", help: "the job document's filepath (default the image's file name)" },
    },
    notes: [`The image is copied to <state>/s3/${OTA_BUCKET}/<job id>/<file name> and served by stream <job id> (file id 0).`],
    run: (values, out) => runOta(values, out),
  },
  status: {
    summary: "shows jobs: all of them; one job and its executions (--job-id); a thing's executions (--thing-name); one execution (both), until it ends with --follow",
    options: {
      ...COMMON,
      "job-id": { value: "ID", help: "the job" },
      "thing-name": { value: "NAME", help: "the thing" },
      follow: { kind: "flag", help: "with --job-id and --thing-name: follow the execution until it ends" },
      timeout: { value: "SECONDS", help: "how long to follow (default 600)" },
      "poll-ms": { value: "MS", help: "how often to ask (default 1000)" },
    },
    run: (values, out) => runStatus(values, out),
  },
};

function specOf(name: string, command: JobsCommand): CommandSpec {
  return { name: `${PROGRAM} -- ${name}`, summary: command.summary, options: command.options, ...(command.notes ? { notes: command.notes } : {}) };
}

function overview(): string {
  return [`usage: ${PROGRAM} -- <command> [options]`, "Remote operations on devices through IoT Jobs.", "", "commands:",
    ...Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`), "", `\`${PROGRAM} -- <command> --help\` lists a command's options.`].join("\n");
}

// ---- the client ----------------------------------------------------------------------------

/**
 * An IoT client for the stand-in whose state is `state`: the SDK's own credential and config
 * chain, pointed at `<state>/aws/credentials` and `<state>/aws/config` (whose endpoint_url is the
 * control plane), with nothing taken from the caller's AWS environment.
 */
export function standInClient(state: string, endpointUrl?: string): IoTClient {
  const credentialsFile = join(state, "aws", "credentials"), configFile = join(state, "aws", "config");
  for (const file of [credentialsFile, configFile]) {
    if (!existsSync(file)) throw new CliError(`${file} does not exist: no stand-in has run with --state ${state}; start one with \`npm run iotcore -- --state ${state}\` or pass the --state it runs with`);
  }
  for (const name of ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_IOT"]) delete process.env[name];
  process.env.AWS_SHARED_CREDENTIALS_FILE = credentialsFile;
  process.env.AWS_CONFIG_FILE = configFile;
  return new IoTClient(endpointUrl ? { endpoint: endpointUrl } : {});
}

/** Runs a call; a refused connection and AWS's refusals become sentences naming the fix. */
async function call<T>(what: string, run: () => Promise<T>, state: string): Promise<T> {
  try {
    return await run();
  } catch (error) {
    const e = error as Error & { code?: string; $metadata?: { httpStatusCode?: number } };
    if (e.code === "ECONNREFUSED" || /ECONNREFUSED/.test(e.message) || e.name === "ECONNREFUSED") {
      throw new CliError(`${what}: nothing answers at the control plane: start the stand-in with \`npm run iotcore -- --state ${state}\` (or pass --endpoint-url)`, EXIT_FAILED);
    }
    if (e.$metadata?.httpStatusCode !== undefined) {
      throw new CliError(`${what} refused: ${e.name}: ${e.message}`, e.$metadata.httpStatusCode < 500 ? EXIT_USAGE : EXIT_FAILED);
    }
    throw error;
  }
}

// ---- create and follow ---------------------------------------------------------------------

function jobIdFor(operation: string, given: string | undefined): string {
  return given ?? `${operation}-${Date.now().toString(36)}-${randomBytes(3).toString("hex")}`;
}

/** Where a job goes: one thing, or a thing group (`name` is the thing's or the group's). */
interface Target { client: IoTClient; state: string; kind: "thing" | "group"; name: string; arn: string; account: string; continuous: boolean; jobId: string }

/** The client, and the thing or group as the endpoint knows it (an unknown one is refused before anything is made). */
async function target(values: Values<OptionSpecs>, operation: string): Promise<Target> {
  const state = (values.state as string | undefined) ?? DEFAULT_STATE;
  const thingName = values["thing-name"] as string | undefined, groupName = values["thing-group"] as string | undefined;
  if ((thingName === undefined) === (groupName === undefined)) throw new UsageError("name one target: --thing-name NAME or --thing-group NAME");
  if (values.continuous && groupName === undefined) throw new UsageError("--continuous needs --thing-group: a continuous job follows a group's members");
  const jobId = jobIdFor(operation, values["job-id"] as string | undefined);
  const client = standInClient(state, values["endpoint-url"] as string | undefined);
  const arn = thingName !== undefined
    ? (await call(`describe-thing ${thingName}`, () => client.send(new DescribeThingCommand({ thingName })), state)).thingArn
    : (await call(`describe-thing-group ${groupName}`, () => client.send(new DescribeThingGroupCommand({ thingGroupName: groupName })), state)).thingGroupArn;
  return {
    client, state, kind: thingName !== undefined ? "thing" : "group", name: (thingName ?? groupName)!, arn: arn ?? "",
    account: (arn ?? "").split(":")[4] ?? "", continuous: Boolean(values.continuous), jobId,
  };
}

async function createJob(t: Target, document: object, out: Log): Promise<void> {
  const created = await call("create-job", () => t.client.send(new CreateJobCommand({
    jobId: t.jobId, targets: [t.arn], document: JSON.stringify(document), targetSelection: t.continuous ? "CONTINUOUS" : "SNAPSHOT",
  })), t.state);
  out(`job ${created.jobId} created for ${t.kind === "group" ? `thing group ${t.name}${t.continuous ? " (continuous)" : ""}` : t.name}: ${JSON.stringify(document)}`);
}

function followOptions(values: Values<OptionSpecs>): { timeoutMs: number; pollMs: number } {
  return {
    timeoutMs: wholeNumber("timeout", (values.timeout as string | undefined) ?? "600", 1, 86_400) * 1000,
    pollMs: wholeNumber("poll-ms", (values["poll-ms"] as string | undefined) ?? "1000", 10, 60_000),
  };
}

function describeLine(e: JobExecution): string {
  const details = Object.entries(e.statusDetails?.detailsMap ?? {}).map(([k, v]) => `${k}=${v}`).join(" ");
  return `${e.jobId} on ${e.thingArn?.split("/").pop() ?? "?"}: ${e.status} (version ${e.versionNumber})${details ? ` ${details}` : ""}`;
}

type FollowOptions = { timeoutMs: number; pollMs: number };

/** Follows what the job does on its target: 0 when everything SUCCEEDED, 1 otherwise. A continuous job is not followed (it never ends). */
function followTarget(t: Target, out: Log, options: FollowOptions): Promise<number> {
  if (t.kind === "thing") return follow({ client: t.client, state: t.state, jobId: t.jobId, thingName: t.name }, out, options);
  if (t.continuous) {
    out(`a continuous job does not end: see its executions with \`${PROGRAM} -- status --job-id ${t.jobId}\``);
    return Promise.resolve(0);
  }
  return followJob(t, out, options);
}

/** Prints each execution's changes until the job is COMPLETED or CANCELED; 0 when every execution SUCCEEDED. */
async function followJob(t: Target, out: Log, options: FollowOptions): Promise<number> {
  const end = Date.now() + options.timeoutMs;
  const last = new Map<string, string>();
  for (;;) {
    // The job's status first: when it has ended, the executions listed after it are final.
    const { job } = await call("describe-job", () => t.client.send(new DescribeJobCommand({ jobId: t.jobId })), t.state);
    const { executionSummaries = [] } = await call("list-job-executions-for-job", () => t.client.send(new ListJobExecutionsForJobCommand({ jobId: t.jobId })), t.state);
    for (const s of executionSummaries) {
      const thing = s.thingArn?.split("/").pop() ?? "?";
      const status = s.jobExecutionSummary?.status ?? "?";
      if (last.get(thing) !== status) out(`${t.jobId} on ${thing}: ${status}`);
      last.set(thing, status);
    }
    if (job?.status === "COMPLETED" || job?.status === "CANCELED") {
      const all = [...last.values()];
      out(`${t.jobId}: ${job.status}, ${all.filter((s) => s === "SUCCEEDED").length} of ${all.length} thing(s) SUCCEEDED`);
      return job.status === "COMPLETED" && all.every((s) => s === "SUCCEEDED") ? 0 : EXIT_FAILED;
    }
    if (Date.now() >= end) {
      out(`${t.jobId} has not ended after ${options.timeoutMs / 1000} s; see it with \`${PROGRAM} -- status --job-id ${t.jobId}\``);
      return EXIT_FAILED;
    }
    await new Promise((resolve) => setTimeout(resolve, options.pollMs));
  }
}

/** Prints each change of one execution until it ends; 0 when it SUCCEEDED, 1 otherwise or when following times out. */
async function follow(t: { client: IoTClient; state: string; jobId: string; thingName: string }, out: Log, options: FollowOptions): Promise<number> {
  const end = Date.now() + options.timeoutMs;
  let last = "";
  for (;;) {
    const { execution } = await call("describe-job-execution", () => t.client.send(new DescribeJobExecutionCommand({ jobId: t.jobId, thingName: t.thingName })), t.state);
    const line = execution ? describeLine(execution) : `${t.jobId} on ${t.thingName}: no execution`;
    if (line !== last) out(line);
    last = line;
    if (execution?.status && TERMINAL.has(execution.status)) return execution.status === "SUCCEEDED" ? 0 : EXIT_FAILED;
    if (Date.now() >= end) {
      out(`${t.jobId} on ${t.thingName} has not ended after ${options.timeoutMs / 1000} s; follow it with \`${PROGRAM} -- status --job-id ${t.jobId} --thing-name ${t.thingName} --follow\``);
      return EXIT_FAILED;
    }
    await new Promise((resolve) => setTimeout(resolve, options.pollMs));
  }
}

async function createAndFollow(values: Values<OptionSpecs>, out: Log, operation: string, document: () => object): Promise<number> {
  const doc = document();
  const options = followOptions(values);
  const t = await target(values, operation);
  await createJob(t, doc, out);
  return values.detach ? 0 : followTarget(t, out, options);
}

// ---- ota -----------------------------------------------------------------------------------

async function runOta(values: Values<OptionSpecs>, out: Log): Promise<number> {
  const image = required(values.image as string | undefined, "image", "the firmware image to deliver");
  if (!existsSync(image) || !statSync(image).isFile()) throw new UsageError(`--image ${image} is not a file: pass the firmware image`);
  const size = statSync(image).size;
  if (size === 0) throw new UsageError(`--image ${image} is empty: pass the firmware image`);
  const options = followOptions(values);
  let signature = values.signature as string | undefined;
  let certfile = values.certfile as string | undefined;
  if (signature === undefined) {
    const signed = signImageCommand({
      image, ...(values["out-dir"] !== undefined ? { outDir: values["out-dir"] as string } : {}),
      ...(values["signing-key"] !== undefined ? { keyFile: values["signing-key"] as string } : {}),
      ...(values.cert !== undefined ? { certFile: values.cert as string } : {}),
    });
    signature = signed["sig-sha256-ecdsa"];
    certfile ??= signed.certfile;
    out(`signed ${image} (sha256 ${signed.sha256}) for certfile ${signed.certfile}`);
  } else if (!/^[A-Za-z0-9+/]+={0,2}$/.test(signature)) {
    throw new UsageError("--signature must be the base64 signature `npm run certs -- sign-image` prints");
  }
  certfile ??= CODE_SIGNER_NAME;
  const t = await target(values, "ota");
  const fileName = basename(image);
  const staged = join(t.state, "s3", OTA_BUCKET, t.jobId, fileName);
  mkdirSync(join(t.state, "s3", OTA_BUCKET, t.jobId), { recursive: true });
  copyFileSync(image, staged);
  out(`staged ${image} (${size} bytes) as s3://${OTA_BUCKET}/${t.jobId}/${fileName} (${staged})`);
  await call("create-stream", () => t.client.send(new CreateStreamCommand({
    streamId: t.jobId, description: `${fileName} for ${t.name}`, roleArn: `arn:aws:iam::${t.account}:role/ota-stream`,
    files: [{ fileId: 0, s3Location: { bucket: OTA_BUCKET, key: `${t.jobId}/${fileName}` } }],
  })), t.state);
  out(`stream ${t.jobId} created (file 0)`);
  const document = otaDocument(t.jobId, { filepath: (values.filepath as string | undefined) ?? fileName, filesize: size, certfile, "sig-sha256-ecdsa": signature });
  await createJob(t, document, out);
  return values.detach ? 0 : followTarget(t, out, options);
}

// ---- status --------------------------------------------------------------------------------

async function runStatus(values: Values<OptionSpecs>, out: Log): Promise<number> {
  const state = (values.state as string | undefined) ?? DEFAULT_STATE;
  const client = standInClient(state, values["endpoint-url"] as string | undefined);
  const jobId = values["job-id"] as string | undefined, thingName = values["thing-name"] as string | undefined;
  if (values.follow && (!jobId || !thingName)) throw new UsageError("--follow needs --job-id and --thing-name: it follows one execution");
  if (jobId && thingName) {
    const t = { client, state, jobId, thingName };
    if (values.follow) return follow(t, out, followOptions(values));
    const { execution } = await call("describe-job-execution", () => client.send(new DescribeJobExecutionCommand({ jobId, thingName })), state);
    if (execution) out(describeLine(execution));
    return 0;
  }
  if (jobId) {
    const { job } = await call("describe-job", () => client.send(new DescribeJobCommand({ jobId })), state);
    const counts = Object.entries(job?.jobProcessDetails ?? {}).filter(([k, v]) => k.startsWith("numberOf") && v).map(([k, v]) => `${k.slice(8, -6)}=${String(v)}`);
    out(`${jobId}: ${job?.status} (${job?.targetSelection})${counts.length ? ` ${counts.join(" ")}` : ""}`);
    const { executionSummaries } = await call("list-job-executions-for-job", () => client.send(new ListJobExecutionsForJobCommand({ jobId })), state);
    for (const s of executionSummaries ?? []) out(`  ${s.thingArn?.split("/").pop()}: ${s.jobExecutionSummary?.status}`);
    return 0;
  }
  if (thingName) {
    const { executionSummaries } = await call("list-job-executions-for-thing", () => client.send(new ListJobExecutionsForThingCommand({ thingName })), state);
    for (const s of executionSummaries ?? []) out(`${s.jobId}: ${s.jobExecutionSummary?.status}`);
    return 0;
  }
  const { jobs } = await call("list-jobs", () => client.send(new ListJobsCommand({})), state);
  for (const j of jobs ?? []) out(`${j.jobId}: ${j.status} (${j.targetSelection})`);
  if (!jobs?.length) out("no jobs");
  return 0;
}

// ---- entry point ---------------------------------------------------------------------------

/** Runs one command line; returns the exit code (failures are reported on `err`). */
export async function main(argv: string[], out: Log = (l) => console.log(l), err: Log = (l) => console.error(l)): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h") {
    (name === undefined ? err : out)(overview());
    return name === undefined ? EXIT_USAGE : 0;
  }
  const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!command) {
    err(`${PROGRAM}: unknown command '${name}'; commands: ${Object.keys(COMMANDS).join(", ")}\n\n${overview()}`);
    return EXIT_USAGE;
  }
  const spec = specOf(name, command);
  try {
    const parsed = parseCommandLine(spec, rest);
    if (parsed.help) {
      out(usage(spec));
      return 0;
    }
    return await command.run(parsed.values, out);
  } catch (error) {
    const { text, exitCode } = failureReport(PROGRAM, error, spec);
    err(text);
    return exitCode;
  }
}

const invokedDirectly = process.argv[1] !== undefined && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url);
if (invokedDirectly) {
  void main(process.argv.slice(2)).then((code) => process.exit(code));
}
