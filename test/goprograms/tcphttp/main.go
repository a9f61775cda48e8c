// Command tcphttp is a differential test program (see test/doc.go): an
// HTTP server and its clients over TCP on the loopback addresses, IPv4
// and IPv6, through Go's net and net/http (non-blocking sockets,
// connect in progress, accept4, the epoll netpoller, keep-alive,
// half-close). Requests of every shape (small, a 1 MiB upload, a 4 MiB
// chunked download, fifty at once on new and kept-alive connections),
// then UDP echo on both families, localhost from /etc/hosts, and the
// loopback interface as net.Interfaces sees it. It prints only what must
// be the same natively and in the sandbox: never a port.
package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
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
		host, _, _ := net.SplitHostPort(r.RemoteAddr)
		fmt.Fprintf(w, "hello, %s %s from %s", r.Method, r.URL.Path, host)
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

func get(c *http.Client, url string) string {
	resp, err := c.Get(url)
	if err != nil {
		fatal("GET "+url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		fatal("reading "+url, err)
	}
	return fmt.Sprintf("%d %s", resp.StatusCode, b)
}

func serveHTTP(network, addr string) {
	fmt.Printf("== http over %s\n", network)
	ln, err := net.Listen(network, addr)
	if err != nil {
		fatal("listen", err)
	}
	srv := &http.Server{Handler: handler()}
	done := make(chan struct{})
	go func() { srv.Serve(ln); close(done) }()
	base := "http://" + ln.Addr().String()
	c := &http.Client{Timeout: 30 * time.Second}
	fmt.Println(get(c, base+"/hello"))

	up := pattern(1 << 20)
	resp, err := c.Post(base+"/upload", "application/octet-stream", bytes.NewReader(up))
	if err != nil {
		fatal("upload", err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Printf("upload: %s (want %s)\n", b, digest(up))

	resp, err = c.Get(base + "/download")
	if err != nil {
		fatal("download", err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	yesno("download chunked", len(resp.TransferEncoding) == 1 && resp.TransferEncoding[0] == "chunked")
	yesno("download intact", bytes.Equal(b, pattern(4<<20)))

	var mu sync.Mutex
	var got []string
	var wg sync.WaitGroup
	fresh := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 30 * time.Second}
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := c
			if i%2 == 0 {
				client = fresh
			}
			r := get(client, fmt.Sprintf("%s/n/%d", base, i))
			mu.Lock()
			got = append(got, r)
			mu.Unlock()
		}()
	}
	wg.Wait()
	sort.Strings(got)
	fmt.Printf("50 concurrent: %d answers, first %q, last %q\n", len(got), got[0], got[len(got)-1])

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		fatal("shutdown", err)
	}
	<-done
	_, err = net.DialTimeout(network, ln.Addr().String(), 5*time.Second)
	fmt.Printf("dial after shutdown: %v\n", errText(err))
}

// errText is an error without its addresses.
func errText(err error) string {
	if err == nil {
		return "ok"
	}
	if oe, ok := err.(*net.OpError); ok {
		return fmt.Sprintf("%s: %v", oe.Op, oe.Err)
	}
	return err.Error()
}

func halfClose(network, addr string) {
	ln, err := net.Listen(network, addr)
	if err != nil {
		fatal("listen", err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		b, _ := io.ReadAll(c)
		fmt.Fprintf(c, "server read %d bytes then EOF", len(b))
		c.Close()
	}()
	c, err := net.Dial(network, ln.Addr().String())
	if err != nil {
		fatal("dial", err)
	}
	c.Write(pattern(300000))
	c.(*net.TCPConn).CloseWrite()
	b, err := io.ReadAll(c)
	fmt.Printf("half-close over %s: %q %v\n", network, b, errText(err))
	c.Close()
}

func udpEcho(network, addr string) {
	pc, err := net.ListenPacket(network, addr)
	if err != nil {
		fatal("listen udp", err)
	}
	defer pc.Close()
	go func() {
		buf := make([]byte, 65536)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			pc.WriteTo(bytes.ToUpper(buf[:n]), from)
		}
	}()
	c, err := net.Dial(network, pc.LocalAddr().String())
	if err != nil {
		fatal("dial udp", err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	for _, msg := range []string{"one", "two", strings.Repeat("x", 60000)} {
		c.Write([]byte(msg))
		buf := make([]byte, 65536)
		n, err := c.Read(buf)
		if err != nil {
			fatal("udp read", err)
		}
		fmt.Printf("udp %s echo: %d bytes, upper %v\n", network, n, string(buf[:n]) == strings.ToUpper(msg))
	}
}

func loopbackInterface() {
	ifs, err := net.Interfaces()
	if err != nil {
		fatal("interfaces", err)
	}
	for _, ifc := range ifs {
		if ifc.Name != "lo" {
			continue
		}
		fmt.Printf("lo: index %d, up %v, loopback %v, mtu %d\n", ifc.Index, ifc.Flags&net.FlagUp != 0, ifc.Flags&net.FlagLoopback != 0, ifc.MTU)
		addrs, err := ifc.Addrs()
		if err != nil {
			fatal("lo addresses", err)
		}
		var s []string
		for _, a := range addrs {
			s = append(s, a.String())
		}
		sort.Strings(s)
		fmt.Printf("lo addresses: %v\n", s)
	}
}

func main() {
	serveHTTP("tcp4", "127.0.0.1:0")
	serveHTTP("tcp6", "[::1]:0")
	halfClose("tcp4", "127.0.0.1:0")
	halfClose("tcp6", "[::1]:0")
	udpEcho("udp4", "127.0.0.1:0")
	udpEcho("udp6", "[::1]:0")
	addrs, err := net.LookupHost("localhost")
	sort.Strings(addrs)
	fmt.Printf("localhost: %v %v\n", addrs, errText(err))
	loopbackInterface()
}
