// Receives outlast's update reports (updates.report), checks each one's
// HMAC signature and timestamp, and prints the fleet: one row per device.
//   SECRET_FILE=report.secret PORT=8090 node examples/report-receiver.mjs
import { createHmac, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';

const secret = readFileSync(process.env.SECRET_FILE ?? 'report.secret', 'utf8').trim();
const MAX_SKEW_S = 300; // older or newer than 5 min: a replay, or a clock to fix
const fleet = new Map(); // device -> its latest report
const seen = new Set(); // device + operation id: a report resent after a lost answer counts once

createServer((req, res) => {
  let body = '';
  req.setEncoding('utf8').on('data', (chunk) => (body += chunk)).on('end', () => {
    const ts = String(req.headers['x-outlast-timestamp'] ?? '');
    const want = `sha256=${createHmac('sha256', secret).update(`${ts}.${body}`).digest('hex')}`;
    const got = String(req.headers['x-outlast-signature'] ?? '');
    const signed = got.length === want.length && timingSafeEqual(Buffer.from(got), Buffer.from(want));
    if (req.method !== 'POST' || !signed || Math.abs(Date.now() / 1000 - Number(ts)) > MAX_SKEW_S) {
      console.log(`refused a report from ${req.socket.remoteAddress}: bad signature or timestamp`);
      return res.writeHead(401).end();
    }
    const r = JSON.parse(body);
    res.writeHead(204).end();
    if (seen.has(`${r.device} ${r.id}`)) return;
    seen.add(`${r.device} ${r.id}`);
    console.log(`report ${JSON.stringify(r)}`);
    fleet.set(r.device, r);
    const rows = [...fleet.values()].map((x) => [x.device, x.name, x.from ?? '-', x.to, x.result, x.errorCode ?? '', x.at]);
    for (const row of [['DEVICE', 'NAME', 'FROM', 'TO', 'RESULT', 'ERROR', 'AT'], ...rows]) console.log(row.map((c, i) => c.padEnd(i === 0 ? 26 : 12)).join(' '));
  });
}).listen(Number(process.env.PORT ?? 8090), process.env.HOST ?? '127.0.0.1', function () {
  console.log(`listening on http://${this.address().address}:${this.address().port}`);
});
