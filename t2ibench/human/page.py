"""The rating sheet as one self-contained HTML page: images as base64 PNG data URIs, inline CSS
and JavaScript, no server, no network, works offline from a file (``file://``).

What the page holds: the sheet id, the captions and their images under the labels A, B, C, ...
in the order :mod:`t2ibench.human.sheet` shuffled them, and the questions
(:mod:`t2ibench.human.protocols`). What it never holds: which generator made which image (that
is ``key.json``), a generator's name, the seed, or any paper's name (raters are not told which
method is whose).

What the rater does: types a rater id, answers every question by clicking (a *pick* question:
one click on the best label, a click on another label changes it; a *rank* question: click the
labels from best to worst, the last is ranked automatically, "Clear" starts the question over),
and presses "Download answers". The page checks that the rater id is valid and every caption is
answered (otherwise a message lists what is missing and scrolls to the first unanswered caption),
then downloads ``answers-<sheet id>-<rater>.csv`` (a Blob download) in the schema of
:data:`t2ibench.human.protocols.CSV_COLUMNS`. Answers are kept in the browser's local storage
under the sheet id while the rater works, so a reload does not lose them.

Element hooks (for people scripting the page, and the tests): ``#rater``, ``#download``,
``#message``, ``#progress``; one ``section.caption[data-caption=i]`` per caption; buttons
``button.choice[data-caption=i][data-criterion=c][data-label=L]`` and
``button.clear[data-caption=i][data-criterion=c]``.
"""
from __future__ import annotations

import base64
import html
import json
from collections.abc import Sequence

from t2ibench.human.protocols import CSV_COLUMNS, RATER_PATTERN, Criterion

_CSS = """
:root { --accent: #1f5fa8; --done: #2e7d32; --missing: #c62828; }
* { box-sizing: border-box; }
body { font: 16px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0; color: #1b1b1b;
       background: #f4f5f7; }
header, main, footer { max-width: 1100px; margin: 0 auto; padding: 0 16px; }
header { padding-top: 16px; }
h1 { font-size: 1.5em; margin: 0.3em 0; }
.sheet-line { color: #555; margin: 0 0 0.6em; }
.instructions { background: #fff; border: 1px solid #d6d9de; border-radius: 8px; padding: 8px 16px; }
.instructions dt { font-weight: 600; margin-top: 0.4em; }
.instructions dd { margin-left: 1.2em; }
.rater-line { margin: 12px 0; font-weight: 600; }
.rater-line input { font: inherit; padding: 4px 8px; width: 16em; margin-left: 8px; }
section.caption { background: #fff; border: 2px solid #d6d9de; border-radius: 8px; margin: 16px 0;
                  padding: 8px 16px 12px; }
section.caption.done { border-color: var(--done); }
section.caption.missing { border-color: var(--missing); }
section.caption h2 { font-size: 1em; color: #555; margin: 0.3em 0; }
section.caption h2 .state { font-weight: normal; margin-left: 8px; }
section.caption.done h2 .state { color: var(--done); }
blockquote.text { font-size: 1.2em; margin: 0.2em 0 0.6em; padding: 0.3em 0.8em;
                  border-left: 4px solid var(--accent); background: #f0f5fb; }
.images { display: flex; flex-wrap: wrap; gap: 16px; }
.images figure { margin: 0; text-align: center; }
.images img { width: min(28vw, 256px); height: auto; image-rendering: pixelated; border: 1px solid #bbb;
              display: block; }
.images figcaption { font-weight: 700; font-size: 1.3em; }
.question { margin-top: 10px; display: flex; flex-wrap: wrap; align-items: center; gap: 8px; }
.question .q-title { min-width: 15em; font-weight: 600; }
button { font: inherit; cursor: pointer; }
button.choice { min-width: 4.2em; padding: 4px 10px; border: 2px solid #8a94a3; border-radius: 6px;
                background: #fff; }
button.choice[aria-pressed="true"] { background: var(--accent); border-color: var(--accent); color: #fff; }
button.choice .rank { font-size: 0.8em; margin-left: 4px; }
button.clear { padding: 4px 8px; border: 1px solid #bbb; border-radius: 6px; background: #f7f7f7; }
footer { position: sticky; bottom: 0; background: #fff; border-top: 1px solid #d6d9de; padding: 10px 16px;
         display: flex; flex-wrap: wrap; gap: 16px; align-items: center; }
#download { padding: 8px 18px; font-weight: 700; border: 0; border-radius: 6px; background: var(--accent);
            color: #fff; }
#message { margin: 0; flex: 1 1 100%; }
#message.error { color: var(--missing); }
#message.ok { color: var(--done); }
"""

