// The console page: preact + htm (no build step), AWS IoT control-plane calls signed with
// SigV4 by aws4fetch, two signed NDJSON streams (decision log, messages) and MQTT over the
// stand-in's SigV4 WebSocket endpoint (mqtt.js) for publishing. Every call here is one any
// other client can make (docs/console.md).
import { html, render, useEffect, useRef, useState } from "./vendor/preact-htm.js";
import { AwsClient } from "./vendor/aws4fetch.js";
import mqtt from "./vendor/mqtt.js";

const SECTIONS = [
  ["things", "Things"], ["certificates", "Certificates"], ["cas", "CA certificates"], ["policies", "Policies"],
  ["authorizers", "Authorizers"], ["domains", "Domain configurations"], ["jobs", "Jobs"], ["log", "Connection log"], ["mqtt", "MQTT test client"],
];
const ORIGINS = { jitp: "JITP", jitr: "JITR", "fleet-provisioning": "Fleet provisioning", registered: "Registered by hand", created: "Created with keys" };

// ---- talking to the stand-in ------------------------------------------------------------

const session = await (await fetch("session")).json();
const aws = new AwsClient({ accessKeyId: session.accessKeyId, secretAccessKey: session.secretAccessKey, service: "iot", region: session.region });

/** One control-plane operation by its REST path; rejects with AWS's error type and message. */
async function call(path, init = {}) {
  const response = await aws.fetch(session.controlUrl + path, init);
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(`${response.headers.get("x-amzn-ErrorType") ?? response.status}: ${body.message ?? ""}`);
  return body;
}

/** Reads a signed NDJSON stream, calling onItem per line until the signal aborts. */
async function follow(path, onItem, signal) {
  const response = await aws.fetch(session.controlUrl + path, { signal });
  if (!response.ok) throw new Error((await response.json().catch(() => ({}))).message ?? `HTTP ${response.status}`);
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let rest = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    const lines = (rest + value).split("\n");
    rest = lines.pop();
    for (const line of lines) if (line) onItem(JSON.parse(line));
  }
}

const enc = encodeURIComponent;
const shortId = (id) => (id && id.length > 16 ? `${id.slice(0, 10)}…` : id ?? "");
const when = (seconds) => (seconds ? new Date(seconds * 1000).toLocaleString() : "");
const certIdOf = (arn) => /:cert\/([0-9a-f]{64})$/.exec(arn)?.[1];

/** Loads once per `deps`; gives {data, error}. */
function useLoad(load, deps) {
  const [state, setState] = useState({});
  useEffect(() => {
    let live = true;
    setState({});
    load().then((data) => live && setState({ data }), (error) => live && setState({ error: error.message }));
    return () => { live = false; };
  }, deps);
  return state;
}

async function describeCertificate(id) {
  const { certificateDescription: c } = await call(`/certificates/${id}`);
  return c;
}

// ---- small pieces -------------------------------------------------------------------------

const Status = ({ value }) => {
  const kind = /^(ACTIVE|ENABLED|allowed|SUCCEEDED|COMPLETED)$/.test(value ?? "") ? "ok"
    : /REVOKED|INACTIVE|DISABLED|refused|FAILED|REJECTED|TIMED_OUT|CANCELED|REMOVED/.test(value ?? "") ? "bad" : "wait";
  return html`<span class="badge ${kind}">${value}</span>`;
};
const Loading = ({ state, children }) =>
  state.error ? html`<p class="error" role="alert">${state.error}</p>`
    : state.data === undefined ? html`<p role="status" class="muted">Loading…</p>` : children(state.data);
/** rows: one array of cells per row; each cell carries its column's name for the phone layout. */
const Table = ({ caption, head, rows, empty }) => rows.length === 0 ? html`<p class="note">${empty}</p>` : html`
  <div class="table-box" tabindex="0" role="region" aria-label=${caption}>
    <table><caption class="skip">${caption}</caption>
      <thead><tr>${head.map((h) => html`<th scope="col">${h}</th>`)}</tr></thead>
      <tbody>${rows.map((cells) => html`<tr>${cells.map((cell, i) => html`<td data-label=${head[i]}>${cell}</td>`)}</tr>`)}</tbody></table></div>`;
