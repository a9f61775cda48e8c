package agentapi

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// PortName is the name of the agent's virtio-serial port
// (virtserialport's name=), which the guest finds in
// /sys/class/virtio-ports/*/name.
const PortName = "magawa.agent"

// ServiceName is the ttrpc service, as agent.proto declares it.
const ServiceName = "magawa.agent.v1.Agent"

// serialConn is the guest's end of the virtio-serial port as a
// net.Conn, for ttrpc.
//
// A read on a port whose host end is not connected returns 0 bytes
// (Linux: drivers/char/virtio_console.c, port_fops_read); the host end
// is connected for the VM's whole life (QEMU's chardev holds a socket
// made before it started), so a 0-byte read is a moment before that
// and is retried, never taken for the end.
type serialConn struct {
	fd        int
	closeOnce sync.Once
	closed    chan struct{}
}

// FindPort returns the device path of the virtio-serial port named
// name, waiting until the driver has made it or the deadline passes.
func FindPort(name string, deadline time.Time) (string, error) {
	for {
		ports, _ := filepath.Glob("/sys/class/virtio-ports/*/name")
		for _, p := range ports {
			b, err := os.ReadFile(p)
			if err == nil && strings.TrimSpace(string(b)) == name {
				dev := "/dev/" + filepath.Base(filepath.Dir(p))
				if _, err := os.Stat(dev); err == nil {
					return dev, nil
				}
			}
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("no virtio-serial port named %s (ports: %v)", name, ports)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// OpenSerial opens the guest's end of a virtio-serial port.
func OpenSerial(path string) (net.Conn, error) {
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", path, err)
	}
	return &serialConn{fd: fd, closed: make(chan struct{})}, nil
}

func (c *serialConn) Read(b []byte) (int, error) {
	for {
		select {
		case <-c.closed:
			return 0, net.ErrClosed
		default:
		}
		n, err := unix.Read(c.fd, b)
		switch {
		case err == unix.EINTR || err == unix.EAGAIN:
			continue
		case err != nil:
			return 0, err
		case n == 0 && len(b) > 0:
			// The host end is not connected yet.
			time.Sleep(2 * time.Millisecond)
			continue
		}
		return n, nil
	}
}

func (c *serialConn) Write(b []byte) (int, error) {
	written := 0
	for written < len(b) {
		n, err := unix.Write(c.fd, b[written:])
		if err == unix.EINTR || err == unix.EAGAIN {
			continue
		}
		if err != nil {
			return written, err
		}
		written += n
	}
	return written, nil
}

func (c *serialConn) Close() error {
	c.closeOnce.Do(func() {
		close(c.closed)
		unix.Close(c.fd)
	})
	return nil
}

type serialAddr string

func (a serialAddr) Network() string { return "virtio-serial" }
func (a serialAddr) String() string  { return string(a) }

func (c *serialConn) LocalAddr() net.Addr                { return serialAddr(PortName) }
func (c *serialConn) RemoteAddr() net.Addr               { return serialAddr("host") }
func (c *serialConn) SetDeadline(t time.Time) error      { return nil }
func (c *serialConn) SetReadDeadline(t time.Time) error  { return nil }
func (c *serialConn) SetWriteDeadline(t time.Time) error { return nil }

// ConnListener is a net.Listener that hands out one connection made
// beforehand (the serial port: there is one, for the VM's life), then
// blocks until it is closed.
type ConnListener struct {
	conn   chan net.Conn
	closed chan struct{}
	once   sync.Once
	addr   net.Addr
}

// NewConnListener returns a listener whose one connection is c.
func NewConnListener(c net.Conn) *ConnListener {
	l := &ConnListener{conn: make(chan net.Conn, 1), closed: make(chan struct{}), addr: c.LocalAddr()}
	l.conn <- c
	return l
}

// Accept returns the connection the first time, then waits for Close.
func (l *ConnListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conn:
		return c, nil
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

// Close ends Accept.
func (l *ConnListener) Close() error {
	l.once.Do(func() { close(l.closed) })
	return nil
}

// Addr is the connection's local address.
func (l *ConnListener) Addr() net.Addr { return l.addr }

// ErrStreamClosed is what a stream read answers past its end.
var ErrStreamClosed = errors.New("stream closed")
