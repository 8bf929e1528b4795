// Agents, queues and dialplans: the lists, edit forms for supervisors
// (the API refuses them to lower roles, and the banner says so), and
// dialplan validation with the errors shown against the lines they name.

import { badge, el, fmtTime, getJson, query, replace, reportError, send, showBanner, table } from "./ui.js";

/** The list in an API answer that is either an array or `{key: [...]}`. */
function listOf(body, key) {
  if (Array.isArray(body)) return body;
  return body && Array.isArray(body[key]) ? body[key] : [];
}

const words = (s) =>
  String(s || "")
    .split(",")
    .map((w) => w.trim())
    .filter(Boolean);

function field(name, label, attrs = {}) {
  return el("label", null, label, el("input", { name, ...attrs }));
}

/**
 * A list page with an edit form: `kind` names the API collection, `key` the
 * id field; `toForm`/`fromForm` convert between records and form values.
 */
async function editableList(view, { title, kind, key, columns, fields, fromForm }) {
  view.append(el("h1", null, title));
  const holder = el("section", { class: "panel" });
  const form = el("form", { class: "filters", id: `${kind}-form` }, fields, el("div", { class: "filter-actions" }, el("button", { type: "submit" }, "Save"), el("button", { type: "reset", class: "secondary" }, "Clear")));
  const load = async () => {
    const items = listOf(await getJson(`/api/${kind}`), kind);
    const actions = {
      label: "",
      cell: (item) => [
        el("button", { type: "button", class: "link", onclick: () => fill(item) }, "Edit"),
        " ",
        el("button", { type: "button", class: "link danger", onclick: () => remove(item) }, "Delete"),
      ],
    };
    replace(holder, table([...columns, actions], items, `No ${kind} yet.`));
  };
  const fill = (item) => {
    for (const input of form.elements) {
      if (!input.name) continue;
      const v = item[input.name];
      input.value = Array.isArray(v) ? v.join(", ") : v ?? "";
    }
    form.scrollIntoView({ behavior: "smooth" });
  };
  const remove = (item) => {
    if (!confirm(`Delete ${item[key]}?`)) return;
    send("DELETE", `/api/${kind}/${encodeURIComponent(item[key])}`)
      .then(() => {
        showBanner(`Deleted ${item[key]}.`, "ok");
        return load();
      })
      .catch(reportError);
  };
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const record = fromForm(new FormData(form));
    send("PUT", `/api/${kind}/${encodeURIComponent(record[key])}`, record)
      .then(() => {
        showBanner(`Saved ${record[key]}.`, "ok");
        form.reset();
        return load();
      })
      .catch(reportError);
  });
  view.append(holder, el("h2", null, "Add or change"), form);
  await load();
}

/** `#/agents`. */
export function renderAgents(view) {
  return editableList(view, {
    title: "Agents",
    kind: "agents",
    key: "id",
    columns: [
      { label: "Id", cell: (a) => el("code", null, a.id) },
      { label: "Name", cell: (a) => a.name },
      { label: "SIP URI", cell: (a) => a.uri },
      { label: "Skills", cell: (a) => (a.skills || []).map((s) => badge(s, "intent")) },
      { label: "Languages", cell: (a) => (a.languages || []).join(", ") },
      { label: "Max calls", class: "num", cell: (a) => String(a.max_calls) },
    ],
    fields: [
      field("id", "Id", { required: true, pattern: "[A-Za-z0-9_.\\-]{1,64}" }),
      field("name", "Name", { required: true }),
      field("uri", "SIP URI", { required: true, placeholder: "sip:alice@pbx.example" }),
      field("skills", "Skills", { placeholder: "after-sales, billing" }),
      field("languages", "Languages", { placeholder: "zh, en" }),
      field("max_calls", "Max calls", { type: "number", min: 1, max: 100, value: 1, required: true }),
    ],
    fromForm: (f) => ({
      id: String(f.get("id")).trim(),
      name: String(f.get("name")).trim(),
      uri: String(f.get("uri")).trim(),
      skills: words(f.get("skills")),
      languages: words(f.get("languages")),
      max_calls: Number(f.get("max_calls")),
    }),
  });
}

