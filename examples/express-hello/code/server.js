'use strict';
// A small Express 4 app run as a Function Compute custom-runtime function.
// FC (and openfc) start it with `node server.js` and send it plain HTTP on
// port 9000; the port is fixed here on purpose, as in FC's samples.
const express = require('express');

const HOST = '0.0.0.0';
const PORT = 9000;

const app = express();

// One line per request on stdout: FC collects stdout as the function's log.
app.use((req, res, next) => {
  const start = process.hrtime.bigint();
  res.on('finish', () => {
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    const rid = req.get('x-fc-request-id') || '-';
    console.log(`${rid} ${req.method} ${req.originalUrl} ${res.statusCode} ${ms.toFixed(1)}ms`);
  });
  next();
});

// GET /crash exits the process, for tests of crash handling.
app.get('/crash', (req, res) => {
  console.log('crash requested; exiting with status 1');
  process.exit(1);
});

// GET * describes the request and the FC environment the instance sees.
app.get('*', (req, res) => {
  const headers = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (name === 'host' || name.startsWith('x-fc-')) headers[name] = value;
  }
  res.json({
    message: `${process.env.GREETING || 'hello'} from express-hello`,
    method: req.method,
    path: req.path,
    query: req.query,
    headers,
    env: {
      FC_FUNCTION_NAME: process.env.FC_FUNCTION_NAME ?? null,
      FC_SERVICE_NAME: process.env.FC_SERVICE_NAME ?? null,
      FC_INSTANCE_ID: process.env.FC_INSTANCE_ID ?? null,
      FC_CUSTOM_LISTEN_PORT: process.env.FC_CUSTOM_LISTEN_PORT ?? null,
      GREETING: process.env.GREETING ?? null,
    },
  });
});

// POST * echoes the body: JSON is parsed, text/* comes back as a string,
// anything else as base64 of the raw bytes.
// length is the number of body bytes received, recorded by verify.
const limit = '10mb';
const verify = (req, res, buf) => {
  req.bodyLength = buf.length;
};
app.post(
  '*',
  express.json({ limit, verify }),
  express.text({ limit, verify }),
  express.raw({ type: () => true, limit, verify }),
  (req, res) => {
    let received = req.body;
    if (Buffer.isBuffer(received)) received = received.toString('base64');
    res.json({
      received,
      length: req.bodyLength || 0,
      contentType: req.get('content-type') || null,
    });
  },
);

// Errors (such as malformed JSON) are answered as JSON too.
app.use((err, req, res, next) => {
  res.status(err.status || 500).json({ error: err.message });
});

const server = app.listen(PORT, HOST, () => {
  console.log(`express-hello listening on http://${HOST}:${PORT}`);
});

// Stop cleanly when the platform reclaims the instance.
process.on('SIGTERM', () => server.close(() => process.exit(0)));
