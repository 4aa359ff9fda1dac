<?php
// An FC 2.0 PHP HTTP function that answers with what it received, as JSON:
// method, path, queries (a repeated key as a list), headers, body (text, or
// base64 when it is not UTF-8), url and clientIP. openfc's e2e tests and
// README use it; it runs unchanged on FC's php7.2 runtime.

use RingCentral\Psr7\Response;

function handler($request, $context): Response
{
    $body = $request->getBody()->getContents();
    $text = preg_match('//u', $body) === 1;
    $headers = [];
    foreach ($request->getHeaders() as $k => $v) {
        $headers[strtolower($k)] = implode(', ', $v);
    }
    $GLOBALS['fcLogger']->info('echo ' . $request->getMethod() . ' ' . $request->getAttribute('path'));
    return new Response(200, ['Content-Type' => 'application/json'], json_encode([
        'method' => $request->getMethod(),
        'path' => $request->getAttribute('path'),
        'queries' => (object) $request->getQueryParams(),
        'headers' => (object) $headers,
        'body' => $text ? $body : base64_encode($body),
        'bodyEncoding' => $text ? 'text' : 'base64',
        'url' => $request->getAttribute('requestURI'),
        'clientIP' => $request->getAttribute('clientIP'),
        'requestId' => $context['requestId'],
        'function' => $context['function']['name'],
    ], JSON_PRETTY_PRINT | JSON_UNESCAPED_SLASHES));
}
