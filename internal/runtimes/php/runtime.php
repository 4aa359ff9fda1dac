<?php
// Part of openfc's PHP bootstrap: FC's handler signatures, the context, the
// log prefix and the error shape (bootstrap.php is the server).
//
// - OPENFC_HANDLER_STYLE=http (FC 2.0 HTTP functions): handler($request,
//   $context) with a PSR-7 ServerRequest (Guzzle's, Debian's
//   php-guzzlehttp-psr7), returning a PSR-7 Response (RingCentral\Psr7\Response
//   is an alias of Guzzle's, so FC's code runs unchanged).
// - OPENFC_HANDLER_STYLE=event (FC 3.0 HTTP triggers): handler($event, $context)
//   with the JSON event string, returning {statusCode, headers, body,
//   isBase64Encoded} (an array or its JSON) or the body itself.
// - x-fc-control-path /invoke: handler($payload, $context), the result the body.

require_once 'GuzzleHttp/Psr7/autoload.php'; // Debian's include_path: /usr/share/php

if (!class_exists('RingCentral\Psr7\Response')) {
    class_alias(\GuzzleHttp\Psr7\Response::class, 'RingCentral\Psr7\Response');
    class_alias(\GuzzleHttp\Psr7\ServerRequest::class, 'RingCentral\Psr7\ServerRequest');
    class_alias(\GuzzleHttp\Psr7\Request::class, 'RingCentral\Psr7\Request');
}

// Headers the bootstrap frames itself, on either side.
const OPENFC_FRAMING = ['connection', 'keep-alive', 'transfer-encoding', 'content-length', 'proxy-connection'];
// Request headers a handler never sees besides FC's x-fc-* (the spec's §2.1).
const OPENFC_HOP_BY_HOP = ['connection', 'keep-alive', 'transfer-encoding', 'proxy-connection'];

$GLOBALS['openfcRequestId'] = '';
$GLOBALS['openfcPartial'] = '';

// openfc_log writes $text as FC log lines of the current request (raw outside one).
function openfc_log($level, $text)
{
    $rid = $GLOBALS['openfcRequestId'];
    $out = '';
    foreach (explode("\n", rtrim($text, "\n")) as $line) {
        if ($rid === '') {
            $out .= $line . "\n";
            continue;
        }
        $t = microtime(true);
        $out .= gmdate('Y-m-d\TH:i:s', (int) $t) . sprintf('.%06dZ', ($t - floor($t)) * 1e6) . " $rid [$level] $line\n";
    }
    // One write per batch: lines of concurrent workers do not interleave.
    fwrite(STDOUT, $out);
}

// openfc_echo is the output buffer's callback: echo'd text as INFO lines.
function openfc_echo($buf, $phase)
{
    $buf = $GLOBALS['openfcPartial'] . $buf;
    $cut = strrpos($buf, "\n");
    if ($cut === false) {
        $GLOBALS['openfcPartial'] = $buf;
    } else {
        $GLOBALS['openfcPartial'] = substr($buf, $cut + 1);
        openfc_log('INFO', substr($buf, 0, $cut + 1));
    }
    if (($phase & PHP_OUTPUT_HANDLER_FINAL) && $GLOBALS['openfcPartial'] !== '') {
        openfc_log('INFO', $GLOBALS['openfcPartial']);
        $GLOBALS['openfcPartial'] = '';
    }
    return '';
}

function openfc_flush_logs()
{
    if (ob_get_level() > 0) {
        @ob_flush();
    }
    if ($GLOBALS['openfcPartial'] !== '') {
        openfc_log('INFO', $GLOBALS['openfcPartial']);
        $GLOBALS['openfcPartial'] = '';
    }
}

// OpenfcLogger is $GLOBALS['fcLogger'] (FC gives a Monolog logger): the
// PSR-3 methods, each writing FC's prefixed lines.
class OpenfcLogger
{
    public function log($level, $message, array $context = [])
    {
        if ($context) {
            $message .= ' ' . json_encode($context);
        }
        openfc_flush_logs();
        openfc_log(strtoupper((string) $level), (string) $message);
    }

