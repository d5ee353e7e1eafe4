// The quality dashboard: time series per region and per app version, drawn as inline
// SVG by a small script; per-user and per-room lookups. No CDN, no chart library.
export function dashboardPage(): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>call quality</title>
<style>
body{font:14px system-ui,sans-serif;margin:1.5rem;color:#1d2330}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(420px,1fr));gap:1rem}
.card{border:1px solid #d6dbe4;border-radius:8px;padding:.8rem}h2{font-size:1rem;margin:.2rem 0 .6rem}
svg{width:100%;height:200px}.legend span{display:inline-block;margin-right:.8rem;font-size:12px}
.legend i{display:inline-block;width:10px;height:10px;margin-right:4px;border-radius:2px}
pre{background:#f4f6fa;padding:.6rem;max-height:240px;overflow:auto;font-size:12px}
</style></head><body>
<h1>Call quality</h1>
<p>Window <select id="since"><option value="900">15 min</option><option value="3600" selected>1 h</option><option value="21600">6 h</option></select>
interval <select id="interval"><option value="10">10 s</option><option value="60" selected>1 min</option><option value="300">5 min</option></select>
<span id="status"></span></p>
<div class="grid">
<div class="card"><h2>Bitrate (kbps) by region</h2><svg id="c1"></svg><div class="legend" id="l1"></div></div>
<div class="card"><h2>Packet loss (%) by region</h2><svg id="c2"></svg><div class="legend" id="l2"></div></div>
<div class="card"><h2>Jitter (ms) by app version</h2><svg id="c3"></svg><div class="legend" id="l3"></div></div>
<div class="card"><h2>Reports by app version</h2><svg id="c4"></svg><div class="legend" id="l4"></div></div>
</div>
<div class="card" style="margin-top:1rem"><h2>Look up</h2>
<select id="kind"><option value="users">user</option><option value="rooms">room</option></select><input id="key" placeholder="id"><button id="go">show</button>
<pre id="detail"></pre></div>
<script>
const COLORS = ['#2f6fdf','#e0603a','#2b9b63','#9a4fd0','#c79a1a','#1aa6b7','#d04f86','#6b7385'];
function chart(svg, legend, series, pick) {
  const W = 600, H = 200, P = 30;
  svg.setAttribute('viewBox', '0 0 ' + W + ' ' + H);
  const pts = series.flatMap((s) => s.points.map((p) => [p.t, pick(p)])).filter((p) => p[1] != null);
  if (!pts.length) { svg.innerHTML = '<text x="20" y="100" fill="#6b7385">no data yet</text>'; legend.innerHTML = ''; return; }
  const t0 = Math.min(...pts.map((p) => p[0])), t1 = Math.max(...pts.map((p) => p[0])) || t0 + 1;
  const vmax = Math.max(...pts.map((p) => p[1])) * 1.1 || 1;
  const x = (t) => P + (W - 2 * P) * (t1 === t0 ? 0.5 : (t - t0) / (t1 - t0));
  const y = (v) => H - P - (H - 2 * P) * (v / vmax);
  let out = '<line x1="' + P + '" y1="' + (H - P) + '" x2="' + (W - P) + '" y2="' + (H - P) + '" stroke="#ccd"/>';
  out += '<text x="2" y="' + (P - 8) + '" font-size="11" fill="#6b7385">' + vmax.toFixed(1) + '</text>';
  out += '<text x="' + P + '" y="' + (H - 8) + '" font-size="11" fill="#6b7385">' + new Date(t0).toLocaleTimeString() + '</text>';
  out += '<text x="' + (W - P - 60) + '" y="' + (H - 8) + '" font-size="11" fill="#6b7385">' + new Date(t1).toLocaleTimeString() + '</text>';
  series.forEach((s, i) => {
    const d = s.points.filter((p) => pick(p) != null).map((p, j) => (j ? 'L' : 'M') + x(p.t).toFixed(1) + ' ' + y(pick(p)).toFixed(1)).join(' ');
    out += '<path d="' + d + '" fill="none" stroke-width="2" stroke="' + COLORS[i % COLORS.length] + '"/>';
  });
  svg.innerHTML = out;
  legend.innerHTML = series.map((s, i) => '<span><i style="background:' + COLORS[i % COLORS.length] + '"></i>' + s.key + ' (' + s.count + ')</span>').join('');
}
async function get(path) { const r = await fetch(path); if (!r.ok) throw new Error(path + ': ' + r.status); return r.json(); }
async function refresh() {
  const q = 'since=' + $('since').value + '&interval=' + $('interval').value;
  try {
    const [reg, ver] = await Promise.all([get('/api/quality/aggregate?by=region&' + q), get('/api/quality/aggregate?by=version&' + q)]);
    chart($('c1'), $('l1'), reg.series, (p) => p.avg.bitrateKbps);
    chart($('c2'), $('l2'), reg.series, (p) => p.avg.lossPct);
    chart($('c3'), $('l3'), ver.series, (p) => p.avg.jitterMs);
    chart($('c4'), $('l4'), ver.series, (p) => p.count);
    $('status').textContent = 'updated ' + new Date().toLocaleTimeString();
  } catch (e) { $('status').textContent = String(e); }
}
function $(id) { return document.getElementById(id); }
$('go').onclick = async () => { try { $('detail').textContent = JSON.stringify(await get('/api/quality/' + $('kind').value + '/' + encodeURIComponent($('key').value)), null, 2); } catch (e) { $('detail').textContent = String(e); } };
$('since').onchange = $('interval').onchange = refresh;
refresh(); setInterval(refresh, 5000);
</script></body></html>`;
}
