// The viewer of `durable-async serve`: executions, a live timeline, history and callback answers.
// Plain DOM code: every text from the server goes in through textContent, never as HTML.
"use strict";

(() => {
  const API = "/viewer/api";
  const $ = (id) => document.getElementById(id);

  const state = {
    arn: null, // the open execution, from the URL hash
    detail: null,
    seq: 0, // the latest detail request: older answers are dropped
    parts: null, // the detail view's sections
    openOps: new Set(), // operations whose details are unfolded
    cards: new Map(), // callback id -> its answer card (kept so a draft survives updates)
    source: null,
    polling: null,
    refresh: null,
    pending: { list: false, detail: false },
  };

  // -- building the DOM ------------------------------------------------------------------------

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = String(value);
      else if (key === "testid") node.dataset.testid = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function badge(status, testid) {
    const text = status || "?";
    return el("span", { class: `badge s-${text.toLowerCase()}`, testid, text });
  }

  // -- formatting ------------------------------------------------------------------------------

  const pad = (n, width = 2) => String(n).padStart(width, "0");

  function fmtTime(iso) {
    if (!iso) return "—";
    const d = new Date(iso);
    return (
      `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
      `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`
    );
  }

  function fmtDuration(seconds) {
    if (seconds === null || seconds === undefined || Number.isNaN(seconds)) return "—";
    const s = Math.max(0, seconds);
    if (s === 0) return "0 s";
    if (s < 1) return `${Math.round(s * 1000)} ms`;
    if (s < 60) return `${+s.toFixed(s < 10 ? 2 : 1)} s`;
    const total = Math.round(s);
    if (total < 3600) return `${Math.floor(total / 60)}m ${pad(total % 60)}s`;
    if (total < 86400) return `${Math.floor(total / 3600)}h ${pad(Math.floor(total / 60) % 60)}m`;
    return `${Math.floor(total / 86400)}d ${Math.floor(total / 3600) % 24}h`;
  }

  // A payload as readable text: pretty JSON when it is JSON, else the text itself.
  function pretty(payload) {
    if (payload === null || payload === undefined) return "—";
    if (typeof payload !== "string") return JSON.stringify(payload, null, 2);
    try {
      return JSON.stringify(JSON.parse(payload), null, 2);
    } catch {
      return payload;
    }
  }

  function oneLine(payload, max = 80) {
    const text = pretty(payload).replace(/\s+/g, " ");
    return text.length > max ? `${text.slice(0, max - 1)}…` : text;
  }

  const hrefFor = (arn) => `#/execution/${encodeURIComponent(arn)}`;

  // -- talking to the server -------------------------------------------------------------------

  async function api(path, options) {
    const res = await fetch(path, options);
    const body = await res.json().catch(() => ({}));
    if (!res.ok) throw new Error(body.error || `${res.status} ${res.statusText}`);
    return body;
  }

  function post(path, data) {
    return api(path, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(data),
    });
  }

  // -- routing ---------------------------------------------------------------------------------

  function route() {
    const match = location.hash.match(/^#\/execution\/(.+)$/);
    let arn = null;
    if (match) {
      try {
        arn = decodeURIComponent(match[1]);
      } catch {
        arn = null;
      }
    }
    if (arn !== state.arn) {
      state.arn = arn;
      state.detail = null;
      state.parts = null;
      state.cards.clear();
      state.openOps.clear();
    }
    $("list-view").hidden = Boolean(arn);
    $("detail-view").hidden = !arn;
    if (arn) {
      $("detail-view").replaceChildren(el("p", { class: "muted", text: "Loading…" }));
      loadDetail();
    } else {
      loadList();
    }
  }

  // -- the list --------------------------------------------------------------------------------

  async function loadList() {
    const params = new URLSearchParams();
    const text = $("filter-text").value.trim();
    const status = $("filter-status").value;
    if (text) params.set("q", text);
    if (status) params.set("status", status);
    try {
      renderList(await api(`${API}/executions?${params}`));
      $("list-error").hidden = true;
    } catch (err) {
      $("list-error").textContent = `Could not load the executions: ${err.message}`;
      $("list-error").hidden = false;
    }
  }

  function renderList(rows) {
    $("execution-rows").replaceChildren(
      ...rows.map((row) =>
        el(
          "tr",
          {
            testid: "execution-row",
            "data-arn": row.arn,
            onclick: (event) => {
              if (!event.target.closest("a")) location.hash = hrefFor(row.arn);
            },
          },
          el("td", {}, badge(row.status, "execution-status")),
          el("td", { class: "mono", text: row.function }),
          el("td", {}, el("a", { href: hrefFor(row.arn), text: row.name, testid: "execution-link" })),
          el("td", { text: fmtTime(row.start), title: row.start }),
          el("td", { class: "num", text: fmtDuration(row.duration) }),
        ),
      ),
    );
    $("empty").hidden = rows.length > 0;
    $("count").textContent = `${rows.length} execution${rows.length === 1 ? "" : "s"}`;
  }

  // -- one execution ---------------------------------------------------------------------------

  async function loadDetail() {
    const arn = state.arn;
    const seq = ++state.seq;
    let detail;
    try {
      detail = await api(`${API}/execution?arn=${encodeURIComponent(arn)}`);
    } catch (err) {
      if (seq === state.seq && arn === state.arn) {
        state.parts = null;
        $("detail-view").replaceChildren(
          backLink(),
          el("p", { class: "error-text", testid: "detail-error", text: err.message }),
        );
      }
      return;
    }
    if (seq !== state.seq || arn !== state.arn) return;
    state.detail = detail;
    renderDetail(detail);
  }

  function backLink() {
    return el("a", { class: "back", href: "#/", text: "← All executions" });
  }

  function section(title, testid) {
    const body = el("div", { testid });
    return { node: el("section", { class: "panel" }, el("h2", { text: title }), body), body };
  }

  function renderDetail(d) {
    if (!state.parts) {
      const parts = {
        head: el("div", { class: "exec-head" }),
        callbacks: el("div", { class: "callbacks", testid: "callbacks" }),
        timeline: section("Timeline", "timeline"),
        io: el("div", { class: "io" }),
        operations: section("Operations", "operations"),
        history: section("History", "history"),
      };
      state.parts = parts;
      $("detail-view").replaceChildren(
        backLink(),
        parts.head,
        parts.callbacks,
        parts.timeline.node,
        parts.io,
        parts.operations.node,
        parts.history.node,
      );
    }
    const parts = state.parts;
    parts.head.replaceChildren(...renderHead(d));
    renderCallbacks(d);
    parts.timeline.body.replaceChildren(renderTimeline(d));
    parts.io.replaceChildren(...renderIo(d));
    parts.operations.body.replaceChildren(renderOperations(d));
    parts.history.body.replaceChildren(renderHistory(d));
  }

  function renderHead(d) {
    const message = el("span", { class: "action-message", testid: "action-message" });
    const actions = el("div", { class: "actions" });
    if (d.status === "RUNNING") {
      const stop = el("button", {
        class: "danger",
        testid: "stop-execution",
        text: "Stop execution",
        onclick: async () => {
          stop.disabled = true;
          try {
            await post(`${API}/stop`, { arn: d.arn, errorMessage: "stopped from the viewer" });
            message.textContent = "Stopped.";
            scheduleRefresh(null);
          } catch (err) {
            message.textContent = err.message;
            stop.disabled = false;
          }
        },
      });
      actions.append(stop);
    }
    actions.append(message);
    const field = (label, value, cls) => [
      el("dt", { text: label }),
      el("dd", { class: cls, text: value }),
    ];
    return [
      el(
        "div",
        { class: "title-row" },
        el("h1", { testid: "execution-name", text: d.name }),
        badge(d.status, "execution-status"),
        actions,
      ),
      el(
        "dl",
        { class: "meta" },
        field("Function", d.function, "mono"),
        field("Started", fmtTime(d.start)),
        field("Ended", fmtTime(d.end)),
        field("Duration", fmtDuration(d.duration)),
        field("ARN", d.arn, "mono arn"),
      ),
    ];
  }

  function renderIo(d) {
    const pane = (title, testid, payload, cls) =>
      el(
        "div",
        { class: `panel io-pane ${cls || ""}` },
        el("h2", { text: title }),
        el("pre", { testid, text: pretty(payload) }),
      );
    const panes = [pane("Input", "execution-input", d.input)];
    if (d.status === "SUCCEEDED" || d.result !== null) {
      panes.push(pane("Result", "execution-result", d.result));
    }
    if (d.error) panes.push(pane("Error", "execution-error", d.error, "bad"));
    return panes;
  }

  // -- pending callbacks -----------------------------------------------------------------------

  function renderCallbacks(d) {
    const pending = d.operations.filter(
      (op) => op.Type === "CALLBACK" && op.Status === "STARTED" && op.CallbackDetails,
    );
    const live = new Set();
    for (const op of pending) {
      const id = op.CallbackDetails.CallbackId;
      live.add(id);
      if (!state.cards.has(id)) {
        const card = callbackCard(op, d);
        state.cards.set(id, card);
        state.parts.callbacks.append(card); // cards stay in place: a draft keeps its focus
      }
    }
    for (const [id, card] of state.cards) {
      if (!live.has(id)) {
        card.remove();
        state.cards.delete(id);
      }
    }
  }

  function callbackCard(op, d) {
    const id = op.CallbackDetails.CallbackId;
    const byId = new Map(d.operations.map((o) => [o.Id, o]));
    const parent = op.ParentId ? byId.get(op.ParentId) : null;
    const title = op.Name || (parent && parent.Name) || op.Id;
    const payload = el("textarea", {
      testid: "callback-payload",
      rows: 4,
      spellcheck: "false",
      "aria-label": "Result payload (JSON)",
    });
    payload.value = "{}";
    const errorType = el("input", {
      testid: "callback-error-type",
      placeholder: "Error type",
      "aria-label": "Error type",
    });
    const errorMessage = el("input", {
      testid: "callback-error-message",
      placeholder: "Error message",
      "aria-label": "Error message",
    });
    const message = el("p", { class: "action-message", testid: "callback-message" });
    const buttons = [];
    const send = async (action, body, done) => {
      buttons.forEach((b) => (b.disabled = true));
      message.textContent = "Sending…";
      try {
        await post(`${API}/callback/${action}`, { callbackId: id, ...body });
        message.textContent = done;
        scheduleRefresh(null);
      } catch (err) {
        message.textContent = err.message;
      } finally {
        buttons.forEach((b) => (b.disabled = false));
      }
    };
    const succeed = el("button", {
      class: "primary",
      testid: "callback-succeed",
      text: "Succeed",
      onclick: () => {
        let value;
        try {
          value = JSON.parse(payload.value);
        } catch (err) {
          message.textContent = `The payload is not valid JSON: ${err.message}`;
          return;
        }
        send("succeed", { payload: value }, "Sent the result.");
      },
    });
    const fail = el("button", {
      class: "danger",
      testid: "callback-fail",
      text: "Fail",
      onclick: () =>
        send(
          "fail",
          { errorType: errorType.value || "Rejected", errorMessage: errorMessage.value },
          "Sent the failure.",
        ),
    });
    const heartbeat = el("button", {
      testid: "callback-heartbeat",
      text: "Heartbeat",
      onclick: () => send("heartbeat", {}, `Heartbeat sent at ${fmtTime(new Date().toISOString())}.`),
    });
    buttons.push(succeed, fail, heartbeat);
    return el(
      "div",
      { class: "panel callback", testid: "callback", "data-callback-id": id },
      el(
        "h2",
        {},
        "Pending callback ",
        el("span", { class: "cb-name", text: title }),
      ),
      el("p", { class: "muted mono", text: `id ${id} · started ${fmtTime(op.StartTimestamp)}` }),
      el("label", { class: "field-label", text: "Result payload (JSON)" }),
      payload,
      el("div", { class: "cb-actions" }, succeed, heartbeat, el("span", { class: "gap" }), errorType, errorMessage, fail),
      message,
    );
  }

  // -- the timeline ----------------------------------------------------------------------------

  const TYPE_TAGS = {
    EXECUTION: "EXEC",
    CONTEXT: "CTX",
    STEP: "STEP",
    WAIT: "WAIT",
    CALLBACK: "CB",
    CHAINED_INVOKE: "INVOKE",
  };

  // Operations in tree order, each with its depth under the EXECUTION operation.
  function tree(operations) {
    const byId = new Map(operations.map((op) => [op.Id, op]));
    const root = operations.find((op) => op.Type === "EXECUTION");
    const children = new Map();
    const top = [];
    for (const op of operations) {
      if (op === root) continue;
      let parent = op.ParentId && byId.has(op.ParentId) ? op.ParentId : null;
      if (!parent && root) parent = root.Id;
      if (!parent) top.push(op);
      else {
        if (!children.has(parent)) children.set(parent, []);
        children.get(parent).push(op);
      }
    }
    const rows = [];
    const seen = new Set();
    const walk = (op, depth) => {
      if (seen.has(op.Id)) return;
      seen.add(op.Id);
      rows.push({ op, depth });
      for (const child of children.get(op.Id) || []) walk(child, depth + 1);
    };
    if (root) walk(root, 0);
    top.forEach((op) => walk(op, 0));
    operations.forEach((op) => walk(op, 0)); // anything left over (a cycle cannot hide it)
    return rows;
  }

  const ms = (iso) => (iso ? Date.parse(iso) : null);

  // The attempts of a step, from its history: each StepStarted to the event that ended it.
  function stepAttempts(events) {
    const attempts = [];
    let open = null;
    for (const event of events) {
      const at = ms(event.EventTimestamp);
      if (event.EventType === "StepStarted") {
        if (open !== null) attempts.push({ start: open, end: at, status: "STARTED" });
        open = at;
      } else if (event.EventType === "StepSucceeded" || event.EventType === "StepFailed") {
        const details = event[`${event.EventType}Details`] || {};
        const retry = details.RetryDetails || {};
        const delay = retry.NextAttemptDelaySeconds;
        attempts.push({
          start: open === null ? at : open,
          end: at,
          status: event.EventType === "StepSucceeded" ? "SUCCEEDED" : "FAILED",
          attempt: retry.CurrentAttempt,
          next: delay ? at + delay * 1000 : null,
        });
        open = null;
      }
    }
    if (open !== null) attempts.push({ start: open, end: null, status: "STARTED" });
    return attempts;
  }

  // The bar segments of one operation: {start, end, cls, label}.
  function segments(op, events, now) {
    const start = ms(op.StartTimestamp);
    const end = ms(op.EndTimestamp);
    if (start === null) return [];
    const status = op.Status;
    if (op.Type === "STEP") {
      const out = [];
      const attempts = stepAttempts(events);
      attempts.forEach((a, i) => {
        const n = i + 1;
        const stop = a.end === null ? now : a.end;
        out.push({ start: a.start, end: stop, cls: `s-${a.status.toLowerCase()}`, label: `attempt ${n}: ${a.status}` });
        if (a.next !== null) {
          const resumed = i + 1 < attempts.length ? attempts[i + 1].start : Math.max(now, a.next);
          out.push({ start: stop, end: resumed, cls: "delay", label: `retry delay until ${fmtTime(new Date(a.next).toISOString())}` });
        }
      });
      if (out.length) return out;
    }
    if (op.Type === "WAIT" && op.WaitDetails && op.WaitDetails.ScheduledEndTimestamp && end === null) {
      const due = ms(op.WaitDetails.ScheduledEndTimestamp);
      const out = [{ start, end: Math.min(now, due), cls: "s-started", label: "waiting" }];
      if (due > now) out.push({ start: Math.max(start, now), end: due, cls: "scheduled", label: `until ${fmtTime(op.WaitDetails.ScheduledEndTimestamp)}` });
      return out;
    }
    const waiting = op.Type === "CALLBACK" && status === "STARTED" ? " waiting" : "";
    return [{ start, end: end === null ? now : end, cls: `s-${status.toLowerCase()}${waiting}`, label: status }];
  }

  function niceStep(span) {
    const target = span / 6;
    const minutes = [60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400];
    if (target >= 45) return minutes.find((m) => m >= target) || Math.ceil(target / 86400) * 86400;
    const power = 10 ** Math.floor(Math.log10(target));
    for (const k of [1, 2, 5, 10]) if (k * power >= target) return k * power;
    return 10 * power;
  }

  function renderTimeline(d) {
    const finished = d.end ? ms(d.end) : null;
    const now = finished !== null ? finished : ms(d.now);
    const events = new Map();
    for (const event of d.history) {
      if (!events.has(event.Id)) events.set(event.Id, []);
      events.get(event.Id).push(event);
    }
    const rows = tree(d.operations).map(({ op, depth }) => ({
      op,
      depth,
      bars: segments(op, events.get(op.Id) || [], now),
    }));
    const times = rows.flatMap((r) => r.bars.flatMap((b) => [b.start, b.end]));
    const t0 = Math.min(...times, ms(d.start));
    const t1 = Math.max(...times, now);
    const span = Math.max(t1 - t0, 1000);
    const pct = (t) => `${(((t - t0) / span) * 100).toFixed(3)}%`;
    const width = (a, b) => `${(((b - a) / span) * 100).toFixed(3)}%`;

    const step = niceStep(span / 1000) * 1000;
    const ticks = [];
    for (let t = 0; t <= span + 1; t += step) ticks.push(t);
    const axis = el(
      "div",
      { class: "tl-axis" },
      ticks.map((t) => {
        const tick = el("span", { class: "tl-tick", text: fmtDuration(t / 1000) });
        tick.style.left = pct(t0 + t);
        return tick;
      }),
    );
    const grid = el(
      "div",
      { class: "tl-grid" },
      ticks.map((t) => {
        const line = el("span", { class: "tl-line" });
        line.style.left = pct(t0 + t);
        return line;
      }),
    );
    if (d.status === "RUNNING") {
      const marker = el("span", { class: "tl-now", title: `now: ${fmtTime(d.now)}` });
      marker.style.left = pct(now);
      grid.append(marker);
    }

    const body = el("div", { class: "tl-body" }, grid);
    for (const { op, depth, bars } of rows) {
      const label = el(
        "div",
        { class: "tl-label", title: `${op.Type} ${op.Name || ""} (${op.Id})` },
        el("span", { class: `tag t-${op.Type.toLowerCase()}`, text: TYPE_TAGS[op.Type] || op.Type }),
        el("span", { class: "tl-name", text: op.Name || op.SubType || op.Id }),
        op.SubType && op.Name ? el("span", { class: "tl-sub", text: op.SubType }) : null,
      );
      label.style.paddingLeft = `${6 + depth * 16}px`;
      const track = el("div", { class: "tl-track" });
      for (const bar of bars) {
        const seconds = (bar.end - bar.start) / 1000;
        const node = el("span", {
          class: `tl-bar ${bar.cls}`,
          title: `${op.Name || op.Id} · ${bar.label} · ${fmtDuration(seconds)}`,
        });
        node.style.left = pct(bar.start);
        node.style.width = width(bar.start, bar.end);
        track.append(node);
      }
      body.append(
        el(
          "div",
          {
            class: "tl-row",
            testid: "timeline-row",
            "data-op-id": op.Id,
            "data-status": op.Status,
            onclick: () => openOperation(op.Id),
          },
          label,
          track,
        ),
      );
    }
    const legend = el(
      "div",
      { class: "legend" },
      [
        ["s-started", "running"],
        ["s-succeeded", "succeeded"],
        ["s-failed", "failed"],
        ["delay", "retry delay"],
        ["scheduled", "scheduled wait"],
        ["waiting", "waiting callback"],
        ["s-pending", "pending retry"],
        ["s-timed_out", "timed out"],
        ["s-stopped", "stopped / cancelled"],
      ].map(([cls, text]) => el("span", {}, el("span", { class: `tl-bar swatch ${cls}` }), text)),
    );
    return el("div", { class: "tl" }, el("div", { class: "tl-head" }, el("div", { class: "tl-label" }, "Operation"), axis), body, legend);
  }

  function openOperation(id) {
    state.openOps.add(id);
    if (state.detail) renderDetail(state.detail);
    const node = document.querySelector(`[data-testid="operation"][data-op-id="${CSS.escape(id)}"]`);
    if (node) node.scrollIntoView({ behavior: "smooth", block: "center" });
  }

  // -- operations and history ------------------------------------------------------------------

  function operationPayloads(op) {
    const out = [];
    const details =
      op.StepDetails || op.ContextDetails || op.CallbackDetails || op.ChainedInvokeDetails || {};
    if (op.ExecutionDetails) out.push(["Input", op.ExecutionDetails.InputPayload]);
    if (details.Result !== undefined) out.push(["Result", details.Result]);
    if (details.Error !== undefined) out.push(["Error", details.Error]);
    return out;
  }

  function renderOperations(d) {
    const list = el("div", { class: "ops" });
    for (const { op, depth } of tree(d.operations)) {
      const payloads = operationPayloads(op);
      const result = payloads.find(([k]) => k === "Result" || k === "Error");
      const summary = el(
        "summary",
        {},
        badge(op.Status),
        el("span", { class: `tag t-${op.Type.toLowerCase()}`, text: TYPE_TAGS[op.Type] || op.Type }),
        el("span", { class: "op-name", text: op.Name || op.SubType || op.Id }),
        el("span", { class: "muted mono", text: op.Id }),
        result ? el("span", { class: "op-preview mono", text: oneLine(result[1]) }) : null,
      );
      summary.style.paddingLeft = `${depth * 16}px`;
      const facts = [
        ["Type", op.SubType ? `${op.Type} (${op.SubType})` : op.Type],
        ["Parent", op.ParentId],
        ["Started", op.StartTimestamp && fmtTime(op.StartTimestamp)],
        ["Ended", op.EndTimestamp && fmtTime(op.EndTimestamp)],
        ["Attempts ended in retry", op.StepDetails && op.StepDetails.Attempt],
        ["Next attempt", op.StepDetails && op.StepDetails.NextAttemptTimestamp && fmtTime(op.StepDetails.NextAttemptTimestamp)],
        ["Scheduled end", op.WaitDetails && op.WaitDetails.ScheduledEndTimestamp && fmtTime(op.WaitDetails.ScheduledEndTimestamp)],
        ["Callback id", op.CallbackDetails && op.CallbackDetails.CallbackId],
      ].filter(([, v]) => v !== undefined && v !== null && v !== "");
      const item = el(
        "details",
        { class: "op", testid: "operation", "data-op-id": op.Id, open: state.openOps.has(op.Id) },
        summary,
        el("dl", { class: "meta" }, facts.map(([k, v]) => [el("dt", { text: k }), el("dd", { text: v })])),
        payloads.map(([k, v]) =>
          el("div", { class: "payload" }, el("h3", { text: k }), el("pre", { testid: `operation-${k.toLowerCase()}`, text: pretty(v) })),
        ),
      );
      item.addEventListener("toggle", () => {
        if (item.open) state.openOps.add(op.Id);
        else state.openOps.delete(op.Id);
      });
      list.append(item);
    }
    return list;
  }

  function renderHistory(d) {
    const start = ms(d.start);
    const names = new Map(d.operations.map((op) => [op.Id, op.Name]));
    const rows = d.history.map((event) => {
      const details = event[`${event.EventType}Details`];
      const at = ms(event.EventTimestamp);
      return el(
        "tr",
        { testid: "history-row" },
        el("td", { class: "num", text: event.EventId }),
        el("td", { class: "num", title: event.EventTimestamp, text: `+${fmtDuration((at - start) / 1000)}` }),
        el("td", {}, el("span", { class: `event e-${eventKind(event.EventType)}`, text: event.EventType })),
        el("td", { text: event.Name || names.get(event.Id) || event.Id }),
        el("td", { class: "mono details", text: details && Object.keys(details).length ? JSON.stringify(details) : "" }),
      );
    });
    return el(
      "table",
      { class: "history" },
      el("thead", {}, el("tr", {}, ["#", "Time", "Event", "Operation", "Details"].map((h) => el("th", { text: h })))),
      el("tbody", {}, rows),
    );
  }

  function eventKind(type) {
    if (/Succeeded$/.test(type)) return "ok";
    if (/(Failed|TimedOut|Stopped)$/.test(type)) return "bad";
    if (/Started$/.test(type)) return "start";
    return "other";
  }

  // -- live updates ----------------------------------------------------------------------------

  function setLive(text, cls) {
    const node = $("live");
    node.textContent = text;
    node.className = `live ${cls || ""}`;
  }

  function scheduleRefresh(arns) {
    if (state.arn) {
      if (arns === null || arns === undefined || arns.includes(state.arn)) state.pending.detail = true;
    } else {
      state.pending.list = true;
    }
    if (state.refresh !== null) return;
    state.refresh = setTimeout(() => {
      state.refresh = null;
      const { list, detail } = state.pending;
      state.pending = { list: false, detail: false };
      if (detail && state.arn) loadDetail();
      if (list && !state.arn) loadList();
    }, 120);
  }

  function startPolling() {
    if (state.polling !== null) return;
    state.polling = setInterval(() => scheduleRefresh(null), 2000);
  }

  function stopPolling() {
    if (state.polling === null) return;
    clearInterval(state.polling);
    state.polling = null;
  }

  function connect() {
    if (!window.EventSource) {
      setLive("polling", "polling");
      startPolling();
      return;
    }
    const source = new EventSource(`${API}/events`);
    state.source = source;
    source.onopen = () => {
      setLive("live", "on");
      stopPolling();
      scheduleRefresh(null); // whatever happened while we were away
    };
    source.onmessage = (event) => {
      let message;
      try {
        message = JSON.parse(event.data);
      } catch {
        return;
      }
      scheduleRefresh(message.arns);
    };
    source.onerror = () => {
      source.close();
      if (state.source !== source) return;
      state.source = null;
      setLive("polling", "polling");
      startPolling();
      setTimeout(connect, 15000);
    };
  }

  // A running execution's bars grow with the clock even when nothing happens.
  setInterval(() => {
    if (state.arn && state.detail && state.detail.status === "RUNNING" && !document.hidden) {
      scheduleRefresh(null);
    }
  }, 5000);

  let filterTimer = null;
  $("filter-text").addEventListener("input", () => {
    clearTimeout(filterTimer);
    filterTimer = setTimeout(loadList, 150);
  });
  $("filter-status").addEventListener("change", loadList);
  window.addEventListener("hashchange", route);
  route();
  connect();
})();
