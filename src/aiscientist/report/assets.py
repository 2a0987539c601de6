"""The inline style sheet and script of ``report.html`` (no external files, no network).

The script reads the tree's details from ``<script id="tree-data">`` and fills the detail
panel when a hypothesis is clicked (or named in the URL as ``#node=ID``); on load it shows the
node from the URL, else the champion, else the first root, and then marks the body
``data-ready="1"`` so a headless browser can tell the script ran to the end.
"""

from __future__ import annotations

CSS = """
body{font-family:system-ui,sans-serif;margin:0 auto;max-width:1200px;padding:1em 2em;color:#222}
header h1{margin-bottom:.2em;font-size:1.5em}
nav a{margin:0 .2em}
section{margin:1.5em 0;border-top:1px solid #ddd}
h2{font-size:1.2em}
table{border-collapse:collapse;margin:.6em 0;font-size:.88em}
td,th{border:1px solid #ddd;padding:.25em .5em;text-align:left;vertical-align:top}
table.kv th{background:#f5f5f5;width:12em}
thead th{background:#f5f5f5}
.plot svg{width:100%;max-width:980px;height:auto}
.empty,.muted{color:#888}
.badge,.state{display:inline-block;padding:0 .4em;border-radius:.3em;color:#fff;font-size:.85em}
.state{min-width:6em;text-align:center}
.status-finished,.result-ok{color:#2e7d32;font-weight:bold}
.status-failed,.result-failed{color:#c62828;font-weight:bold}
.result-pending{color:#1565c0}
.treebox{display:flex;gap:1em;align-items:flex-start}
ul.tree,ul.tree ul{list-style:none;padding-left:1.2em;border-left:1px dashed #ccc}
ul.tree{flex:1;min-width:0}
button.node{background:none;border:1px solid transparent;cursor:pointer;text-align:left;
font:inherit;padding:.15em .3em;border-radius:.3em}
button.node:hover{border-color:#bbb}button.node.selected{border-color:#1e88e5;background:#e3f2fd}
.metric{font-family:monospace;margin-left:.5em}.champ{color:#c79100;font-weight:bold;margin-left:.4em}
.detail{flex:1.3;min-width:0;border:1px solid #ddd;border-radius:.4em;padding:.6em 1em;
position:sticky;top:.5em;max-height:90vh;overflow:auto}
pre{background:#f7f7f7;padding:.5em;overflow:auto;font-size:.8em;max-height:30em}
pre .add{color:#1b5e20;background:#e8f5e9}pre .del{color:#b71c1c;background:#ffebee}
pre .hunk{color:#6a1b9a}
"""

SCRIPT = r"""
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("tree-data").textContent || "{}");
  var nodes = data.nodes || {};
  var panel = document.getElementById("detail");
  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }
  function diffPre(text) {
    var pre = el("pre", null, "diff");
    text.split("\n").forEach(function (line) {
      var cls = line.indexOf("@@") === 0 ? "hunk" :
        (line[0] === "+" && line.indexOf("+++") !== 0) ? "add" :
        (line[0] === "-" && line.indexOf("---") !== 0) ? "del" : null;
      pre.appendChild(el("span", line + "\n", cls));
    });
    return pre;
  }
  function list(title, items, fmt) {
    var box = el("div");
    box.appendChild(el("h4", title + " (" + items.length + ")"));
    var ul = el("ul");
    items.forEach(function (x) { ul.appendChild(el("li", fmt(x))); });
    box.appendChild(ul);
    return box;
  }
  function show(id) {
    var n = nodes[id];
    if (!n || !panel) return false;
    document.querySelectorAll("button.node.selected").forEach(function (b) {
      b.classList.remove("selected");
    });
    var btn = document.querySelector('button.node[data-id="' + id + '"]');
    if (btn) btn.classList.add("selected");
    panel.innerHTML = "";
    panel.setAttribute("data-node", id);
    panel.appendChild(el("h3", n.title));
    var dot = " \u00b7 ";
    panel.appendChild(el("p", n.state + dot + n.id + (n.parent ? dot + "parent " + n.parent : "") +
      (n.author ? dot + "by " + n.author : "") + (n.action ? dot + n.action : ""), "muted"));
    if (n.description) panel.appendChild(el("p", n.description));
    if (n.note) panel.appendChild(el("p", "note: " + n.note));
    panel.appendChild(list("Critiques", n.critiques, function (c) {
      return c.by + ": " + (c.accept ? "accept" : "reject") + (c.note ? " \u2014 " + c.note : "");
    }));
    panel.appendChild(list("Evidence", n.evidence, function (e) {
      return e.exp_id + " " + e.status + (e.metric === null ? "" : " metric " + e.metric) +
        " seed " + e.seed + (e.summary ? " \u2014 " + e.summary : "");
    }));
    panel.appendChild(list("Lessons", n.lessons, function (t) { return t; }));
    panel.appendChild(el("h4", "Code diff against " + (n.diff_against || "-")));
    panel.appendChild(n.diff ? diffPre(n.diff) : el("p", "No code recorded.", "empty"));
    panel.appendChild(el("h4", "Log tail" + (n.experiment ? " of " + n.experiment : "")));
    panel.appendChild(n.log_tail ? el("pre", n.log_tail, "log") : el("p", "No log.", "empty"));
    return true;
  }
  document.querySelectorAll("button.node").forEach(function (b) {
    b.addEventListener("click", function () { show(b.getAttribute("data-id")); });
  });
  document.querySelectorAll("a[data-node]").forEach(function (a) {
    a.addEventListener("click", function () { show(a.getAttribute("data-node")); });
  });
  var m = /node=([^&]+)/.exec(window.location.hash);
  var first = document.querySelector("button.node");
  if (!(m && show(decodeURIComponent(m[1])))) {
    if (!(data.champion && show(data.champion)) && first) show(first.getAttribute("data-id"));
  }
  document.body.setAttribute("data-ready", "1");
})();
"""
