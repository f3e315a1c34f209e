// fedmig status page: polls /status.json every 2 s (with since=, so that
// an unchanged store costs a few bytes) and draws with the DOM and SVG.
// Everything from the store is put in with textContent, never as HTML.
"use strict";
(function () {
	var POLL_MS = 2000;
	var view = { batch: "0", search: "", page: 0, per: 100, since: 0, detail: 0 };
	var last = null, samples = [];

	function $(id) { return document.getElementById(id); }
	function el(tag, text, cls) {
		var e = document.createElement(tag);
		if (text !== undefined && text !== null) e.textContent = String(text);
		if (cls) e.className = cls;
		return e;
	}
	function row(cells) {
		var tr = document.createElement("tr");
		cells.forEach(function (c) {
			var td = document.createElement("td");
			if (c instanceof Node) td.appendChild(c); else td.textContent = c === null ? "-" : String(c);
			tr.appendChild(td);
		});
		return tr;
	}
	function fill(tbody, rows) {
		while (tbody.firstChild) tbody.removeChild(tbody.firstChild);
		rows.forEach(function (r) { tbody.appendChild(r); });
	}
	function set(id, v) { var e = $(id); if (e.textContent !== String(v)) e.textContent = String(v); }
	function utc(ms) { return new Date(ms).toISOString().replace("T", " ").replace(/\.\d+Z$/, ""); }

	function query() {
		var q = "batch=" + encodeURIComponent(view.batch) + "&page=" + view.page + "&per_page=" + view.per;
		if (view.search) q += "&search=" + encodeURIComponent(view.search);
		if (view.since) q += "&since=" + view.since;
		return "/status.json?" + q;
	}

	function bars(svg, values, labels) {
		var NS = "http://www.w3.org/2000/svg", w = svg.clientWidth || 400, h = svg.clientHeight || 120;
		var max = 1, n = values.length;
		// The element's own size: bars fill it, text keeps its shape.
		svg.setAttribute("viewBox", "0 0 " + w + " " + h);
		while (svg.firstChild) svg.removeChild(svg.firstChild);
		values.forEach(function (v) { if (v > max) max = v; });
		values.forEach(function (v, i) {
			var r = document.createElementNS(NS, "rect"), bh = (h - 20) * v / max;
			r.setAttribute("x", (i * w / n + 1).toFixed(1));
			r.setAttribute("width", Math.max(w / n - 2, 1).toFixed(1));
			r.setAttribute("y", (h - 12 - bh).toFixed(1));
			r.setAttribute("height", bh.toFixed(1));
			var t = document.createElementNS(NS, "title");
			t.textContent = labels[i] + ": " + v;
			r.appendChild(t);
			svg.appendChild(r);
		});
		var m = document.createElementNS(NS, "text");
		m.setAttribute("x", 2); m.setAttribute("y", 9);
		m.textContent = "max " + max;
		svg.appendChild(m);
		[0, n - 1].forEach(function (i) {
			var t = document.createElementNS(NS, "text");
			t.setAttribute("x", i ? w - 2 : 2); t.setAttribute("y", h - 2);
			if (i) t.setAttribute("text-anchor", "end");
			t.textContent = labels[i] || "";
			svg.appendChild(t);
		});
	}
	function series(svg, s) {
		bars(svg, s.counts, s.counts.map(function (_, i) { return utc(s.start_ms + i * s.step_ms); }));
	}
	function holds(svg, h) {
		var prev = 0, vals = [], labs = [];
		h.buckets.forEach(function (b) {
			vals.push(b.count - prev); prev = b.count;
			labs.push(b.le_ms === null ? "more" : "<= " + b.le_ms);
		});
		bars(svg, vals, labs);
	}

	function summary(d) {
		var st = d.states || {}, sw = 0;
		set("n-requests", d.requests);
		set("n-complete", st.complete || 0);
		(d.batches || []).forEach(function (b) { sw += b.switched; });
		set("n-switched", sw);
		set("n-attention", d.attention);
		set("n-held", d.held_messages);
		set("n-copied", d.copy.messages_done + " / " + d.copy.messages_total);
		set("n-bytes", d.copy.bytes_done + " / " + d.copy.bytes_total);
		set("n-hold", d.hold_windows.p50_ms + " / " + d.hold_windows.p99_ms + " / " + d.hold_windows.max_ms);
		fill($("states").tBodies[0], Object.keys(st).map(function (k) {
			var r = row([k, st[k]]); r.id = "state-" + k; return r;
		}));
		fill($("jobs").tBodies[0], Object.keys(d.copy.jobs).map(function (k) { return row([k, d.copy.jobs[k]]); }));
	}
	function batches(d) {
		var sel = $("batch"), have = {};
		fill($("batches").tBodies[0], d.batches.map(function (b) {
			var bar = el("span", null, "bar"), fillb = el("span");
			fillb.style.width = (b.requests ? 100 * b.settled / b.requests : 0).toFixed(1) + "%";
			bar.appendChild(fillb);
			var wrap = el("span"); wrap.appendChild(bar); wrap.appendChild(document.createTextNode(" " + b.settled + "/" + b.requests));
			return row([b.id, b.requests, wrap, b.switched, b.offline]);
		}));
		for (var i = 0; i < sel.options.length; i++) have[sel.options[i].value] = 1;
		d.batches.forEach(function (b) { if (!have[b.id]) sel.appendChild(el("option", b.id)); });
	}
	function addresses(d) {
		var a = d.addresses, pages = Math.max(1, Math.ceil(a.matching / a.per_page));
		set("pageinfo", "page " + (a.page + 1) + " of " + pages + " (" + a.matching + " addresses)");
		$("prev").disabled = a.page <= 0;
		$("next").disabled = a.page + 1 >= pages;
		fill($("addresses").tBodies[0], a.rows.map(function (r) {
			var tr = row([r.address, r.state, r.batch, r.hold_ms, r.copied, r.verified === null ? null : (r.verified ? "yes" : "no")]);
			tr.setAttribute("data-id", r.id);
			if (r.id === view.detail) tr.className = "sel";
			tr.addEventListener("click", function () { view.detail = r.id; detail(); });
			return tr;
		}));
		fill($("failures").tBodies[0], d.failures.map(function (f) { return row([f.address, f.state, f.reason]); }));
	}

	function draw(d) {
		summary(d);
		batches(d);
		addresses(d);
		series($("plot-switches"), d.switches);
		series($("plot-copied"), d.copied);
		holds($("plot-holds"), d.hold_windows);
		samples.push([d.now_ms, d.copy.messages_done]);
		if (samples.length > 30) samples.shift();
		var a = samples[0], b = samples[samples.length - 1];
		set("n-rate", b[0] > a[0] ? ((b[1] - a[1]) * 1000 / (b[0] - a[0])).toFixed(1) : "-");
	}

	function get(url, ok) {
		var x = new XMLHttpRequest();
		x.open("GET", url);
		x.onload = function () {
			var live = $("live");
			if (x.status !== 200) { live.textContent = "error " + x.status; live.className = "live bad"; return; }
			live.textContent = "live"; live.className = "live ok";
			ok(JSON.parse(x.responseText));
		};
		x.onerror = function () { $("live").textContent = "offline"; $("live").className = "live bad"; };
		x.send();
	}
	function detail() {
		if (!view.detail) return;
		get("/status.json?request=" + view.detail, function (d) {
			var box = $("detail");
			box.hidden = false;
			if (!d.detail) { set("detail-title", "request " + d.request + ": gone"); return; }
			set("detail-title", d.detail.address + " (request " + d.request + ", batch " + d.detail.batch + "): " + d.detail.state);
			set("detail-reason", d.detail.reason ? "reason: " + d.detail.reason : "");
			fill($("history").tBodies[0], d.detail.history.map(function (h) {
				return row([utc(h.at_ms), h.from, h.to, h.step, h.detail]);
			}));
		});
	}
	// Answers can arrive out of order: one asked for before the view
	// changed (a keystroke in the search box, another page) and answered
	// after it would draw the old view and set "since", and every later
	// poll would then say "unchanged" over it. Only the newest view's
	// answers count.
	var asked = 0;
	function poll() {
		var mine = asked;
		get(query(), function (d) {
			if (mine !== asked) return;
			set("updated", utc(d.now_ms));
			if (!d.unchanged) { draw(d); detail(); }
			view.since = d.last_change_us;
		});
	}
	function again() { asked++; view.since = 0; poll(); }

	document.addEventListener("DOMContentLoaded", function () {
		$("batch").addEventListener("change", function () { view.batch = this.value; view.page = 0; again(); });
		$("search").addEventListener("input", function () { view.search = this.value; view.page = 0; again(); });
		$("prev").addEventListener("click", function () { if (view.page > 0) { view.page--; again(); } });
		$("next").addEventListener("click", function () { view.page++; again(); });
		$("find").addEventListener("submit", function (e) { e.preventDefault(); });
		poll();
		setInterval(poll, POLL_MS);
	});
})();
