package agent

import (
	"context"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"magawa/internal/vm/agentapi"
)

// Calls of the API this agent does not serve yet: the supervisor sees
// codes.Unimplemented and says what is missing.

func (a *agent) ConfigureNetwork(ctx context.Context, req *agentapi.ConfigureNetworkRequest) (*agentapi.Empty, error) {
	return nil, status.Error(codes.Unimplemented, "networking is not supported by this agent")
}