    public function __call($name, $args)
    {
        $levels = ['debug', 'info', 'notice', 'warning', 'error', 'critical', 'alert', 'emergency'];
        if (!in_array($name, $levels, true)) {
            throw new BadMethodCallException("fcLogger has no method $name");
        }
        $this->log($name === 'warning' ? 'WARN' : $name, $args[0] ?? '', $args[1] ?? []);
    }
}

// openfc_fail is FC's answer to a failed handler: 502, the error body, the
// error type on the trusted channel.
function openfc_fail(Throwable $e, $type = null)
{
    openfc_log('ERROR', get_class($e) . ': ' . $e->getMessage() . "\n" . $e->getTraceAsString());
    $trace = [];
    foreach ($e->getTrace() as $f) {
        if ((isset($f['file']) && dirname($f['file']) === __DIR__) || strpos($f['function'] ?? '', 'openfc_') === 0) {
            continue;
        }
        $trace[] = sprintf('%s(%s): %s%s%s()', $f['file'] ?? '[internal]', $f['line'] ?? 0, $f['class'] ?? '', $f['type'] ?? '', $f['function'] ?? '');
    }
    array_unshift($trace, sprintf('%s(%d)', $e->getFile(), $e->getLine()));
    $body = json_encode(['errorMessage' => $e->getMessage(), 'errorType' => $type ?? get_class($e), 'stackTrace' => $trace],
        JSON_UNESCAPED_SLASHES | JSON_INVALID_UTF8_SUBSTITUTE);
    return [502, [['Content-Type', 'application/json'], ['X-Fc-Error-Type', 'UnhandledInvocationError'],
        ['X-Openfc-Runtime-Token', $GLOBALS['openfcToken']]], $body];
}

// openfc_context is FC's $context array of a request with FC's headers $h
// (lower-case names), the instance's environment filling in what they lack.
function openfc_context(array $h)
{
    $get = function ($header, $var = '') use ($h) {
        $v = $h[$header] ?? '';
        return $v !== '' ? $v : ($var !== '' ? (string) getenv($var) : '');
    };
    return [
        'requestId' => $h['x-fc-request-id'] ?? '',
        'credentials' => [
            'accessKeyId' => $get('x-fc-access-key-id', 'ALIBABA_CLOUD_ACCESS_KEY_ID'),
            'accessKeySecret' => $get('x-fc-access-key-secret', 'ALIBABA_CLOUD_ACCESS_KEY_SECRET'),
            'securityToken' => $get('x-fc-security-token', 'ALIBABA_CLOUD_SECURITY_TOKEN'),
        ],
        'function' => [
            'name' => $get('x-fc-function-name', 'FC_FUNCTION_NAME'),
            'handler' => $get('x-fc-function-handler', 'FC_FUNCTION_HANDLER'),
            'memory' => (int) $get('x-fc-function-memory', 'FC_FUNCTION_MEMORY_SIZE'),
            'timeout' => (int) $get('x-fc-function-timeout', 'FC_TIMEOUT'),
            'initializer' => $get('x-fc-function-initializer', 'FC_FUNCTION_INITIALIZER'),
        ],
        'service' => [
            'name' => $get('x-fc-service-name', 'FC_SERVICE_NAME'),
            'logProject' => $get('x-fc-service-logproject'),
            'logStore' => $get('x-fc-service-logstore'),
            'qualifier' => $get('x-fc-qualifier', 'FC_QUALIFIER'),
            'versionId' => $get('x-fc-version-id', 'FC_VERSION_ID'),
        ],
        'region' => $get('x-fc-region', 'FC_REGION'),
        'accountId' => $get('x-fc-account-id', 'FC_ACCOUNT_ID'),
    ];
}

// OpenfcApp is the user's code: its handler, initializer and pre-stop hook.
class OpenfcApp
{
    public $handler;
    public $initializer;
    public $initialized = false;
    private $style;
    private $dir;

