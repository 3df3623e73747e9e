/// `GET /`: one self-contained page (no external assets, no build step) that asks the
/// API every 2 s: the event receivers, a fleet's nodes with their load, the streams
/// with their snapshot, live fps, track counts and line and zone counts, the jobs
/// with their progress (and node), and the latest errors.
enum StatusPage {
    static let html = #"""
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>trackd</title>
        <style>
          body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #222; background: #fafafa; }
          h1 { font-size: 1.4em; margin: 0 0 .2em; } h2 { font-size: 1.1em; margin: 1.4em 0 .5em; }
          #summary { color: #555; }
          .streams { display: flex; flex-wrap: wrap; gap: 1em; }
          .stream { background: #fff; border: 1px solid #ddd; border-radius: 6px; padding: .6em; width: 340px; }
          .stream img { width: 100%; background: #eee; min-height: 60px; display: block; margin-top: .4em; }
          .state { font-weight: 600; } .tracking { color: #17803d; } .silent, .retrying, .connecting { color: #a15c00; }
          .stopped, .failed { color: #b3261e; } .done { color: #17803d; }
          table { border-collapse: collapse; background: #fff; } td, th { border: 1px solid #ddd; padding: .3em .6em; text-align: left; }
          #errors li { color: #b3261e; }
        </style>
        </head>
        <body>
        <h1>trackd</h1>
        <div id="summary">loading…</div>
        <div id="receivers"></div>
        <div id="fleet" hidden>
        <h2>Fleet</h2>
        <div id="fleetSummary"></div>
        <table><thead><tr><th>node</th><th>state</th><th>workers</th><th>jobs running</th><th>streams</th><th>heartbeat</th><th>address</th></tr></thead>
        <tbody id="nodes"></tbody></table>
        </div>
        <h2>Streams</h2>
        <div id="streams" class="streams"></div>
        <h2>Jobs</h2>
        <table><thead><tr><th>job</th><th>state</th><th>node</th><th>frames</th><th>fps</th><th>log or error</th></tr></thead>
        <tbody id="jobs"></tbody></table>
        <h2>Recent errors</h2>
        <ul id="errors"></ul>
        <script>
        "use strict";
        // Off loopback every request needs the token: give it as #token=… in the address.
        const token = new URLSearchParams(location.hash.slice(1)).get("token");
        const headers = token ? { Authorization: "Bearer " + token } : {};
        const text = (tag, value, cls) => {
          const e = document.createElement(tag);
          e.textContent = value;
          if (cls) e.className = cls;
          return e;
        };
        async function ask(path) {
          const r = await fetch(path, { headers });
          if (!r.ok) throw new Error(path + ": " + r.status);
          return r.json();
        }
        async function snapshot(img, name) {
          try {
            const r = await fetch("/api/v1/streams/" + encodeURIComponent(name) + "/snapshot.jpg?width=640", { headers });
            if (!r.ok) return;
            const old = img.src;
            img.src = URL.createObjectURL(await r.blob());
            if (old.startsWith("blob:")) URL.revokeObjectURL(old);
          } catch (e) {}
        }
        const images = {};
        async function refresh() {
          try {
            const [status, jobs] = await Promise.all([ask("/api/v1/status"), ask("/api/v1/jobs")]);
            document.getElementById("summary").textContent =
              `pid ${status.pid}, up since ${status.started}; ${status.completedJobs} jobs done, ${status.failedJobs} failed`;
            document.getElementById("receivers").replaceChildren(...(status.receivers || []).map(r =>
              text("div", `events to ${r.name}: ${r.state}, ${r.delivered} delivered, ${r.pending} waiting, ${r.dropped} dropped`
                          + (r.rejected != null ? `, ${r.rejected} rejected` : "")
                          + (r.state !== "connected" && r.lastError ? `; last error: ${r.lastError}` : ""), "receiver " + r.state)));
            document.getElementById("fleet").hidden = !status.fleet;
            if (status.fleet) {
              const f = status.fleet;
              const fleet = await ask("/api/v1/fleet");
              document.getElementById("fleetSummary").textContent =
                `this is ${f.node} (generation ${f.generation}); ${fleet.queuedJobs} jobs queued; `
                + `${fleet.streams.filter(s => !s.leased).length} of ${fleet.streams.length} streams waiting for a node`
                + (f.databaseReachable ? "" : `; the database does not answer: ${f.lastError}`);
              document.getElementById("nodes").replaceChildren(...fleet.nodes.map(n => {
                const row = document.createElement("tr");
                row.dataset.node = n.name;
                row.append(text("td", n.name), text("td", n.alive ? "alive" : "gone", n.alive ? "done" : "failed"),
                           text("td", n.workers), text("td", n.runningJobs),
                           text("td", fleet.streams.filter(s => s.node === n.name).map(s => s.name).join(", ")),
                           text("td", `${n.heartbeatAge.toFixed(1)} s ago`),
                           text("td", n.advertise));
                return row;
              }));
            }
            const streams = document.getElementById("streams");
            streams.replaceChildren(...status.streams.map(s => {
              const box = document.createElement("div");
              box.className = "stream";
              box.dataset.stream = s.name;
              box.append(text("strong", s.name), text("span", " " + s.state, "state " + s.state),
                         text("div", `${s.framesPerSecond} fps · ${s.tracks} tracks · ${s.frames} frames · ${s.droppedFrames} dropped · ${s.reconnects} reconnects`));
              if (s.analytics) {
                const sum = counts => Object.values(counts || {}).reduce((a, b) => a + b, 0);
                const parts = Object.entries(s.analytics.lines).map(([n, l]) => `${n}: in ${sum(l.in)} · out ${sum(l.out)}`)
                  .concat(Object.entries(s.occupancy || {}).map(([n, c]) => `${n}: ${sum(c)} in it now`));
                box.append(text("div", parts.join("; "), "analytics"));
              }
              const img = images[s.name] || (images[s.name] = document.createElement("img"));
              img.alt = s.name;
              box.append(img);
              return box;
            }));
            document.getElementById("jobs").replaceChildren(...jobs.jobs.map(j => {
              const row = document.createElement("tr");
              row.dataset.job = j.id;
              row.append(text("td", j.id), text("td", j.state, j.state), text("td", j.node ?? ""), text("td", j.frames ?? ""),
                         text("td", j.framesPerSecond ?? ""), text("td", j.error ?? j.log ?? ""));
              return row;
            }));
            document.getElementById("errors").replaceChildren(...status.errors.slice().reverse().map(e => text("li", e)));
          } catch (e) {
            document.getElementById("summary").textContent = "cannot reach the daemon: " + e.message;
          }
        }
        let ticks = 0;
        async function tick() {
          await refresh();
          // Snapshots every few seconds: each is a full JPEG.
          if (ticks++ % 2 === 0) for (const name in images) snapshot(images[name], name);
        }
        tick();
        setInterval(tick, 2000);
        </script>
        </body>
        </html>
        """#
}
