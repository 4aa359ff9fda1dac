package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// nginxConf is the nginx baseline: proxy_pass with upstream keep-alive (HTTP
// 1.1 and an empty Connection header, without which nginx opens a
// connection per request), its pid, logs and temp paths in the run's
// directory rather than the system's. Arguments: the directory, the
// upstream port, the listen port.
const nginxConf = `daemon off;
worker_processes auto;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path %[1]s/body;
  proxy_temp_path %[1]s/proxy;
  fastcgi_temp_path %[1]s/fastcgi;
  uwsgi_temp_path %[1]s/uwsgi;
  scgi_temp_path %[1]s/scgi;
  upstream up { server 127.0.0.1:%[2]d; keepalive 64; }
  server {
    listen 127.0.0.1:%[3]d;
    location / {
      proxy_pass http://up;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
`

// startNginx runs nginx from dir in front of the upstream on upPort and
// returns its URL once a request through it answers.
func startNginx(ctx context.Context, children *procs, dir string, upPort int) (string, error) {
	port := freePort()
	_ = os.MkdirAll(filepath.Join(dir, "logs"), 0o755)
	confPath := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(confPath, []byte(fmt.Sprintf(nginxConf, dir, upPort, port)), 0o644); err != nil {
		return "", err
	}
	ng := exec.Command("nginx", "-c", confPath, "-p", dir, "-e", filepath.Join(dir, "error.log"))
	ng.Stderr = os.Stderr
	if err := children.start(ng); err != nil {
		return "", fmt.Errorf("nginx: %w", err)
	}
	u := fmt.Sprintf("http://127.0.0.1:%d/", port)
	if err := waitHTTP(ctx, u, "", 10*time.Second); err != nil {
		return "", fmt.Errorf("nginx: %w", err)
	}
	return u, nil
}