const Id = ({ id }) => (id ? html`<span class="mono" title=${id}>${shortId(id)}</span>` : html`<span class="muted">none</span>`);
const Origin = ({ cert }) => html`<span class="badge">${ORIGINS[cert.origin] ?? cert.origin ?? "unknown"}</span>`;

// ---- pages ----------------------------------------------------------------------------------

function Things() {
  const state = useLoad(async () => {
    const { things } = await call("/things");
    return Promise.all(things.map(async (t) => {
      const { principals } = await call(`/things/${enc(t.thingName)}/principals`);
      const certs = await Promise.all(principals.map(certIdOf).filter(Boolean).map(describeCertificate));
      return { ...t, certs };
    }));
  }, []);
  return html`<h2>Things</h2><${Loading} state=${state}>${(things) => html`<${Table} caption="Things" empty="No things yet."
    head=${["Name", "Attributes", "Certificates (status, origin)", "Version"]}
    rows=${things.map((t) => [
      html`<a href="#things/${enc(t.thingName)}">${t.thingName}</a>`,
      Object.entries(t.attributes ?? {}).map(([k, v]) => `${k}=${v}`).join(", ") || html`<span class="muted">none</span>`,
      t.certs.length === 0 ? html`<span class="muted">none</span>` : t.certs.map((c) => html`<div class="cert">
        <a class="mono" href="#certificates/${c.certificateId}" title=${c.certificateId}>${shortId(c.certificateId)}</a> <${Status} value=${c.status} /> <${Origin} cert=${c} /></div>`),
      t.version])} />`}<//>`;
}

function Thing({ name }) {
  const state = useLoad(async () => {
    const thing = await call(`/things/${enc(name)}`);
    const { principals } = await call(`/things/${enc(name)}/principals`);
    const certs = await Promise.all(principals.map(certIdOf).filter(Boolean).map(describeCertificate));
    const groups = await call(`/things/${enc(name)}/thing-groups`).then((r) => r.thingGroups ?? [], (e) => e.message);
    const { executionSummaries: jobs } = await call(`/things/${enc(name)}/jobs`);
    return { thing, certs, groups, jobs, others: principals.filter((p) => !certIdOf(p)) };
  }, [name]);
  return html`<h2>Thing ${name}</h2><p><a href="#things">All things</a></p><${Loading} state=${state}>${({ thing, certs, groups, jobs, others }) => html`
    <dl class="facts"><dt>ARN</dt><dd class="mono">${thing.thingArn}</dd><dt>Type</dt><dd>${thing.thingTypeName ?? "none"}</dd><dt>Version</dt><dd>${thing.version}</dd></dl>
    <h3>Attributes</h3>
    ${Object.keys(thing.attributes ?? {}).length === 0 ? html`<p class="note">No attributes.</p>` : html`<dl class="facts">${Object.entries(thing.attributes).map(([k, v]) => html`<dt>${k}</dt><dd>${v}</dd>`)}</dl>`}
    <h3>Groups</h3>
    ${typeof groups === "string" ? html`<p class="note">Thing groups could not be read (${groups}).</p>`
      : groups.length === 0 ? html`<p class="note">In no group.</p>` : html`<ul aria-label="Groups">${groups.map((g) => html`<li>${g.groupName}</li>`)}</ul>`}
    <h3>Certificates</h3>
    <${Table} caption="Certificates of ${name}" empty="No certificate attached." head=${["Certificate", "Status", "Origin", "Issuer CA"]}
      rows=${certs.map((c) => [html`<a class="mono" href="#certificates/${c.certificateId}" title=${c.certificateId}>${shortId(c.certificateId)}</a>`,
        html`<${Status} value=${c.status} />`, html`<${Origin} cert=${c} />`, html`<${Id} id=${c.caCertificateId} />`])} />
    ${others.length > 0 && html`<h3>Other principals</h3><ul>${others.map((p) => html`<li class="mono">${p}</li>`)}</ul>`}
    <h3>Jobs</h3>
    <${Table} caption="Job executions on ${name}" empty="No job has run here." head=${["Job", "Status", "Execution", "Last update"]}
      rows=${jobs.map((e) => [html`<a href="#jobs/${enc(e.jobId)}">${e.jobId}</a>`, html`<${Status} value=${e.jobExecutionSummary.status} />`,
        e.jobExecutionSummary.executionNumber, when(e.jobExecutionSummary.lastUpdatedAt)])} />
    <${Shadow} thing=${name} />`}<//>`;
}