    public function __construct()
    {
        $this->handler = getenv('FC_FUNCTION_HANDLER') ?: 'index.handler';
        $this->initializer = (string) getenv('FC_FUNCTION_INITIALIZER');
        $this->style = getenv('OPENFC_HANDLER_STYLE') ?: 'http';
        $this->dir = getenv('FC_FUNC_CODE_PATH') ?: getcwd();
        @chdir($this->dir);
        $GLOBALS['fcLogger'] = new OpenfcLogger();
        set_error_handler(function ($no, $msg, $file, $line) {
            if (!(error_reporting() & $no)) {
                return false;
            }
            openfc_log($no & (E_WARNING | E_USER_WARNING) ? 'WARN' : 'INFO', "$msg in $file:$line");
            return true;
        });
        ob_start('openfc_echo', 1);
    }

    // load requires the handler's file now: the cold start pays for it.
    public function load()
    {
        if (is_file($this->dir . '/vendor/autoload.php')) {
            require_once $this->dir . '/vendor/autoload.php';
        }
        try {
            $this->resolve($this->handler);
        } catch (Throwable $e) {
            openfc_log('ERROR', (string) $e); // reported to every request instead, as FC does
        }
    }

    // resolve is the function of FC's "file.function" name (file may hold "/").
    public function resolve($name)
    {
        $dot = strrpos($name, '.');
        if ($dot === false || $dot === 0 || $dot === strlen($name) - 1) {
            throw new InvalidArgumentException("handler '$name' is not of the form file.function");
        }
        $file = $this->dir . '/' . substr($name, 0, $dot) . '.php';
        $fn = substr($name, $dot + 1);
        if (!is_file($file)) {
            throw new RuntimeException("Handler file '$file' is missing");
        }
        require_once $file;
        if (!function_exists($fn)) {
            throw new RuntimeException("Handler '$fn' is missing in $file");
        }
        return $fn;
    }

    // handle answers request $req: [status, [[name, value]…], body].
    public function handle(array $req)
    {
        $h = [];
        foreach ($req['headers'] as [$k, $v]) {
            $h[strtolower($k)] = $v;
        }
        $GLOBALS['openfcRequestId'] = $h['x-fc-request-id'] ?? '';
        try {
            $ctx = openfc_context($h);
            $control = $h['x-fc-control-path'] ?? '';
            if ($control === '/initialize') {
                if (!$this->initialized && $this->initializer !== '') {
                    call_user_func($this->resolve($this->initializer), $ctx);
                }
                $this->initialized = true;
                return [200, [], ''];
            }
            if ($control === '/pre-stop' || $control === '/pre-freeze') {
                $hook = $h['x-fc-instance-lifecycle-pre-stop-handler'] ?? (string) getenv('FC_PRE_STOP_HANDLER');
                if ($control === '/pre-stop' && $hook !== '') {
                    call_user_func($this->resolve($hook), $ctx);
                }
                return [200, [], ''];
            }
            $fn = $this->resolve($this->handler);
            if ($control === '/invoke') {
                return [200, [], openfc_body(call_user_func($fn, $req['body'], $ctx))];
            }
            if ($this->style === 'event') {
                return OpenfcEvent::response(call_user_func($fn, OpenfcEvent::request($req, $h), $ctx));
            }
            return $this->http($fn, $req, $h, $ctx);
        } catch (Throwable $e) {
            return openfc_fail($e);
        } finally {
            openfc_flush_logs();
            $GLOBALS['openfcRequestId'] = '';
        }
    }

    private function http($fn, array $req, array $h, array $ctx)
    {
        $path = explode('?', $req['target'], 2);
        $scheme = $h['x-forwarded-proto'] ?? 'http';
        $host = $h['x-forwarded-host'] ?? ($h['host'] ?? 'localhost');
        $request = new \GuzzleHttp\Psr7\ServerRequest($req['method'], "$scheme://$host" . $req['target'],
            openfc_visible_headers($req['headers']), $req['body'], substr($req['version'], 5) ?: '1.1',
            ['REMOTE_ADDR' => openfc_client_ip($req, $h), 'REQUEST_METHOD' => $req['method'], 'REQUEST_URI' => $req['target']]);
        $request = $request->withQueryParams(\GuzzleHttp\Psr7\Query::parse($path[1] ?? ''))
            ->withAttribute('path', rawurldecode($path[0]))
            ->withAttribute('requestURI', $req['target'])
            ->withAttribute('clientIP', openfc_client_ip($req, $h));
        $resp = call_user_func($fn, $request, $ctx);
        if (!($resp instanceof \Psr\Http\Message\ResponseInterface)) {
            return [200, [], openfc_body($resp)];
        }
        $headers = [];
        foreach ($resp->getHeaders() as $k => $vs) {
            foreach ($vs as $v) {
                $headers[] = [$k, $v]; // an array value: one header line each
            }
        }
        return [$resp->getStatusCode(), $headers, (string) $resp->getBody()];
    }
}

