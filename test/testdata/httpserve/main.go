// Command httpserve is the HTTP server the network load test runs in
// the sandbox: it answers every path with a small page, keeps
// connections alive, and says "listening" on stdout once it listens on
// the address given as its argument.
package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
)

func main() {
	ln, err := net.Listen("tcp", os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println("listening")
	page := []byte("<html><body>served by the sandbox</body></html>\n")
	http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Write(page)
	}))
}