/** IoT Jobs and the streams that deliver files to them (MQTT-based file delivery). */
function Jobs() {
  const state = useLoad(async () => ({ jobs: (await call("/jobs")).jobs, streams: (await call("/streams")).streams }), []);
  return html`<h2>Jobs</h2><${Loading} state=${state}>${({ jobs, streams }) => html`
    <${Table} caption="Jobs" empty="No jobs yet: create one with npm run jobs or aws iot create-job." head=${["Job", "Status", "Target selection", "Created"]}
      rows=${jobs.map((j) => [html`<a href="#jobs/${enc(j.jobId)}">${j.jobId}</a>`, html`<${Status} value=${j.status} />`, j.targetSelection, when(j.createdAt)])} />
    <h3>Streams</h3>
    <${Table} caption="Streams" empty="No streams." head=${["Stream", "Version", "Description"]}
      rows=${streams.map((s) => [html`<span class="mono">${s.streamId}</span>`, s.streamVersion, s.description ?? ""])} />`}<//>`;
}

const COUNTS = [["Queued", "numberOfQueuedThings"], ["In progress", "numberOfInProgressThings"], ["Succeeded", "numberOfSucceededThings"], ["Failed", "numberOfFailedThings"],
  ["Rejected", "numberOfRejectedThings"], ["Timed out", "numberOfTimedOutThings"], ["Canceled", "numberOfCanceledThings"], ["Removed", "numberOfRemovedThings"]];

function Job({ id }) {
  const state = useLoad(async () => ({
    job: (await call(`/jobs/${enc(id)}`)).job, document: (await call(`/jobs/${enc(id)}/job-document`)).document,
    executions: (await call(`/jobs/${enc(id)}/things`)).executionSummaries,
  }), [id]);
  return html`<h2>Job ${id}</h2><p><a href="#jobs">All jobs</a></p><${Loading} state=${state}>${({ job, document, executions }) => html`
    <dl class="facts"><dt>Status</dt><dd><${Status} value=${job.status} /></dd><dt>Target selection</dt><dd>${job.targetSelection}</dd>
      <dt>Targets</dt><dd class="mono">${job.targets.join(", ")}</dd><dt>Created</dt><dd>${when(job.createdAt)}</dd>
      ${job.completedAt && html`<dt>Completed</dt><dd>${when(job.completedAt)}</dd>`}
      ${job.reasonCode && html`<dt>Reason</dt><dd>${job.reasonCode}${job.comment ? `: ${job.comment}` : ""}</dd>`}</dl>
    <h3>Things</h3>
    <dl class="facts">${COUNTS.map(([label, key]) => html`<dt>${label}</dt><dd>${job.jobProcessDetails?.[key] ?? 0}</dd>`)}</dl>
    <${Table} caption="Executions of ${id}" empty="No executions." head=${["Thing", "Status", "Execution", "Last update"]}
      rows=${executions.map((e) => {
        const thing = e.thingArn.split("/").pop();
        return [html`<a href="#things/${enc(thing)}">${thing}</a>`, html`<${Status} value=${e.jobExecutionSummary.status} />`, e.jobExecutionSummary.executionNumber, when(e.jobExecutionSummary.lastUpdatedAt)];
      })} />
    <h3>Document</h3><pre class="payload mono">${pretty(document)}</pre>`}<//>`;
}

