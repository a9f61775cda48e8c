package qemu

import (
	"bufio"
	"io"
	"strings"
	"sync"
)

// Console collects what the guest writes on its serial console, and
// QEMU's own messages: every line goes to the log, and the last ones are
// kept for an error to quote.
type Console struct {
	// mu guards the ring and the log's writes.
	mu    sync.Mutex
	log   io.Writer
	lines []string
	next  int
	full  bool
}

// consoleLines is how many lines a Console keeps.
const consoleLines = 40

// NewConsole returns a console logging to log (nil: nowhere).
func NewConsole(log io.Writer) *Console {
	return &Console{log: log, lines: make([]string, consoleLines)}
}

// add records one line.
func (c *Console) add(line string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.log != nil {
		io.WriteString(c.log, line+"\n")
	}
	c.lines[c.next] = line
	c.next = (c.next + 1) % len(c.lines)
	if c.next == 0 {
		c.full = true
	}
}

// collect reads r line by line into the console, each with prefix,
// until r ends; done is closed then.
func (c *Console) collect(r io.Reader, prefix string, done chan<- struct{}) {
	defer close(done)
	br := bufio.NewReaderSize(r, 4096)
	for {
		line, err := br.ReadString('\n')
		if line != "" {
			c.add(prefix + strings.TrimRight(line, "\r\n"))
		}
		if err != nil {
			return
		}
	}
}

// Tail returns the last n lines (fewer if there are not as many).
func (c *Console) Tail(n int) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var all []string
	if c.full {
		all = append(all, c.lines[c.next:]...)
	}
	all = append(all, c.lines[:c.next]...)
	if len(all) > n {
		all = all[len(all)-n:]
	}
	return all
}
