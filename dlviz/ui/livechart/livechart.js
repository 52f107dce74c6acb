// A Plotly chart that stays mounted while its figure changes: Streamlit calls this function
// again with new data, and Plotly.react updates the drawing in place. The component renders in
// the page itself (no frame), so plotly.js is loaded once for the whole browser tab, on the
// first call of any instance: `preload` instances fetch it before the first chart is needed.
function loadPlotly(url) {
  if (!window.__dlvizPlotly) {
    window.__dlvizPlotly = new Promise((resolve, reject) => {
      if (window.Plotly) return resolve(window.Plotly);
      const script = document.createElement("script");
      script.src = url;
      script.async = true;
      script.onload = () => (window.Plotly ? resolve(window.Plotly) : reject(new Error("no Plotly")));
      script.onerror = () => {
        window.__dlvizPlotly = null; // let a later chart try again
        reject(new Error("plotly.js did not load from " + url));
      };
      document.head.appendChild(script);
    });
  }
  return window.__dlvizPlotly;
}

// Drawings wait in one queue for the whole page and are made one per task: charts marked
// first (priority 0, the loss curves a person watches) before the rest, then smallest figure
// first: a refresh that updates a loss curve and a big decision boundary shows the curve at
// once instead of after the boundary (a few hundred points of SVG take far longer to draw).
const queue = (window.__dlvizQueue = window.__dlvizQueue || new Map());

// Each chart's own menu (on hover): save it as a PNG (twice the screen's resolution) or an SVG,
// named after the chart.
function chartConfig(Plotly, key) {
  const save = (format) => (gd) =>
    Plotly.downloadImage(gd, { format, scale: format === "png" ? 2 : 1, filename: key || "chart" });
  return {
    responsive: true,
    displaylogo: false,
    modeBarButtons: [[
      { name: "Save as PNG", icon: Plotly.Icons.camera, click: save("png") },
      { name: "Save as SVG", icon: Plotly.Icons.disk, click: save("svg") },
    ]],
  };
}

function drawNext(Plotly) {
  if (!queue.size) return;
  let best = null;
  const before = (a, b) =>
    a.priority !== b.priority ? a.priority < b.priority : a.spec.length < b.spec.length;
  for (const chart of queue.keys()) {
    if (best === null || before(queue.get(chart), queue.get(best))) best = chart;
  }
  const job = queue.get(best);
  queue.delete(best);
  try {
    if (best.isConnected && job.spec !== best.__drawn) {
      best.__drawn = job.spec;
      const fig = JSON.parse(job.spec);
      const layout = Object.assign({}, fig.layout, { autosize: true });
      const t0 = performance.now();
      Plotly.react(best, fig.data, layout, chartConfig(Plotly, job.key));
      // How long each drawing took, for `dlviz bench browser` (the last 200).
      const log = (window.__dlvizDraws = window.__dlvizDraws || []);
      log.push([job.key, Math.round(performance.now() - t0), Math.round(t0)]);
      if (log.length > 200) log.splice(0, log.length - 200);
      job.msg.textContent = "";
    }
  } catch (err) {
    job.msg.textContent = "Chart error: " + err.message;
  }
  schedule(Plotly); // the next one in a new task: the browser paints in between
}

function schedule(Plotly) {
  if (window.__dlvizScheduled || !queue.size) return;
  window.__dlvizScheduled = true;
  setTimeout(() => {
    window.__dlvizScheduled = false;
    drawNext(Plotly);
  }, 0);
}

