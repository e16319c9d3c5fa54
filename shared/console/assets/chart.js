// Charts with uPlot, loaded on first use: the list page never pays for it.
let loaded = null;

function load() {
  // The stylesheet is linked by the shell (1.8 KB): a module cannot name the
  // fingerprinted URL of a file it does not import.
  if (!loaded) loaded = import('./vendor/uPlot.esm.js').then(m => m.default);
  return loaded;
}

// Counts are whole numbers: the y axis steps by whole numbers only.
const wholeSteps = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1e3, 2e3, 5e3, 1e4, 2e4, 5e4, 1e5, 2e5, 5e5, 1e6];
const countAxis = {incrs: wholeSteps, values: (u, vals) => vals.map(v => new Intl.NumberFormat(document.documentElement.lang || undefined).format(v))};

const palette = ['#1a6fb5', '#1b7f3b', '#8a4baf', '#b3261e'];

// dayChart draws series per day. days: ['YYYY-MM-DD', …] (China time);
// series: [{label, values}]; dayLabel names the x values and fmtDay shows one.
// Returns a cleanup function.
export async function dayChart(el, days, series, title, dayLabel, fmtDay) {
  const uPlot = await load();
  // Noon in UTC+8 as the day's instant; uPlot labels it in Asia/Shanghai.
  const xs = days.map(d => Date.parse(d + 'T12:00:00+08:00') / 1000);
  const width = Math.max(300, Math.min(el.clientWidth || 800, 1000));
  const plot = new uPlot({
    title, width, height: 280,
    tzDate: ts => uPlot.tzDate(new Date(ts * 1e3), 'Asia/Shanghai'),
    scales: {y: {range: (u, min, max) => [0, Math.max(1, max)]}},
    series: [{label: dayLabel, value: (u, v, si, i) => (i == null || days[i] === undefined ? '--' : fmtDay(days[i]))}]
      .concat(series.map((s, i) => ({label: s.label, stroke: palette[i % palette.length], width: 2, points: {show: days.length <= 31}}))),
    axes: [{}, countAxis],
  }, [xs].concat(series.map(s => s.values)), el);
  return () => plot.destroy();
}

// barChart draws one bar per label; xLabel names the labels in the legend.
export async function barChart(el, labels, values, seriesLabel, title, xLabel) {
  const uPlot = await load();
  const xs = labels.map((_, i) => i);
  const width = Math.max(300, Math.min(el.clientWidth || 800, 1000));
  const plot = new uPlot({
    title, width, height: 300,
    scales: {x: {time: false, range: [-0.5, Math.max(0.5, labels.length - 0.5)]}, y: {range: (u, min, max) => [0, Math.max(1, max)]}},
    series: [{label: xLabel, value: (u, v) => (v == null || labels[v] === undefined ? '--' : labels[v])}, {label: seriesLabel, fill: '#1a6fb5', stroke: '#1a6fb5', paths: uPlot.paths.bars({size: [0.6, 60]}), points: {show: false}}],
    axes: [{values: (u, splits) => splits.map(i => Number.isInteger(i) && labels[i] !== undefined ? shorten(labels[i]) : ''), gap: 6, size: 60, rotate: -30}, countAxis],
  }, [xs, values], el);
  return () => plot.destroy();
}

function shorten(s) { return s.length > 14 ? s.slice(0, 13) + '…' : s; }