# The page's logic. No external resources; works from file://. Answers live in `state`
# (criterion -> caption -> labels in rank order) and in localStorage under the sheet id.
_JS = r"""
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("sheet-data").textContent);
  var COLUMNS = data.columns;
  var k = data.labels.length;
  var storeKey = "t2ibench-rating-" + data.sheet_id;
  var raterPattern = new RegExp(data.rater_pattern);
  var state = {};
  data.criteria.forEach(function (c) { state[c.id] = {}; });

  function load() {
    try {
      var saved = JSON.parse(window.localStorage.getItem(storeKey) || "null");
      if (saved && saved.answers) {
        data.criteria.forEach(function (c) {
          var got = saved.answers[c.id] || {};
          Object.keys(got).forEach(function (i) {
            var labels = got[i];
            if (Array.isArray(labels) && labels.every(function (l) { return data.labels.indexOf(l) >= 0; })) {
              state[c.id][i] = labels.slice(0, c.kind === "pick" ? 1 : k);
            }
          });
        });
        if (typeof saved.rater === "string") { document.getElementById("rater").value = saved.rater; }
      }
    } catch (e) { /* storage unavailable or unreadable: start empty */ }
  }

  function save() {
    try {
      window.localStorage.setItem(storeKey, JSON.stringify(
        {rater: document.getElementById("rater").value, answers: state}));
    } catch (e) { /* storage unavailable: answers live until the page is closed */ }
  }

  function complete(c, i) {
    var got = state[c.id][i] || [];
    return c.kind === "pick" ? got.length === 1 : got.length === k;
  }

  function ordinal(n) {
    var s = ["th", "st", "nd", "rd"], v = n % 100;
    return n + (s[(v - 20) % 10] || s[v] || s[0]);
  }

  function render(i) {
    var card = document.querySelector('section.caption[data-caption="' + i + '"]');
    data.criteria.forEach(function (c) {
      var got = state[c.id][i] || [];
      card.querySelectorAll('button.choice[data-criterion="' + c.id + '"]').forEach(function (b) {
        var pos = got.indexOf(b.dataset.label);
        b.setAttribute("aria-pressed", pos >= 0 ? "true" : "false");
        var badge = b.querySelector(".rank");
        badge.textContent = (c.kind === "rank" && pos >= 0) ? ordinal(pos + 1) : "";
      });
    });
    var done = data.criteria.every(function (c) { return complete(c, i); });
    card.classList.toggle("done", done);
    if (done) { card.classList.remove("missing"); }
    card.querySelector("h2 .state").textContent = done ? "answered" : "";
  }

  function progress() {
    var n = data.captions.filter(function (i) {
      return data.criteria.every(function (c) { return complete(c, i); });
    }).length;
    document.getElementById("progress").textContent = n + " of " + data.captions.length + " captions answered";
  }

  function criterion(id) {
    return data.criteria.filter(function (c) { return c.id === id; })[0];
  }

  function choose(button) {
    var i = button.dataset.caption, c = criterion(button.dataset.criterion), label = button.dataset.label;
    var got = (state[c.id][i] || []).slice();
    if (c.kind === "pick") {
      got = [label];
    } else if (got.indexOf(label) < 0 && got.length < k) {
      got.push(label);
      if (got.length === k - 1) {  // the one left is the worst
        got.push(data.labels.filter(function (l) { return got.indexOf(l) < 0; })[0]);
      }
    }
    state[c.id][i] = got;
    save(); render(i); progress();
  }

  function clearQuestion(button) {
    var i = button.dataset.caption;
    delete state[button.dataset.criterion][i];
    save(); render(i); progress();
  }

  function say(text, kind) {
    var m = document.getElementById("message");
    m.textContent = text;
    m.className = kind;
  }

  function missing() {
    var out = [];
    data.captions.forEach(function (i) {
      data.criteria.forEach(function (c) {
        if (!complete(c, i)) {
          var got = (state[c.id][i] || []).length;
          out.push({caption: i, text: "caption " + (i + 1) + ": " + (c.kind === "pick"
            ? "\u201c" + c.title + "\u201d not chosen"
            : "\u201c" + c.title + "\u201d incomplete (" + got + " of " + k + " ranked)")});
        }
      });
    });
    return out;
  }

  function csvField(v) {
    v = String(v);
    return /[",\r\n]/.test(v) ? '"' + v.replace(/"/g, '""') + '"' : v;
  }

  function download() {
    var raterInput = document.getElementById("rater");
    var rater = raterInput.value.trim();
    if (!raterPattern.test(rater)) {
      say("Type your rater id first (1 to 64 letters, digits or . _ @ -, no spaces).", "error");
      raterInput.focus();
      return;
    }
    var gaps = missing();
    document.querySelectorAll("section.caption").forEach(function (card) { card.classList.remove("missing"); });
    if (gaps.length) {
      var shown = gaps.slice(0, 8).map(function (g) { return g.text; }).join("; ");
      say("Not every caption is answered yet (" + gaps.length + " answer" + (gaps.length > 1 ? "s" : "") +
          " missing): " + shown + (gaps.length > 8 ? "; and " + (gaps.length - 8) + " more" : "") + ".", "error");
      gaps.forEach(function (g) {
        document.querySelector('section.caption[data-caption="' + g.caption + '"]').classList.add("missing");
      });
      document.querySelector('section.caption[data-caption="' + gaps[0].caption + '"]').scrollIntoView();
      return;
    }
    var lines = [COLUMNS.join(",")];
    data.captions.forEach(function (i) {
      data.criteria.forEach(function (c) {
        state[c.id][i].forEach(function (label, pos) {
          lines.push([rater, data.sheet_id, i, c.id, label, pos + 1].map(csvField).join(","));
        });
      });
    });
    var blob = new Blob([lines.join("\n") + "\n"], {type: "text/csv;charset=utf-8"});
    var name = "answers-" + data.sheet_id + "-" + rater + ".csv";
    var a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = name;
    document.body.appendChild(a);
    a.click();
    setTimeout(function () { URL.revokeObjectURL(a.href); a.remove(); }, 60000);
    save();
    say("Downloaded " + name + " (" + (lines.length - 1) + " rows). Send this file to the study organiser.", "ok");
  }

  load();
  document.querySelectorAll("button.choice").forEach(function (b) {
    b.addEventListener("click", function () { choose(b); });
  });
  document.querySelectorAll("button.clear").forEach(function (b) {
    b.addEventListener("click", function () { clearQuestion(b); });
  });
  document.getElementById("rater").addEventListener("input", save);
  document.getElementById("download").addEventListener("click", download);
  data.captions.forEach(render);
  progress();
  document.body.dataset.ready = "true";
})();
"""