/** The thing's classic shadow over MQTT (the Device Shadow service's reserved topics). */
function Shadow({ thing }) {
  const [state, setState] = useState({});
  const [status, setStatus] = useState("");
  const load = () => shadowRequest(thing, "get").then((doc) => setState({ doc }), (error) => setState({ error: error.message }));
  useEffect(() => { setState({}); void load(); }, [thing]);
  const update = async (event) => {
    event.preventDefault();
    let desired;
    try {
      desired = JSON.parse(new FormData(event.target).get("desired"));
    } catch (e) {
      return setStatus(`The desired state is not JSON: ${e.message}`);
    }
    try {
      const doc = await shadowRequest(thing, "update", { state: { desired } });
      setStatus(`Shadow updated to version ${doc.version}.`);
      await load();
    } catch (e) {
      setStatus(`Update refused: ${e.message}`);
    }
  };
  const doc = state.doc;
  const none = state.error?.startsWith("404");
  return html`<h3>Shadow</h3>
    ${state.error && !none && html`<p class="error" role="alert">${state.error}</p>`}
    ${none && html`<p class="note">No shadow yet: updating the desired state creates it.</p>`}
    ${state.doc === undefined && !state.error && html`<p role="status" class="muted">Loading…</p>`}
    ${doc && html`<dl class="facts shadow"><dt>Version</dt><dd>${doc.version}</dd>
      <dt>Reported</dt><dd><pre class="doc">${JSON.stringify(doc.state?.reported ?? {}, null, 2)}</pre></dd>
      <dt>Delta</dt><dd><pre class="doc">${JSON.stringify(doc.state?.delta ?? {}, null, 2)}</pre></dd></dl>`}
    ${(doc || none) && html`<form onSubmit=${update}>
      <div class="field"><label for="desired">Desired state (JSON; a key set to null is removed)</label>
        <textarea id="desired" name="desired">${JSON.stringify(doc?.state?.desired ?? {}, null, 2)}</textarea></div>
      <p><button type="submit">Update desired state</button></p></form>`}
    <p role="status" aria-live="polite">${status}</p>`;
}

/** One shadow request over MQTT; resolves with the accepted document, rejects with "code: message". */
async function shadowRequest(thing, operation, body = {}) {
  const c = await connected(mqttConnection);
  const base = `$aws/things/${thing}/shadow/${operation}`;
  const clientToken = crypto.randomUUID();
  await c.subscribeAsync([`${base}/accepted`, `${base}/rejected`], { qos: 1 });
  return new Promise((resolve, reject) => {
    const answered = (topic, payload) => {
      if (topic !== `${base}/accepted` && topic !== `${base}/rejected`) return;
      const doc = JSON.parse(new TextDecoder().decode(payload));
      if (doc.clientToken !== clientToken) return;
      done();
      if (topic.endsWith("/accepted")) resolve(doc);
      else reject(new Error(`${doc.code}: ${doc.message}`));
    };
    const timer = setTimeout(() => { done(); reject(new Error(`no answer on ${base}/accepted or /rejected within 10 s`)); }, 10_000);
    const done = () => { clearTimeout(timer); c.off("message", answered); };
    c.on("message", answered);
    c.publish(base, JSON.stringify({ ...body, clientToken }), { qos: 1 });
  });
}

function Certificate({ id }) {
  const state = useLoad(async () => {
    const c = await describeCertificate(id);
    const { things } = await call("/principals/things", { headers: { "x-amzn-principal": c.certificateArn } });
    const { policies } = await call(`/attached-policies/${enc(c.certificateArn)}`, { method: "POST" });
    return { c, things, policies };
  }, [id]);
  return html`<h2>Certificate ${shortId(id)}</h2><p><a href="#certificates">All certificates</a></p><${Loading} state=${state}>${({ c, things, policies }) => html`
    <dl class="facts">
      <dt>Id</dt><dd class="mono">${c.certificateId}</dd><dt>ARN</dt><dd class="mono">${c.certificateArn}</dd>
      <dt>Status</dt><dd><${Status} value=${c.status} /></dd><dt>Origin</dt><dd><${Origin} cert=${c} /></dd>
      <dt>Issuer CA</dt><dd class="mono">${c.caCertificateId ?? "none (registered without a CA)"}</dd>
      <dt>Valid</dt><dd>${when(c.validity?.notBefore)} to ${when(c.validity?.notAfter)}</dd>
      <dt>Created</dt><dd>${when(c.creationDate)}</dd>
      <dt>Things</dt><dd>${things.length === 0 ? "none" : things.map((t, i) => html`${i ? ", " : ""}<a href="#things/${enc(t)}">${t}</a>`)}</dd>
      <dt>Policies</dt><dd>${policies.length === 0 ? "none" : policies.map((p) => p.policyName).join(", ")}</dd>
    </dl>`}<//>`;
}

