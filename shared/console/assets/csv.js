// CSV for spreadsheets: RFC 4180 quoting, and cells that a spreadsheet would
// read as a formula (= + - @, tab, carriage return first) prefixed with ' so a
// scene or reply like "=HYPERLINK(…)" stays text (CSV injection).
export function cell(v) {
  let s = v === undefined || v === null ? '' : String(v);
  if (/^[=+\-@\t\r]/.test(s)) s = "'" + s;
  return /[",\r\n]/.test(s) || s !== s.trim() ? '"' + s.replace(/"/g, '""') + '"' : s;
}

// toCSV joins rows of cells with CRLF, after a UTF-8 byte order mark so that
// Excel reads Chinese text as UTF-8.
export function toCSV(rows) {
  return '\ufeff' + rows.map(r => r.map(cell).join(',')).join('\r\n') + '\r\n';
}
