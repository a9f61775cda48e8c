package boot

import "os"

// What a sandbox process of another kind needs to stand where `magawa
// boot` stands: the micro-VM sandbox's supervisor (package vm), which
// Launch starts with its own Verb and Payload, reports readiness on the
// same sync pipe and serves the same control protocol, so the runtime's
// commands and Client drive it unchanged.

// Reporter tells the launcher once that the sandbox is ready or why it
// is not.
type Reporter struct{ b booter }

// NewReporter reports on the sync pipe the launcher passed.
func NewReporter(sync *os.File) *Reporter { return &Reporter{booter{sync: sync}} }

// Ready says the sandbox is up (an OCI container: created).
func (r *Reporter) Ready() { r.b.ready() }

// Fail reports err (or, once ready, prints it) and returns code.
func (r *Reporter) Fail(err error, code int) int { return r.b.fail(err, code) }

// ReadRequest reads a control request and the descriptors that came
// with it (close-on-exec).
func ReadRequest(fd int) (Request, []int, error) {
	var req Request
	fds, err := receive(fd, &req)
	return req, fds, err
}

// WriteResponse writes a control response.
func WriteResponse(fd int, resp Response) error { return send(fd, resp, nil) }

// CloseFDs closes descriptors received with a request.
func CloseFDs(fds []int) { closeAll(fds) }
