// Command ctserver is the container sandbox tests' function: a static
// HTTP server on $PORT that reports what its container looks like.
package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
)

// held keeps /alloc's memory reachable.
var held [][]byte

func main() {
	// As pid 1 of its namespace, the server gets SIGTERM only with a
	// handler: exit cleanly, as a well-behaved server does.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM)
	go func() {
		<-sig
		os.Exit(0)
	}()
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		host, _ := os.Hostname()
		fmt.Fprintf(w, "%s@%s", os.Getenv("BODY"), host)
	})
	http.HandleFunc("/write", func(w http.ResponseWriter, r *http.Request) {
		if err := os.WriteFile(r.FormValue("path"), []byte(r.FormValue("data")), 0o644); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		io.WriteString(w, "ok")
	})
	http.HandleFunc("/read", func(w http.ResponseWriter, r *http.Request) {
		b, err := os.ReadFile(r.FormValue("path"))
		if err != nil {
			io.WriteString(w, "missing")
			return
		}
		w.Write(b)
	})
	http.HandleFunc("/id", func(w http.ResponseWriter, r *http.Request) {
		groups, _ := os.Getgroups()
		wd, _ := os.Getwd()
		fmt.Fprintf(w, "%d:%d %v %s", os.Getuid(), os.Getgid(), groups, wd)
	})
	http.HandleFunc("/alloc", func(w http.ResponseWriter, r *http.Request) {
		mb, _ := strconv.Atoi(r.FormValue("mb"))
		for range mb {
			b := make([]byte, 1<<20)
			for i := 0; i < len(b); i += 4096 {
				b[i] = 1
			}
			held = append(held, b)
		}
		fmt.Fprintf(w, "allocated %d MB", mb)
	})
	http.HandleFunc("/fetch", func(w http.ResponseWriter, r *http.Request) {
		resp, err := http.Get(r.FormValue("url"))
		if err != nil {
			fmt.Fprintf(w, "error: %v", err)
			return
		}
		defer resp.Body.Close()
		io.Copy(w, resp.Body)
	})
	port := os.Getenv("PORT")
	fmt.Println("listening on " + port)
	if err := http.ListenAndServe(":"+port, nil); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