function warmUp(Plotly, root) {
  if (window.__dlvizWarm) return;
  window.__dlvizWarm = true;
  const div = document.createElement("div");
  div.style.cssText = "position:absolute;left:-10000px;top:0;width:400px;height:300px;";
  root.appendChild(div);
  // A loss curve on a log axis beside a heatmap with points over it, as the live views draw.
  const data = [
    { type: "scatter", x: [1, 2, 3], y: [1, 0.5, 0.2], mode: "lines" },
    { type: "heatmap", z: [[0, 1], [1, 0]], x: [0, 1], y: [0, 1], zsmooth: "fast", xaxis: "x2", yaxis: "y2" },
    { type: "scatter", x: [0, 1], y: [0, 1], mode: "markers", xaxis: "x2", yaxis: "y2" },
  ];
  const layout = {
    xaxis: { domain: [0, 0.45] },
    yaxis: { type: "log" },
    xaxis2: { domain: [0.55, 1], anchor: "y2" },
    yaxis2: { anchor: "x2" },
    legend: { orientation: "h" },
    title: { text: "warm-up" },
  };
  const t0 = performance.now();
  return Promise.resolve()
    .then(() => Plotly.newPlot(div, data, layout, { displayModeBar: false }))
    .then(() => {
      const log = (window.__dlvizDraws = window.__dlvizDraws || []);
      log.push(["warm-up", Math.round(performance.now() - t0), Math.round(t0)]);
      Plotly.purge(div);
    })
    .finally(() => div.remove());
}

// The page's other charts (st.plotly_chart) save themselves as a PNG from their own menu; this
// gives each of them a "Save as SVG" button beside it, drawn with the tab's plotly.js. Once per
// tab, for every chart that appears.
function addSvgButtons(Plotly) {
  if (window.__dlvizSvgObserver) return;
  const icon = Plotly.Icons.disk;
  const add = () => {
    for (const gd of document.querySelectorAll(".js-plotly-plot:not(.dlviz-chart)")) {
      const group = gd.querySelector(".modebar-group");
      if (!group || group.querySelector('[data-title="Save as SVG"]')) continue;
      const keyed = gd.closest("[class*='st-key-']");
      const key = keyed ? (keyed.className.match(/st-key-([^\s]+)/) || [])[1] : "";
      const button = document.createElement("a");
      button.className = "modebar-btn";
      button.setAttribute("rel", "tooltip");
      button.setAttribute("data-title", "Save as SVG");
      button.innerHTML =
        `<svg viewBox="0 0 ${icon.width} ${icon.height}" class="icon" height="1em" width="1em">` +
        `<path d="${icon.path}" transform="${icon.transform || ""}"></path></svg>`;
      button.addEventListener("click", () =>
        Plotly.downloadImage(gd, { format: "svg", filename: key || "chart" })
      );
      group.appendChild(button);
    }
  };
  let pending = false; // one look a fifth of a second, however busy the page is
  const later = () => {
    if (pending) return;
    pending = true;
    setTimeout(() => {
      pending = false;
      add();
    }, 200);
  };
  window.__dlvizSvgObserver = new MutationObserver(later);
  window.__dlvizSvgObserver.observe(document.body, { childList: true, subtree: true });
  add();
}

export default function (component) {
  const { data, parentElement } = component;
  const root = parentElement;
  let chart = root.querySelector(":scope > .dlviz-chart");
  let msg = root.querySelector(":scope > .dlviz-chart-msg");
  if (!chart) {
    chart = document.createElement("div");
    chart.className = "dlviz-chart";
    msg = document.createElement("div");
    msg.className = "dlviz-chart-msg";
    root.appendChild(chart);
    root.appendChild(msg);
  }
  const plotly = loadPlotly(data.plotly_url);
  if (data.preload) {
    // Also draw a small chart of the kinds the live views use, off screen, once: a browser
    // compiles most of plotly.js on its first drawing, which would otherwise delay the first
    // live chart by as long again.
    plotly
      .then((Plotly) => {
        addSvgButtons(Plotly);
        return warmUp(Plotly, root);
      })
      .catch((err) => console.warn("dlviz: the chart warm-up failed:", err));
    return;
  }
  chart.style.height = data.height + "px";
  chart.style.width = "100%";
  // The newest figure of a chart replaces one still waiting to be drawn.
  queue.set(chart, { spec: data.spec, key: data.key, priority: data.priority ?? 1, msg });
  plotly
    .then((Plotly) => schedule(Plotly))
    .catch((err) => {
      queue.delete(chart);
      msg.textContent = "Chart error: " + err.message + ". Reload the page to try again.";
    });
}
