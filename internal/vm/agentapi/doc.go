// Package agentapi is the API between the host and magawa-agent, the
// guest agent of the micro-VM sandbox: ttrpc (github.com/containerd/ttrpc)
// with protobuf messages, agent.proto (agent.pb.go and agent_ttrpc.pb.go
// are generated from it: generate.go), and its transports: the guest's
// end of a virtio-serial port as a net.Conn (serialConn) and a listener
// that hands out that one connection (ConnListener). The host's end is a
// Unix socket QEMU's chardev holds the other end of.
//
// The standard streams of a process travel as calls, as Kata's agent
// API has them: WriteStdin, and ReadStdout and ReadStderr that wait for
// data, each answering at most a chunk (MaxChunk); an answer with eof
// set ends the stream.
//
// Locking: serialConn and ConnListener close once (sync.Once); reads
// and writes of a serialConn may run concurrently with each other (the
// port is full duplex) but not with themselves, as ttrpc uses them.
package agentapi

// MaxChunk bounds the data of one stream call, well below ttrpc's 4 MiB
// message limit.
const MaxChunk = 64 << 10