function Certificates() {
  const state = useLoad(async () => {
    const { certificates } = await call("/certificates");
    return Promise.all(certificates.map(async (c) => {
      const described = await describeCertificate(c.certificateId);
      const { things } = await call("/principals/things", { headers: { "x-amzn-principal": c.certificateArn } });
      return { ...described, things };
    }));
  }, []);
  return html`<h2>Certificates</h2><${Loading} state=${state}>${(certs) => html`<${Table} caption="Certificates" empty="No certificates yet."
    head=${["Certificate", "Status", "Origin", "Issuer CA", "Things", "Created"]}
    rows=${certs.map((c) => [html`<a class="mono" href="#certificates/${c.certificateId}" title=${c.certificateId}>${shortId(c.certificateId)}</a>`, html`<${Status} value=${c.status} />`, html`<${Origin} cert=${c} />`, html`<${Id} id=${c.caCertificateId} />`,
      c.things.map((t, i) => html`${i ? ", " : ""}<a href="#things/${enc(t)}">${t}</a>`), when(c.creationDate)])} />`}<//>`;
}

function Cas() {
  const state = useLoad(async () => {
    const { certificates } = await call("/cacertificates");
    return Promise.all(certificates.map((c) => call(`/cacertificate/${c.certificateId}`)));
  }, []);
  return html`<h2>CA certificates</h2><${Loading} state=${state}>${(cas) => html`<${Table} caption="CA certificates" empty="No CA certificates registered."
    head=${["CA certificate", "Status", "Auto-registration", "Provisioning", "Created"]}
    rows=${cas.map(({ certificateDescription: c, registrationConfig: r }) => [html`<${Id} id=${c.certificateId} />`, html`<${Status} value=${c.status} />`, c.autoRegistrationStatus,
      r?.templateBody ? "JITP template" : c.autoRegistrationStatus === "ENABLE" ? "JITR (auto-registration)" : "none", when(c.creationDate)])} />`}<//>`;
}

function Policies() {
  const state = useLoad(async () => {
    const { policies } = await call("/policies");
    return Promise.all(policies.map((p) => call(`/policies/${enc(p.policyName)}`)));
  }, []);
  return html`<h2>Policies</h2><${Loading} state=${state}>${(policies) => policies.length === 0 ? html`<p class="note">No policies.</p>`
    : policies.map((p) => html`<details><summary><b>${p.policyName}</b> <span class="muted">version ${p.defaultVersionId}</span></summary>
        <pre class="doc">${pretty(p.policyDocument)}</pre></details>`)}<//>`;
}

function Authorizers() {
  const state = useLoad(async () => {
    const { authorizers } = await call("/authorizers/");
    return Promise.all(authorizers.map((a) => call(`/authorizer/${enc(a.authorizerName)}`).then((r) => r.authorizerDescription)));
  }, []);
  return html`<h2>Authorizers</h2><${Loading} state=${state}>${(list) => html`<${Table} caption="Authorizers" empty="No custom authorizers."
    head=${["Name", "Status", "Token signing", "Token key", "Function"]}
    rows=${list.map((a) => [a.authorizerName, html`<${Status} value=${a.status} />`, a.signingDisabled ? "disabled" : "enabled", a.tokenKeyName ?? "",
      html`<span class="mono arn">${a.authorizerFunctionArn}</span>`])} />`}<//>`;
}

