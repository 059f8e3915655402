/*
Copyright 2026 The nuop authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

package app

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr"
	authorizationv1 "k8s.io/api/authorization/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"kemper.buzz/nuop/internal/ownimage"
)

// leaseVerbs are what client-go's leader elector does with its lease.
var leaseVerbs = []string{"get", "create", "update"}

// leaseRecheck is how often a replica that may not use its lease asks again (when probed).
const leaseRecheck = 10 * time.Second

// leaseAccess is a readiness check of a replica with leader election on. Without the right to get, create
// and update its lease, client-go's elector only logs an error at every retry: the replica would be up and
// Ready, yet never lead, so nothing would ever be reconciled (nuop's deployment guide shows such RBAC). The
// check asks the API server (a SelfSubjectAccessReview per verb) when probed, at most every leaseRecheck,
// says what to grant while refused, and passes for good once allowed.
type leaseAccess struct {
	client          client.Client
	namespace, name string
	log             logr.Logger

	mu      sync.Mutex
	allowed bool
	last    time.Time
	refusal error
}

// newLeaseAccess checks the lease name in namespace, or in the pod's own namespace when namespace is
// empty (as the elector does).
func newLeaseAccess(c client.Client, namespace, name string, log logr.Logger) *leaseAccess {
	if namespace == "" {
		if data, err := os.ReadFile(ownimage.NamespaceFile); err == nil {
			namespace = strings.TrimSpace(string(data))
		}
	}
	return &leaseAccess{client: c, namespace: namespace, name: name, log: log}
}

// Check implements healthz.Checker.
func (l *leaseAccess) Check(req *http.Request) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.allowed {
		return nil
	}
	if time.Since(l.last) < leaseRecheck {
		return l.refusal
	}
	l.last = time.Now()
	denied, err := l.denied(req.Context())
	switch {
	case err != nil:
		// The API server did not answer: the elector cannot lead either, and says so in its own log.
		l.refusal = fmt.Errorf("checking access to the leader election lease: %w", err)
	case len(denied) > 0:
		l.refusal = fmt.Errorf("leader election is on, but this replica may not %s the lease %s in namespace %s "+
			"(leases.coordination.k8s.io), so it can never lead and nothing is reconciled: grant them with a Role and "+
			"RoleBinding like config/rbac/leader_election_role.yaml", strings.Join(denied, ", "), l.name, l.namespace)
		l.log.Error(l.refusal, "not ready")
	default:
		l.allowed, l.refusal = true, nil
	}
	return l.refusal
}

// denied lists the lease verbs the API server refuses this replica.
func (l *leaseAccess) denied(ctx context.Context) ([]string, error) {
	var denied []string
	for _, verb := range leaseVerbs {
		review := &authorizationv1.SelfSubjectAccessReview{Spec: authorizationv1.SelfSubjectAccessReviewSpec{
			ResourceAttributes: &authorizationv1.ResourceAttributes{
				Namespace: l.namespace, Verb: verb, Group: coordinationv1.GroupName, Resource: "leases", Name: l.name,
			},
		}}
		if verb == "create" {
			review.Spec.ResourceAttributes.Name = "" // RBAC cannot narrow a create by name
		}
		if err := l.client.Create(ctx, review); err != nil {
			return nil, err
		}
		if !review.Status.Allowed {
			denied = append(denied, verb)
		}
	}
	return denied, nil
}
