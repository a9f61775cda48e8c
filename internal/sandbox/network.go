package sandbox

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"magawa/internal/network"
	"magawa/kernel/net/inet"
)

// AttachNetwork serves the interfaces cfg describes from the sandbox's
// network stack, each through its packet socket in files (in order),
// with cfg's addresses and routes. The sandbox owns files from then on.
// It is for a sandbox of NetworkSandbox that has not started.
func (s *Sandbox) AttachNetwork(cfg *network.Config, files []*os.File) error {
	if len(files) != len(cfg.Links) {
		closeAll(files)
		return fmt.Errorf("%d interfaces with %d packet sockets", len(cfg.Links), len(files))
	}
	st, err := s.k.Network()
	if err != nil {
		closeAll(files)
		return err
	}
	for i, l := range cfg.Links {
		if l.Index <= 1 {
			closeAll(files[i:])
			return fmt.Errorf("interface %s: index %d is loopback's", l.Name, l.Index)
		}
		// The stack takes the descriptor number itself: files[i] must not
		// close it when it is collected.
		fd, err := dupFD(files[i])
		files[i].Close()
		if err != nil {
			closeAll(files[i+1:])
			return err
		}
		err = st.AttachEthernet(inet.EthernetLink{Index: l.Index, Name: l.Name, MTU: l.MTU, HardwareAddr: l.HardwareAddr, FD: fd})
		if err != nil {
			closeAll(files[i+1:])
			return err
		}
		for _, p := range l.Addresses {
			if err := st.AddAddress(l.Index, p); err != nil {
				return fmt.Errorf("interface %s: address %v: %w", l.Name, p, err)
			}
		}
	}
	for _, r := range cfg.Routes {
		if !r.Gateway.IsValid() && connected(cfg, r) {
			continue // AddAddress made it
		}
		if err := st.AddRoute(inet.Route{Dst: r.Dst, Gateway: r.Gateway, Index: r.Index}); err != nil {
			return fmt.Errorf("route to %v: %w", r.Dst, err)
		}
	}
	return nil
}

// connected reports whether r is the subnet route of one of its link's
// addresses.
func connected(cfg *network.Config, r network.Route) bool {
	for _, l := range cfg.Links {
		if l.Index != r.Index {
			continue
		}
		for _, p := range l.Addresses {
			if p.Masked() == r.Dst.Masked() {
				return true
			}
		}
	}
	return false
}

func closeAll(files []*os.File) {
	for _, f := range files {
		f.Close()
	}
}

// dupFD returns a descriptor of its own for f's file.
func dupFD(f *os.File) (int, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return -1, err
	}
	fd := -1
	var dupErr error
	if err := rc.Control(func(raw uintptr) {
		fd, dupErr = unix.FcntlInt(raw, unix.F_DUPFD_CLOEXEC, 0)
	}); err != nil {
		return -1, err
	}
	if dupErr != nil {
		return -1, errors.Join(errors.New("duplicating a packet socket"), dupErr)
	}
	return fd, nil
}
