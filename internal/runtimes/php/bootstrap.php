<?php
// openfc's bootstrap for FC's built-in PHP runtime (php7.2; runs on PHP 7.2+).
//
// It serves the instance HTTP contract of a custom runtime (0.0.0.0:FC_SERVER_PORT,
// FC's x-fc-* request headers, POST /initialize, GET /pre-stop) and calls the
// user's handler with FC's signatures (runtime.php).
//
// Concurrency: PHP runs one request per process, so the master listens and
// forks FC_INSTANCE_CONCURRENCY workers that share the listening socket (the
// kernel hands each connection to one of them). A worker keeps its
// keep-alive connections and serves one request at a time from any of
// them; a worker holding connections accepts new ones only after 50 ms,
// so that an idle worker takes a new connection first. The master runs the
// initializer itself (the POST /initialize hook, answered before any
// worker exists), so that every worker inherits its state: FC's "once per
// instance". A worker that dies (a PHP fatal error) is replaced.
// Without the pcntl extension the master serves alone, one request at a time.

require __DIR__ . '/runtime.php';

const OPENFC_IDLE_POLL = 0.05; // seconds a busy-holding worker waits before accepting

$GLOBALS['openfcToken'] = (string) getenv('OPENFC_RUNTIME_TOKEN');
putenv('OPENFC_RUNTIME_TOKEN'); // out of the user's reach

// readRequest reads one HTTP/1.1 request from $c: null at EOF.
function openfc_read_request($c)
{
    $line = fgets($c);
    if ($line === false || trim($line) === '') {
        return null;
    }
    $parts = explode(' ', trim($line), 3);
    if (count($parts) < 2) {
        return null;
    }
    $req = ['method' => $parts[0], 'target' => $parts[1], 'version' => $parts[2] ?? 'HTTP/1.0', 'headers' => []];
    $size = 0;
    while (($h = fgets($c)) !== false) {
        $size += strlen($h);
        $h = rtrim($h, "\r\n");
        if ($h === '' || $size > 1 << 20) {
            break;
        }
        $kv = explode(':', $h, 2);
        if (count($kv) === 2) {
            $req['headers'][] = [trim($kv[0]), trim($kv[1])];
        }
    }
    $te = strtolower(openfc_header($req, 'transfer-encoding'));
    if (strpos($te, 'chunked') !== false) {
        $body = '';
        while (($l = fgets($c)) !== false) {
            $n = hexdec(trim(explode(';', $l, 2)[0]));
            if ($n === 0) {
                while (($t = fgets($c)) !== false && rtrim($t, "\r\n") !== '') {
                }
                break;
            }
            $body .= openfc_read_n($c, $n);
            fgets($c);
        }
        $req['body'] = $body;
    } else {
        $req['body'] = openfc_read_n($c, (int) openfc_header($req, 'content-length'));
    }
    return $req;
}

function openfc_read_n($c, $n)
{
    $out = '';
    while ($n > 0 && !feof($c)) {
        $b = fread($c, min($n, 65536));
        if ($b === false || $b === '') {
            break;
        }
        $out .= $b;
        $n -= strlen($b);
    }
    return $out;
}

function openfc_header($req, $name)
{
    foreach ($req['headers'] as [$k, $v]) {
        if (strcasecmp($k, $name) === 0) {
            return $v;
        }
    }
    return '';
}

// openfc_write answers on $c: $headers a list of [name, value].
function openfc_write($c, $req, $status, $headers, $body)
{
    $reason = ['200' => 'OK', '201' => 'Created', '204' => 'No Content', '400' => 'Bad Request', '404' => 'Not Found', '500' => 'Internal Server Error', '502' => 'Bad Gateway'];
    openfc_flush_logs(); // a request's log lines before its answer
    $out = sprintf("HTTP/1.1 %d %s\r\n", $status, $reason[(string) $status] ?? 'Status');
    foreach ($headers as [$k, $v]) {
        if (in_array(strtolower($k), OPENFC_FRAMING, true)) {
            continue;
        }
        $out .= $k . ': ' . str_replace(["\r", "\n"], ' ', (string) $v) . "\r\n";
    }
    $bodiless = $status < 200 || $status === 204 || $status === 304;
    if (!$bodiless) {
        $out .= 'Content-Length: ' . strlen($body) . "\r\n";
    }
    $close = openfc_wants_close($req);
    if ($close) {
        $out .= "Connection: close\r\n";
    }
    $out .= "\r\n";
    if ($req['method'] !== 'HEAD' && !$bodiless) {
        $out .= $body;
    }
    for ($off = 0; $off < strlen($out);) {
        $n = @fwrite($c, substr($out, $off));
        if ($n === false || $n === 0) {
            return false;
        }
        $off += $n;
    }
    return !$close;
}

function openfc_wants_close($req)
{
    $conn = strtolower(openfc_header($req, 'connection'));
    return $conn === 'close' || ($req['version'] === 'HTTP/1.0' && $conn !== 'keep-alive');
}

