package api

import (
	"context"
	"net/http"

	"github.com/openfc/openfc/internal/fc"
)

// Cluster tells the state of the cluster this node is one of (the
// daemon): its nodes and the JetStream under them.
type Cluster interface {
	ClusterStatus(ctx context.Context) *fc.ClusterStatus
}

// clusterRoutes registers GET /cluster (`openfc cluster status`), the
// admin key's only (routeScope).
func (a *API) clusterRoutes(h func(string, handlerFunc)) {
	h("GET "+clusterPath, a.getCluster)
}

func (a *API) getCluster(r *http.Request, _ string) (int, any, http.Header, error) {
	if a.opts.Cluster == nil {
		return 0, nil, nil, fc.Errorf(fc.CodeServiceUnavailable, "the cluster status is not available on this server")
	}
	return http.StatusOK, a.opts.Cluster.ClusterStatus(r.Context()), nil, nil
}