// openfc_body is a handler's non-response result as a body.
function openfc_body($v)
{
    if ($v === null) {
        return '';
    }
    return is_scalar($v) ? (string) $v : json_encode($v);
}

// openfc_visible_headers are the headers a handler sees: FC's x-fc-* and
// hop-by-hop ones removed; name => [values].
function openfc_visible_headers(array $headers)
{
    $out = [];
    foreach ($headers as [$k, $v]) {
        $lk = strtolower($k);
        if (strpos($lk, 'x-fc-') === 0 || in_array($lk, OPENFC_HOP_BY_HOP, true)) {
            continue;
        }
        $out[$k][] = $v;
    }
    return $out;
}

function openfc_client_ip(array $req, array $h)
{
    $fwd = $h['x-forwarded-for'] ?? '';
    return $fwd !== '' ? trim(explode(',', $fwd)[0]) : $req['peer'];
}

// OpenfcEvent is FC 3.0's HTTP-trigger event, both ways.
class OpenfcEvent
{
    public static function request(array $req, array $h)
    {
        $path = explode('?', $req['target'], 2);
        $queries = [];
        foreach (\GuzzleHttp\Psr7\Query::parse($path[1] ?? '') as $k => $v) {
            $queries[$k] = is_array($v) ? implode(',', $v) : $v;
        }
        $headers = [];
        foreach (openfc_visible_headers($req['headers']) as $k => $vs) {
            $headers[strtolower($k)] = implode(', ', $vs);
        }
        $b64 = preg_match('//u', $req['body']) !== 1;
        $host = $h['x-forwarded-host'] ?? ($h['host'] ?? '');
        $now = microtime(true);
        return json_encode([
            'version' => 'v1',
            'rawPath' => $path[0],
            'headers' => (object) $headers,
            'queryParameters' => (object) $queries,
            'body' => $b64 ? base64_encode($req['body']) : $req['body'],
            'isBase64Encoded' => $b64,
            'requestContext' => [
                'accountId' => $h['x-fc-account-id'] ?? (string) getenv('FC_ACCOUNT_ID'),
                'domainName' => $host,
                'domainPrefix' => explode('.', $host)[0],
                'http' => ['method' => $req['method'], 'path' => rawurldecode($path[0]), 'protocol' => $req['version'],
                    'sourceIp' => openfc_client_ip($req, $h), 'userAgent' => $h['user-agent'] ?? ''],
                'requestId' => $h['x-fc-request-id'] ?? '',
                'time' => gmdate('Y-m-d\TH:i:s\Z', (int) $now),
                'timeEpoch' => (string) (int) ($now * 1000),
            ],
        ], JSON_UNESCAPED_SLASHES);
    }

    // response is [status, headers, body] of a handler's return value.
    public static function response($result)
    {
        if (is_string($result)) {
            $parsed = json_decode($result, true);
            if (!is_array($parsed) || !array_key_exists('statusCode', $parsed)) {
                return [200, [], $result];
            }
            $result = $parsed;
        }
        if (!is_array($result) || !array_key_exists('statusCode', $result)) {
            return $result === null ? [200, [], ''] : [200, [['Content-Type', 'application/json']], json_encode($result)];
        }
        $body = $result['body'] ?? '';
        if (!empty($result['isBase64Encoded'])) {
            $body = base64_decode((string) $body);
        } elseif (!is_string($body)) {
            $body = json_encode($body);
        }
        $headers = [];
        foreach (($result['headers'] ?? []) as $k => $v) {
            foreach ((array) $v as $one) {
                $headers[] = [$k, (string) $one];
            }
        }
        return [(int) $result['statusCode'], $headers, $body];
    }
}