function Domains() {
  const state = useLoad(async () => {
    const { domainConfigurations } = await call("/domainConfigurations");
    return Promise.all(domainConfigurations.map((d) => call(`/domainConfigurations/${enc(d.domainConfigurationName)}`)));
  }, []);
  return html`<h2>Domain configurations</h2><${Loading} state=${state}>${(list) => html`<${Table} caption="Domain configurations" empty="No domain configurations."
    head=${["Name", "Domain", "Status", "Type", "Default authorizer"]}
    rows=${list.map((d) => [d.domainConfigurationName, html`<span class="arn">${d.domainName ?? ""}</span>`, html`<${Status} value=${d.domainConfigurationStatus} />`,
      d.domainType ?? "", d.authorizerConfig?.defaultAuthorizerName ?? ""])} />`}<//>`;
}

/** The decisions the log shows by default: connections, and what a connection may do. */
const DECISIONS = new Set(["connect", "connection", "tls", "websocket", "subscribe", "publish", "receive"]);

function ConnectionLog() {
  const [events, setEvents] = useState([]);
  const [error, setError] = useState();
  const [all, setAll] = useState(false);
  useEffect(() => {
    const stop = new AbortController();
    follow("/console/api/log", (e) => setEvents((list) => [e, ...list].slice(0, 500)), stop.signal)
      .catch((e) => stop.signal.aborted || setError(e.message));
    return () => stop.abort();
  }, []);
  const shown = all ? events : events.filter((e) => DECISIONS.has(e.fields?.event));
  return html`<h2>Connection log</h2>
    <p class="muted">The stand-in's decisions as they happen, newest first: who connected on which listener, who was refused and why, and which policy statement decided what a connection may do.</p>
    <fieldset class="inline"><legend>Show</legend>
      <label><input type="radio" name="log-scope" checked=${!all} onChange=${() => setAll(false)} /> Connection decisions</label>
      <label><input type="radio" name="log-scope" checked=${all} onChange=${() => setAll(true)} /> Every log line</label></fieldset>
    ${error && html`<p class="error" role="alert">${error}</p>`}
    <ol class="feed" role="log" aria-label="Connection log" aria-live="polite">
      ${shown.length === 0 && html`<li class="muted">Nothing yet.</li>`}
      ${shown.map((e) => html`<li>${e.fields ? html`<${Decision} e=${e} />` : html`<span class="muted">${time(e.time)}</span> <span class="mono">${e.line}</span>`}</li>`)}
    </ol>`;
}

function Decision({ e }) {
  const f = e.fields;
  const what = {
    connect: `client ${f.clientId}`, connection: `connection ${f.who ?? ""}`, tls: "TLS handshake", websocket: "WebSocket upgrade",
    subscribe: `client ${f.clientId} subscribes to ${f.filter}`, publish: `client ${f.clientId} publishes to ${f.topic}`,
    receive: `client ${f.clientId} receives ${f.topic}`,
  }[f.event] ?? f.event;
  const connection = ["connect", "connection", "tls", "websocket"].includes(f.event);
  return html`<div><${Status} value=${f.outcome} /> <b>${what}</b> <span class="muted">${time(e.time)}</span></div>
    <div class="meta">
      ${connection && html`<span>listener <b>${f.listener ?? "?"}</b></span><span>ALPN <b>${f.alpn ?? "none"}</b></span><span>SNI <b>${f.sni ?? "none"}</b></span>`}
      ${f.principal && html`<span>principal <b class="mono" title=${f.principal}>${principalShort(f.principal)}</b></span>`}
      ${f.thingName && html`<span>thing <b>${f.thingName}</b></span>`}
      ${f.decidedBy && html`<span>decided by <b>${f.decidedBy}</b></span>`}
      ${f.answer && html`<span>answer <b>${f.answer}</b></span>`}
    </div>
    ${f.reason && html`<div class="payload">Reason: ${f.reason}</div>`}`;
}

