// The runtimes the create form offers and a starting code for each: FC
// 2.0's HTTP handler of the language, or a custom runtime's bootstrap and
// server. The list is internal/fc/validate.go's runnable runtimes (a Go
// test checks that FC accepts each one); Java is left out, as its code is
// a compiled jar, which the browser cannot make from text.

const node = `'use strict';
// An FC 2.0 HTTP handler: (request, response, context).
exports.handler = (request, response, context) => {
  response.setStatusCode(200);
  response.setHeader('Content-Type', 'text/plain; charset=utf-8');
  response.send('Hello from ' + context.function.name + '!\\n');
};
`;

const python = `# An FC 2.0 HTTP handler: a WSGI application.


def handler(environ, start_response):
    context = environ['fc.context']
    body = 'Hello from %s!\\n' % context.function.name
    start_response('200 OK', [('Content-Type', 'text/plain; charset=utf-8')])
    return [body.encode('utf-8')]
`;

const php = `<?php
// An FC 2.0 HTTP handler: handler($request, $context) returns a PSR-7 response.
use RingCentral\\Psr7\\Response;

function handler($request, $context): Response
{
    return new Response(200, ['Content-Type' => 'text/plain; charset=utf-8'],
        'Hello from ' . $context['function']['name'] . "!\\n");
}
`;

// A custom runtime's code starts its own HTTP server on FC_SERVER_PORT
// (9000 by default): bootstrap runs it.
const bootstrap = `#!/bin/sh
# The custom runtime starts this executable; it runs the HTTP server.
exec python3 server.py
`;

const server = `# A custom runtime's HTTP server: FC sends every request here.
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    def answer(self):
        body = ('Hello from %s!\\n' % self.headers.get('x-fc-function-name', 'FC')).encode()
        self.send_response(200)
        self.send_header('Content-Type', 'text/plain; charset=utf-8')
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        if self.command != 'HEAD':
            self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = answer


ThreadingHTTPServer(('0.0.0.0', int(os.environ.get('FC_SERVER_PORT', '9000'))), Handler).serve_forever()
`;

// families: how each kind of runtime names its code. file(handler) is
// the handler's file ("index.handler" is index.js for Node.js); a custom
// runtime's files are fixed.
const families = {
  nodejs: { ext: '.js', code: node },
  python: { ext: '.py', code: python },
  php: { ext: '.php', code: php },
  custom: { files: [{ name: 'server.py', code: server }, { name: 'bootstrap', code: bootstrap, executable: true }] },
};

// runtimes in the order offered: [value, label, family].
export const runtimes = [
  ['nodejs20', 'Node.js 20', 'nodejs'], ['nodejs18', 'Node.js 18', 'nodejs'], ['nodejs16', 'Node.js 16', 'nodejs'],
  ['nodejs14', 'Node.js 14', 'nodejs'], ['nodejs12', 'Node.js 12', 'nodejs'],
  ['python3.10', 'Python 3.10', 'python'], ['python3.9', 'Python 3.9', 'python'], ['python3', 'Python 3', 'python'],
  ['php7.2', 'PHP 7.2', 'php'],
  ['custom.debian12', 'Custom runtime (Debian 12)', 'custom'], ['custom.debian11', 'Custom runtime (Debian 11)', 'custom'],
  ['custom.debian10', 'Custom runtime (Debian 10)', 'custom'], ['custom', 'Custom runtime', 'custom'],
];

export function familyOf(runtime) {
  const r = runtimes.find(([v]) => v === runtime);
  return r ? r[2] : 'nodejs';
}

// codeFiles returns the files of a new function of runtime with handler:
// [{name, code, executable}], the one the user edits first. A built-in
// runtime's file is the handler's module: "main.handler" is main.py.
export function codeFiles(runtime, handler) {
  const fam = families[familyOf(runtime)];
  if (fam.files) return fam.files.map((f) => ({ ...f }));
  const dot = handler.lastIndexOf('.');
  const base = dot > 0 ? handler.slice(0, dot) : 'index';
  return [{ name: base + fam.ext, code: fam.code, executable: false }];
}
