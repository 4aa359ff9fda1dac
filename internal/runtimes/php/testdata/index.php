<?php
// PHP built-in runtime behaviours for openfc's bootstrap and e2e tests:
// /boom throws, /fatal calls an undefined function, /slow?ms=N sleeps and logs
// two lines naming the request id, /init answers how many times the
// initializer ran, /echo?status=N echoes the request; PID is the master's
// (the instance's), workers being its children.
use RingCentral\Psr7\Response;

$GLOBALS['initCalls'] = 0;

function initializer($context)
{
    $GLOBALS['initCalls']++;
}

function handler($request, $context)
{
    $path = $request->getAttribute('path');
    $rid = $context['requestId'];
    $q = $request->getQueryParams();
    if ($path === '/boom') {
        throw new InvalidArgumentException('boom from the handler');
    }
    if ($path === '/fatal') {
        undefined_function_here();
    }
    if ($path === '/slow') {
        echo "slow start $rid\n";
        usleep((int) ($q['ms'] ?? 1000) * 1000);
        $GLOBALS['fcLogger']->info("slow end $rid");
        return new Response(200, [], json_encode(['RequestID' => $rid, 'PID' => posix_getppid()]));
    }
    if ($path === '/init') {
        return new Response(200, [], json_encode(['InitCalls' => $GLOBALS['initCalls'], 'PID' => posix_getppid()]));
    }
    if ($path === '/echo') {
        return new Response((int) ($q['status'] ?? 200), ['X-Multi' => ['a', 'b'], 'Content-Type' => 'application/json'], json_encode([
            'method' => $request->getMethod(),
            'path' => $path,
            'queries' => $q,
            'headers' => $request->getHeaders(),
            'body' => base64_encode($request->getBody()->getContents()),
            'url' => $request->getAttribute('requestURI'),
            'clientIP' => $request->getAttribute('clientIP'),
            'context' => $context,
        ]));
    }
    return new Response(200, [], 'ok ' . posix_getppid());
}

function event($event, $context)
{
    $e = json_decode($event, true);
    return ['statusCode' => 201, 'headers' => ['x-style' => 'event'], 'body' => json_encode(['rawPath' => $e['rawPath'], 'method' => $e['requestContext']['http']['method'], 'queries' => $e['queryParameters']]), 'isBase64Encoded' => false];
}

function invoke($payload, $context)
{
    return "got $payload";
}