function MqttClient() {
  const [filters, setFilters] = useState([]);
  const [messages, setMessages] = useState([]);
  const [format, setFormat] = useState("text");
  const [status, setStatus] = useState("");
  const streams = useRef(new Map());
  useEffect(() => () => { for (const s of streams.current.values()) s.abort(); }, []);

  const subscribe = (event) => {
    event.preventDefault();
    const filter = new FormData(event.target).get("filter").trim();
    if (!filter || streams.current.has(filter)) return;
    const stop = new AbortController();
    streams.current.set(filter, stop);
    setFilters((list) => [...list, filter]);
    follow(`/console/api/messages?filter=${enc(filter)}`, (m) => {
      if (m.subscribed !== undefined) return setStatus(`Subscribed to ${m.subscribed}.`);
      setMessages((list) => [{ ...m, filter }, ...list].slice(0, 300));
    }, stop.signal).catch((e) => {
      if (stop.signal.aborted) return;
      setStatus(`Subscription to ${filter} failed: ${e.message}`);
      unsubscribe(filter);
    });
  };
  const unsubscribe = (filter) => {
    streams.current.get(filter)?.abort();
    streams.current.delete(filter);
    setFilters((list) => list.filter((f) => f !== filter));
    setStatus(`Unsubscribed from ${filter}.`);
  };
  const publish = async (event) => {
    event.preventDefault();
    const data = new FormData(event.target);
    const topic = data.get("topic").trim(), qos = Number(data.get("qos")), payload = data.get("payload");
    try {
      const c = await connected(mqttConnection);
      await c.publishAsync(topic, payload, { qos });
      setStatus(`Published ${new TextEncoder().encode(payload).length} bytes to ${topic} with QoS ${qos}${qos ? " (acknowledged)" : ""}.`);
    } catch (e) {
      setStatus(`Publish to ${topic} failed: ${e.message}`);
    }
  };

  return html`<h2>MQTT test client</h2>
    <p role="status" class="note" aria-live="polite">${status || "Subscribe to a topic filter to see messages as they arrive; publish over MQTT."}</p>
    <div class="two">
      <section class="panel" aria-labelledby="sub-h"><h3 id="sub-h">Subscribe</h3>
        <form class="row" onSubmit=${subscribe}>
          <div class="field"><label for="filter">Topic filter</label><input id="filter" name="filter" type="text" required placeholder="device-001/# or #" autocomplete="off" /></div>
          <button type="submit">Subscribe</button></form>
        ${filters.length > 0 && html`<ul aria-label="Subscriptions">${filters.map((f) => html`<li><code>${f}</code> <button class="quiet" type="button" onClick=${() => unsubscribe(f)} aria-label="Unsubscribe from ${f}">Unsubscribe</button></li>`)}</ul>`}
      </section>
      <section class="panel" aria-labelledby="pub-h"><h3 id="pub-h">Publish</h3>
        <form onSubmit=${publish}>
          <div class="row">
            <div class="field"><label for="pub-topic">Topic</label><input id="pub-topic" name="topic" type="text" required autocomplete="off" /></div>
            <div class="field narrow"><label for="pub-qos">QoS</label><select id="pub-qos" name="qos"><option value="0">0</option><option value="1" selected>1</option></select></div>
          </div>
          <div class="field"><label for="pub-payload">Payload</label><textarea id="pub-payload" name="payload">{"message": "Hello from the console"}</textarea></div>
          <p><button type="submit">Publish</button></p></form>
      </section>
    </div>
    <h3>Messages</h3>
    <fieldset class="inline"><legend>Payload as</legend>
      <label><input type="radio" name="format" checked=${format === "text"} onChange=${() => setFormat("text")} /> Text</label>
      <label><input type="radio" name="format" checked=${format === "hex"} onChange=${() => setFormat("hex")} /> Hex</label></fieldset>
    <ol class="feed" role="log" aria-label="Messages received" aria-live="polite">
      ${messages.length === 0 && html`<li class="muted">No messages yet.</li>`}
      ${messages.map((m) => html`<li class="message"><div class="meta"><span>topic <b class="mono">${m.topic}</b></span><span>client id <b>${m.clientId ?? "(the stand-in)"}</b></span>
        <span>QoS <b>${m.qos}</b></span><span>size <b>${m.size} B</b></span><span>${time(m.time)}</span></div>
        <pre class="payload mono">${format === "hex" ? hex(m.payload) : text(m.payload)}</pre></li>`)}
    </ol>`;
}