// openfc_serve_one reads and answers one request on $c; false when $c is done.
function openfc_serve_one($c, OpenfcApp $app)
{
    $req = openfc_read_request($c);
    if ($req === null) {
        return false;
    }
    $peer = stream_socket_get_name($c, true);
    $req['peer'] = $peer === false ? '' : preg_replace('/:\d+$/', '', $peer);
    $GLOBALS['openfcCurrent'] = [$c, $req];
    [$status, $headers, $body] = $app->handle($req);
    $GLOBALS['openfcCurrent'] = null;
    return openfc_write($c, $req, $status, $headers, $body);
}

// openfc_serve is a worker's loop; $until (the master's, before forking)
// returns true when the loop should end.
function openfc_serve($listen, OpenfcApp $app, $until = null)
{
    $conns = [];
    while (true) {
        $r = $conns;
        if (!$conns) {
            $r[] = $listen;
        }
        $w = $e = null;
        $n = @stream_select($r, $w, $e, $conns ? 0 : 1, $conns ? (int) (OPENFC_IDLE_POLL * 1e6) : 0);
        if ($n === false) {
            continue; // EINTR (a signal)
        }
        if ($n === 0 && !$conns) {
            $master = $GLOBALS['openfcMaster'] ?? 0;
            if ($master && posix_getppid() !== $master) {
                exit(0); // the master is gone: so is the instance
            }
            continue;
        }
        if ($n === 0) {
            $r = [$listen];
            $w = $e = null;
            if (@stream_select($r, $w, $e, 0) < 1) {
                continue;
            }
        }
        foreach ($r as $s) {
            if ($s === $listen) {
                $c = @stream_socket_accept($listen, 0);
                if ($c !== false) {
                    stream_set_timeout($c, 60);
                    $conns[(int) $c] = $c;
                }
                continue;
            }
            if (!openfc_serve_one($s, $app)) {
                fclose($s);
                unset($conns[(int) $s]);
            }
            if ($until !== null && $until()) {
                foreach ($conns as $c) {
                    fclose($c);
                }
                return;
            }
        }
    }
}

// openfc_on_shutdown answers the request a PHP fatal error ended.
function openfc_on_shutdown()
{
    $cur = $GLOBALS['openfcCurrent'] ?? null;
    $err = error_get_last();
    if ($cur === null || $err === null) {
        return;
    }
    [$c, $req] = $cur;
    $e = new ErrorException($err['message'], 0, $err['type'], $err['file'], $err['line']);
    [$status, $headers, $body] = openfc_fail($e, 'PHPFatalError');
    openfc_write($c, $req + ['method' => 'GET'], $status, $headers, $body);
}

function openfc_main()
{
    $port = (int) (getenv('FC_SERVER_PORT') ?: 9000);
    $workers = max(1, (int) getenv('FC_INSTANCE_CONCURRENCY'));
    $ctx = stream_context_create(['socket' => ['backlog' => 128, 'so_reuseport' => false]]);
    $listen = stream_socket_server("tcp://0.0.0.0:$port", $errno, $errstr, STREAM_SERVER_BIND | STREAM_SERVER_LISTEN, $ctx);
    if ($listen === false) {
        fwrite(STDERR, "openfc: listening on port $port: $errstr\n");
        exit(1);
    }
    $app = new OpenfcApp();
    register_shutdown_function('openfc_on_shutdown');
    $app->load();
    if (!function_exists('pcntl_fork')) {
        fwrite(STDOUT, "openfc: the pcntl extension is missing: one request at a time\n");
        openfc_serve($listen, $app);
        return;
    }
    if ($app->initializer !== '') {
        // Serve in the master until the initializer has run, then fork.
        openfc_serve($listen, $app, function () use ($app) {
            return $app->initialized;
        });
    }
    openfc_supervise($listen, $app, $workers);
}

// openfc_supervise forks $n workers and replaces those that die; SIGTERM
// stops them all.
function openfc_supervise($listen, OpenfcApp $app, $n)
{
    $children = [];
    $stopping = false;
    pcntl_async_signals(true);
    $stop = function () use (&$children, &$stopping) {
        $stopping = true;
        foreach ($children as $pid => $_) {
            posix_kill($pid, SIGTERM);
        }
    };
    pcntl_signal(SIGTERM, $stop);
    pcntl_signal(SIGINT, $stop);
    while (!$stopping) {
        while (count($children) < $n && !$stopping) {
            $GLOBALS['openfcMaster'] = getmypid();
            $pid = pcntl_fork();
            if ($pid === 0) {
                pcntl_signal(SIGTERM, SIG_DFL);
                pcntl_signal(SIGINT, SIG_DFL);
                openfc_serve($listen, $app);
                exit(0);
            }
            if ($pid < 0) {
                fwrite(STDERR, "openfc: fork failed\n");
                sleep(1);
                continue;
            }
            $children[$pid] = true;
        }
        $pid = pcntl_wait($status);
        if ($pid > 0) {
            unset($children[$pid]);
        }
    }
    while (pcntl_wait($status) > 0) {
    }
}

openfc_main();
