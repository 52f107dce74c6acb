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
  if (data.preload) return;
  chart.style.height = data.height + "px";
  chart.style.width = "100%";
  // The newest figure wins: a figure that arrives while plotly.js is still loading replaces an
  // older one that was waiting.
  chart.__pending = data.spec;
  plotly
    .then((Plotly) => {
      const spec = chart.__pending;
      if (spec === chart.__drawn) return;
      chart.__drawn = spec;
      const fig = JSON.parse(spec);
      const layout = Object.assign({}, fig.layout, { autosize: true });
      const config = { displayModeBar: false, responsive: true };
      msg.textContent = "";
      return Plotly.react(chart, fig.data, layout, config);
    })
    .catch((err) => {
      msg.textContent = "Chart error: " + err.message + ". Reload the page to try again.";
    });
}
