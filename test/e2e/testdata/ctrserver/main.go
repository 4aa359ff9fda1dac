// Command ctrserver is the custom-container function of openfc's e2e
// tests, built static and packed into an image by the test. It listens on
// 0.0.0.0:$FC_SERVER_PORT (default 9000). GET / answers
// "$NAME <hostname>"; /write?f=PATH&v=V writes V to PATH; /read?f=PATH
// answers the file (404 when absent); /alloc?mb=N allocates and touches N
// MB and keeps them; /fetch?url=U fetches U (502 "error: …" on failure);
// /env?k=K answers $K; /whoami answers "uid=U gid=G cwd=D".
package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"time"
)

var kept [][]byte

func main() {
	port := os.Getenv("FC_SERVER_PORT")
	if port == "" {
		port = "9000"
	}
	host, _ := os.Hostname()
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s %s", os.Getenv("NAME"), host)
	})
	mux.HandleFunc("/write", func(w http.ResponseWriter, r *http.Request) {
		if err := os.WriteFile(r.URL.Query().Get("f"), []byte(r.URL.Query().Get("v")), 0o644); err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		io.WriteString(w, "written")
	})
	mux.HandleFunc("/read", func(w http.ResponseWriter, r *http.Request) {
		b, err := os.ReadFile(r.URL.Query().Get("f"))
		if err != nil {
			http.Error(w, err.Error(), 404)
			return
		}
		w.Write(b)
	})
	mux.HandleFunc("/alloc", func(w http.ResponseWriter, r *http.Request) {
		mb, _ := strconv.Atoi(r.URL.Query().Get("mb"))
		for range mb {
			b := make([]byte, 1<<20)
			for i := range b {
				b[i] = 1
			}
			kept = append(kept, b)
		}
		fmt.Fprintf(w, "allocated %d MB", mb)
	})
	mux.HandleFunc("/fetch", func(w http.ResponseWriter, r *http.Request) {
		c := &http.Client{Timeout: 3 * time.Second}
		began := time.Now()
		resp, err := c.Get(r.URL.Query().Get("url"))
		if err != nil {
			http.Error(w, fmt.Sprintf("error: %v after %d ms", err, time.Since(began).Milliseconds()), 502)
			return
		}
		defer resp.Body.Close()
		io.Copy(w, resp.Body)
	})
	mux.HandleFunc("/env", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, os.Getenv(r.URL.Query().Get("k")))
	})
	mux.HandleFunc("/whoami", func(w http.ResponseWriter, r *http.Request) {
		wd, _ := os.Getwd()
		fmt.Fprintf(w, "uid=%d gid=%d cwd=%s", os.Getuid(), os.Getgid(), wd)
	})
	fmt.Println("listening on", port)
	if err := http.ListenAndServe("0.0.0.0:"+port, mux); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
