package shim

import (
	taskAPI "github.com/containerd/containerd/api/runtime/task/v2"
	"github.com/containerd/containerd/pkg/shutdown"
	"github.com/containerd/containerd/plugin"
	"github.com/containerd/containerd/runtime/v2/shim"
	"github.com/containerd/ttrpc"
)

// RuntimeType is the runtime type containerd's configuration names.
const RuntimeType = "io.containerd.magawa.v1"

// Register registers the task service with the shim library, as a
// TTRPC plugin using its event publisher and shutdown service.
func Register() {
	plugin.Register(&plugin.Registration{
		Type:     plugin.TTRPCPlugin,
		ID:       "task",
		Requires: []plugin.Type{plugin.EventPlugin, plugin.InternalPlugin},
		InitFn: func(ic *plugin.InitContext) (interface{}, error) {
			pp, err := ic.GetByID(plugin.EventPlugin, "publisher")
			if err != nil {
				return nil, err
			}
			ss, err := ic.GetByID(plugin.InternalPlugin, "shutdown")
			if err != nil {
				return nil, err
			}
			svc, err := New(ic.Context, pp.(shim.Publisher), ss.(shutdown.Service))
			if err != nil {
				return nil, err
			}
			return ttrpcTask{svc}, nil
		},
	})
}

type ttrpcTask struct{ taskAPI.TaskService }

func (t ttrpcTask) RegisterTTRPC(server *ttrpc.Server) error {
	taskAPI.RegisterTaskService(server, t.TaskService)
	return nil
}