/** `#/queues`. */
export function renderQueues(view) {
  return editableList(view, {
    title: "Queues",
    kind: "queues",
    key: "name",
    columns: [
      { label: "Name", cell: (q) => el("code", null, q.name) },
      { label: "Skills", cell: (q) => (q.skills || []).map((s) => badge(s, "intent")) },
      { label: "Max wait", class: "num", cell: (q) => `${q.max_wait_secs} s` },
    ],
    fields: [
      field("name", "Name", { required: true, pattern: "[A-Za-z0-9_.\\-]{1,64}" }),
      field("skills", "Skills", { placeholder: "after-sales" }),
      field("max_wait_secs", "Max wait (s)", { type: "number", min: 0, value: 120, required: true }),
    ],
    fromForm: (f) => ({
      name: String(f.get("name")).trim(),
      skills: words(f.get("skills")),
      max_wait_secs: Number(f.get("max_wait_secs")),
    }),
  });
}

/** `file:line: message` → {file, line, message}; line is null when absent. */
export function parseDiagnostic(s) {
  const m = /^(.*?):(\d+)(?::\d+)?:\s*(.*)$/s.exec(String(s));
  return m ? { file: m[1], line: Number(m[2]), message: m[3] } : { file: "", line: null, message: String(s) };
}

/** Whether a diagnostic's file is the submitted one (any, when it has no name). */
function sameFile(file, name) {
  return !name || !file || file.split(/[\\/]/).pop() === name;
}

/** The submitted text with line numbers, the lines with errors marked. */
function annotated(text, errors) {
  const byLine = new Map();
  for (const e of errors) {
    if (e.line) byLine.set(e.line, [...(byLine.get(e.line) || []), e.message]);
  }
  return el(
    "ol",
    { class: "listing" },
    text.split("\n").map((line, i) => {
      const msgs = byLine.get(i + 1);
      return el("li", { class: msgs ? "bad-line" : null }, el("code", null, line || " "), msgs ? msgs.map((m) => el("div", { class: "line-error" }, m)) : null);
    }),
  );
}

function statusTable(list) {
  return table(
    [
      { label: "Name", cell: (d) => el("strong", null, d.name) },
      { label: "File", cell: (d) => el("code", null, d.file) },
      { label: "Version", class: "num", cell: (d) => String(d.version) },
      { label: "Loaded", cell: (d) => d.loaded_at || "—" },
      { label: "Steps / intents / FAQ", class: "num", cell: (d) => `${d.steps} / ${d.intents} / ${d.faq}` },
      { label: "State", cell: (d) => [badge(d.state, d.state === "ok" ? "ok" : "sev sev-critical"), (d.errors || []).length ? el("ul", { class: "errors" }, d.errors.map((e) => el("li", null, e))) : null] },
    ],
    list,
    "No flow dialplan is running (the built-in dialplans have nothing to show).",
  );
}

/** `#/dialplans`: what runs, and a validator for edited files. */
export async function renderDialplans(view) {
  view.append(el("h1", null, "Dialplans"));
  const list = listOf(await getJson("/api/dialplans"), "dialplans");
  view.append(el("section", { class: "panel" }, el("h2", null, "Running"), statusTable(list), el("p", { class: "muted small" }, `Checked ${fmtTime(Date.now())}. Files edited on disk reload within seconds.`)));
  // Without a name, the API checks the text as the running plan's main file.
  const mainFile = list[0] && list[0].file ? list[0].file.split(/[\\/]/).pop() : "";
  const result = el("div", { id: "validate-result" });
  const form = el(
    "form",
    { class: "stack", id: "validate-form" },
    el("label", null, "File name (optional, for the messages)", el("input", { name: "name", placeholder: mainFile || "shop.toml" })),
    el("label", null, "Dialplan (TOML)", el("textarea", { name: "text", rows: 16, class: "code", spellcheck: "false", required: true })),
    el("button", { type: "submit" }, "Validate"),
  );
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const f = new FormData(form);
    const text = String(f.get("text") || "");
    const name = String(f.get("name") || "").trim();
    send("POST", `/api/dialplans/validate${query({ name })}`, text, "text/plain; charset=utf-8")
      .then((r) => {
        const errors = (r && r.errors ? r.errors : []).map(parseDiagnostic);
        replace(result,
          r && r.ok ? el("p", { class: "ok-text" }, "✓ Valid: the dialplan loads with the files beside it.") : el("p", { class: "error" }, `${errors.length} problem${errors.length === 1 ? "" : "s"}:`),
          errors.length ? el("ul", { class: "errors" }, errors.map((e) => el("li", null, e.line ? `line ${e.line}: ` : "", e.message, e.file ? el("span", { class: "muted" }, ` (${e.file})`) : null))) : null,
          errors.some((e) => e.line) ? annotated(text, errors.filter((e) => sameFile(e.file, name || mainFile))) : null,
        );
      })
      .catch(reportError);
  });
  view.append(el("section", { class: "panel" }, el("h2", null, "Validate a dialplan"), form, result));
}
