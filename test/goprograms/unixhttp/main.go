// Command unixhttp is a differential test program (see test/doc.go): an
// HTTP server and its clients over a Unix domain socket, through Go's
// net and net/http (non-blocking sockets, accept4, the epoll netpoller).
// Requests of every shape (small, a 1 MiB upload, a 4 MiB chunked
// download, fifty at once on new and kept-alive connections), then an
// abstract-name listener, datagrams, a descriptor passed with
// SCM_RIGHTS, and a graceful shutdown that removes the socket file. It
// prints only what must be the same natively and in the sandbox.
package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"
)

func yesno(what string, ok bool) {
	if ok {
		fmt.Printf("%s: yes\n", what)
	} else {
		fmt.Printf("%s: no\n", what)
	}
}

func fatal(what string, err error) {
	fmt.Printf("FATAL %s: %v\n", what, err)
	os.Exit(2)
}

// pattern is deterministic test data.
func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i/4096)
	}
	return b
}

func digest(b []byte) string {
	h := sha256.Sum256(b)
	return fmt.Sprintf("%x", h[:8])
}

func handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/hello", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello, %s %s (remote %q)", r.Method, r.URL.Path, r.RemoteAddr)
	})
	mux.HandleFunc("/upload", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		fmt.Fprintf(w, "got %d bytes, sha256 %s", len(body), digest(body))
	})
	mux.HandleFunc("/download", func(w http.ResponseWriter, r *http.Request) {
		data := pattern(4 << 20)
		// Written in pieces without a length: chunked encoding.
		for off := 0; off < len(data); off += 100000 {
			w.Write(data[off:min(off+100000, len(data))])
			w.(http.Flusher).Flush()
		}
	})
	mux.HandleFunc("/n/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "n=%s", strings.TrimPrefix(r.URL.Path, "/n/"))
	})
	return mux
}

func client(network, addr string, keepAlive bool) *http.Client {
	return &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		},
		DisableKeepAlives:   !keepAlive,
		MaxIdleConnsPerHost: 100,
	}}
}

