package agent

import (
	"context"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"magawa/internal/vm/agentapi"
)

// Calls of the API this agent does not serve yet: the supervisor sees
// codes.Unimplemented and says what is missing.

func (a *agent) PauseContainer(ctx context.Context, req *agentapi.ContainerRequest) (*agentapi.Empty, error) {
	return nil, status.Error(codes.Unimplemented, "pause is not supported by this agent")
}

func (a *agent) ResumeContainer(ctx context.Context, req *agentapi.ContainerRequest) (*agentapi.Empty, error) {
	return nil, status.Error(codes.Unimplemented, "resume is not supported by this agent")
}

func (a *agent) UpdateContainer(ctx context.Context, req *agentapi.UpdateContainerRequest) (*agentapi.Empty, error) {
	return nil, status.Error(codes.Unimplemented, "update is not supported by this agent")
}
