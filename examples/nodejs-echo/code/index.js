'use strict';
// An FC Node.js HTTP function that answers with what it received, as JSON.
// `handler` is FC 2.0's HTTP handler (s.yaml, the fc component); `event`
// is the same on FC 3.0's HTTP-trigger event (s.fc3.yaml).

function readBody(request) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    request.on('data', (c) => chunks.push(c));
    request.on('end', () => resolve(Buffer.concat(chunks)));
    request.on('error', reject);
  });
}

exports.handler = async (request, response, context) => {
  const body = await readBody(request);
  console.log(`echo ${request.method} ${request.path}`);
  response.setHeader('Content-Type', 'application/json');
  response.send(JSON.stringify({
    method: request.method,
    path: request.path,
    url: request.url,
    queries: request.queries,
    headers: request.headers,
    clientIP: request.clientIP,
    body: body.toString('base64'),
    requestId: context.requestId,
    function: context.function.name,
  }));
};

exports.event = async (event, context) => {
  const ev = JSON.parse(event);
  console.log(`echo ${ev.requestContext.http.method} ${ev.rawPath}`);
  return {
    statusCode: 200,
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ ...ev, requestId: context.requestId }),
    isBase64Encoded: false,
  };
};