func get(c *http.Client, url string) (int, []byte, error) {
	resp, err := c.Get(url)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

func main() {
	dir, err := os.MkdirTemp("", "unixhttp-")
	if err != nil {
		fatal("mkdtemp", err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "http.sock")

	fmt.Println("-- an HTTP server on a socket file")
	l, err := net.Listen("unix", path)
	if err != nil {
		fatal("listen", err)
	}
	fi, err := os.Lstat(path)
	yesno("the socket file exists", err == nil && fi.Mode()&os.ModeSocket != 0)
	srv := &http.Server{Handler: handler()}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()

	c := client("unix", path, true)
	code, body, err := get(c, "http://unix/hello")
	if err != nil {
		fatal("GET /hello", err)
	}
	fmt.Printf("GET /hello: %d %s\n", code, body)

	up := pattern(1 << 20)
	resp, err := c.Post("http://unix/upload", "application/octet-stream", bytes.NewReader(up))
	if err != nil {
		fatal("POST /upload", err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Printf("POST /upload (sha256 %s): %d %s\n", digest(up), resp.StatusCode, body)

	resp, err = c.Get("http://unix/download")
	if err != nil {
		fatal("GET /download", err)
	}
	body, err = io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Printf("GET /download: %d, chunked %v, %d bytes, sha256 %s, as sent %v, err %v\n", resp.StatusCode,
		len(resp.TransferEncoding) > 0 && resp.TransferEncoding[0] == "chunked", len(body), digest(body),
		bytes.Equal(body, pattern(4<<20)), err)

	for _, keep := range []bool{false, true} {
		cc := client("unix", path, keep)
		var wg sync.WaitGroup
		results := make([]string, 50)
		for i := range 50 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				code, b, err := get(cc, fmt.Sprintf("http://unix/n/%d", i))
				if err != nil {
					results[i] = "error: " + err.Error()
					return
				}
				results[i] = fmt.Sprintf("%d %s", code, b)
			}()
		}
		wg.Wait()
		ok := 0
		for i, r := range results {
			if r == fmt.Sprintf("200 n=%d", i) {
				ok++
			} else {
				fmt.Printf("request %d: %s\n", i, r)
			}
		}
		fmt.Printf("50 concurrent requests (keep-alive %v): %d right\n", keep, ok)
		cc.CloseIdleConnections()
	}

	fmt.Println("-- an abstract name")
	// Abstract names are global on the host: parallel native runs would
	// collide, so the name ends with the process ID, never printed.
	suffix := fmt.Sprintf("-%08x", os.Getpid())
	abstract := "@magawa-unixhttp" + suffix
	al, err := net.Listen("unix", abstract)
	if err != nil {
		fatal("listen abstract", err)
	}
	fmt.Printf("listener address: %s\n", strings.TrimSuffix(al.Addr().String(), suffix))
	asrv := &http.Server{Handler: handler()}
	go asrv.Serve(al)
	code, body, err = get(client("unix", abstract, false), "http://abstract/n/abstract")
	fmt.Printf("GET over it: %d %s %v\n", code, body, err)
	_, err = net.Listen("unix", abstract)
	fmt.Printf("listen on it again: %v\n", errors.Is(err, syscall.EADDRINUSE))
	asrv.Close()

	fmt.Println("-- datagrams")
	gpath := filepath.Join(dir, "dgram.sock")
	gc, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: gpath, Net: "unixgram"})
	if err != nil {
		fatal("listen unixgram", err)
	}
	gaddr := &net.UnixAddr{Name: gpath, Net: "unixgram"}
	sender, err := net.DialUnix("unixgram", nil, gaddr)
	if err != nil {
		fatal("dial unixgram", err)
	}
	named, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: "@magawa-unixhttp-sender" + suffix, Net: "unixgram"})
	if err != nil {
		fatal("listen unixgram abstract", err)
	}
	if _, err := sender.Write([]byte("first")); err != nil {
		fatal("write datagram", err)
	}
	for _, m := range []string{"", "third message"} {
		if _, err := named.WriteToUnix([]byte(m), gaddr); err != nil {
			fatal("sendto datagram", err)
		}
	}
	var sizes []int
	var froms []string
	buf := make([]byte, 100)
	for range 3 {
		gc.SetReadDeadline(time.Now().Add(10 * time.Second))
		n, from, err := gc.ReadFromUnix(buf)
		if err != nil {
			fatal("read datagram", err)
		}
		sizes = append(sizes, n)
		name := "unnamed"
		if from != nil && from.Name != "" {
			name = strings.TrimSuffix(from.Name, suffix)
		}
		froms = append(froms, name)
	}
	fmt.Printf("datagram senders: %v\n", froms)
	fmt.Printf("datagram sizes: %v\n", sizes)
	gc.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	_, _, err = gc.ReadFromUnix(buf)
	yesno("a read deadline expires", errors.Is(err, os.ErrDeadlineExceeded))

	fmt.Println("-- SCM_RIGHTS")
	a, b, err := socketPair()
	if err != nil {
		fatal("socketpair", err)
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		fatal("pipe", err)
	}
	if _, _, err := a.WriteMsgUnix([]byte("fd"), syscall.UnixRights(int(pr.Fd())), nil); err != nil {
		fatal("WriteMsgUnix", err)
	}
	pr.Close()
	oob := make([]byte, syscall.CmsgSpace(4))
	n, oobn, flags, _, err := b.ReadMsgUnix(buf, oob)
	if err != nil {
		fatal("ReadMsgUnix", err)
	}
	msgs, err := syscall.ParseSocketControlMessage(oob[:oobn])
	var fds []int
	if err == nil && len(msgs) == 1 {
		fds, err = syscall.ParseUnixRights(&msgs[0])
	}
	fmt.Printf("received %q with %d descriptor(s), flags %d, err %v\n", buf[:n], len(fds), flags, err)
	if len(fds) == 1 {
		got := os.NewFile(uintptr(fds[0]), "passed")
		pw.Write([]byte("through the passed pipe"))
		pw.Close()
		data, _ := io.ReadAll(got)
		fmt.Printf("read through it: %q\n", data)
		got.Close()
	}
	a.Close()
	b.Close()

	fmt.Println("-- shutdown")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c.CloseIdleConnections()
	if err := srv.Shutdown(ctx); err != nil {
		fatal("shutdown", err)
	}
	fmt.Printf("Serve returned: %v\n", <-served)
	_, err = os.Lstat(path)
	yesno("the socket file is gone", errors.Is(err, os.ErrNotExist))
	_, err = net.Dial("unix", path)
	yesno("dialing it fails", err != nil)
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	fmt.Printf("left in the directory: %v\n", names)
}

// socketPair returns the two ends of a Unix stream socket pair as
// UnixConns.
func socketPair() (*net.UnixConn, *net.UnixConn, error) {
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, err
	}
	var conns [2]*net.UnixConn
	for i, fd := range fds {
		f := os.NewFile(uintptr(fd), "socketpair")
		c, err := net.FileConn(f)
		f.Close()
		if err != nil {
			return nil, nil, err
		}
		conns[i] = c.(*net.UnixConn)
	}
	return conns[0], conns[1], nil
}
