// The status card of the front page. A file of its own: the page's Content-Security-Policy
// allows no inline script. Text goes in as text, never as HTML.

function cell(text, className) {
  const td = document.createElement('td');
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

async function refresh() {
  const summary = document.getElementById('summary');
  try {
    const report = await (await fetch('/health')).json();
    const status = document.createElement('span');
    status.className = report.status;
    status.textContent = report.status;
    summary.replaceChildren(status, ` · v${report.version} · ${report.uptimeSeconds}s`);
    const rows = Object.entries(report.services).map(([name, s]) => {
      const lag = (s.bus || []).reduce((sum, lane) => sum + lane.lag, 0);
      const row = document.createElement('tr');
      row.append(cell(name), cell(s.status, s.status), cell(String(lag)));
      return row;
    });
    document.getElementById('services').replaceChildren(...rows);
  } catch (e) {
    summary.textContent = '상태를 불러올 수 없습니다: ' + e;
  }
}

refresh();
setInterval(refresh, 5000);