def png_data_uri(png: bytes) -> str:
    """``data:image/png;base64,...`` for PNG bytes."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _script_json(obj) -> str:
    """JSON safe inside ``<script>``: ``<``, ``>``, ``&`` escaped so no ``</script>`` can end it."""
    text = json.dumps(obj, ensure_ascii=True, sort_keys=True)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def render_page(sheet_id: str, captions: Sequence[str], images: Sequence[Sequence[bytes]],
                labels: Sequence[str], criteria: Sequence[Criterion]) -> str:
    """The sheet's HTML.

    captions: the caption texts in sheet order; images: per caption, the PNG bytes of its images
    in label order (``images[i][j]`` is shown as ``labels[j]``); criteria: the questions asked for
    every caption. Deterministic: the same arguments give the same text.
    """
    if len(captions) != len(images):
        raise ValueError(f"{len(captions)} captions but {len(images)} image rows")
    k = len(labels)
    esc = html.escape
    n = len(captions)
    parts = ["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
             '<meta name="viewport" content="width=device-width, initial-scale=1">',
             f"<title>Image rating sheet {esc(sheet_id)}</title>", f"<style>{_CSS}</style>", "</head>", "<body>",
             "<header>", "<h1>Image rating sheet</h1>",
             f'<p class="sheet-line">Sheet <code id="sheet-id">{esc(sheet_id)}</code> &middot; {n} caption'
             f'{"s" if n != 1 else ""} &middot; {k} images per caption</p>',
             '<div class="instructions">',
             f"<p>Each caption below comes with {k} images made for it by different methods, labelled "
             f"{esc(', '.join(labels))}. Their order is random and changes from caption to caption; judge each "
             "caption on its own. Answer every question of every caption by clicking:</p>", "<dl>"]
    for c in criteria:
        parts += [f"<dt>{esc(c.title)}</dt>", f"<dd>{esc(c.prompt)}</dd>"]
    parts += ["</dl>",
              "<p>Your answers are kept in this browser while you work. When every caption is answered, type your "
              "rater id and press <b>Download answers</b>; send the downloaded CSV file to the person who runs the "
              "study.</p>", "</div>",
              '<p class="rater-line"><label for="rater">Rater id</label>'
              '<input id="rater" name="rater" type="text" autocomplete="off" maxlength="64" '
              'placeholder="e.g. rater07"></p>', "</header>", "<main>"]
    for i, (text, row) in enumerate(zip(captions, images)):
        if len(row) != k:
            raise ValueError(f"caption {i}: {len(row)} images for {k} labels")
        parts += [f'<section class="caption" id="caption-{i}" data-caption="{i}">',
                  f'<h2>Caption {i + 1} of {n}<span class="state"></span></h2>',
                  f'<blockquote class="text">{esc(str(text))}</blockquote>', '<div class="images">']
        for label, png in zip(labels, row):
            parts.append(f'<figure data-label="{esc(label)}"><img alt="image {esc(label)}" '
                         f'src="{png_data_uri(png)}"><figcaption>{esc(label)}</figcaption></figure>')
        parts.append("</div>")
        for c in criteria:
            parts.append(f'<div class="question" data-criterion="{esc(c.id)}" data-kind="{esc(c.kind)}" '
                         f'title="{esc(c.prompt)}"><span class="q-title">{esc(c.title)}</span>')
            for label in labels:
                parts.append(f'<button type="button" class="choice" data-caption="{i}" data-criterion="{esc(c.id)}" '
                             f'data-label="{esc(label)}" aria-pressed="false">{esc(label)}'
                             '<span class="rank"></span></button>')
            if c.kind == "rank":
                parts.append(f'<button type="button" class="clear" data-caption="{i}" '
                             f'data-criterion="{esc(c.id)}">Clear</button>')
            parts.append("</div>")
        parts.append("</section>")
    data = {"sheet_id": sheet_id, "labels": list(labels), "captions": list(range(n)), "columns": list(CSV_COLUMNS),
            "rater_pattern": RATER_PATTERN,
            "criteria": [{"id": c.id, "kind": c.kind, "title": c.title} for c in criteria]}
    parts += ["</main>", "<footer>", f'<span id="progress">0 of {n} captions answered</span>',
              '<button type="button" id="download">Download answers</button>',
              '<p id="message" role="alert" aria-live="polite"></p>', "</footer>",
              f'<script type="application/json" id="sheet-data">{_script_json(data)}</script>',
              f"<script>{_JS}</script>", "</body>", "</html>"]
    return "\n".join(parts) + "\n"


__all__ = ["render_page", "png_data_uri"]