/** The console's one MQTT connection (publish, shadows), made when first needed. */
const mqttConnection = { current: undefined };

/** Connects `ref` over the SigV4 WebSocket endpoint unless it is connected (one attempt at a time). */
function connected(ref) {
  if (ref.current?.connected) return Promise.resolve(ref.current);
  ref.pending ??= connect(ref).finally(() => { ref.pending = undefined; });
  return ref.pending;
}

async function connect(ref) {
  ref.current?.end(true);
  const signed = await aws.sign(session.controlUrl + "/mqtt", { method: "GET", aws: { signQuery: true, service: "iotdevicegateway" } });
  const url = signed.url.replace(/^http/, "ws");
  const c = mqtt.connect(url, { clientId: `console-${crypto.randomUUID().slice(0, 8)}`, protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 10_000 });
  ref.current = c;
  await new Promise((resolve, reject) => {
    c.once("connect", resolve);
    c.once("error", reject);
    c.once("close", () => reject(new Error("the stand-in closed the connection (see the connection log)")));
  });
  return c;
}

// ---- formatting ----------------------------------------------------------------------------

function bytesOf(base64) { return Uint8Array.from(atob(base64), (ch) => ch.charCodeAt(0)); }
function text(base64) { return new TextDecoder().decode(bytesOf(base64)); }
function hex(base64) { return Array.from(bytesOf(base64), (b) => b.toString(16).padStart(2, "0")).join(" "); }
function principalShort(p) { const [kind, id = ""] = p.split(" "); return `${kind} ${shortId(id)}`; }
function time(ms) { return new Date(ms).toLocaleTimeString(); }
function pretty(json) { try { return JSON.stringify(JSON.parse(json), null, 2); } catch { return json; } }

// ---- the shell ---------------------------------------------------------------------------

function route() {
  const [section = "things", ...rest] = location.hash.slice(1).split("/");
  return { section, arg: rest.length ? decodeURIComponent(rest.join("/")) : undefined };
}

function App() {
  const [where, setWhere] = useState(route());
  useEffect(() => {
    const changed = () => { setWhere(route()); document.getElementById("main")?.focus(); };
    addEventListener("hashchange", changed);
    return () => removeEventListener("hashchange", changed);
  }, []);
  const { section, arg } = where;
  const title = SECTIONS.find(([id]) => id === section)?.[1] ?? "Things";
  useEffect(() => { document.title = `${title} · IoT Core stand-in console`; }, [title]);
  const page = section === "things" && arg ? html`<${Thing} name=${arg} />`
    : section === "certificates" && arg ? html`<${Certificate} id=${arg} />`
    : section === "certificates" ? html`<${Certificates} />`
    : section === "cas" ? html`<${Cas} />` : section === "policies" ? html`<${Policies} />`
    : section === "authorizers" ? html`<${Authorizers} />` : section === "domains" ? html`<${Domains} />`
    : section === "jobs" && arg ? html`<${Job} id=${arg} />` : section === "jobs" ? html`<${Jobs} />`
    : section === "log" ? html`<${ConnectionLog} />` : section === "mqtt" ? html`<${MqttClient} />` : html`<${Things} />`;
  return html`<div class="shell">
    <header class="top"><h1>IoT Core stand-in</h1><span class="where">${session.region} · ${session.controlUrl}</span></header>
    <nav class="sections" aria-label="Console sections"><ul>
      ${SECTIONS.map(([id, label]) => html`<li><a href="#${id}" aria-current=${id === section ? "page" : undefined}>${label}</a></li>`)}
    </ul></nav>
    <main id="main" tabindex="-1">${page}</main></div>`;
}

const root = document.getElementById("app");
root.textContent = "";
render(html`<${App} />`, root);
